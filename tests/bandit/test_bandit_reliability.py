"""Audit findings on the tabular world (S3, S4, S9, C2, C7): clear ValueErrors for bad or
badly scaled input, the exact pair distribution in O(n_pairs), and nothing silently wrong.
Each test names its finding id."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from dpo_teach import bandit as b
from dpo_teach.bandit.fit import FIT_DPO_BETA_RANGE
from helpers import tabular_world as world

GOOD_REF, GOOD_R = [0.5, 0.3, 0.2], [1.0, 0.0, -1.0]
PAIRS = (np.array([0, 1, 2]), np.array([1, 2, 0]))


def _sigma(z):
    return 1 / (1 + math.exp(-z))


def _exact_pair_table(ref, r):
    """P(chosen = i, rejected = j): two different answers, i.i.d. from ref conditioned on
    differing (P(y1=i, y2=j) = ref_i ref_j / (1 - sum ref^2)), labelled by Bradley-Terry."""
    ref = np.asarray(ref, dtype=float)
    z = 1 - np.sum(ref**2)
    k = len(ref)
    table = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            if i != j:  # either draw order, then i wins with sigma(r_i - r_j)
                table[i, j] = 2 * ref[i] * ref[j] / z * _sigma(r[i] - r[j])
    return table


# --- C2: the exact pair distribution, in O(n_pairs) -------------------------------------------


def test_C2_pairs_follow_the_exact_distribution_on_a_skewed_reference():
    """C2: redrawing only the second answer of a tied pair gave P(y1=i, y2=j) = ref_i ref_j /
    (1 - ref_i) instead of ref_i ref_j / (1 - sum ref^2); a chi-square test on the six
    (chosen, rejected) cells against the exact table (5 degrees of freedom; 40 is p < 1e-7)."""
    ref, r = [0.7, 0.2, 0.1], [0.0, 1.0, -0.5]
    n = 200_000
    chosen, rejected = b.sample_preferences(ref, r, n, seed=11)
    assert (chosen != rejected).all()
    observed = np.bincount(chosen * 3 + rejected, minlength=9).reshape(3, 3)
    expected = n * _exact_pair_table(ref, r)
    off = ~np.eye(3, dtype=bool)
    chi2 = float((((observed - expected) ** 2)[off] / expected[off]).sum())
    assert chi2 < 40, (chi2, observed, expected.round())
    # the unordered pair {1, 2} is the one the old sampler got most wrong (0.047 vs 0.087)
    share_12 = (observed[1, 2] + observed[2, 1]) / n
    assert abs(share_12 - 2 * 0.2 * 0.1 / 0.46) < 0.003


def test_C2_nearly_one_hot_reference_is_sampled_fast_and_right():
    """C2: p_min = 1e-8 took over a minute (redrawing ~1/p_min times); the direct sampler is
    O(n_pairs). Here it must finish (no timing assertion) with the exact frequencies: each of
    {0, 1} and {0, 2} about half, {1, 2} (probability 5e-9) essentially never."""
    p_min = 1e-8
    ref, r = [1 - 2 * p_min, p_min, p_min], [0.0, 1.0, -1.0]
    n = 40_000
    chosen, rejected = b.sample_preferences(ref, r, n, seed=0)
    assert (chosen != rejected).all()
    table = np.bincount(chosen * 3 + rejected, minlength=9).reshape(3, 3)
    share_01 = (table[0, 1] + table[1, 0]) / n
    assert abs(share_01 - 0.5) < 4 * math.sqrt(0.25 / n)
    assert table[1, 2] + table[2, 1] == 0
    wins_1 = table[1, 0] / (table[1, 0] + table[0, 1])  # Bradley-Terry inside the pair {0, 1}
    assert abs(wins_1 - _sigma(1.0)) < 4 * math.sqrt(0.25 / (table[1, 0] + table[0, 1]))


def test_C2_a_reference_with_one_entry_at_rounding_level_still_gives_distinct_pairs():
    """C2: ref = [1 - 1e-17, 1e-17] (1 - ref[0] rounds to 0) was refused; the exact distribution
    is perfectly defined (every pair is {0, 1}), and the sampler gives it."""
    chosen, rejected = b.sample_preferences([1 - 1e-17, 1e-17], [0.0, 0.0], 2_000, seed=3)
    assert (chosen != rejected).all() and set(chosen.tolist()) == {0, 1}
    assert abs((chosen == 0).mean() - 0.5) < 0.05


def test_C2_the_same_seed_gives_the_same_pairs_and_a_generator_is_accepted():
    """C2 (regression guard): still reproducible; many answers are no problem."""
    ref, r = world(50, 1)
    first = b.sample_preferences(ref, r, 5_000, seed=4)
    again = b.sample_preferences(ref, r, 5_000, seed=np.random.default_rng(4))
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert (first[0] != first[1]).all()


# --- S3: fit_rlhf with a batch of one and the batch-mean baseline -------------------------------


def test_S3_batch_size_one_with_baseline_is_rejected_and_says_why():
    """S3: batch_size=1 with the batch-mean baseline made every advantage 0 and silently returned
    the reference."""
    with pytest.raises(ValueError, match="batch_size=1 with baseline=True") as info:
        b.fit_rlhf(GOOD_REF, GOOD_R, 1.0, batch_size=1)
    msg = str(info.value)
    assert "every advantage" in msg and "batch_size >= 2" in msg and "baseline=False" in msg
    moved = b.fit_rlhf(GOOD_REF, GOOD_R, 1.0, batch_size=1, baseline=False, n_iterations=50, seed=0)
    assert b.total_variation(moved.probs, GOOD_REF) > 0.01  # without the baseline it learns
    b.fit_rlhf(GOOD_REF, GOOD_R, 1.0, batch_size=2, n_iterations=2)  # two samples are enough


# --- S4: the metrics validate their inputs --------------------------------------------------


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: b.total_variation([30, 70], [50, 50]), "p must sum to 1"),
        (lambda: b.total_variation([0.5, 0.5], [30, 70]), "q must sum to 1"),
        (lambda: b.total_variation([math.nan, 1.0], [0.5, 0.5]), "p contains NaN"),
        (lambda: b.total_variation([0.5, 0.5], [1.2, -0.2]), "q must give every answer"),
        (lambda: b.total_variation([0.5, 0.5], [0.2, 0.3, 0.5]), "p has shape"),
        (lambda: b.total_variation(None, [0.5, 0.5]), "p is None"),
        (lambda: b.total_variation(["0.5", "0.5"], [0.5, 0.5]), "p holds text values"),
        (lambda: b.total_variation([0.5 + 1j, 0.5], [0.5, 0.5]), "p has the complex dtype"),
        (lambda: b.expected_reward([30, 70], [1.0, 0.0]), "probs must sum to 1"),
        (lambda: b.expected_reward([0.5, 0.5], [1.0, math.nan]), "rewards contains NaN"),
        (lambda: b.expected_reward([0.5, 0.5], ["1", "0"]), "rewards holds text values"),
        (lambda: b.expected_reward([0.5, 0.5], [1j, 0.0]), "rewards has the complex dtype"),
        (lambda: b.kl_divergence([0.5, 0.5], [30, 70]), "ref_probs must sum to 1"),
        (lambda: b.kl_divergence([math.nan, 1.0], [0.5, 0.5]), "probs contains NaN"),
        (lambda: b.kl_divergence(None, [0.5, 0.5]), "probs is None"),
    ],
)
def test_S4_metrics_validate_their_inputs(call, match):
    """S4: total_variation([30, 70], [50, 50]) returned 20.0 and a NaN input returned nan; every
    tabular metric now checks its inputs like the rest of the tabular API."""
    with pytest.raises(ValueError, match=match):
        call()


def test_S4_valid_metric_inputs_still_work():
    assert b.total_variation([1.0, 0.0], [0.0, 1.0]) == 1.0
    assert b.total_variation(np.array([0.25, 0.75]), torch.tensor([0.25, 0.75])) == 0.0


# --- S9: scale -------------------------------------------------------------------------------


def test_S9_optimal_policy_is_finite_and_right_when_r_over_beta_overflows():
    """S9: beta=5e-324 gave NaN; the optimum is the argmax (ties share by pi_ref), with no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(b.optimal_policy(GOOD_REF, GOOD_R, 5e-324), [1.0, 0.0, 0.0])
        tie = b.optimal_policy(GOOD_REF, [1.0, 1.0, -1.0], 5e-324)
        np.testing.assert_allclose(tie, [0.625, 0.375, 0.0], rtol=1e-15)
        np.testing.assert_array_equal(b.optimal_policy([0.5, 0.5], [1e308, -1e308], 1e-10), [1.0, 0.0])
        spread = b.optimal_policy([0.5, 0.5], [1e308, -1e308], 1e308)  # r / beta = +-1, no overflow
        np.testing.assert_allclose(spread, [_sigma(2.0), _sigma(-2.0)], rtol=1e-15)


