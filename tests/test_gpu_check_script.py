"""benchmarks/gpu_check.sh (issue 28): valid bash, and a bad argument is one error line and exit 2.
The script itself needs a GPU (or --cpu-dry-run, minutes); it is not run here."""

import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.sh"
pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def test_gpu_check_is_valid_bash():
    assert subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True).returncode == 0


def test_gpu_check_refuses_an_unknown_argument():
    proc = subprocess.run(["bash", str(SCRIPT), "--no-such-flag"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.startswith("error: unknown argument --no-such-flag")
