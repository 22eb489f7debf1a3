r"""A judge for sampled completions: a reward model (any sequence classifier) or the true reward,
and the labelling of K completions per prompt into preference pairs.

The paper's sentiment experiment (Sec. 6.1 of arXiv:2305.18290) samples 4 completions per IMDb
prefix from the SFT model, scores each with a sentiment classifier (``siebert/sentiment-roberta-
large-english``) and keeps all 6 pairs. Here a judge is any function ``texts -> scores`` of whole
texts (prompt + completion):

* :func:`load_reward_model` -> :class:`RewardModel`: an ``AutoModelForSequenceClassification``
  checkpoint (a local directory or a hub name); the score is the logit of the positive class
  (or of a named label; a one-output reward model's single logit), in eval mode, without
  gradients, batched on a device;
* :func:`true_reward`: the review world's exact reward (the default judge offline).

:func:`label_completions` turns K scored completions per prompt into ``prompt``/``chosen``/
``rejected`` rows with the conventions of :func:`dpo_teach.gpt2.data.label_pairs` (for K = 2 it
gives the same rows): ``"better"`` (the higher score is chosen, ties dropped) or ``"bt"``
(chosen with the Bradley-Terry probability :math:`\sigma(r_a - r_b)`, Eq. 1); identical and
empty completions are dropped; ``pairs="all"`` keeps every pair, ``"best-worst"`` one per prompt.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence

import torch

from ..data import label_pair

__all__ = ["LABELINGS", "PAIRINGS", "RewardModel", "load_reward_model", "label_index", "true_reward",
           "label_completions", "sample_and_label"]  # fmt: skip

LABELINGS = ("better", "bt")
PAIRINGS = ("all", "best-worst")
POSITIVE_NAMES = ("positive", "pos")  # label names taken as the positive class (case-insensitive)


def label_index(config, label: str | int | None = None) -> int:
    """The output whose logit is the score: ``label`` (a name in ``config.label2id`` /
    ``config.id2label``, case-insensitive, or an index); by default the only output of a reward
    model, the label named positive, or output 1 of a two-label model with generic names."""
    n = int(config.num_labels)
    names = {int(i): str(name) for i, name in (getattr(config, "id2label", None) or {}).items()}
    shown = ", ".join(f"{i}: {names.get(i, '?')}" for i in range(n))
    if label is not None:
        text = str(label).strip()
        if text.isdigit() and int(text) < n:
            return int(text)
        found = [i for i, name in names.items() if name.lower() == text.lower()]
        if not found:
            raise ValueError(f"the reward model has no label {label!r}; its outputs are {{{shown}}}: "
                             "pass one of those names or indices")  # fmt: skip
        return found[0]
    if n == 1:
        return 0
    found = [i for i, name in names.items() if name.lower() in POSITIVE_NAMES]
    if found:
        return found[0]
    if n == 2 and all(names.get(i, f"LABEL_{i}") == f"LABEL_{i}" for i in range(2)):
        return 1  # generic names: the usual convention is 0 = negative, 1 = positive
    raise ValueError(f"cannot tell which of the reward model's {n} outputs ({{{shown}}}) is the score; "
                     "name it (a label name or an index, --reward-label)")  # fmt: skip


class RewardModel:
    """Scores whole texts with a sequence classifier: ``scores = judge(texts)`` (a list of floats)."""

    def __init__(self, model, tokenizer, index: int, batch_size: int = 32, max_length: int | None = None):
        self.model, self.tokenizer, self.index = model.eval().requires_grad_(False), tokenizer, index
        self.batch_size, self.device = batch_size, next(model.parameters()).device
        limits = [getattr(model.config, "max_position_embeddings", None), max_length,
                  tokenizer.model_max_length if tokenizer.model_max_length < 1_000_000 else None]  # fmt: skip
        self.max_length = min(n for n in limits if isinstance(n, int) and n > 0) if any(limits) else None

    @torch.no_grad()
    def __call__(self, texts: Sequence[str]) -> list[float]:
        """The score of each text; texts are batched by length (less padding), longer ones cut to
        the model's maximum length (their start is kept)."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        scores = [0.0] * len(texts)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            batch = self.tokenizer(
                [texts[i] for i in chunk],
                padding=True,
                return_tensors="pt",
                truncation=self.max_length is not None,
                max_length=self.max_length,
            )
            batch = {k: v.to(self.device) for k, v in batch.items()}
            logits = self.model(**batch).logits.float()  # (b, num_labels)
            for i, value in zip(chunk, logits[:, self.index].tolist()):
                scores[i] = value
        return scores


