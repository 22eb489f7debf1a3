"""Fixtures of the GPT-2 tests: one fast end-to-end fine-tune shared by the CLI tests."""

from __future__ import annotations

import json
import subprocess

import pytest

from helpers import run_cli


@pytest.fixture(scope="session")
def fast_run(tmp_path_factory, worker_id):
    """``(output_dir, completed_process)`` of one ``--fast --seed 1`` run (about 10 s idle).

    One run per ``pytest`` session, not one per xdist worker: the first worker that needs it runs
    it under a file lock in the session's shared temporary folder, the others wait and read it.
    The directory is read-only for the tests: a test that runs the CLI in it copies it first."""
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    root = base if worker_id == "master" else base.parent  # parent: shared by all the workers
    out, record = root / "finetune-fast-seed1", root / "finetune-fast-seed1.proc.json"
    with FileLock(str(record) + ".lock"):
        if not record.exists():
            proc = run_cli("--output-dir", str(out), "--seed", "1")
            fields = {"returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}
            record.write_text(json.dumps({"args": proc.args, **fields}))
        saved = json.loads(record.read_text())
    proc = subprocess.CompletedProcess(saved["args"], saved["returncode"], saved["stdout"], saved["stderr"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc


@pytest.fixture
def one_thread():
    """One torch thread for the test (the tiny models run fastest on one; two are 10-100x slower
    when the cores are shared). Use with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