def test_S9_fit_rlhf_with_huge_rewards_raises_and_names_the_rescaling():
    """S9: rewards ~1e160 overflowed Adam's squared gradient and silently returned the reference."""
    ref, r = world(6, 7)
    for rewards, beta in ((r * 1e160, 0.5), (r * 1e160, 0.5e160), (r, 1e200)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the ValueError comes first, no overflow warning
            with pytest.raises(ValueError, match="too large for float64") as info:
                b.fit_rlhf(ref, rewards, beta, n_iterations=20)
        msg = str(info.value)
        assert "rewards / beta" in msg and "divide rewards and beta by the same factor" in msg
    # the advice works: rescaled by the same factor, the fit reaches the same optimum
    res = b.fit_rlhf(ref, r * 1e160 / 1e160, 0.5e160 / 1e160, n_iterations=150, batch_size=128, seed=1)
    assert b.total_variation(res.probs, b.optimal_policy(ref, r, 0.5)) < 0.01
    big = b.fit_rlhf(ref, r * 1e150, 0.5e150, n_iterations=150, batch_size=128, seed=1)  # still fine
    assert b.total_variation(big.probs, res.probs) < 1e-9


def test_S9_fit_rlhf_with_tiny_rewards_and_beta_raises_instead_of_stalling():
    """S9 (the other end): with rewards and beta ~1e-12, Adam's eps swamped the gradients and the
    loop silently stayed near the reference (TV 0.43 from the optimum)."""
    ref, r = world(6, 7)
    with pytest.raises(ValueError, match="Adam's eps") as info:
        b.fit_rlhf(ref, r * 1e-12, 0.5e-12)
    assert "multiply rewards and beta by the same factor" in str(info.value)
    flat = b.fit_rlhf(ref, np.zeros(6), 1e-12, n_iterations=5)  # no reward differences: nothing to learn
    assert b.total_variation(flat.probs, ref) < 1e-12


def test_S9_fit_rlhf_divergence_is_a_clear_error_not_nan():
    """S9: a step size so large that the loop overflows names lr and clip_eps."""
    with pytest.raises(ValueError, match="diverged.*lr=1e\\+308"):
        b.fit_rlhf(GOOD_REF, GOOD_R, 1.0, lr=1e308, clip_eps=None, anneal_lr=False, n_iterations=50)


LO, HI = FIT_DPO_BETA_RANGE


@pytest.mark.parametrize("beta", [LO / 10, 1e-200, 5e-324, HI * 10, 1e20, 1e300])
def test_S9_fit_dpo_outside_its_float64_range_raises_and_names_the_stable_route(beta):
    """S9: fit_dpo at such betas failed with LinAlgError, RuntimeError or OverflowError."""
    ref, r = world(5, 2)
    chosen, rejected = b.sample_preferences(ref, r, 500, seed=2)
    with pytest.raises(ValueError, match="fit_dpo's float64 solve") as info:
        b.fit_dpo(ref, chosen, rejected, beta)
    assert "optimal_policy(ref_probs, fit_reward_model(chosen, rejected, K, l2=l2), beta)" in str(info.value)
    stable = b.optimal_policy(ref, b.fit_reward_model(chosen, rejected, 5), beta)  # the route it names
    assert np.isfinite(stable).all() and abs(stable.sum() - 1) < 1e-12


@pytest.mark.parametrize("beta", FIT_DPO_BETA_RANGE)
def test_S9_fit_dpo_at_the_ends_of_its_range_still_equals_the_closed_form(beta):
    ref, r = world(5, 2)
    chosen, rejected = b.sample_preferences(ref, r, 500, seed=2)
    target = b.optimal_policy(ref, b.fit_reward_model(chosen, rejected, 5), beta)
    assert b.total_variation(b.fit_dpo(ref, chosen, rejected, beta), target) < 1e-12


def test_S9_sample_preferences_and_fit_reward_model_with_extreme_rewards():
    """S9: the other tabular functions at extreme scale: Bradley-Terry with rewards 1e308 apart is
    a certain win (no NaN, no warning); the reward model never sees the reward scale."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        chosen, rejected = b.sample_preferences([0.5, 0.5], [1e308, -1e308], 1_000, seed=0)
    assert (chosen == 0).all() and (rejected == 1).all()
    r_hat = b.fit_reward_model(chosen, rejected, 2)  # separable: finite thanks to the ridge
    assert np.isfinite(r_hat).all() and r_hat[0] > r_hat[1]


# --- C7: hyper-parameters given as text (or the wrong type) ------------------------------------


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: b.fit_rlhf(GOOD_REF, GOOD_R, 1.0, lr="0.05"), "lr must be a number"),
        (lambda: b.fit_rlhf(GOOD_REF, GOOD_R, 1.0, lr=None), "lr must be a number"),
        (lambda: b.fit_rlhf(GOOD_REF, GOOD_R, 1.0, lr=True), "lr must be a number"),
        (lambda: b.fit_rlhf(GOOD_REF, GOOD_R, 1.0, clip_eps="0.2"), "clip_eps must be a number"),
        (lambda: b.fit_rlhf(GOOD_REF, GOOD_R, 1.0, seed="0"), "seed must be an int >= 0"),
        (lambda: b.fit_rlhf(GOOD_REF, GOOD_R, 1.0, seed=-1), "seed must be an int >= 0"),
        (lambda: b.fit_rlhf(GOOD_REF, GOOD_R, 1.0, seed=1.5), "seed must be an int >= 0"),
        (lambda: b.fit_rlhf(GOOD_REF, GOOD_R, 1.0, baseline="False"), "baseline must be True or False"),
        (lambda: b.fit_rlhf(GOOD_REF, GOOD_R, 1.0, anneal_lr="no"), "anneal_lr must be True or False"),
        (lambda: b.fit_rlhf(GOOD_REF, GOOD_R, "1.0"), "beta must be a positive scalar"),
        (lambda: b.fit_dpo(GOOD_REF, *PAIRS, 1.0, l2="1e-6"), "l2 must be a number"),
        (lambda: b.fit_dpo(GOOD_REF, *PAIRS, "0.5"), "beta must be a positive scalar"),
        (lambda: b.fit_reward_model(*PAIRS, 3, l2="1e-6"), "l2 must be a number"),
        (lambda: b.fit_reward_model(*PAIRS, 3, l2=[1e-6, 1e-6]), "l2 must be a number"),
        (lambda: b.sample_preferences(GOOD_REF, GOOD_R, 10, seed="0"), "seed must be an int >= 0"),
        (lambda: b.sample_preferences(GOOD_REF, GOOD_R, 10, seed=True), "seed must be an int >= 0"),
        (lambda: b.sample_preferences(None, GOOD_R, 10), "ref_probs is None"),
        (lambda: b.sample_preferences(GOOD_REF, "1 0 -1", 10), "rewards is the string"),
        (lambda: b.optimal_policy(GOOD_REF, [1j, 0.0, 0.0], 1.0), "rewards has the complex dtype"),
    ],
)
def test_C7_text_and_wrong_types_in_the_tabular_fits_name_the_argument(call, match):
    """C7: string lr / clip_eps / seed crashed with a TypeError or were parsed (l2); a string
    baseline="False" was silently true. Each now raises a ValueError naming the argument."""
    with pytest.raises(ValueError, match=match):
        call()


def test_C7_numeric_hyper_parameters_of_numpy_types_are_fine():
    res = b.fit_rlhf(GOOD_REF, GOOD_R, np.float64(1.0), lr=np.float32(0.05), clip_eps=np.float64(0.2),
                     seed=np.int64(0), baseline=np.bool_(True), n_iterations=3)  # fmt: skip
    assert abs(res.probs.sum() - 1) < 1e-12
    assert b.fit_reward_model(*PAIRS, 3, l2=np.float64(1e-6)).shape == (3,)
