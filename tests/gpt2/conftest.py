"""Fixtures of the GPT-2 tests: one fast end-to-end fine-tune shared by the CLI tests."""

from __future__ import annotations

import pytest

from helpers import run_cli


@pytest.fixture(scope="session")
def fast_run(tmp_path_factory):
    """``(output_dir, completed_process)`` of one ``--fast --seed 1`` run (about 10 s)."""
    out = tmp_path_factory.mktemp("finetune")
    proc = run_cli("--output-dir", str(out), "--seed", "1")
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
