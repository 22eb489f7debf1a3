"""Preference data: prompts, pairs sampled from a model and labelled by the true reward, JSON
Lines in and out, and text -> token ids.

The file format is the one TRL and the Hugging Face hub use for preference data: one JSON
object per line with the strings ``prompt``, ``chosen`` (:math:`y_w`) and ``rejected``
(:math:`y_l`); ``prompt + chosen`` is the whole preferred text.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from pathlib import Path

from .. import numpy_dpo as nd
from . import reviews
from .sampling import sample_completions

__all__ = [
    "REQUIRED_KEYS",
    "split_prompts",
    "label_pairs",
    "sample_preference_pairs",
    "write_preference_jsonl",
    "load_preference_jsonl",
    "encode_prompts",
    "tokenize_pairs",
]

REQUIRED_KEYS = ("prompt", "chosen", "rejected")


def split_prompts(n_train: int, n_eval: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Review openings for training and held-out evaluation; no eval prompt string ever
    appears among the training prompts (repeats within a split are allowed)."""
    rng = random.Random(seed)
    train, held_out = [], []
    assignment: dict[str, bool] = {}  # prompt string -> is it held out?
    while len(train) < n_train or len(held_out) < n_eval:
        prompt, _ = reviews.sample_prompt_completion(rng)
        if prompt not in assignment:
            assignment[prompt] = rng.random() < n_eval / (n_train + n_eval)
        target = held_out if assignment[prompt] else train
        if len(target) < (n_eval if assignment[prompt] else n_train):
            target.append(prompt)
    return train, held_out


def label_pairs(
    prompts: Sequence[str],
    completions_a: Sequence[str],
    completions_b: Sequence[str],
    labeling: str = "better",
    seed: int = 0,
) -> list[dict]:
    r"""Turn two completions per prompt into ``{"prompt", "chosen", "rejected"}`` rows.

    ``"better"``: the completion with the higher true reward is chosen; ties are dropped.
    ``"bt"``: chosen with the Bradley-Terry probability :math:`\sigma(r_a - r_b)` (Eq. 1),
    the noisy human-like labeller the paper assumes; identical texts are dropped. Pairs with an
    empty completion are dropped too (the JSON Lines reader rejects empty text).
    """
    if labeling not in {"better", "bt"}:
        raise ValueError(f"labeling must be 'better' or 'bt', got {labeling!r}")
    rng = random.Random(seed)
    rows = []
    for prompt, a, b in zip(prompts, completions_a, completions_b, strict=True):
        r_a, r_b = reviews.true_reward(prompt + a), reviews.true_reward(prompt + b)
        if a == b or not a.strip() or not b.strip() or (labeling == "better" and r_a == r_b):
            continue
        if labeling == "better":
            a_wins = r_a > r_b
        else:
            a_wins = rng.random() < float(nd.bt_probability(r_a, r_b))  # Eq. 1: sigma(r_a - r_b)
        chosen, rejected = (a, b) if a_wins else (b, a)
        rows.append({"prompt": prompt, "chosen": chosen, "rejected": rejected})
    return rows


def sample_preference_pairs(model, tokenizer, prompts: Sequence[str], seed: int, labeling: str = "better"):
    """Two completions per prompt sampled from ``model`` (the SFT reference, as in Sec. 6.1 of
    arXiv:2305.18290), labelled by the true reward (:func:`label_pairs`); returns
    ``{"prompt", "chosen", "rejected"}`` rows."""
    prompt_ids = encode_prompts(tokenizer, prompts)
    a, b = (sample_completions(model, prompt_ids, tokenizer.eos_token_id, seed=seed + k) for k in (0, 1))
    decode = lambda c: tokenizer.batch_decode(c, skip_special_tokens=True)  # noqa: E731
    return label_pairs(prompts, decode(a), decode(b), labeling=labeling, seed=seed)


def write_preference_jsonl(rows: Iterable[dict], path: str | Path) -> Path:
    """Write rows as JSON Lines (UTF-8, one object per line)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def load_preference_jsonl(path: str | Path) -> list[dict]:
    """Read a preference JSON Lines file into a list of dicts.

    Every non-blank line must be a JSON object with non-empty strings ``prompt``, ``chosen``
    and ``rejected`` (other keys are kept). A bad row raises ``ValueError`` naming the file,
    the line number (1-based) and the fix.
    """
    path = Path(path)
    rows = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}, line {lineno}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{where}: not valid JSON ({err.msg}); each line must be one "
                                 'JSON object like {"prompt": ..., "chosen": ..., "rejected": ...}'
                                 ) from None  # fmt: skip
            if not isinstance(row, dict):
                raise ValueError(f"{where}: expected a JSON object, got {type(row).__name__}")
            for key in REQUIRED_KEYS:
                if key not in row:
                    raise ValueError(f"{where}: missing key {key!r}; every row needs "
                                     f"{', '.join(REQUIRED_KEYS)}")  # fmt: skip
                if not isinstance(row[key], str):
                    raise ValueError(f"{where}: {key!r} must be a string, got "
                                     f"{type(row[key]).__name__}")  # fmt: skip
                if not row[key].strip():
                    raise ValueError(f"{where}: {key!r} is empty; drop the row or fill in the text")
            rows.append(row)
    if not rows:
        raise ValueError(f"{path} holds no preference pairs")
    return rows


def encode_prompts(tokenizer, prompts: Sequence[str]) -> list[list[int]]:
    """Prompt texts -> token ids as the policy sees them: BOS + prompt (as in :func:`tokenize_pairs`)."""
    bos = tokenizer.bos_token_id
    return [[bos] + ids for ids in tokenizer(list(prompts))["input_ids"]]


def tokenize_pairs(rows: Sequence[dict], tokenizer) -> list[dict]:
    """Text rows -> the trainer's token format: ``prompt_ids`` = BOS + prompt, ``chosen_ids`` /
    ``rejected_ids`` = completion + EOS (so stopping is part of what is preferred)."""
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    return [
        {
            "prompt_ids": [bos] + tokenizer.encode(row["prompt"]),
            "chosen_ids": tokenizer.encode(row["chosen"]) + [eos],
            "rejected_ids": tokenizer.encode(row["rejected"]) + [eos],
        }
        for row in rows
    ]
