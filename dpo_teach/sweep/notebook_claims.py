r"""The GPT-2 orderings notebooks 05-08 state, each a :class:`~.claims.Claim` on a committed record.

Each entry's ``text`` is the statement its notebook makes; ``direction`` is what the record's
paired 95 % interval over seeds supports (+1 / -1 resolved, 0 not resolved). The notebook calls
``claims.check("NN")``; tests/sweep/test_claims.py checks them all against ``results/``.
"""

from __future__ import annotations

from .claims import Claim, per_seed  # noqa: F401  (the claims below use both)

__all__ = ["CLAIMS"]

CLAIMS: list[Claim] = []
