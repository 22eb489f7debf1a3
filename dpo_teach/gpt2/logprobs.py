r"""Tokens -> log-probabilities: batch layout, summed completion log-probs, and the one loop that
scores a whole dataset (the reference precompute and the evaluation both use it).

DPO needs one number per (prompt, completion) pair: :math:`\log \pi(y \mid x) = \sum_t \log
\pi(y_t \mid x, y_{<t})`, the sum over the completion's tokens only (Eq. 7 of arXiv:2305.18290
uses the sequence probability; the paper sums, it never averages).

Recipe, logits -> log-probs:

1. shift by one: the logits at position ``t`` predict the token at ``t + 1``;
2. mask: prompt and padding positions carry the label ``-100`` and contribute nothing;
3. ``log_softmax`` in float32 (bf16 logits lose too much precision), ``gather`` the label's entry;
4. sum over positions (or, only behind an explicit flag, average).

Batch layout (built by :func:`build_prompt_completion_batch`, right padding)::

    input_ids       [ p0  p1  p2  c0  c1  c2  PAD PAD ]
    attention_mask  [ 1   1   1   1   1   1   0   0   ]
    labels          [-100 -100 -100 c0 c1 c2 -100 -100]

A preference pair is ``{"prompt_ids", "chosen_ids", "rejected_ids"}`` (token ids; completions
end with EOS). :func:`collate_pairs` stacks B pairs into one (2B, T) batch, chosen rows first,
so :func:`concatenated_logps` scores chosen and rejected in one forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..runtime import autocast, eval_mode

__all__ = [
    "IGNORE_INDEX",
    "sequence_logps",
    "ld_weights",
    "build_prompt_completion_batch",
    "collate_pairs",
    "batch_logps",
    "concatenated_logps",
    "score_completions",
    "score_pairs",
    "max_positions",
    "check_pair_lengths",
    "micro_batch",
]

IGNORE_INDEX = -100  # the label of a position that is not scored (prompt, padding); as in PyTorch/HF


def max_positions(model) -> int | None:
    """The longest sequence (prompt + completion, in tokens) ``model`` can take: GPT-2's
    ``n_positions`` (``config.max_position_embeddings`` in general); None if it names none."""
    value = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    return int(value) if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def check_pair_lengths(pairs: Sequence[dict], max_length: int | None) -> None:
    """Raise ``ValueError`` naming the first pair whose prompt + chosen or prompt + rejected is
    longer than ``max_length`` tokens (a longer row has no position embedding: an IndexError deep
    in the forward pass). Nothing is truncated silently; None checks nothing."""
    if max_length is None:
        return
    for i, pair in enumerate(pairs):
        for side in ("chosen_ids", "rejected_ids"):
            n = len(pair["prompt_ids"]) + len(pair[side])
            if n > max_length:
                raise ValueError(
                    f"pair {i}: prompt + {side.removesuffix('_ids')} is {n} tokens but the model "
                    f"takes at most {max_length} (its n_positions / max_position_embeddings); "
                    "shorten the prompt or completion (or drop the pair), or use a model with a "
                    "larger n_positions"
                )


def ld_weights(mask: torch.Tensor, ld_alpha: float, dtype=torch.float32) -> torch.Tensor:
    r"""LD-DPO's token weights (arXiv:2409.06411; TRL's ``ld_alpha``) for ``mask``, the scored
    positions ``(rows, T)`` of a :func:`collate_pairs` batch (rows ``i`` and ``i + rows/2``: pair i's
    chosen and rejected): 1 on a pair's first :math:`L = \min(|y_w|, |y_l|)` completion tokens,
    ``ld_alpha`` on the tokens past L (the longer answer's tail), 0 where nothing is scored.
    ``ld_alpha`` = 1 gives the plain sum, 0 the log-prob of the first L tokens."""
    if mask.shape[0] % 2:
        raise ValueError(f"ld_alpha weighs a pair batch (chosen rows, then rejected rows): it needs an "
                         f"even number of rows, got {mask.shape[0]}; pass a collate_pairs batch")  # fmt: skip
    counts = mask.sum(1)  # |y| of each row
    n = counts.shape[0] // 2
    shared = torch.minimum(counts[:n], counts[n:]).repeat(2)  # L of each row's pair
    position = mask.cumsum(1)  # 1, 2, ... along each completion
    tail = torch.tensor(ld_alpha, dtype=dtype, device=mask.device)
    return torch.where(position <= shared[:, None], torch.ones_like(tail), tail) * mask


def sequence_logps(
    logits: torch.Tensor, labels: torch.Tensor, average_log_prob: bool = False, ld_alpha: float | None = None
) -> torch.Tensor:
    r"""Per-sequence sum of completion-token log-probabilities.

    .. math:: \log \pi(y \mid x) = \sum_{t:\ \mathrm{label}_t \ne -100}
        \log \mathrm{softmax}(\mathrm{logits}_{t-1})[\mathrm{label}_t]

    Args:
        logits: ``(B, T, V)`` from the model run on ``input_ids`` ``(B, T)``.
        labels: ``(B, T)``: ``input_ids`` with prompt and padding positions set to ``-100``.
            Shifted by one here: ``logits[:, :-1]`` predicts ``labels[:, 1:]``.
        average_log_prob: divide by the number of completion tokens (a per-token mean). Off by
            default: averaging silently rescales beta and is not the paper's objective.
        ld_alpha: LD-DPO's weighted sum (:func:`ld_weights`; the rows a :func:`collate_pairs`
            batch); None, the default, sums plainly and costs nothing more.

    Returns:
        ``(B,)`` float32 (float64 if the logits are float64); 0 for a row with no completion
        token. Differentiable with respect to ``logits``.
    """
    if logits.ndim != 3 or labels.ndim != 2 or logits.shape[:2] != labels.shape:
        raise ValueError(
            f"logits must be (B, T, V) and labels (B, T) with the same B and T, got logits "
            f"{tuple(logits.shape)} and labels {tuple(labels.shape)}; pass the model's "
            "`.logits` and the labels built for the same input_ids"
        )
    # 1. shift: position t predicts token t + 1
    logits = logits[:, :-1, :]  # (B, T-1, V)
    labels = labels[:, 1:]  # (B, T-1)
    # 2. mask prompt and padding; -100 is not a valid index, so gather a dummy 0 there
    mask = labels != IGNORE_INDEX  # (B, T-1)
    safe_labels = labels.masked_fill(~mask, 0)
    # 3. log-softmax in fp32 (fp64 kept), then pick each label's log-prob
    if logits.dtype != torch.float64:
        logits = logits.float()
    token_logps = torch.gather(logits.log_softmax(-1), 2, safe_labels.unsqueeze(2)).squeeze(2)
    # 4. sum over completion tokens
    token_logps = token_logps * mask  # (B, T-1)
    if ld_alpha is not None:  # LD-DPO: the tokens past the pair's shorter completion times ld_alpha
        token_logps = token_logps * ld_weights(mask, ld_alpha, token_logps.dtype)
    summed = token_logps.sum(-1)  # (B,)
    if average_log_prob:
        return summed / mask.sum(-1).clamp(min=1)
    return summed


def build_prompt_completion_batch(
    prompt_ids: Sequence[Sequence[int]],
    completion_ids: Sequence[Sequence[int]],
    pad_token_id: int,
    device: torch.device | str | None = None,
) -> dict[str, torch.Tensor]:
    """Concatenate prompt and completion token ids, right-pad, and label only the completion.

    Args:
        prompt_ids, completion_ids: one list of token ids per example (same number of each).
            A completion usually ends with the EOS token so the model learns to stop.
        pad_token_id: the id written into padding (often the EOS id); padding is found by
            position, never by value, so EOS inside a completion is still scored.

    Returns:
        ``{"input_ids", "attention_mask", "labels"}``, each ``(B, T)`` long, where ``T`` is
        the longest prompt + completion; ``labels`` is ``input_ids`` with prompt and padding
        positions set to ``-100``.
    """
    if len(prompt_ids) != len(completion_ids):
        raise ValueError(
            f"got {len(prompt_ids)} prompts but {len(completion_ids)} completions; "
            "pass one completion per prompt"
        )
    if len(prompt_ids) == 0:
        raise ValueError("cannot build a batch from zero examples")
    for i, p in enumerate(prompt_ids):
        if len(p) == 0:  # the first token has no logits before it, so it can never be scored
            raise ValueError(f"prompt {i} is empty; start it with at least one token (e.g. BOS)")
    rows = [list(p) + list(c) for p, c in zip(prompt_ids, completion_ids)]
    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    for i, (p, row) in enumerate(zip(prompt_ids, rows)):
        n = len(row)
        input_ids[i, :n] = torch.tensor(row, dtype=torch.long)
        attention_mask[i, :n] = 1
        labels[i, len(p) : n] = input_ids[i, len(p) : n]
    batch = {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}
    if device is not None:
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
    return batch


def collate_pairs(pairs: Sequence[dict], pad_token_id: int, device=None) -> dict[str, torch.Tensor]:
    """Stack B pairs into one (2B, T) batch: rows 0..B-1 prompt + chosen, rows B..2B-1 prompt +
    rejected (the same prompts)."""
    prompts = [p["prompt_ids"] for p in pairs]
    completions = [p["chosen_ids"] for p in pairs] + [p["rejected_ids"] for p in pairs]
    return build_prompt_completion_batch(prompts + prompts, completions, pad_token_id, device)


def micro_batch(batch: dict[str, torch.Tensor], i: int, k: int) -> dict[str, torch.Tensor]:
    """Micro-batch ``i`` of ``k`` of a :func:`~.logprobs.collate_pairs` batch (B pairs: chosen rows,
    then rejected rows): pairs ``i*B/k .. (i+1)*B/k - 1``, cut to their longest row."""
    n = batch["input_ids"].shape[0] // 2
    m = n // k
    idx = torch.cat([torch.arange(i * m, (i + 1) * m), torch.arange(n + i * m, n + (i + 1) * m)])
    idx = idx.to(batch["input_ids"].device)
    width = int(batch["attention_mask"][idx].sum(1).max())
    return {key: (v[idx, :width] if v.ndim == 2 else v[i * m : (i + 1) * m]) for key, v in batch.items()}


def batch_logps(model, batch: dict[str, torch.Tensor], chunk: int = 0, ld_alpha: float | None = None):
    """One forward pass; the summed completion log-prob of every row of ``batch``, ``(rows,)`` fp32.
    ``chunk`` > 0: the LM head over that many scored tokens at a time, never the full ``(rows, T,
    V)`` logits (:mod:`.chunked_logps`; a head that is not a plain Linear keeps the full path).
    ``ld_alpha``: LD-DPO's weighted sums of a :func:`collate_pairs` batch (:func:`ld_weights`)."""
    if chunk:
        from .chunked_logps import chunked_batch_logps, plain_linear_head

        head = plain_linear_head(model)
        if head is not None:
            return chunked_batch_logps(model, batch, chunk, head, ld_alpha)
    logits = model(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False
    ).logits  # (rows, T, V)
    return sequence_logps(logits, batch["labels"], ld_alpha=ld_alpha)


