"""Where the prompts come from: the review world (default), a local file, or a hub dataset.

The paper's sentiment experiment (Sec. 6.1 of arXiv:2305.18290) prompts GPT-2 with *prefixes* of
IMDb movie reviews and fine-tunes it on the reviews first. A :class:`PromptSource` gives both:
training and held-out prompts (:meth:`PromptSource.split`, each text cut to its first N tokens
when asked, as the paper's prefixes) and the full texts for SFT (:meth:`PromptSource.sft_texts`).

    load_prompt_source("reviews")                       # the offline review grammar (default)
    load_prompt_source("prompts.txt")                   # one prompt per line
    load_prompt_source("data.jsonl", column="prompt")   # a column of a JSONL / JSON / Parquet file
    load_prompt_source("stanfordnlp/imdb", column="text").split(2000, 512, tokenizer=tok,
                                                                 prefix_tokens=(2, 8))
"""

from __future__ import annotations

import dataclasses
import random
import re

__all__ = ["REVIEWS", "PromptSource", "load_prompt_source", "clean_text", "cut_to_prefix",
           "parse_prefix_tokens"]  # fmt: skip

REVIEWS = "reviews"  # the source name of the built-in review world
DEFAULT_COLUMNS = ("prompt", "text")  # the column used when none is named, in this order


def clean_text(text: str) -> str:
    """IMDb's HTML line breaks (``<br />``) and runs of whitespace -> one space; ends stripped."""
    return re.sub(r"\s+", " ", re.sub(r"<br\s*/?>", " ", text)).strip()


def cut_to_prefix(tokenizer, text: str, n_tokens: int) -> str:
    """The beginning of ``text`` that holds its first ``n_tokens`` tokens (the whole text if it is
    shorter): a character prefix of the original, cut where a token ends."""
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=tokenizer.is_fast)
    ids = enc["input_ids"]
    if len(ids) <= n_tokens:
        return text
    if tokenizer.is_fast:
        return text[: enc["offset_mapping"][n_tokens - 1][1]]
    return tokenizer.decode(ids[:n_tokens])  # a slow tokenizer has no offsets


def parse_prefix_tokens(text: str) -> tuple[int, int]:
    """``"8"`` -> ``(8, 8)``; ``"2-8"`` -> ``(2, 8)`` (each prompt draws its length in the range)."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", str(text))
    lo, hi = (int(match[1]), int(match[2] or match[1])) if match else (0, 0)
    if not match or lo < 1 or hi < lo:
        raise ValueError(
            f"prompt prefix length {text!r} must be N or LO-HI with 1 <= LO <= HI, e.g. 8 or 2-8"
        )
    return lo, hi


@dataclasses.dataclass
class PromptSource:
    """Prompts and SFT texts from one source; ``texts`` is None for the review world."""

    name: str
    texts: list[str] | None

    def split(self, n_train: int, n_eval: int, seed: int = 0, tokenizer=None, prefix_tokens=None):
        """``(train_prompts, eval_prompts)``; no held-out prompt string is among the training ones.

        Texts are put in a seeded random order and, with ``prefix_tokens`` (N, or ``(lo, hi)`` drawn
        per prompt; needs the ``tokenizer``), cut to that many tokens. The first texts give
        ``n_eval`` distinct held-out prompts; the other texts give the training prompts, cycled
        in fresh orders when more are asked than there are texts (a prompt is then sampled
        several times, as the review world's are), skipping any prompt equal to a held-out one.
        The review world uses :func:`dpo_teach.gpt2.data.split_prompts`.
        """
        for name, n in (("n_train", n_train), ("n_eval", n_eval)):
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {n!r}")
        if self.texts is None:
            from ..data import split_prompts

            return split_prompts(n_train, n_eval, seed)
        if prefix_tokens is not None:
            lo, hi = (prefix_tokens, prefix_tokens) if isinstance(prefix_tokens, int) else prefix_tokens
            if tokenizer is None:
                raise ValueError("cutting prompts to a number of tokens needs the tokenizer; pass tokenizer=")
        rng = random.Random(seed)
        order = list(range(len(self.texts)))
        rng.shuffle(order)
        cut = lambda i: cut_to_prefix(tokenizer, self.texts[i], rng.randint(lo, hi)) if prefix_tokens \
            else self.texts[i]  # noqa: E731  # fmt: skip
        # 1. held out: distinct prompts from the first texts of a seeded order
        held_out, used = [], 0
        while len(held_out) < n_eval and used < len(order):
            prompt = cut(order[used])
            used += 1
            if prompt not in held_out:
                held_out.append(prompt)
        # 2. training: the other texts, cycled in fresh orders, skipping held-out prompt strings
        rest, train = order[used:], []
        while len(held_out) == n_eval and rest and len(train) < n_train:
            before = len(train)
            for i in rest:
                prompt = cut(i)
                if prompt not in held_out and len(train) < n_train:
                    train.append(prompt)
            if len(train) == before:
                break  # every remaining text gives a held-out prompt
            rng.shuffle(rest)
        if len(held_out) < n_eval or len(train) < n_train:
            raise ValueError(
                f"{self.name}: its {len(self.texts)} texts cannot give {n_eval} distinct held-out prompts "
                f"and {n_train} training prompts from other texts (none equal to a held-out one); ask "
                "for fewer held-out prompts, use longer prefixes, or a larger source"
            )
        return train, held_out

    def sft_texts(self, n: int, seed: int = 0) -> list[str]:
        """Up to ``n`` full texts to fine-tune on (a seeded random choice; the review world's corpus)."""
        if self.texts is None:
            from .. import reviews

            return reviews.corpus(n, seed)
        texts = list(self.texts)
        random.Random(seed).shuffle(texts)
        return texts[:n]


def load_prompt_source(source: str = REVIEWS, column: str | None = None, split: str = "train",
                       config: str | None = None, max_rows: int | None = None) -> PromptSource:  # fmt: skip
    """A :class:`PromptSource`: ``"reviews"``, or any source :func:`dpo_teach.gpt2.hub.sources.load_rows`
    reads (a ``.txt`` file gives one prompt per line). ``column``: the text column (default
    ``prompt``, else ``text``). Texts are cleaned (:func:`clean_text`); empty ones are skipped."""
    if source == REVIEWS:
        return PromptSource(REVIEWS, None)
    from .sources import load_rows

    rows = load_rows(source, split, config, max_rows)
    columns = list(rows[0])
    if column is None:
        column = next((c for c in DEFAULT_COLUMNS if c in columns), None)
        if column is None:
            named = " or ".join(DEFAULT_COLUMNS)
            raise ValueError(f"{source} has the columns {columns} but none named {named}; name the text "
                             "column (--prompt-column)")  # fmt: skip
    if column not in columns:
        raise ValueError(f"{source} has no column {column!r}; its columns are {columns}")
    texts = []
    for i, row in enumerate(rows):
        value = row.get(column)
        if not isinstance(value, str):
            raise ValueError(f"{source}, row {i}: {column!r} must be a string, got "
                             f"{type(value).__name__}; prompts are plain text (message lists belong in "
                             "a preference dataset)")  # fmt: skip
        if clean_text(value):
            texts.append(clean_text(value))
    if not texts:
        raise ValueError(f"{source}: every {column!r} is empty; pass a source with some text")
    return PromptSource(str(source), texts)
