"""Fixtures shared by the unit tests: the two formula twins behind one parameter, and the review
tokenizer of the GPT-2 tests. Plain helper functions live in ``helpers.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import TWINS, Twin


def pytest_xdist_auto_num_workers(config):
    """``-n auto`` (pyproject's addopts) runs the whole suite on every core, but a run of a few
    named files or tests goes serially: starting workers would cost more than it saves."""
    named = [a for a in config.args if "::" in a or Path(a).is_file()]
    return 0 if named and len(named) == len(config.args) and len(named) <= 3 else None


@pytest.fixture(params=TWINS, ids=[t.name for t in TWINS])
def twin(request) -> Twin:
    return request.param


@pytest.fixture(scope="session")
def tokenizer():
    """A byte-level BPE trained on 500 reviews of the grammar (shared: training it takes a moment)."""
    from dpo_teach.gpt2 import reviews
    from dpo_teach.gpt2.tokenizer import train_tokenizer

    return train_tokenizer(reviews.corpus(500, seed=0))
