"""The tabular world (dpo_teach.bandit): Eq. 4 in closed form, the beta limits, the Bradley-Terry
preference data and the small measures (expected reward, KL, total variation, unseen answers).

The fits are tested in test_bandit_fit.py, the RLHF loop in test_bandit_rlhf.py, bad input in
test_bandit_checks.py."""

import math

import numpy as np
import pytest

from dpo_teach import bandit as b
from helpers import tabular_world as world


def logits_of(probs):
    return np.log(probs) - np.log(probs).mean()


# --- Eq. 4 -------------------------------------------------------------------------------


def test_optimal_policy_matches_direct_computation():
    ref, r, beta = [0.5, 0.3, 0.2], [1.0, 0.0, -0.5], 0.7
    unnorm = [p * math.exp(x / beta) for p, x in zip(ref, r)]
    direct = [u / sum(unnorm) for u in unnorm]
    np.testing.assert_allclose(b.optimal_policy(ref, r, beta), direct, rtol=1e-14)


def test_optimal_policy_is_stable_for_huge_reward_over_beta():
    pi = b.optimal_policy([0.25, 0.25, 0.5], [1e4, 0.0, 1e4 - 1.0], beta=1e-3)
    assert np.isfinite(pi).all() and abs(pi.sum() - 1) < 1e-15 and pi[0] == 1.0


def test_optimal_policy_maximises_the_kl_regularised_objective():
    # J(pi) = E_pi[r] - beta KL(pi || ref) peaks at pi* with value beta log Z (Eq. 3-4)
    ref, r = world(6, 0)
    beta = 0.4
    pi = b.optimal_policy(ref, r, beta)

    def objective(p):
        return b.expected_reward(p, r) - beta * b.kl_divergence(p, ref)

    log_z = math.log(sum(p * math.exp(x / beta) for p, x in zip(ref, r)))
    assert abs(objective(pi) - beta * log_z) < 1e-12
    rng = np.random.default_rng(1)
    for _ in range(200):
        other = np.exp(logits_of(pi) + rng.normal(scale=0.3, size=6))
        assert objective(other / other.sum()) < objective(pi)


def test_beta_to_infinity_gives_ref_and_beta_to_zero_gives_argmax():
    ref, r = world(7, 2)
    np.testing.assert_allclose(b.optimal_policy(ref, r, 1e9), ref, atol=1e-8)
    np.testing.assert_array_equal(b.optimal_policy(ref, r, 1e-6), np.eye(7)[np.argmax(r)])


def test_larger_beta_keeps_the_optimum_closer_to_the_reference():
    ref, r = world(6, 3)
    kls = [b.kl_divergence(b.optimal_policy(ref, r, beta), ref) for beta in (0.1, 0.3, 1.0, 3.0, 10.0)]
    assert all(a > c for a, c in zip(kls, kls[1:])), kls


# --- preference data ------------------------------------------------------------------------


def test_sample_preferences_follow_bradley_terry():
    ref, r = [0.5, 0.5], [0.3, -0.2]
    chosen, rejected = b.sample_preferences(ref, r, 200_000, seed=3)
    assert (chosen != rejected).all() and chosen.dtype.kind == "i"
    p_first_wins = 1 / (1 + math.exp(-(0.3 + 0.2)))
    assert abs((chosen == 0).mean() - p_first_wins) < 0.005  # ~4 standard errors
    again = b.sample_preferences(ref, r, 200_000, seed=3)
    np.testing.assert_array_equal(again[0], chosen)


# --- measures ------------------------------------------------------------------------------------


def test_expected_reward_kl_and_total_variation_by_hand():
    p, q, r = [0.5, 0.5, 0.0], [0.25, 0.25, 0.5], [1.0, -1.0, 7.0]
    assert b.expected_reward(p, r) == 0.0
    assert b.kl_divergence(p, q) == pytest.approx(math.log(2), rel=1e-15)  # the zero entry adds 0
    assert b.kl_divergence(q, q) == 0.0
    assert b.total_variation(p, q) == 0.5
    assert b.total_variation(p, p) == 0.0


def test_never_compared_lists_the_answers_in_no_pair():
    assert b.never_compared([0, 3], [3, 1], 5).tolist() == [2, 4]
    assert b.never_compared([0, 1], [1, 0], 2).tolist() == []
