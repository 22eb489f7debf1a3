"""Choosing per seed from held-out signals (tuning), the notebooks' claims against the committed
records (claims), and the tables and heat maps the notebooks show (report)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from dpo_teach.sweep import claims, report, stats, tuning

ROOT = Path(__file__).resolve().parents[2]
CLAIMS = claims.all_claims()


def _record(cells: dict, seeds=(0, 1, 2)) -> dict:
    """A synthetic record: ``cells`` maps (beta, lr) -> function(seed) -> metrics."""
    return {"provenance": {"experiment": "beta_lr"},
            "runs": [{"setting": {"beta": b, "learning_rate": lr}, "seed": s, "metrics": f(s)}
                     for (b, lr), f in cells.items() for s in seeds]}  # fmt: skip


def _m(acc, loss, kl, reward, valid=1.0):
    return {"reward_accuracy": acc, "heldout_dpo_loss": loss, "kl_to_reference": kl,
            "true_reward_policy": reward, "valid_rate_policy": valid}  # fmt: skip


# the held-out signals prefer the aggressive cell, which collapses on seed 0 (the grid's lesson)
CELLS = {
    (2.0, 5e-4): lambda s: _m(0.85, 0.32, 1.0, 0.8),
    (1.0, 1e-3): lambda s: _m(
        0.90, 0.27, 9.0 if s == 0 else 3.0, -2.0 if s == 0 else 1.0, 0.3 if s == 0 else 0.9
    ),
}


def test_pick_follows_the_signal_within_the_budget_and_regret_is_against_the_oracle():
    cands = tuning.candidates(_record(CELLS), lambda s: (s["beta"], s["learning_rate"]))
    by_accuracy = tuning.pick(cands, tuning.ACCURACY)
    assert by_accuracy == {0: (1.0, 1e-3), 1: (1.0, 1e-3), 2: (1.0, 1e-3)}
    within = tuning.pick(cands, tuning.ACCURACY, tuning.kl_budget(2.0))
    assert within == {0: (2.0, 5e-4), 1: (2.0, 5e-4), 2: (2.0, 5e-4)}
    oracle = tuning.pick(cands, tuning.TRUE_REWARD)
    assert oracle == {0: (2.0, 5e-4), 1: (1.0, 1e-3), 2: (1.0, 1e-3)}
    assert tuning.regret(cands, by_accuracy) == pytest.approx({0: 2.8, 1: 0.0, 2: 0.0})
    assert tuning.regret(cands, oracle) == {0: 0.0, 1: 0.0, 2: 0.0}
    # a budget no candidate meets cannot decide: the signal alone does
    assert tuning.pick(cands, tuning.ACCURACY, tuning.kl_budget(0.5)) == by_accuracy
    # the held-out loss is "higher is better" once negated: the lower loss wins
    assert tuning.pick(cands, tuning.HELDOUT_LOSS)[1] == (1.0, 1e-3)
    with pytest.raises(ValueError, match="KL budget"):
        tuning.kl_budget(0)
    with pytest.raises(ValueError, match="run the sweep"):
        tuning.pick({}, tuning.ACCURACY)


def test_selection_rules_report_hits_and_regret():
    rules = report.selection_rules(_record(CELLS), budgets=(2.0,))
    assert rules["held-out accuracy"]["oracle_hits"] == 2 and rules["accuracy, KL <= 2"]["oracle_hits"] == 1
    assert rules["true reward (oracle)"]["regret"] == {0: 0.0, 1: 0.0, 2: 0.0}
    assert min(rules["held-out accuracy"]["valid"].values()) == 0.3


def test_interval_table_and_grid_means_read_the_record():
    record = _record(CELLS)
    table = report.interval_table(record, [("cell a", {"beta": 2.0, "learning_rate": 5e-4})],
                                  {"true_reward_policy": "true reward"})  # fmt: skip
    assert "0.800 [0.800, 0.800]" in table and table.rstrip().endswith("3")
    betas, rates, means = report.grid_means(record, "true_reward_policy")
    assert betas == [1.0, 2.0] and rates == [5e-4, 1e-3]
    assert means[0][1] == pytest.approx(0.0) and means[1][0] == pytest.approx(0.8)  # (-2 + 1 + 1) / 3
    assert math.isnan(means[0][0])  # no run of beta 1 at 5e-4: a blank cell, not a zero
    with pytest.raises(ValueError, match="no run of"):
        report.interval_table(record, [("missing", {"beta": 9.0})], {"true_reward_policy": "r"})


def _claim(direction, b=True):
    a = claims.per_seed({"beta": 1.0, "learning_rate": 1e-3}, "reward_accuracy")
    other = claims.per_seed({"beta": 2.0, "learning_rate": 5e-4}, "reward_accuracy") if b else None
    return claims.Claim("xx", "test claim", "beta_lr", a, other, direction)


def test_a_claim_holds_only_in_the_direction_its_interval_supports():
    record = _record({(2.0, 5e-4): lambda s: _m(0.85 + 0.01 * s, 0.3, 1, 0),
                      (1.0, 1e-3): lambda s: _m(0.90 + 0.01 * s + 0.001 * (s % 2), 0.3, 1, 0)})  # fmt: skip
    iv = claims.interval(_claim(1), record)
    assert iv.low > 0 and claims.holds(_claim(1), iv)
    assert not claims.holds(_claim(-1), iv) and not claims.holds(_claim(0), iv)  # each wrong claim fails
    loose = stats.Interval(0.01, -0.02, 0.04, 5)
    assert claims.holds(_claim(0), loose) and not claims.holds(_claim(1), loose)
    assert claims.interval(_claim(1, b=False), record).mean == pytest.approx(0.9103, abs=1e-3)


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: f"{c.notebook}: {c.text[:60]}")
def test_every_notebook_claim_follows_from_its_committed_record(claim):
    iv = claims.interval(claim, claims.load_record(claim.experiment))
    assert claims.holds(claim, iv), f"{claim.text}: {iv}"
    # the check can fail: the opposite claim (or a resolved one, for "not resolved") does not hold
    opposite = claims.Claim(claim.notebook, claim.text, claim.experiment, claim.a, claim.b,
                            -claim.direction if claim.direction else 1)  # fmt: skip
    assert not claims.holds(opposite, iv) or (claim.direction == 0 and iv.low > 0)


def test_every_notebook_with_claims_checks_them():
    for notebook in sorted({c.notebook for c in CLAIMS}):
        (path,) = (ROOT / "notebooks").glob(f"{notebook}_*.ipynb")
        code = "".join(
            "".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"
        )
        assert re.search(rf"claims\.check\(\s*[\"']{notebook}[\"']", code), (
            f"{path.name} never checks its claims"
        )


def test_check_names_the_claim_the_record_does_not_support(tmp_path, monkeypatch):
    record = _record(CELLS, seeds=(0, 1, 2, 3))
    (tmp_path / "beta_lr.json").write_text(json.dumps(record))
    monkeypatch.setattr(claims, "all_claims", lambda: [_claim(-1)])
    with pytest.raises(AssertionError, match="test claim"):
        claims.check("xx", results=tmp_path, log=lambda *_: None)
    with pytest.raises(FileNotFoundError, match="python -m dpo_teach.sweep noise"):
        claims.load_record("noise", results=tmp_path)
