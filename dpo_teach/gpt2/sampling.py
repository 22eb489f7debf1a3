"""Ancestral sampling from a causal LM, with a KV cache, exact enough to estimate KL from.

Temperature 1, no top-k / top-p: a sample is drawn from :math:`\\pi(y \\mid x)` itself, so the
average of :math:`\\log\\pi_\\theta(y\\mid x) - \\log\\pi_\\mathrm{ref}(y\\mid x)` over samples is an
unbiased estimate of :math:`\\mathrm{KL}(\\pi_\\theta \\,\\|\\, \\pi_\\mathrm{ref})`. Prompts are
grouped by length, so no padding (and no position-id bookkeeping) is ever needed.
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from collections.abc import Sequence

import torch

from ..runtime import autocast, eval_mode

__all__ = ["sample_completions"]


def _cache_name(model) -> str:
    """The KV cache's keyword and output field: ``cache`` from transformers 5.24 on (where
    ``past_key_values`` is deprecated), ``past_key_values`` before."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


@torch.no_grad()
def _sample_group(model, ids, eos_id, max_new_tokens, generator, check_every=4):
    """Sample completions for prompts of equal length ``ids`` (B, L); returns (B, max_new) ids
    with EOS written after each row's end."""
    cache = _cache_name(model)
    mask = torch.ones(ids.shape[0], ids.shape[1] + max_new_tokens, dtype=torch.long, device=ids.device)
    out = model(input_ids=ids, attention_mask=mask[:, : ids.shape[1]], use_cache=True)
    past, logits = getattr(out, cache), out.logits[:, -1]  # (B, V)
    result = torch.full((ids.shape[0], max_new_tokens), eos_id, dtype=torch.long, device=ids.device)
    done = torch.zeros(ids.shape[0], dtype=torch.bool, device=ids.device)
    for t in range(max_new_tokens):
        probs = torch.softmax(logits.float(), dim=-1)
        token = torch.multinomial(probs, 1, generator=generator).squeeze(1)  # (B,)
        token = torch.where(done, eos_id, token)
        result[:, t] = token
        done |= token == eos_id
        if (t + 1) % check_every == 0 and bool(done.all()):  # a host sync every few tokens only
            break
        n = ids.shape[1] + t + 1  # tokens seen so far, the new one included
        out = model(input_ids=token[:, None], attention_mask=mask[:, :n], use_cache=True, **{cache: past})
        past, logits = getattr(out, cache), out.logits[:, -1]
    return result


def sample_completions(
    model,
    prompt_ids: Sequence[Sequence[int]],
    eos_token_id: int,
    max_new_tokens: int = 32,
    batch_size: int = 256,
    seed: int = 0,
    bf16: bool = True,
) -> list[list[int]]:
    """One sampled completion per prompt: token ids up to and including EOS (no EOS when the
    completion hit ``max_new_tokens``, i.e. it is truncated)."""
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    groups: dict[int, list[int]] = defaultdict(list)
    for i, p in enumerate(prompt_ids):
        groups[len(p)].append(i)
    completions: list[list[int] | None] = [None] * len(prompt_ids)
    with eval_mode(model), autocast(device, bf16):
        for length in sorted(groups):
            members = groups[length]
            for start in range(0, len(members), batch_size):
                chunk = members[start : start + batch_size]
                ids = torch.tensor([list(prompt_ids[i]) for i in chunk], device=device)
                rows = _sample_group(model, ids, eos_token_id, max_new_tokens, generator).tolist()
                for i, row in zip(chunk, rows):
                    end = row.index(eos_token_id) + 1 if eos_token_id in row else len(row)
                    completions[i] = row[:end]
    return completions
