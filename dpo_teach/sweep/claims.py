r"""The orderings the notebooks state about GPT-2 runs, each tied to a committed sweep record.

A notebook sentence such as "robust DPO assuming a wrong flip rate loses true reward against DPO"
is a :class:`Claim`: two quantities per seed from one record (``results/EXPERIMENT.json``), their
paired difference over seeds (:func:`~.stats.paired_difference`) and the direction the prose states:
``+1`` (a > b, the interval above 0), ``-1`` (a < b) or ``0`` ("not resolved at N seeds": the
interval contains 0). A claim with ``b=None`` is about ``a`` alone (its mean's interval against 0).

The claims live in :mod:`.notebook_claims` and :mod:`.failure_claims` (notebook 07's). The
notebooks call :func:`check` for theirs (printing each with its interval and failing on any that
the record does not support), and ``tests/sweep/test_tuning_claims.py`` checks every claim against
the committed records, so prose, notebook and record cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

from .distribution import runs_of
from .stats import Interval, mean_interval, paired_difference

__all__ = ["RESULTS", "Claim", "per_seed", "load_record", "interval", "holds", "all_claims", "check"]

RESULTS = Path(__file__).resolve().parents[2] / "results"  # the committed records (a clone's results/)
PerSeed = Callable[[dict], dict[int, float]]  # record -> {seed: value}


def per_seed(setting: dict, metric: str) -> PerSeed:
    """``record -> {seed: metric}`` of the runs of exactly ``setting``."""

    def values(record: dict) -> dict[int, float]:
        runs = runs_of(record, setting)
        if not runs:
            raise ValueError(f"the record holds no run of {setting}; run the sweep first")
        return {seed: m[metric] for seed, m in runs.items()}

    values.__doc__ = f"{metric} of {json.dumps(setting, sort_keys=True)}"
    return values


@dataclasses.dataclass(frozen=True)
class Claim:
    notebook: str  # "07"
    text: str  # the statement the notebook's prose makes
    experiment: str  # results/<experiment>.json
    a: PerSeed
    b: PerSeed | None  # None: a claim about a's mean alone
    direction: int  # +1: a > b; -1: a < b; 0: not resolved (the interval contains 0)
    section: str = ""  # the notebook section stating it ("7"), for check(notebook, section)


def load_record(experiment: str, results: Path | None = None) -> dict:
    path = Path(results or RESULTS) / f"{experiment}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `python -m dpo_teach.sweep {experiment} --jobs 2` "
                                "(or clone the repository, which holds the committed records)")  # fmt: skip
    return json.loads(path.read_text(encoding="utf-8"))


def interval(claim: Claim, record: dict) -> Interval:
    a = claim.a(record)
    return paired_difference(a, claim.b(record)) if claim.b is not None else mean_interval(list(a.values()))


def holds(claim: Claim, iv: Interval) -> bool:
    """Whether ``iv`` supports the claim's direction (0: the interval contains 0)."""
    if claim.direction == 0:
        return not iv.excludes_zero
    return iv.low > 0 if claim.direction > 0 else iv.high < 0


def all_claims() -> list[Claim]:
    """Every registered claim: :mod:`.notebook_claims` (05, 06, 08) and :mod:`.failure_claims` (07)."""
    from .failure_claims import CLAIMS as FAILURE
    from .notebook_claims import CLAIMS

    return [*CLAIMS, *FAILURE]


def check(
    notebook: str, section: str | None = None, results: Path | None = None, log=print
) -> dict[str, Interval]:
    """Print and verify every claim of ``notebook`` (of one ``section``, if given) against the
    records; ``{text: interval}``. An ``AssertionError`` names a claim its record does not support."""
    out, records = {}, {}
    for claim in (c for c in all_claims() if c.notebook == notebook and section in (None, c.section)):
        if claim.experiment not in records:
            records[claim.experiment] = load_record(claim.experiment, results)
        iv = interval(claim, records[claim.experiment])
        word = {1: "resolved, >", -1: "resolved, <", 0: "not resolved"}[claim.direction]
        log(f"{'ok' if holds(claim, iv) else 'FAILS'} [{word}] {claim.text}: {iv}")
        if not holds(claim, iv):
            raise AssertionError(f"notebook {notebook} claims '{claim.text}' ({word}), but "
                                 f"results/{claim.experiment}.json gives {iv}")  # fmt: skip
        out[claim.text] = iv
    return out
