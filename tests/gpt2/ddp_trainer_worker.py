"""DPOTrainer data-parallel, stopped and resumed: run by test_gpt2_ddp_trainer.py.

    torchrun --standalone --nproc-per-node 2 tests/gpt2/ddp_trainer_worker.py OUT_DIR   # 2 CPU processes
    run(DistEnv(), None)                                                                # 1 process, no stop

Under torchrun, a first trainer trains to step STOP (checkpointing), a second one (a fresh policy,
as after a crash) resumes from OUT_DIR to MAX_STEPS; rank 0 writes what both did to OUT_DIR/result.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from dpo_teach.gpt2.distributed import DistEnv, destroy_distributed, init_distributed
from dpo_teach.gpt2.logprobs import score_pairs
from dpo_teach.gpt2.trainer import DPOConfig, DPOTrainer
from helpers import PAD, tiny_gpt2, toy_pairs

N_PAIRS, GLOBAL_BATCH, MAX_STEPS, STOP = 24, 8, 8, 5
KEYS = ("loss", "grad_norm", "rewards/margins", "logps/chosen")  # per-step metrics compared


def trainer(env: DistEnv, out_dir) -> DPOTrainer:
    policy, ref = tiny_gpt2(seed=0), tiny_gpt2(seed=0)
    config = DPOConfig(beta=0.5, learning_rate=1e-2, batch_size=GLOBAL_BATCH, max_steps=MAX_STEPS,
                       log_every=2, save_every=3, output_dir=out_dir, seed=0, progress=False)  # fmt: skip
    return DPOTrainer(policy, ref, toy_pairs(N_PAIRS, seed=1), config, PAD, dist_env=env)


def run(env: DistEnv, out_dir, stop: int | None = None) -> dict:
    """Train to MAX_STEPS (first to ``stop`` with one trainer, then on with a fresh one that resumes)."""
    if stop is not None:
        first = trainer(env, out_dir)
        first.train(until=stop)
        assert first.step == stop
    last = trainer(env, out_dir)
    history = last.train()
    final_c, final_r = score_pairs(last.policy, toy_pairs(N_PAIRS, seed=1), PAD, bf16=False)
    return {"world_size": env.world_size, "steps": [h["step"] for h in history],
            **{key: [h[key] for h in history] for key in KEYS},
            "tokens_seen": int(last.tokens_seen), "ref_chosen": last.ref_chosen_logps.tolist(),
            "final_logps": final_c.tolist() + final_r.tolist()}  # fmt: skip


if __name__ == "__main__":
    torch.set_num_threads(1)
    env = init_distributed("cpu")
    result = run(env, sys.argv[1], stop=STOP)
    if env.is_main:
        (Path(sys.argv[1]) / "result.json").write_text(json.dumps(result), encoding="utf-8")
    destroy_distributed()
