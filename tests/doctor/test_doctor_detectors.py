"""Each detector of the doctor on small made-up logs: it fires on one side of its threshold and
stays quiet on the other (the real logs of tests/fixtures/doctor are in test_doctor.py)."""

from __future__ import annotations

import math

import pytest

from dpo_teach import doctor
from dpo_teach.doctor import checks as dc
from dpo_teach.doctor import detectors as dd

LN2 = math.log(2)


def log_of(n=20, first=0, **columns):
    """A history of ``n`` steps from ``first``; each column is a value or a function of the index."""
    rows = []
    for i in range(n):
        row = {"step": first + i}
        for key, value in columns.items():
            row[key.replace("__", "/")] = value(i) if callable(value) else value
        rows.append(row)
    return doctor.parse_log(rows).series


def healthy(n=20, **override):
    """Loss falls from ln 2, margins and accuracy rise, logps/chosen roughly flat: no symptom."""
    columns = dict(
        loss=lambda i: LN2 - 0.02 * i,
        rewards__margins=lambda i: 0.1 * i,
        rewards__chosen=lambda i: 0.02 * i,
        rewards__rejected=lambda i: -0.08 * i,
        rewards__accuracies=lambda i: min(1.0, 0.5 + 0.03 * i),
        logps__chosen=lambda i: -12 - 0.01 * i,
        logps__rejected=lambda i: -13 - 0.1 * i,
        grad_norm=5.0,
    )
    return log_of(n, **(columns | override))


def test_a_healthy_log_fires_nothing():
    findings, not_run = dc.run_detectors(healthy())
    assert findings == [] and {c["id"] for c in not_run} == {
        "zero_learning_rate", "eval_loss_rising", "probe_eos_collapse", "probe_kl_blowup"}  # fmt: skip


def test_stuck_at_ln2():
    stuck = dict(loss=round(LN2, 4), rewards__margins=0.0, rewards__chosen=0.0, rewards__rejected=0.0)
    finding = dd.stuck_at_ln2(healthy(**stuck, grad_norm=0.0))
    assert finding.id == "stuck_at_ln2" and finding.causes[0].startswith("beta = 0")
    assert finding.severity == "error"
    assert dd.stuck_at_ln2(healthy(**stuck)).causes[0].startswith("the policy and the reference are the same")
    assert dd.stuck_at_ln2(healthy()) is None
    assert dd.stuck_at_ln2(healthy(**stuck | {"loss": LN2 - 2 * dd.STUCK_LOSS_TOL})) is None
    assert dd.stuck_at_ln2(healthy(**stuck | {"rewards__margins": 0.01})) is None  # the margin moves
    assert dd.stuck_at_ln2(healthy(n=dd.STUCK_MIN_SPAN, **stuck)) is None  # too short to tell


def test_non_finite():
    finding = dd.non_finite(healthy(loss=lambda i: LN2 if i < 7 else (0.0 if i == 7 else math.nan)))
    assert (
        finding.first_step == 8
        and "loss NaN" in finding.evidence
        and "exactly 0.0 at step 7" in finding.evidence
    )
    assert dd.non_finite(healthy(grad_norm=lambda i: math.inf if i == 3 else 1.0)).first_step == 3
    assert dd.non_finite(healthy()) is None


def test_zero_grad_norm():
    assert dd.zero_grad_norm(healthy(grad_norm=0.0)).first_step == 0
    late = dd.zero_grad_norm(healthy(grad_norm=lambda i: 0.0 if i > 15 else 2.0))
    assert late.first_step == 16 and late.causes[0].startswith("the loss saturated")
    assert dd.zero_grad_norm(healthy(grad_norm=1e-6)) is None


def test_binary_accuracies():
    coin = dict(rewards__accuracies=lambda i: float(i % 3 == 0))
    assert dd.binary_accuracies(healthy(**coin)).id == "binary_accuracies"
    assert dd.binary_accuracies(healthy(**coin, n=dd.BINARY_MIN_ENTRIES - 1)) is None  # too few
    assert dd.binary_accuracies(healthy(rewards__accuracies=lambda i: 0.5 * (i % 3))) is None  # 0.5 seen
    assert dd.binary_accuracies(healthy(rewards__accuracies=0.0)) is None  # never a 1: stuck, not batch 1
    solved = dict(rewards__accuracies=lambda i: float(i > 0))  # 0 before the first update, then all right
    assert dd.binary_accuracies(healthy(**solved)) is None


