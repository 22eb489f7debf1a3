"""The tabular helpers of notebook 07 (dpo_teach.bandit.displacement, dpo_teach.bandit.online):
which answers lose mass at pi*, online DPO rounds, and flipped labels."""

import numpy as np
import pytest

from dpo_teach import bandit
from helpers import tabular_world


@pytest.mark.parametrize("beta", [0.05, 0.5, 2.0, 50.0])
def test_an_answer_loses_mass_at_the_optimum_iff_its_reward_is_below_the_threshold(beta):
    ref, r = tabular_world(9, seed=4)
    pi_star = bandit.optimal_policy(ref, r, beta)
    tau = bandit.displacement_threshold(ref, r, beta)
    assert np.array_equal(pi_star < ref, r < tau)
    assert ref @ r <= tau <= r.max()  # between the mean reward under pi_ref and the best reward
    # tau = beta log Z, so log(pi*/ref) = (r - tau) / beta
    assert np.allclose(np.log(pi_star / ref), (r - tau) / beta, atol=1e-9)


def test_displacement_threshold_limits_and_stability():
    ref, r = np.array([0.5, 0.3, 0.2]), np.array([0.0, 1.0, -1.0])
    assert bandit.displacement_threshold(ref, r, 1e-6) == pytest.approx(1.0, abs=1e-5)  # beta -> 0: max r
    assert bandit.displacement_threshold(ref, r, 1e6) == pytest.approx(ref @ r, abs=1e-5)  # -> E_ref r
    assert np.isfinite(bandit.displacement_threshold(ref, 1e4 * r, 1e-3))  # no overflow


def test_fraction_below_reference_counts_repeats_and_checks_input():
    ref = np.array([0.5, 0.3, 0.2])
    policy = np.array([0.2, 0.3, 0.5])  # answer 0 below, 1 equal (not below), 2 above
    assert bandit.fraction_below_reference(policy, ref, [0, 0, 1, 2]) == 0.5
    with pytest.raises(ValueError, match="indices in"):
        bandit.fraction_below_reference(policy, ref, [3])
    with pytest.raises(ValueError, match="answer indices"):
        bandit.fraction_below_reference(policy, ref, [0.5])


def test_online_rounds_refit_on_pairs_from_the_current_policy_and_reach_pi_star():
    ref, r = tabular_world(6, seed=2)
    rounds = bandit.online_dpo(ref, r, 0.5, n_pairs=3000, rounds=4, seed=7)
    assert [x["round"] for x in rounds] == [0, 1, 2, 3, 4]
    assert np.array_equal(rounds[0]["probs"], ref) and rounds[0]["n_pairs"] == 0
    c, j = bandit.sample_preferences(ref, r, 3000, seed=8)  # round 1 draws from pi_ref with seed + 1
    assert np.allclose(rounds[1]["probs"], bandit.fit_dpo(ref, c, j, 0.5), atol=1e-12)
    assert [x["n_pairs"] for x in rounds] == [0, 3000, 6000, 9000, 12000]
    assert rounds[-1]["tv_to_optimal"] < 0.05 < rounds[0]["tv_to_optimal"]


def test_online_rounds_repair_off_policy_data():
    ref, r = tabular_world(6, seed=2)
    c, j = bandit.sample_preferences(ref, r, 20_000, seed=1)
    seen = (c < 3) & (j < 3)  # offline pairs compare only answers 0-2
    rounds = bandit.online_dpo(ref, r, 0.5, 2000, 3, seed=5, initial=(c[seen], j[seen]))
    assert np.allclose(rounds[0]["probs"], bandit.fit_dpo(ref, c[seen], j[seen], 0.5))
    assert rounds[0]["n_pairs"] == seen.sum() and rounds[-1]["n_pairs"] == seen.sum() + 6000
    assert rounds[-1]["tv_to_optimal"] < rounds[0]["tv_to_optimal"] / 3
    fresh = bandit.online_dpo(ref, r, 0.5, 2000, 2, seed=5, initial=(c[seen], j[seen]), accumulate=False)
    assert fresh[-1]["n_pairs"] == 2000
    with pytest.raises(ValueError, match="rounds must be an integer >= 1"):
        bandit.online_dpo(ref, r, 0.5, 100, 0)


def test_flip_preferences_swaps_at_the_given_rate():
    c, j = np.arange(10_000) % 5, (np.arange(10_000) + 1) % 5
    fc, fj, flipped = bandit.flip_preferences(c, j, 0.2, seed=0)
    assert abs(flipped.mean() - 0.2) < 0.02
    assert np.array_equal(fc[flipped], j[flipped]) and np.array_equal(fc[~flipped], c[~flipped])
    assert np.array_equal(fj[flipped], c[flipped])
    assert not bandit.flip_preferences(c, j, 0.0, seed=0)[2].any()
    with pytest.raises(ValueError, match="rate must be a probability"):
        bandit.flip_preferences(c, j, 1.2)


def test_robust_dpo_undoes_known_label_noise_where_dpo_and_cdpo_shrink():
    ref, r = tabular_world(5, seed=3)
    c, j = bandit.sample_preferences(ref, r, 200_000, seed=0)
    fc, fj, _ = bandit.flip_preferences(c, j, 0.2, seed=1)
    pi_star = bandit.optimal_policy(ref, r, 0.5)
    tv = {loss: bandit.total_variation(bandit.fit_variant(ref, fc, fj, 0.5, loss=loss, **kw), pi_star)
          for loss, kw in (("sigmoid", {}), ("cdpo", {"label_smoothing": 0.2}),
                           ("robust", {"label_smoothing": 0.2}))}  # fmt: skip
    assert tv["robust"] < 0.05 < tv["sigmoid"] < tv["cdpo"]
