"""A minimal data-parallel DPO loop on the tiny test GPT-2, run by test_gpt2_distributed.py.

    torchrun --standalone --nproc-per-node 2 tests/gpt2/ddp_worker.py OUT.json   # 2 CPU processes, Gloo
    train(DistEnv())                                                            # the same, 1 process

Each step draws the same global batch on every rank, each rank trains on its slice through DDP,
the reference log-probs are scored in shards and gathered, metrics are averaged across ranks.
"""

from __future__ import annotations

import json
import sys

import torch

from dpo_teach.gpt2.distributed import (
    DistEnv,
    all_reduce_mean,
    destroy_distributed,
    gather_shards,
    init_distributed,
    local_slice,
    shard_range,
    wrap_ddp,
)
from dpo_teach.gpt2.logprobs import collate_pairs, score_pairs
from dpo_teach.gpt2.models import disable_dropout
from dpo_teach.gpt2.trainer import compute_loss_and_metrics
from helpers import PAD, tiny_gpt2, toy_pairs

N_PAIRS, GLOBAL_BATCH, STEPS, BETA, LR = 24, 8, 8, 0.5, 1e-2


def train(env: DistEnv, steps: int = STEPS) -> dict:
    """Loss and grad-norm trajectories (averaged over ranks) and the final parameters."""
    torch.manual_seed(0)
    policy, ref = tiny_gpt2(seed=0), tiny_gpt2(seed=0)
    for model in (policy, ref):
        disable_dropout(model)
    ref.eval().requires_grad_(False)
    pairs = toy_pairs(N_PAIRS, seed=1)
    # the reference once: each rank scores its block, the blocks are gathered on every rank
    block = shard_range(len(pairs), env)
    local_c, local_r = score_pairs(ref, [pairs[i] for i in block], PAD, bf16=False)
    ref_c, ref_r = gather_shards(local_c, len(pairs), env), gather_shards(local_r, len(pairs), env)
    model = wrap_ddp(policy, env)
    optimizer = torch.optim.AdamW(policy.parameters(), lr=LR)
    history = {"loss": [], "grad_norm": [], "rewards/margins": []}
    for step in range(steps):
        order = torch.randperm(len(pairs), generator=torch.Generator().manual_seed(step))
        mine = local_slice(order[:GLOBAL_BATCH], env)  # this rank's share of the global batch
        batch = collate_pairs([pairs[i] for i in mine.tolist()], PAD)
        model.train()
        loss, metrics = compute_loss_and_metrics(model, batch, ref_c[mine], ref_r[mine], BETA)
        loss.backward()  # DDP: gradients averaged over the ranks here
        metrics["grad_norm"] = torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        metrics = all_reduce_mean(metrics, env)
        for key in history:
            history[key].append(float(metrics[key]))
    table = all_reduce_mean(torch.tensor([[float(env.rank)], [1.0]]), env)  # a tensor averages too
    assert table.flatten().tolist() == [(env.world_size - 1) / 2, 1.0]
    # the trained policy, by what it computes (not its raw parameters: the attention's key bias
    # has a zero gradient in exact arithmetic, so Adam turns rounding noise there into steps)
    final_c, final_r = score_pairs(policy, pairs, PAD, bf16=False)
    return {"world_size": env.world_size, **history, "ref_chosen": ref_c.tolist(),
            "final_logps": final_c.tolist() + final_r.tolist()}  # fmt: skip


if __name__ == "__main__":
    torch.set_num_threads(1)
    env = init_distributed("cpu")
    result = train(env)
    if env.is_main:
        with open(sys.argv[1], "w", encoding="utf-8") as f:
            json.dump(result, f)
    destroy_distributed()
