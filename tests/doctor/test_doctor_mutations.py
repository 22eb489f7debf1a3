"""The doctor's fixture tests can fail: a threshold or rule made slightly wrong (monkeypatched) loses an
expected finding on a shape of tests/fixtures/doctor/shapes/, or makes a healthy log warn. Each test
first checks the right threshold's answer, so a pass means the mutation, not the fixture, changed it."""

from __future__ import annotations

import math
import random

from test_doctor_shapes import EXPECTED, HEALTHY, SHAPES

from dpo_teach import doctor
from dpo_teach.doctor import detectors as dd
from dpo_teach.doctor import dynamics as dy


def ids_and_severities(name):
    return [(f["id"], f["severity"]) for f in doctor.examine(SHAPES / name)["findings"]]


def test_loss_spikes_threshold_too_high_loses_trl1236(monkeypatch):
    assert ids_and_severities("trl1236.json") == EXPECTED["trl1236.json"]
    monkeypatch.setattr(dy, "SPIKE_NATS", 10 * dy.SPIKE_NATS)  # only losses 15 nats above their level
    assert ("loss_spikes", "warning") not in ids_and_severities("trl1236.json")


def test_loss_spikes_threshold_too_low_makes_healthy_runs_warn(monkeypatch):
    monkeypatch.setattr(dy, "SPIKE_NATS", 0.0)  # any loss above 2 ln 2 ...
    monkeypatch.setattr(dy, "SPIKE_MIN_LOSS", 0.0)  # ... or any loss above its running median
    warned = [n for n in HEALTHY if any(sev != "info" for _, sev in ids_and_severities(n))]
    assert warned, "a spike rule that fires on every rise must make some healthy log warn"


def test_step0_reward_tolerance_too_loose_loses_the_first_step_check(monkeypatch):
    name = "first_step_not_reference.json"  # logging_first_step=True, rewards -1.84 before any update
    assert ids_and_severities(name) == [("step0_not_ln2", "error")]
    monkeypatch.setattr(dd, "STEP0_REWARD_TOL", 5.0)  # rewards of -1.84 pass as "the reference" ...
    assert ids_and_severities(name) == [("step0_not_ln2", "error")]  # ... the loss 0.659 still tells
    monkeypatch.setattr(dd, "STEP0_LOSS_TOL", 0.1)  # ... and so does a loss 0.034 from ln 2
    assert ids_and_severities(name) == []


def test_scaler_warmup_window_of_zero_makes_fp16_warmup_an_error(monkeypatch):
    name = "fp16_scaler_warmup.json"
    assert ids_and_severities(name) == [("non_finite", "info")]
    monkeypatch.setattr(dd, "SCALER_MAX_ENTRIES", 0)  # the scaler's normal skipped steps now count
    assert ids_and_severities(name) == [("non_finite", "error")]


def test_eval_rise_threshold_too_high_loses_over_fitting(monkeypatch):
    name = "eval_rising.json"  # eval loss 0.52 -> 0.74 while the training loss falls
    assert ids_and_severities(name) == [("eval_loss_rising", "warning")]
    monkeypatch.setattr(dy, "EVAL_RISE_NATS", 0.5)
    assert ids_and_severities(name) == []


def test_huge_margin_too_low_makes_healthy_runs_warn(monkeypatch):
    assert all(sev == "info" for n in HEALTHY for _, sev in ids_and_severities(n))
    monkeypatch.setattr(dd, "HUGE_MARGIN", 0.1)  # every run that learns has margins above 0.1
    warned = [n for n in HEALTHY if ("margin_explosion", "warning") in ids_and_severities(n)]
    assert warned


def accuracy_log(n=40, peak_at=24, seed=0):
    """A TRL-like log of 8 pairs a step: accuracy climbs to about 0.9 by ``peak_at``, then falls to
    about 0.3 (a divergence); each entry is 8 Bernoulli verdicts, so the curve is noisy."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        p = 0.5 + 0.4 * i / peak_at if i <= peak_at else max(0.3, 0.9 - 0.12 * (i - peak_at))
        rows.append({"step": i + 1, "loss": math.log(2) - 0.01 * i, "epoch": i / n,
                     "rewards/accuracies": sum(rng.random() < p for _ in range(8)) / 8})  # fmt: skip
    return rows


def test_divergence_noise_rule_is_what_keeps_noisy_short_runs_quiet(monkeypatch):
    diverging = accuracy_log()
    noisy = accuracy_log(n=12, peak_at=60)  # no fall: 12 noisy entries of a run still climbing
    assert [f.id for f in doctor.diagnose(diverging)] == ["divergence"]
    assert not any(f.id == "divergence" for f in doctor.diagnose(noisy))
    monkeypatch.setattr(dy, "FALL_NOISE", 0.0)  # without the noise rule, batch noise reads as a fall
    assert any(f.id == "divergence" for f in doctor.diagnose(noisy))
    monkeypatch.setattr(dy, "FALL_NOISE", 100.0)  # the fall must beat 100 standard errors: never
    assert not any(f.id == "divergence" for f in doctor.diagnose(diverging))


def test_divergence_persistence_threshold_sits_between_the_dip_and_the_divergence(monkeypatch):
    # short_dip.json: 30 steps of 8 pairs, margins ~1 then a dip over the last ~8 entries (info);
    # divergence.json: margins ~2, then ~0 over the last third of 30 entries (error)
    assert ids_and_severities("short_dip.json") == [("divergence", "info")]
    assert ids_and_severities("divergence.json") == [("divergence", "error")]
    monkeypatch.setattr(dy, "FALL_MIN_ENTRIES", 8)  # a fall over 8 entries counts: the dip is called
    assert ids_and_severities("short_dip.json") == [("divergence", "error")]
    monkeypatch.setattr(dy, "FALL_MIN_ENTRIES", 15)  # half the log: no room for a rise before the fall
    assert ids_and_severities("divergence.json") == [("divergence", "info")]
