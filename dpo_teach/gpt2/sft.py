r"""Supervised fine-tuning (SFT): next-token training on the neutral review corpus.

This makes the reference model :math:`\pi_\mathrm{ref} = \pi^\mathrm{SFT}` (Sec. 4 of
arXiv:2305.18290: "we initialize pi_ref to pi_SFT whenever available"). The loss is the usual
mean token cross-entropy over BOS + review + EOS; padding is masked with -100. A text longer
than the model's positions is cut to its start (it then has no EOS). Under ``torchrun`` (a
:class:`~.distributed.DistEnv` with more than one process) every rank draws the same batch and
trains on its slice of it through DDP, which averages the gradients; each rank's summed token
loss is divided by the whole batch's token count (times the number of ranks, which DDP's average
divides out), so the update is one process's token mean over the whole batch.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..runtime import autocast
from .logprobs import IGNORE_INDEX, build_prompt_completion_batch, max_positions

__all__ = ["sft_train"]


def sft_train(
    model,
    tokenizer,
    texts: Sequence[str],
    steps: int = 1500,
    batch_size: int = 32,
    learning_rate: float = 3e-3,
    warmup_steps: int = 50,
    seed: int = 0,
    bf16: bool = True,
    progress: bool = True,
    dist_env=None,
) -> list[float]:
    """Train ``model`` in place on ``texts``; returns the loss of every step (nats per token).

    AdamW with linear warmup then cosine decay to 10 % of ``learning_rate``; gradient norm
    clipped at 1. Losses stay on the device until the end (no per-step host sync). ``dist_env``:
    a :class:`~.distributed.DistEnv` (None: one process); the losses returned are then the
    ranks' mean.
    """
    from .distributed import DistEnv, all_reduce_mean, check_batch_divides, local_slice, wrap_ddp

    if not texts:
        raise ValueError("no texts to train on")
    env = dist_env or DistEnv()
    check_batch_divides(batch_size, env)
    device = next(model.parameters()).device
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    bos = eos if bos is None else bos  # a model without BOS (e.g. Qwen) starts each text after an EOS
    # the text as the "completion" of a one-token BOS prompt: every text token is predicted
    limit = (max_positions(model) or 2**62) - 1  # room after BOS: longer texts keep their start
    encoded = [(ids + [eos])[:limit] for ids in tokenizer(list(texts))["input_ids"]]
    forward = wrap_ddp(model, env)  # the model itself in one process
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=learning_rate, weight_decay=0.01, fused=device.type == "cuda"
    )

    def lr_factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress_ = (step - warmup_steps) / max(1, steps - warmup_steps)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress_))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    rng = random.Random(seed)
    losses = []
    model.train()
    for _ in tqdm(range(steps), desc="SFT", disable=not progress):
        rows = rng.sample(encoded, batch_size) if batch_size <= len(encoded) else encoded
        n_tokens = sum(len(r) for r in rows)  # tokens predicted in the whole batch (every rank knows it)
        rows = local_slice(rows, env)  # this rank's share (all of it in one process)
        batch = build_prompt_completion_batch([[bos]] * len(rows), rows, eos, device)
        with autocast(device, bf16):
            logits = forward(
                input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False
            ).logits  # (B, T, V)
        # token t predicts token t + 1; fp32 cross-entropy, mean over the unmasked tokens
        flat_logits, flat_labels = logits[:, :-1].float().flatten(0, 1), batch["labels"][:, 1:].flatten()
        if env.enabled:  # summed over this rank's tokens / the batch's tokens, x W (DDP divides by W)
            loss_sum = F.cross_entropy(flat_logits, flat_labels, ignore_index=IGNORE_INDEX, reduction="sum")
            loss = loss_sum * env.world_size / n_tokens
        else:
            loss = F.cross_entropy(flat_logits, flat_labels, ignore_index=IGNORE_INDEX)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.detach())
    model.eval()
    return all_reduce_mean(torch.stack(losses).float(), env).cpu().tolist()
