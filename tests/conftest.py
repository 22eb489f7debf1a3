"""Fixtures shared by the unit tests: the two formula twins behind one parameter, and the review
tokenizer of the GPT-2 tests. Plain helper functions live in ``helpers.py``."""

from __future__ import annotations

import pytest

from helpers import TWINS, Twin


@pytest.fixture(params=TWINS, ids=[t.name for t in TWINS])
def twin(request) -> Twin:
    return request.param


@pytest.fixture(scope="session")
def tokenizer():
    """A byte-level BPE trained on 500 reviews of the grammar (shared: training it takes a moment)."""
    from dpo_teach.gpt2 import reviews
    from dpo_teach.gpt2.tokenizer import train_tokenizer

    return train_tokenizer(reviews.corpus(500, seed=0))
