"""Rankings in the tabular world (dpo_teach.bandit.plackett_luce): the sampler's exact distribution,
k = 2 is Bradley-Terry, DPO on rankings = RLHF on the Plackett-Luce MLE reward, the first-order
conditions, what the data cannot decide, and bad input."""

import math
from itertools import combinations, permutations

import numpy as np
import pytest

from dpo_teach import bandit as b
from dpo_teach import numpy_dpo as nd
from helpers import tabular_world as world


def pl_probability(order, r):
    """Plackett-Luce (Eq. 18) by its definition: a product of softmaxes over what is left."""
    p, left = 1.0, list(order)
    for y in order:
        p *= math.exp(r[y]) / sum(math.exp(r[z]) for z in left)
        left.remove(y)
    return p


def exact_ranking_distribution(ref, r, k):
    """P(tau) = P(S) * PL(tau | S), P(S) proportional to prod_{y in S} ref(y), by enumeration."""
    sets = list(combinations(range(len(ref)), k))
    weight = np.array([np.prod(ref[list(s)]) for s in sets])
    weight /= weight.sum()
    return {tau: w * pl_probability(tau, r) for s, w in zip(sets, weight) for tau in permutations(s)}


def within(freq, p, n, sigmas=5.0):
    return abs(freq - p) <= sigmas * math.sqrt(p * (1 - p) / n) + 1e-12


# --- the sampler ----------------------------------------------------------------------------


def test_first_place_frequencies_match_the_plackett_luce_formula():
    ref, r = np.array([0.35, 0.25, 0.2, 0.12, 0.08]), np.array([0.0, 1.0, -0.5, 2.0, 0.3])
    n, k = 200_000, 3
    rankings = b.sample_rankings(ref, r, n, k, seed=0)
    exact = exact_ranking_distribution(ref, r, k)
    for y in range(5):  # P(first = y) = sum over rankings that start with y
        p = sum(v for tau, v in exact.items() if tau[0] == y)
        assert within((rankings[:, 0] == y).mean(), p, n), y
    for s in [(0, 1, 3), (2, 3, 4)]:  # within one set, first place is a softmax of r (Eq. 18)
        rows = rankings[(np.sort(rankings, axis=1) == s).all(axis=1)]
        soft = np.exp(r[list(s)]) / np.exp(r[list(s)]).sum()
        for y, p in zip(s, soft):
            assert within((rows[:, 0] == y).mean(), p, len(rows)), (s, y)


def test_every_ranking_has_its_exact_probability():
    ref, r = np.array([0.4, 0.3, 0.2, 0.1]), np.array([0.5, -1.0, 1.0, 0.0])
    n = 200_000
    rankings = b.sample_rankings(ref, r, n, 3, seed=1)
    exact = exact_ranking_distribution(ref, r, 3)
    assert rankings.shape == (n, 3) and len(exact) == 24 and abs(sum(exact.values()) - 1) < 1e-12
    counts = {}
    for row in map(tuple, rankings.tolist()):
        counts[row] = counts.get(row, 0) + 1
    assert set(counts) <= set(exact)
    for tau, p in exact.items():
        assert within(counts.get(tau, 0) / n, p, n), tau


def test_k_equal_2_draws_pairs_like_sample_preferences():
    ref, r = np.array([0.5, 0.3, 0.2]), np.array([1.0, 0.0, -1.0])
    n = 200_000
    rankings = b.sample_rankings(ref, r, n, 2, seed=2)
    chosen, rejected = b.sample_preferences(ref, r, n, seed=3)
    for i, j in combinations(range(3), 2):
        p_set = ref[i] * ref[j] / sum(ref[a] * ref[c] for a, c in combinations(range(3), 2))
        in_set = np.isin(rankings, [i, j]).all(axis=1)
        in_pairs = np.isin(np.stack([chosen, rejected], 1), [i, j]).all(axis=1)
        assert within(in_set.mean(), p_set, n) and within(in_pairs.mean(), p_set, n)
        win = float(nd.bt_probability(r[i], r[j]))  # Bradley-Terry, Eq. 1
        assert within((rankings[in_set, 0] == i).mean(), win, in_set.sum())


def test_sampler_edge_cases_and_seed():
    ref, r = world(6, 0)
    full = b.sample_rankings(ref, r, 500, 6, seed=4)  # k = K: every answer in every ranking
    assert (np.sort(full, axis=1) == np.arange(6)).all()
    skewed = np.array([1 - 3e-12, 1e-12, 1e-12, 1e-12])  # rejection would need ~1e12 draws
    pairs = b.sample_rankings(skewed, [0.0, 1.0, 2.0, 3.0], 10_000, 2, seed=5)
    assert (pairs == 0).any(axis=1).all()  # answer 0 is in (almost surely) every ranking
    again = b.sample_rankings(ref, r, 50, 3, seed=6)
    assert (again == b.sample_rankings(ref, r, 50, 3, seed=6)).all()
    assert again.dtype.kind == "i" and (np.sort(again, axis=1)[:, 1:] > np.sort(again, axis=1)[:, :-1]).all()