def load_reward_model(name_or_path: str, label: str | int | None = None, device="cpu",
                      batch_size: int = 32) -> RewardModel:  # fmt: skip
    """A :class:`RewardModel` from an ``AutoModelForSequenceClassification`` checkpoint and its
    tokenizer; errors are ``ValueError`` naming the checkpoint and the fix."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from ...runtime import quiet_transformers

    where = repr(str(name_or_path))
    try:
        with quiet_transformers():
            model, info = AutoModelForSequenceClassification.from_pretrained(
                str(name_or_path), output_loading_info=True, trust_remote_code=False)  # fmt: skip
        tokenizer = AutoTokenizer.from_pretrained(str(name_or_path), trust_remote_code=False)
    except Exception as err:  # no such directory or repo, offline, no classifier class for the model
        first = (str(err).strip().splitlines() or [""])[0][:300]
        if "custom code" in str(err) or "trust_remote_code" in str(err):
            first += "; it ships its own model code (auto_map), which is never run (trust_remote_code=False)"
        raise ValueError(
            f"could not load a sequence classifier and its tokenizer from {where} "
            f"({type(err).__name__}: {first}); pass a directory written by save_pretrained "
            "(model + tokenizer) or a hub name such as lvwerra/distilbert-imdb"
        ) from None
    missing = sorted(info.get("missing_keys", ()))
    if missing:
        raise ValueError(
            f"{where} is not a trained sequence classifier: {len(missing)} weights were not "
            f"in it and would start random ({', '.join(missing[:3])}); pass a checkpoint "
            "saved from an ...ForSequenceClassification model (e.g. a sentiment classifier)"
        )
    index = label_index(model.config, label)
    if tokenizer.pad_token is None:  # batches need padding; GPT-2-style tokenizers have none
        if tokenizer.eos_token is None:
            raise ValueError(f"the tokenizer of {where} has neither a pad nor an EOS token; set "
                             "tokenizer.pad_token and save it again")  # fmt: skip
        tokenizer.pad_token = tokenizer.eos_token
    if model.config.pad_token_id is None:  # decoder classifiers find each row's last token by it
        model.config.pad_token_id = tokenizer.pad_token_id
    return RewardModel(model.to(device), tokenizer, index, batch_size)


def true_reward(texts: Sequence[str]) -> list[float]:
    """The review world's exact reward of each text (:func:`dpo_teach.gpt2.reviews.true_reward`)."""
    from .. import reviews

    return [reviews.true_reward(text) for text in texts]


def _pairs_of(texts: Sequence[str], rewards: Sequence[float], pairs: str) -> list[tuple[int, int]]:
    if pairs == "all":
        return list(itertools.combinations(range(len(texts)), 2))
    usable = [i for i, t in enumerate(texts) if t.strip()]
    if len(usable) < 2:
        return []
    best = max(usable, key=lambda i: rewards[i])
    worst = min(usable, key=lambda i: rewards[i])
    return [(best, worst)]


def label_completions(
    prompts: Sequence[str],
    completions: Sequence[Sequence[str]],
    score: Callable[[list[str]], Sequence[float]],
    labeling: str = "better",
    pairs: str = "all",
    seed: int = 0,
) -> list[dict]:
    """``{"prompt", "chosen", "rejected"}`` rows from K completions per prompt; ``score`` judges
    every ``prompt + completion`` in one call. See the module docstring for the conventions."""
    if labeling not in LABELINGS:
        raise ValueError(f"labeling must be one of {', '.join(LABELINGS)}, got {labeling!r}")
    if pairs not in PAIRINGS:
        raise ValueError(f"pairs must be one of {', '.join(PAIRINGS)}, got {pairs!r}")
    if len(prompts) != len(completions):
        raise ValueError(f"got {len(prompts)} prompts but {len(completions)} lists of completions; "
                         "pass one list (of K >= 2 completions) per prompt")  # fmt: skip
    flat = [prompt + text for prompt, texts in zip(prompts, completions) for text in texts]
    flat_scores = [float(s) for s in score(flat)] if flat else []
    if len(flat_scores) != len(flat):
        raise ValueError(f"the judge returned {len(flat_scores)} scores for {len(flat)} texts; it must "
                         "return one score per text")  # fmt: skip
    rng = random.Random(seed)
    rows, start = [], 0
    for prompt, texts in zip(prompts, completions):
        rewards, start = flat_scores[start : start + len(texts)], start + len(texts)
        for i, j in _pairs_of(texts, rewards, pairs):
            row = label_pair(prompt, texts[i], texts[j], rewards[i], rewards[j], labeling, rng)
            if row is not None:
                rows.append(row)
    return rows


def sample_and_label(model, tokenizer, prompts: Sequence[str], score, k: int = 2, labeling: str = "better",
                     pairs: str = "all", seed: int = 0, max_new_tokens: int = 32) -> list[dict]:  # fmt: skip
    """K completions per prompt sampled from ``model`` (sample k with seed ``seed + k``), judged by
    ``score`` and labelled (:func:`label_completions`). With K = 2, ``pairs="all"`` and the true
    reward it returns exactly :func:`dpo_teach.gpt2.data.sample_preference_pairs`'s rows."""
    from ..data import encode_prompts
    from ..sampling import sample_completions

    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise ValueError(f"completions per prompt must be an integer >= 2 (a pair needs two), got {k!r}")
    prompt_ids = encode_prompts(tokenizer, prompts)
    samples = [
        tokenizer.batch_decode(sample_completions(model, prompt_ids, tokenizer.eos_token_id, max_new_tokens,
                                                  seed=seed + j), skip_special_tokens=True)
        for j in range(k)
    ]  # fmt: skip
    per_prompt = [list(texts) for texts in zip(*samples)]  # (prompts, k)
    return label_completions(prompts, per_prompt, score, labeling, pairs, seed)
