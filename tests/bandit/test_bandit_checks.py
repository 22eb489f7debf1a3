"""Input checks of the tabular world (dpo_teach.bandit.checks): every tabular function raises the
same clear ValueError on bad input, and the stable log-softmax."""

import numpy as np
import pytest

from dpo_teach import bandit as b
from dpo_teach.bandit import checks

GOOD_REF, GOOD_R = [0.5, 0.3, 0.2], [1.0, 0.0, -1.0]
PAIRS = (np.array([0, 1]), np.array([1, 2]))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: b.optimal_policy([0.5, 0.6, 0.2], GOOD_R, 1.0), "sum to 1"),
        (lambda: b.optimal_policy([1.2, -0.2, 0.0], GOOD_R, 1.0), "positive probability"),
        (lambda: b.optimal_policy([[0.5, 0.5]], [0.0, 1.0], 1.0), "1-d"),
        (lambda: b.optimal_policy([0.5, np.nan, 0.5], GOOD_R, 1.0), "NaN"),
        (lambda: b.optimal_policy(GOOD_REF, [1.0, 0.0], 1.0), "one reward per answer"),
        (lambda: b.optimal_policy(GOOD_REF, GOOD_R, 0.0), "beta must be > 0"),
        (lambda: b.optimal_policy(GOOD_REF, GOOD_R, -1.0), "beta must be > 0"),
        (lambda: b.sample_preferences(GOOD_REF, GOOD_R, 0), "n_pairs must be an integer >= 1"),
        (lambda: b.sample_preferences(GOOD_REF, GOOD_R, 2.5), "n_pairs must be an integer"),
        (lambda: b.fit_reward_model([0, 3], [1, 2], 3), r"indices must lie in \[0, 2\]"),
        (lambda: b.fit_reward_model([0, 1], [0, 2], 3), "compare an answer with itself"),
        (lambda: b.fit_reward_model([0, 1], [1], 3), "same length"),
        (lambda: b.fit_reward_model([0.0, 1.0], [1, 2], 3), "integer answer indices"),
        (lambda: b.fit_reward_model([], [], 3), "empty"),
        (lambda: b.fit_reward_model(*PAIRS, 1), "n_actions"),
        (lambda: b.fit_reward_model(*PAIRS, 3, l2=-1.0), "l2 must be"),
        (lambda: b.fit_dpo(GOOD_REF, *PAIRS, 0.0), "beta must be > 0"),
        (lambda: b.fit_dpo([0.5, 0.5], *PAIRS, 1.0), r"indices must lie in \[0, 1\]"),
        (lambda: b.fit_dpo([2.0, 3.0, 5.0], *PAIRS, 1.0), "sum to 1"),
        (lambda: b.fit_rlhf(GOOD_REF, GOOD_R, 1.0, lr=0.0), "lr must be"),
        (lambda: b.fit_rlhf(GOOD_REF, GOOD_R, 1.0, clip_eps=1.5), "clip_eps"),
        (lambda: b.fit_rlhf(GOOD_REF, GOOD_R, 1.0, batch_size=0), "batch_size"),
        (lambda: b.fit_rlhf(GOOD_REF, [1.0, 2.0], 1.0), "one reward per answer"),
    ],
)
def test_bad_input_raises_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_the_checks_return_clean_arrays():
    p = checks.check_distribution([0.2, 0.3, 0.5 + 1e-9])  # renormalised, float64
    assert p.dtype == np.float64 and abs(p.sum() - 1) < 1e-15
    assert checks.check_distribution([0.5, 0.5, 0.0], "probs", positive=False)[2] == 0.0
    assert checks.check_rewards([1, 2], 2).dtype == np.float64
    assert checks.check_n_actions(np.int64(3)) == 3 and type(checks.check_n_actions(np.int64(3))) is int
    chosen, rejected = checks.check_pairs([0, 2], np.array([1, 0], dtype=np.uint8), 3)
    assert chosen.dtype == rejected.dtype == np.intp and rejected.tolist() == [1, 0]
    assert checks.check_l2(np.float32(0.5)) == 0.5 and checks.check_l2(0) == 0.0
    with pytest.raises(ValueError, match="l2 must be a number"):  # C7: text is never parsed
        checks.check_l2("1e-3")


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: checks.check_distribution([1.0]), "K >= 2"),
        (lambda: checks.check_distribution([0.5, 0.5, 0.0]), "positive probability"),
        (lambda: checks.check_rewards([0.0, np.inf], 2), "NaN or inf"),
        (lambda: checks.check_n_actions(True), "n_actions must be an integer >= 2"),
        (lambda: checks.check_n_actions(2.0), "n_actions must be an integer >= 2"),
        (lambda: checks.check_pairs([[0, 1]], [[1, 0]], 2), "1-d array"),
        (lambda: checks.check_l2("ridge"), "l2 must be a number"),
        (lambda: checks.check_l2(np.nan), "l2 must be a finite number"),
    ],
)
def test_each_check_rejects_its_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_log_softmax_is_stable_and_normalised():
    z = np.array([1e4, 0.0, -1e4, 1e4 - 1.0])
    out = checks.log_softmax(z)
    assert np.isfinite(out).all() and abs(np.exp(out).sum() - 1) < 1e-15
    small = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(
        np.exp(checks.log_softmax(small)), np.exp(small) / np.exp(small).sum(), rtol=1e-15
    )