# --- the loss -----------------------------------------------------------------------------------


def test_plackett_luce_loss_is_the_negative_log_of_eq18_and_bradley_terry_for_k_2():
    rng = np.random.default_rng(7)
    scores = rng.normal(size=(20, 4))
    expected = [-math.log(pl_probability(range(4), s)) for s in scores]
    assert np.allclose(b.plackett_luce_loss(scores), expected, rtol=1e-13, atol=0)
    pair = rng.normal(size=(30, 2))
    assert np.allclose(b.plackett_luce_loss(pair), -nd.log_sigmoid(pair[:, 0] - pair[:, 1]), atol=1e-14)
    huge = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]])  # stable: exp(1e4) would overflow
    assert np.allclose(b.plackett_luce_loss(huge), [1e4, 2e4], rtol=1e-12, atol=1e-12)


def test_tabular_dpo_pl_loss_is_the_pl_loss_of_the_implicit_reward():
    ref, r = world(5, 8)
    rankings = b.sample_rankings(ref, r, 300, 3, seed=8)
    pi, beta = b.optimal_policy(ref, r, 0.7), 0.4
    implicit = beta * np.log(pi / ref)
    expected = b.plackett_luce_loss(implicit[rankings]).mean()
    assert b.tabular_dpo_pl_loss(pi, ref, rankings, beta) == pytest.approx(expected, rel=1e-14)
    shifted = b.plackett_luce_loss(implicit[rankings] + 123.0).mean()  # + beta log Z: cancels
    assert shifted == pytest.approx(expected, rel=1e-10)


# --- the fits -----------------------------------------------------------------------------------


@pytest.mark.parametrize("l2", [b.DEFAULT_L2, 0.0])
def test_k_equal_2_reward_model_is_fit_reward_model(l2):
    ref, r = world(6, 9)
    chosen, rejected = b.sample_preferences(ref, r, 20_000, seed=9)
    pairs = np.stack([chosen, rejected], axis=1)
    assert (
        np.abs(b.fit_reward_model_pl(pairs, 6, l2=l2) - b.fit_reward_model(chosen, rejected, 6, l2=l2)).max()
        < 1e-12
    )
    assert (
        b.total_variation(b.fit_dpo_pl(ref, pairs, 0.5, l2=l2), b.fit_dpo(ref, chosen, rejected, 0.5, l2=l2))
        < 1e-12
    )


@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("beta", [0.1, 1.0, 5.0])
def test_dpo_on_rankings_equals_optimal_policy_of_the_pl_mle_reward(k, beta):
    ref, r = world(7, k)
    rankings = b.sample_rankings(ref, r, 20_000, k, seed=k)
    pi_dpo = b.fit_dpo_pl(ref, rankings, beta)
    pi_rlhf = b.optimal_policy(ref, b.fit_reward_model_pl(rankings, 7), beta)
    assert np.abs(pi_dpo - pi_rlhf).max() < 1e-10


def test_first_order_conditions_by_autograd():
    torch = pytest.importorskip("torch")
    ref, r = world(6, 10)
    rankings = b.sample_rankings(ref, r, 5_000, 4, seed=10)
    idx = torch.as_tensor(rankings)

    def pl_nll(scores):  # Eq. 18 in torch, written from scratch
        s = scores[idx]
        suffix = torch.logcumsumexp(s.flip(1), dim=1).flip(1)
        return (suffix - s).sum(1).mean()

    r_hat = torch.tensor(b.fit_reward_model_pl(rankings, 6, l2=0.0), requires_grad=True)
    pl_nll(r_hat).backward()
    assert r_hat.grad.abs().max() < 1e-10 and abs(float(r_hat.detach().sum())) < 1e-12  # zero-sum convention
    beta, log_ref = 0.3, torch.tensor(np.log(ref))
    for l2 in (0.0, 1e-3):
        log_pi = np.log(b.fit_dpo_pl(ref, rankings, beta, l2=l2))
        # the logits up to the constant the loss cannot see: the implicit reward sums to zero
        theta = torch.tensor(log_pi - (log_pi - np.log(ref)).mean(), requires_grad=True)
        implicit = beta * (torch.log_softmax(theta, 0) - log_ref)
        u = beta * (theta - log_ref)
        (pl_nll(implicit) + 0.5 * l2 * (u @ u)).backward()
        assert theta.grad.abs().max() < 1e-10, l2


