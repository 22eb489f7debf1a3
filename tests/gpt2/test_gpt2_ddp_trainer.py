"""DPOTrainer under torchrun (dpo_teach.gpt2.trainer with a DistEnv): 2 CPU processes (Gloo), stopped
after 5 steps and resumed from the checkpoint by a fresh trainer, follow the same trajectory as one
uninterrupted process with the same global batch."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dpo_teach.gpt2.distributed import DistEnv
from helpers import start_torchrun, time_limit

WORKER = Path(__file__).with_name("ddp_trainer_worker.py")


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/gpt2/conftest.py


def test_two_processes_stopped_and_resumed_match_one_process(tmp_path):
    import ddp_trainer_worker as worker

    start = time.perf_counter()
    proc = start_torchrun(WORKER, tmp_path)
    one = worker.run(DistEnv(), None)  # one process, uninterrupted, meanwhile
    _, stderr = proc.communicate(timeout=time_limit(120))
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, stderr[-3000:]
    two = json.loads((tmp_path / "result.json").read_text())
    assert two["world_size"] == 2 and two["steps"] == one["steps"] == list(range(worker.MAX_STEPS))
    assert two["tokens_seen"] == one["tokens_seen"]  # summed over the ranks
    assert abs(one["loss"][0] - 0.6931) < 1e-3 and one["loss"][-1] < one["loss"][0] - 0.3  # it trains
    diffs = {key: max(abs(a - b) for a, b in zip(two[key], one[key]))
             for key in ("ref_chosen", *worker.KEYS, "final_logps")}  # fmt: skip
    print(f"2 processes (stopped at {worker.STOP}, resumed) vs 1: {seconds:.1f} s; max differences {diffs}")
    assert all(diff < 1e-5 for diff in diffs.values()), diffs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dpo_checkpoint.pt", "result.json"]  # rank 0 only


def test_a_batch_that_does_not_divide_among_the_processes_is_refused():
    import ddp_trainer_worker as worker

    with pytest.raises(ValueError, match="8 pairs does not divide among 3 processes"):
        worker.trainer(DistEnv(0, 0, 3), None)


def test_torchrun_runs_the_whole_cli_as_one_process_does(fast_run, tmp_path):
    """``torchrun --nproc-per-node 2 -m dpo_teach.finetune``: SFT and DPO through DDP, rank 0 alone
    writes and prints; the same pairs as the session's 1-process run, the same SFT losses, and
    the same DPO steps until float rounding (~1e-6, amplified by 40 steps at lr 5e-4) shows."""
    one_dir, _ = fast_run
    env = dict(os.environ, DPO_TEACH_FAST="1", OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m",
         "dpo_teach.finetune", "--fast", "--no-progress", "--device", "cpu", "--seed", "1", "--output-dir",
         str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=time_limit(240),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("win rate vs the reference") == 1 and proc.stdout.count("[4/5] DPO") == 1
    one, two = (json.loads((d / "metrics.json").read_text()) for d in (one_dir, tmp_path))
    assert two["processes"] == 2 and (tmp_path / "policy" / "model.safetensors").is_file()
    for name in ("preferences_train.jsonl", "preferences_eval.jsonl"):  # sampled from equal SFT models
        assert (tmp_path / name).read_bytes() == (one_dir / name).read_bytes()
    assert two["train"]["sft_loss_last"] == pytest.approx(one["train"]["sft_loss_last"], abs=1e-5)
    steps = list(zip(one["train"]["history"], two["train"]["history"]))
    assert len(steps) == 40 and all(abs(a["loss"] - b["loss"]) < 1e-5 for a, b in steps[:5])
    assert all(abs(a["loss"] - b["loss"]) < 1e-2 for a, b in steps)