def test_chosen_logps_falling():
    falling = dict(logps__chosen=lambda i: -12 - 0.6 * i)  # -12 -> about -22
    finding = dd.chosen_logps_falling(healthy(**falling))
    assert finding.id == "chosen_logps_falling" and "usually benign" in finding.causes[0]
    assert dd.chosen_logps_falling(healthy(logps__chosen=lambda i: -12 - 0.1 * i)) is None  # < 25 %
    assert dd.chosen_logps_falling(healthy(**falling, rewards__margins=lambda i: -0.1 * i)) is None
    noisy = dict(logps__chosen=lambda i: -5.0 if i == 0 else (-4.0 if i % 2 else -20.0))  # one pair a step
    assert dd.chosen_logps_falling(healthy(**noisy)) is None  # within the noise of one entry


def test_margin_explosion():
    exploding = dict(loss=lambda i: LN2 * 0.5**i, rewards__margins=lambda i: 2.0 * i)
    finding = dd.margin_explosion(healthy(**exploding))
    assert finding.id == "margin_explosion" and finding.first_step == 7  # ln 2 / 2^7 < 0.01
    assert dd.margin_explosion(healthy(loss=lambda i: max(0.02, LN2 - 0.05 * i))) is None
    assert (
        "exactly 0.0"
        in dd.margin_explosion(healthy(**exploding | {"loss": lambda i: LN2 if i < 3 else 0.0})).causes[-1]
    )


def test_both_rewards_falling():
    both = dict(rewards__chosen=lambda i: -1.0 * i, rewards__rejected=lambda i: -1.2 * i,
                rewards__margins=lambda i: 0.2 * i)  # fmt: skip
    finding = dd.both_rewards_falling(healthy(**both))
    assert finding.id == "both_rewards_falling"
    assert finding.first_step == 4  # the chosen reward below -3.5, the separation the run ends with
    # the chosen reward falls less than the pair separates: the usual, benign displacement
    assert dd.both_rewards_falling(healthy(**both | {"rewards__rejected": lambda i: -3.0 * i})) is None
    assert dd.both_rewards_falling(healthy()) is None


@pytest.mark.parametrize("first, logging_steps, checked", [(0, None, True), (1, 1, True), (3, 3, False)])
def test_step0_not_ln2(first, logging_steps, checked):
    rows = [{"step": first + i, "loss": 1.02 if i == 0 else 0.6, "rewards/chosen": 0.0} for i in range(10)]
    log = doctor.parse_log({"log_history": rows, "logging_steps": logging_steps})
    finding = dd.step0_not_ln2(log.series)
    assert (finding is not None) == checked
    if checked:
        assert finding.first_step == first and "1.02" in finding.evidence
    rows[0]["loss"] = LN2 + dd.STEP0_LOSS_TOL / 2
    assert (
        dd.step0_not_ln2(doctor.parse_log({"log_history": rows, "logging_steps": logging_steps}).series)
        is None
    )
    rows[0]["rewards/chosen"] = 2 * dd.STEP0_REWARD_TOL
    again = dd.step0_not_ln2(doctor.parse_log({"log_history": rows, "logging_steps": logging_steps}).series)
    assert (again is not None) == checked  # the rewards give it away too


def test_ids_are_the_fixed_set_and_every_detector_is_run():
    assert doctor.IDS == (
        "stuck_at_ln2", "non_finite", "zero_grad_norm", "binary_accuracies", "chosen_logps_falling",
        "margin_explosion", "both_rewards_falling", "step0_not_ln2", "zero_learning_rate",
        "empty_completions", "eval_loss_rising", "loss_spikes", "divergence", "probe_eos_collapse",
        "probe_kl_blowup",
    )  # fmt: skip
    assert [d.__name__ for d in dc.DETECTORS] == list(doctor.IDS)
