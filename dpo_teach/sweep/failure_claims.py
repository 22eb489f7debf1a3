r"""The GPT-2 orderings notebook 07 states, each a :class:`~.claims.Claim` on a committed record.

Each ``text`` is the notebook's statement, ``section`` its section, ``direction`` what the paired
95 % interval over seeds supports (+1 / -1 resolved, 0 "not resolved at 5 seeds"). The notebook
calls ``claims.check("07", section)``; tests/sweep/test_tuning_claims.py checks every one.
"""

from __future__ import annotations

from .claims import Claim
from .report import selection_rules

__all__ = ["CLAIMS"]


def _rule(rule: str, key: str = "true_reward"):
    """``record -> {seed: value}`` of a selection rule over the beta x lr grid
    (:func:`.report.selection_rules`)."""
    return lambda record: selection_rules(record, budgets=(1.0, 2.0))[rule][key]


CLAIMS: list[Claim] = [
    # --- section 7: which beta and learning rate (results/beta_lr.json) ---
    Claim("07", "a 1-nat KL budget costs true reward against a 2-nat one", "beta_lr",
          _rule("accuracy, KL <= 1"), _rule("accuracy, KL <= 2"), -1, "7"),
    Claim("07", "the 1-nat budget's pick falls short of the oracle's", "beta_lr",
          _rule("accuracy, KL <= 1", "regret"), None, 1, "7"),
    Claim("07", "the 2-nat budget's shortfall against the oracle", "beta_lr",
          _rule("accuracy, KL <= 2", "regret"), None, 0, "7"),
    Claim("07", "the KL budget against held-out accuracy alone, in mean true reward", "beta_lr",
          _rule("accuracy, KL <= 2"), _rule("held-out accuracy"), 0, "7"),
]  # fmt: skip
