"""`import dpo_teach` is cheap (no torch) and loads each part of the course on first attribute use."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

import dpo_teach
from helpers import time_limit

PARTS = ["numpy_dpo", "torch_dpo", "bandit", "gpt2", "exercises"]


def run_python(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON line, returned here."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=time_limit(120)
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_dpo_teach_does_not_import_torch():
    got = run_python(
        """
        import json, sys
        import dpo_teach
        import dpo_teach.numpy_dpo
        print(json.dumps({"torch": "torch" in sys.modules, "version": dpo_teach.__version__}))
        """
    )
    assert got == {"torch": False, "version": dpo_teach.__version__}


def test_parts_work_as_attributes_after_a_bare_import():
    got = run_python(
        """
        import json, sys
        import dpo_teach
        loaded = {}
        for name in PARTS:
            module = getattr(dpo_teach, name)
            loaded[name] = module.__name__
        r = dpo_teach.torch_dpo.margin(-1.0, -2.0, -1.5, -1.5, 0.5)
        print(json.dumps({
            "loaded": loaded,
            "margin": float(r),
            "optimal": dpo_teach.bandit.optimal_policy([0.5, 0.5], [0.0, 0.0], 1.0).tolist(),
            "checks": "check_dpo_loss" in dpo_teach.exercises.__all__,
        }))
        """.replace("PARTS", repr(PARTS))
    )
    assert got["loaded"] == {name: f"dpo_teach.{name}" for name in PARTS}
    assert got["margin"] == 0.5
    assert got["optimal"] == [0.5, 0.5]
    assert got["checks"] is True


@pytest.mark.parametrize("name", ["nope", "_checks_typo", "numpy", "DPOTrainer"])
def test_an_unknown_attribute_raises_attribute_error(name):
    with pytest.raises(AttributeError, match=f"no attribute '{name}'"):
        getattr(dpo_teach, name)
    assert not hasattr(dpo_teach, name)


def test_dir_lists_the_parts():
    assert set(PARTS) <= set(dir(dpo_teach))
    for name in PARTS:
        assert getattr(dpo_teach, name) is sys.modules[f"dpo_teach.{name}"]
