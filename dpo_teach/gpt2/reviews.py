r"""A synthetic review world: a tiny grammar of movie reviews with an exact sentiment reward.

It stands in for IMDb + the sentiment classifier of the paper's first experiment (Sec. 6.1,
arXiv:2305.18290), so that "did DPO work?" and "is the text still a sentence?" are measured
exactly instead of by another model.

Grammar (words separated by single spaces, the review ends with a full stop)::

    review := clause ( ("and" | "but") clause ){0,2} "."
    clause := SUBJECT VERB ["not"] [INTENSIFIER] ADJECTIVE
    e.g.    "the plot was not very clever but the cast is wonderful."

True reward: the mean of the clause scores,

.. math:: r(x, y) = \frac{1}{C}\sum_{c=1}^{C} s(\text{adj}_c) \cdot m(\text{intensifier}_c)
    \cdot (-\tfrac12)^{[\text{not}_c]}

with :math:`s \in \{\pm 1, \pm 2\}` and :math:`m` = 1.5 ("very", "really", "truly"), 0.5
("somewhat"), 1 without one, so :math:`r \in [-3, 3]`. A mean, not a sum, like a sentiment
classifier's score: a review is not more positive for being longer, so DPO cannot win by
rambling (with a sum it learned to skip EOS and ran past the grammar). Text outside the
grammar scores ``INVALID_REWARD``, below every review: gibberish is the worst review, so a
collapsed policy cannot win by repeating "great".

A prompt is a review cut after the VERB of one of its clauses (a review opening); the
completion finishes it, e.g. ``"the plot was not very clever but the cast is"`` +
``" wonderful."``. The corpus is neutral: positive and negative adjectives are equally likely.
"""

from __future__ import annotations

import random

__all__ = [
    "SUBJECTS",
    "VERBS",
    "INTENSIFIERS",
    "ADJECTIVES",
    "CONNECTIVES",
    "INVALID_REWARD",
    "MAX_CLAUSES",
    "sample_review",
    "sample_prompt_completion",
    "parse_review",
    "is_valid",
    "true_reward",
    "corpus",
]

SUBJECTS = ("the film", "the movie", "the plot", "the acting", "the cast", "the script",
            "the ending", "the music", "the story", "the dialogue")  # fmt: skip
VERBS = ("was", "is", "felt", "seemed")
INTENSIFIERS = {"very": 1.5, "really": 1.5, "truly": 1.5, "somewhat": 0.5}
ADJECTIVES = {
    # positive
    "brilliant": 2.0, "wonderful": 2.0, "superb": 2.0, "great": 2.0,
    "good": 1.0, "fun": 1.0, "charming": 1.0, "clever": 1.0,
    # negative
    "awful": -2.0, "terrible": -2.0, "dreadful": -2.0, "horrible": -2.0,
    "bad": -1.0, "dull": -1.0, "boring": -1.0, "weak": -1.0,
}  # fmt: skip
CONNECTIVES = ("and", "but")
NEGATION_FACTOR = -0.5  # "not great" is mildly negative, not as bad as "awful"
MAX_CLAUSES = 3
INVALID_REWARD = -4.0  # below the lowest valid review (-3: "very awful" in every clause)

_SUBJECT_WORDS = {s.split()[1] for s in SUBJECTS}


def _clause(rng: random.Random) -> list[str]:
    words = rng.choice(SUBJECTS).split() + [rng.choice(VERBS)]
    if rng.random() < 0.2:
        words.append("not")
    if rng.random() < 0.4:
        words.append(rng.choice(sorted(INTENSIFIERS)))
    words.append(rng.choice(sorted(ADJECTIVES)))
    return words


def _review_words(rng: random.Random) -> tuple[list[str], list[int]]:
    """Words of a random review and the index just after each clause's verb (prompt cuts)."""
    words, cuts = [], []
    for i in range(rng.randint(1, MAX_CLAUSES)):
        if i:
            words.append(rng.choice(CONNECTIVES))
        cuts.append(len(words) + 3)  # "the" SUBJECT VERB
        words += _clause(rng)
    return words, cuts


def sample_review(rng: random.Random) -> str:
    """One review of the neutral corpus (both sentiments equally likely)."""
    words, _ = _review_words(rng)
    return " ".join(words) + "."


def sample_prompt_completion(rng: random.Random) -> tuple[str, str]:
    """A review split after one clause's verb: ``(prompt, completion)``, completion starts with
    a space, ``prompt + completion`` is the review."""
    words, cuts = _review_words(rng)
    cut = rng.choice(cuts)
    return " ".join(words[:cut]), " " + " ".join(words[cut:]) + "."


def parse_review(text: str) -> list[tuple[str, str, bool, str | None, str]] | None:
    """Parse ``text`` into clauses ``(subject, verb, negated, intensifier, adjective)``, or
    ``None`` if it is not a review of the grammar (exact spacing and the final "." included)."""
    if not text.endswith(".") or text != text.strip() or "  " in text:
        return None
    words, clauses, i = text[:-1].split(" "), [], 0
    while True:
        if len(words) < i + 4 or words[i] != "the" or words[i + 1] not in _SUBJECT_WORDS:
            return None
        subject, verb = f"the {words[i + 1]}", words[i + 2]
        if subject not in SUBJECTS or verb not in VERBS:
            return None
        i += 3
        negated = words[i] == "not"
        i += negated
        intensifier = words[i] if i < len(words) and words[i] in INTENSIFIERS else None
        i += intensifier is not None
        if i >= len(words) or words[i] not in ADJECTIVES:
            return None
        clauses.append((subject, verb, negated, intensifier, words[i]))
        i += 1
        if i == len(words):
            return clauses if len(clauses) <= MAX_CLAUSES else None
        if words[i] not in CONNECTIVES:
            return None
        i += 1


def is_valid(text: str) -> bool:
    """Is ``text`` (prompt + completion) a sentence of the grammar?"""
    return parse_review(text) is not None


def true_reward(text: str) -> float:
    """Exact sentiment of a full review (prompt + completion); ``INVALID_REWARD`` off-grammar."""
    clauses = parse_review(text)
    if clauses is None:
        return INVALID_REWARD
    scores = [
        ADJECTIVES[adjective] * INTENSIFIERS.get(intensifier, 1.0) * (NEGATION_FACTOR if negated else 1.0)
        for _subject, _verb, negated, intensifier, adjective in clauses
    ]
    return sum(scores) / len(scores)


def corpus(n: int, seed: int = 0) -> list[str]:
    """``n`` reviews of the neutral corpus (for SFT and for training the tokenizer)."""
    rng = random.Random(seed)
    return [sample_review(rng) for _ in range(n)]
