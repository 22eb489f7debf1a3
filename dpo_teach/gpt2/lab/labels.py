r"""Labellers other than the exact one: a length-biased judge and flipped labels.

:func:`dpo_teach.gpt2.data.sample_preference_pairs` labels two samples per prompt by the true
reward. Real preference data is labelled by people or models with their own biases and errors;
notebook 07 needs two of them, each measured against the true reward it departs from:

* :func:`length_biased` — the true reward plus ``bonus`` per word of the completion (a judge that
  likes longer answers, the bias behind "the model got verbose");
* :func:`flip_labels` — a given share of the pairs with chosen and rejected swapped (label noise,
  what cDPO and robust DPO assume).

:func:`sample_pairs_by` samples two completions per prompt exactly as ``sample_preference_pairs``
does (same seeds, so the same completions) and labels them by any ``score(prompt, completion)``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from .. import reviews
from ..data import encode_prompts
from ..sampling import sample_completions

__all__ = ["length_biased", "label_by", "sample_pairs_by", "flip_labels", "completion_words"]

Score = Callable[[str, str], float]  # score(prompt, completion) -> a number, higher is preferred


def completion_words(completion: str) -> int:
    """Words in a completion (the grammar's unit of length; a clause is 3-6 words)."""
    return len(completion.split())


def length_biased(bonus: float) -> Score:
    r"""A judge that likes length: :math:`r(x, y) + \text{bonus}\cdot|y|_\text{words}`."""
    return lambda prompt, completion: (
        reviews.true_reward(prompt + completion) + bonus * completion_words(completion)
    )


def label_by(prompts: Sequence[str], completions_a: Sequence[str], completions_b: Sequence[str],
             score: Score) -> list[dict]:  # fmt: skip
    """``{"prompt", "chosen", "rejected"}`` rows: the completion with the higher ``score`` is chosen;
    ties, identical texts and empty completions are dropped (as ``data.label_pairs`` does)."""
    rows = []
    for prompt, a, b in zip(prompts, completions_a, completions_b, strict=True):
        if a == b or not a.strip() or not b.strip():
            continue
        s_a, s_b = score(prompt, a), score(prompt, b)
        if s_a == s_b:
            continue
        chosen, rejected = (a, b) if s_a > s_b else (b, a)
        rows.append({"prompt": prompt, "chosen": chosen, "rejected": rejected})
    return rows


def sample_pairs_by(model, tokenizer, prompts: Sequence[str], seed: int, score: Score) -> list[dict]:
    """Two completions per prompt from ``model`` (seeds ``seed`` and ``seed + 1``, the same draws as
    ``data.sample_preference_pairs(..., seed)``), labelled by ``score`` (:func:`label_by`)."""
    prompt_ids = encode_prompts(tokenizer, prompts)
    a, b = (sample_completions(model, prompt_ids, tokenizer.eos_token_id, seed=seed + k) for k in (0, 1))
    decode = lambda c: tokenizer.batch_decode(c, skip_special_tokens=True)  # noqa: E731
    return label_by(prompts, decode(a), decode(b), score)


def flip_labels(rows: Sequence[dict], rate: float, seed: int = 0) -> tuple[list[dict], list[int]]:
    """A copy of ``rows`` with ``round(rate * len(rows))`` of them, drawn at random (``seed``), having
    chosen and rejected swapped; returns ``(rows, flipped_indices)``. ``rate`` in [0, 1]."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ValueError(f"rate must be a share of the pairs in [0, 1], got {rate!r}")
    flipped = sorted(random.Random(seed).sample(range(len(rows)), round(rate * len(rows))))
    out = [dict(row) for row in rows]
    for i in flipped:
        out[i]["chosen"], out[i]["rejected"] = rows[i]["rejected"], rows[i]["chosen"]
    return out, flipped