def concatenated_logps(model, batch: dict[str, torch.Tensor], chunk: int = 0, ld_alpha: float | None = None):
    """Chosen and rejected of a :func:`collate_pairs` batch in ONE forward pass:
    ``(chosen_logps, rejected_logps)``, ``(B,)`` each (``chunk``, ``ld_alpha``: :func:`batch_logps`)."""
    logps = batch_logps(model, batch, chunk, ld_alpha)  # (2B,)
    n = logps.shape[0] // 2
    return logps[:n], logps[n:]


@torch.no_grad()
def _score(model, batches, bf16: bool, chunk: int = 0, ld_alpha: float | None = None) -> torch.Tensor:
    """The whole-dataset scoring loop: eval mode (restored after), no gradient, autocast,
    one forward pass per batch; the rows' summed log-probs, concatenated, fp32 on the model's device."""
    device = next(model.parameters()).device
    out = []
    with eval_mode(model), autocast(device, bf16):
        for batch in batches:
            batch = {k: v.to(device) for k, v in batch.items()}
            out.append(batch_logps(model, batch, chunk, ld_alpha).float())
    return torch.cat(out)


def score_completions(model, prompt_ids, completion_ids, pad_token_id: int, batch_size=128, bf16=True,
                      chunk=0):  # fmt: skip
    r""":math:`\log\pi(y \mid x)` of each completion given its prompt under ``model``: ``(N,)``
    fp32 on the model's device, ``batch_size`` sequences per forward pass (``chunk``: :func:`batch_logps`)."""
    starts = range(0, len(prompt_ids), batch_size)
    return _score(model, (build_prompt_completion_batch(prompt_ids[s : s + batch_size],
                                                        completion_ids[s : s + batch_size], pad_token_id)
                          for s in starts), bf16, chunk)  # fmt: skip


def score_pairs(model, pairs: Sequence[dict], pad_token_id: int, batch_size=64, bf16=True, chunk=0,
                ld_alpha=None):  # fmt: skip
    """``(chosen_logps, rejected_logps)`` of every pair under ``model``, ``(N,)`` each, fp32 on the
    model's device; each forward pass holds ``batch_size`` pairs, chosen and rejected together, as
    in training (the reference precompute and the held-out accuracy); ``chunk``, ``ld_alpha``
    (LD-DPO's weighted sums): :func:`batch_logps`."""
    check_pair_lengths(pairs, max_positions(model))
    chunks = [pairs[s : s + batch_size] for s in range(0, len(pairs), batch_size)]
    logps = _score(model, (collate_pairs(c, pad_token_id) for c in chunks), bf16, chunk, ld_alpha)
    # each chunk of b pairs gave 2b rows: b chosen, then b rejected
    chosen, rejected, start = [], [], 0
    for rows in chunks:
        b = len(rows)
        chosen.append(logps[start : start + b])
        rejected.append(logps[start + b : start + 2 * b])
        start += 2 * b
    return torch.cat(chosen), torch.cat(rejected)
