"""Probe logging in the DPO trainer (dpo_teach.gpt2.probe): a fixed held-out set scored every N
steps, off by default and without effect on training; and ``train(until=...)`` in stretches."""

import pytest

from dpo_teach import torch_dpo
from dpo_teach.gpt2.logprobs import score_pairs
from dpo_teach.gpt2.probe import PROBE_NAMES, ProbeSet
from dpo_teach.gpt2.trainer import METRIC_NAMES, DPOConfig, DPOTrainer
from helpers import PAD, tiny_gpt2, toy_pairs

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/gpt2/conftest.py


SETTINGS = dict(beta=0.5, learning_rate=1e-2, batch_size=4, max_steps=7, log_every=3, progress=False)


def make(probe_every=0, probe_pairs=None, **overrides):
    config = DPOConfig(**{**SETTINGS, "probe_every": probe_every, **overrides})
    return DPOTrainer(tiny_gpt2(0), tiny_gpt2(0), toy_pairs(), config, PAD, probe_pairs=probe_pairs)


def test_probe_logging_leaves_training_unchanged_and_logs_every_n_steps():
    plain = make().train()
    probed_trainer = make(probe_every=3, probe_pairs=toy_pairs(6, seed=9))
    probed = probed_trainer.train()
    assert all(set(h) == {"step", *METRIC_NAMES, "learning_rate"} for h in plain)  # off: nothing added
    for a, b in zip(plain, probed, strict=True):  # the same steps, to the bit
        assert {k: b[k] for k in a} == a
    assert [h["step"] for h in probed if "probe/chosen_logps" in h] == [0, 3, 6]
    assert all(set(PROBE_NAMES) <= set(h) for h in probed if h["step"] % 3 == 0)
    first = probed[0]  # step 0: policy = reference, so margin 0 and no strict win
    assert first["probe/rewards/margins"] == pytest.approx(0.0, abs=1e-6)
    assert first["probe/rewards/accuracies"] == 0.0
    ref_c, ref_r = score_pairs(tiny_gpt2(0), toy_pairs(6, seed=9), PAD)
    assert first["probe/chosen_logps"] == pytest.approx(float(ref_c.mean()), abs=1e-6)
    assert first["probe/rejected_logps"] == pytest.approx(float(ref_r.mean()), abs=1e-6)
    assert probed_trainer.policy.training  # the probe restores train mode after scoring


def test_probe_measure_is_the_mean_of_score_pairs_and_the_margin_of_the_core():
    policy, ref, pairs = tiny_gpt2(1).eval(), tiny_gpt2(2).eval(), toy_pairs(9, seed=3)
    got = ProbeSet(pairs, ref, PAD, beta=0.3).measure(policy)
    (pc, pr), (rc, rr) = score_pairs(policy, pairs, PAD), score_pairs(ref, pairs, PAD)
    margins = torch_dpo.margin(pc, pr, rc, rr, 0.3)
    assert got["probe/chosen_logps"] == pytest.approx(float(pc.mean()), abs=1e-6)
    assert got["probe/rewards/margins"] == pytest.approx(float(margins.mean()), abs=1e-6)
    assert got["probe/rewards/accuracies"] == pytest.approx(float((margins > 0).float().mean()))
    assert set(ProbeSet(pairs, None, PAD, beta=0.3).measure(policy)) == set(PROBE_NAMES[:2])  # no reference


@pytest.mark.parametrize(
    "probe_every, probe_pairs, words",
    [(5, None, "probe_every=5, probe_pairs None"), (0, toy_pairs(2), "probe_every=0, probe_pairs set")],
)
def test_probe_needs_both_settings(probe_every, probe_pairs, words):
    with pytest.raises(ValueError, match=words):
        make(probe_every=probe_every, probe_pairs=probe_pairs)
    with pytest.raises(ValueError, match="probe_every must be an integer >= 0"):
        DPOConfig(probe_every=-1)


def test_training_in_stretches_equals_one_call():
    whole = make().train()
    trainer = make()
    for until in (2, 2, 5, 7):
        trainer.train(until=until)
    assert trainer.history == whole and trainer.step == 7
    with pytest.raises(ValueError, match="until must be an integer in"):
        trainer.train(until=8)