def test_unranked_answers_and_components_follow_the_fit_convention():
    rankings = np.array([[0, 1], [1, 0], [1, 0], [2, 3], [3, 2], [3, 2]])  # {0,1}, {2,3}; 4 unranked
    r_hat = b.fit_reward_model_pl(rankings, 5, l2=0.0)
    assert r_hat[4] == 0.0 and abs(r_hat[0] + r_hat[1]) < 1e-14 and abs(r_hat[2] + r_hat[3]) < 1e-14
    assert abs(r_hat[1] - r_hat[0] - math.log(2)) < 1e-12  # 1 beat 0 twice in three: sigma(d) = 2/3
    ref = np.full(5, 0.2)
    pi = b.fit_dpo_pl(ref, rankings, 1.0, l2=0.0)
    assert abs(np.log(pi[4] / ref[4]) - np.log(pi[0] * pi[1] / ref[0] ** 2) / 2) < 1e-12


def test_separable_rankings_finite_with_l2_and_clear_error_without():
    rankings = np.array([[0, 1, 2], [0, 2, 1], [1, 2, 0]])  # ... 0 is above 1 and 2 twice, then below
    assert np.isfinite(b.fit_reward_model_pl(rankings, 3, l2=0.0)).all()
    always = np.array([[0, 1, 2], [0, 2, 1]])  # answer 0 always first
    r_hat = b.fit_reward_model_pl(always, 3)
    assert np.isfinite(r_hat).all() and r_hat[0] > r_hat[1:].max() + 5
    with pytest.raises(ValueError, match="separable"):
        b.fit_reward_model_pl(always, 3, l2=0.0)
    with pytest.raises(ValueError, match="separable"):
        b.fit_dpo_pl([0.5, 0.3, 0.2], always, 1.0, l2=0.0)


def test_pl_mle_converges_to_the_true_reward():
    ref, r = world(5, 11)
    errors = []
    for n in (500, 50_000):
        r_hat = b.fit_reward_model_pl(b.sample_rankings(ref, r, n, 3, seed=n), 5)
        errors.append(np.abs(r_hat - (r - r.mean())).max())
    assert errors[1] < 0.05 and errors[0] / errors[1] > 3


# --- bad input ----------------------------------------------------------------------------------

REF, R = [0.5, 0.3, 0.2], [1.0, 0.0, -1.0]
GOOD = np.array([[0, 1, 2], [2, 1, 0]])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: b.sample_rankings(REF, R, 0, 2), "n_rankings must be an integer >= 1"),
        (lambda: b.sample_rankings(REF, R, 10.0, 2), "n_rankings must be an integer"),
        (lambda: b.sample_rankings(REF, R, 10, 1), r"k must be an integer in \[2, 3\]"),
        (lambda: b.sample_rankings(REF, R, 10, 4), r"k must be an integer in \[2, 3\]"),
        (lambda: b.sample_rankings(REF, R, 10, True), "k must be an integer"),
        (lambda: b.sample_rankings(REF, [1.0, 0.0], 10, 2), "one reward per answer"),
        (lambda: b.sample_rankings([0.5, 0.6, 0.2], R, 10, 2), "sum to 1"),
        (lambda: b.sample_rankings(REF, R, 10, 2, seed=-1), "seed must be"),
        (lambda: b.fit_reward_model_pl([0, 1, 2], 3), r"shape \(N, k\)"),
        (lambda: b.fit_reward_model_pl([[0], [1]], 3), "k >= 2"),
        (lambda: b.fit_reward_model_pl(GOOD.astype(float), 3), "integer"),
        (lambda: b.fit_reward_model_pl(np.zeros((0, 2), int), 3), r"shape \(N, k\)"),
        (lambda: b.fit_reward_model_pl([[0, 3]], 3), r"indices must lie in \[0, 2\]"),
        (lambda: b.fit_reward_model_pl([[0, 1, 0]], 3), "list an answer twice"),
        (lambda: b.fit_reward_model_pl(GOOD, 1), "n_actions"),
        (lambda: b.fit_reward_model_pl(GOOD, 3, l2=-1.0), "l2 must be"),
        (lambda: b.fit_dpo_pl(REF, GOOD, 0.0), "beta must be > 0"),
        (lambda: b.fit_dpo_pl(REF, GOOD, 1e9), "optimal_policy"),
        (lambda: b.fit_dpo_pl([0.5, 0.5], GOOD, 1.0), r"indices must lie in \[0, 1\]"),
        (lambda: b.tabular_dpo_pl_loss([0.5, 0.5], REF, GOOD, 1.0), "shape"),
        (lambda: b.plackett_luce_loss([1.0, 2.0]), r"shape \(N, k\)"),
        (lambda: b.plackett_luce_loss([[1.0, np.nan]]), "NaN"),
        (lambda: b.plackett_luce_loss("1, 2"), "string"),
    ],
)
def test_bad_input_raises_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
