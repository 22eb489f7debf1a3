"""Data-parallel DPO (dpo_teach.gpt2.distributed): 2 CPU processes under torchrun (Gloo) follow
the same loss trajectory as 1 process with the same global batch; the helpers alone."""

import json
import time
from pathlib import Path

import pytest
import torch

from dpo_teach.gpt2 import distributed as d
from helpers import start_torchrun, time_limit

WORKER = Path(__file__).with_name("ddp_worker.py")


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/gpt2/conftest.py


def test_two_gloo_processes_match_one_process_with_the_same_global_batch(tmp_path):
    import ddp_worker

    out = tmp_path / "ddp.json"
    start = time.perf_counter()
    proc = start_torchrun(WORKER, out)
    one = ddp_worker.train(d.DistEnv())  # the 1-process run, meanwhile
    _, stderr = proc.communicate(timeout=time_limit(120))
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, stderr[-3000:]
    two = json.loads(out.read_text())
    assert two["world_size"] == 2 and one["world_size"] == 1
    assert two["ref_chosen"] == pytest.approx(one["ref_chosen"], abs=1e-6)  # gathered shards: all pairs
    assert abs(one["loss"][0] - 0.6931) < 1e-3  # step 0: policy = reference, loss ln 2
    assert one["loss"][-1] < one["loss"][0] - 0.3  # it trains, so the comparison is not vacuous
    diffs = {key: max(abs(a - b) for a, b in zip(two[key], one[key]))
             for key in ("loss", "grad_norm", "rewards/margins", "final_logps")}  # fmt: skip
    print(f"2-process DDP vs 1 process: {seconds:.1f} s; max differences {diffs}")
    assert all(diff < 1e-5 for diff in diffs.values()), diffs


def test_a_single_process_is_the_identity():
    env = d.env_from_os({})
    assert env == d.DistEnv(0, 0, 1) and env.is_main and not env.enabled
    model = torch.nn.Linear(2, 2)
    assert d.wrap_ddp(model, env) is model
    x = torch.arange(5.0)
    assert d.gather_shards(x, 5, env) is x
    metrics = {"loss": torch.tensor(0.5)}
    assert d.all_reduce_mean(metrics, env) is metrics
    assert d.init_distributed("cpu", environ={}) == env  # no process group for one process
    d.barrier(env)
    d.destroy_distributed()


def test_the_environment_of_torchrun_is_read_and_checked():
    env = d.env_from_os({"RANK": "3", "LOCAL_RANK": "1", "WORLD_SIZE": "4"})
    assert (env.rank, env.local_rank, env.world_size, env.is_main, env.enabled) == (3, 1, 4, False, True)
    with pytest.raises(ValueError, match="RANK=4 and WORLD_SIZE=4 do not fit"):
        d.env_from_os({"RANK": "4", "WORLD_SIZE": "4"})
    with pytest.raises(ValueError, match="WORLD_SIZE='two' is not a non-negative integer.*torchrun"):
        d.env_from_os({"WORLD_SIZE": "two"})
    assert d.backend_for("cpu") == "gloo" and d.backend_for("cuda") == "nccl"
    assert d.device_for(env, "cuda") == "cuda:1" and d.device_for(env, "cpu") == "cpu"


def test_shards_and_slices_cover_everything_once():
    for world in (1, 2, 3, 4):
        envs = [d.DistEnv(r, r, world) for r in range(world)]
        blocks = [list(d.shard_range(10, e)) for e in envs]
        assert sum(blocks, []) == list(range(10))  # contiguous, in rank order, nothing twice
        if 12 % world == 0:
            batch = list(range(100, 112))
            assert sum((d.local_slice(batch, e) for e in envs), []) == batch
    with pytest.raises(ValueError, match="12 pairs does not divide among 5 processes.*multiple of 5"):
        d.check_batch_divides(12, d.DistEnv(0, 0, 5))


def test_only_rank_0_writes():
    seen = []
    d.main_only(d.DistEnv(0, 0, 2), seen.append)("rank 0")
    assert d.main_only(d.DistEnv(1, 1, 2), seen.append)("rank 1") is None
    assert seen == ["rank 0"]
