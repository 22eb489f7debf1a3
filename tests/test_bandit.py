"""The tabular world (dpo_teach.bandit): Eq. 4 in closed form, DPO = RLHF on the MLE reward,
convergence with data, the beta limits, the PPO-style loop, and clear errors on bad input."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dpo_teach import bandit as b


def world(k, seed):
    """A random reference policy and reward vector for K answers."""
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.full(k, 2.0)), rng.normal(size=k)


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
    chosen, rejected = b.sample_preferences(ref, r, 20_000, seed=0)
    r_hat = b.fit_reward_model(chosen, rejected, 7)
    assert b.total_variation(b.fit_dpo(ref, chosen, rejected, beta=1e7), ref) < 1e-6
    assert b.fit_dpo(ref, chosen, rejected, beta=1e-4)[np.argmax(r_hat)] > 1 - 1e-9


# --- preference data ------------------------------------------------------------------------


def test_sample_preferences_follow_bradley_terry():
    ref, r = [0.5, 0.5], [0.3, -0.2]
    chosen, rejected = b.sample_preferences(ref, r, 200_000, seed=3)
    assert (chosen != rejected).all() and chosen.dtype.kind == "i"
    p_first_wins = 1 / (1 + math.exp(-(0.3 + 0.2)))
    assert abs((chosen == 0).mean() - p_first_wins) < 0.005  # ~4 standard errors
    again = b.sample_preferences(ref, r, 200_000, seed=3)
    np.testing.assert_array_equal(again[0], chosen)


# --- DPO = RLHF on the MLE reward -------------------------------------------------------


@pytest.mark.parametrize("k", [5, 8, 10])
@pytest.mark.parametrize("beta", [0.1, 1.0, 5.0])
def test_dpo_equals_optimal_policy_of_mle_reward(k, beta):
    ref, r = world(k, k)
    chosen, rejected = b.sample_preferences(ref, r, 100_000, seed=k)
    pi_dpo = b.fit_dpo(ref, chosen, rejected, beta)
    pi_rlhf = b.optimal_policy(ref, b.fit_reward_model(chosen, rejected, k), beta)
    assert b.total_variation(pi_dpo, pi_rlhf) < 1e-10


@settings(max_examples=40, deadline=None)
@given(
    k=st.integers(2, 9),
    n=st.integers(1, 60),
    beta=st.floats(0.05, 10.0),
    seed=st.integers(0, 10_000),
)
def test_equivalence_holds_with_few_pairs_unseen_answers_and_separable_data(k, n, beta, seed):
    ref, r = world(k, seed)
    chosen, rejected = b.sample_preferences(ref, r, n, seed=seed)
    pi_dpo = b.fit_dpo(ref, chosen, rejected, beta)
    pi_rlhf = b.optimal_policy(ref, b.fit_reward_model(chosen, rejected, k), beta)
    assert b.total_variation(pi_dpo, pi_rlhf) < 1e-6


def test_fit_dpo_is_a_stationary_point_of_eq7():
    ref, r = world(5, 4)
    chosen, rejected = b.sample_preferences(ref, r, 5_000, seed=4)
    pi = b.fit_dpo(ref, chosen, rejected, beta=0.5, l2=0.0)
    theta = np.log(pi)
    for i in range(5):  # central differences of the mean Eq.-7 loss along each logit
        e = np.eye(5)[i] * 1e-5
        up, down = (np.exp(theta + s * e) / np.exp(theta + s * e).sum() for s in (1, -1))
        grad = (
            b.tabular_dpo_loss(up, ref, chosen, rejected, 0.5)
            - b.tabular_dpo_loss(down, ref, chosen, rejected, 0.5)
        ) / 2e-5
        assert abs(grad) < 1e-8


def test_fit_dpo_matches_torch_lbfgs_on_the_torch_loss():
    torch = pytest.importorskip("torch")
    from dpo_teach import torch_dpo

    ref, r = world(6, 5)
    chosen, rejected = b.sample_preferences(ref, r, 3_000, seed=5)
    beta = 0.3
    log_ref = torch.tensor(np.log(ref), dtype=torch.float64)
    cw, cl = torch.as_tensor(chosen), torch.as_tensor(rejected)
    theta = log_ref.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([theta], lr=1, max_iter=500, tolerance_grad=1e-13, tolerance_change=0,
                            line_search_fn="strong_wolfe")  # fmt: skip

    def closure():
        opt.zero_grad()
        logp = torch.log_softmax(theta, 0)
        loss = torch_dpo.dpo_loss(logp[cw], logp[cl], log_ref[cw], log_ref[cl], beta)[0].mean()
        loss.backward()
        return loss

    opt.step(closure)
    pi_torch = torch.softmax(theta.detach(), 0).numpy()
    assert b.total_variation(b.fit_dpo(ref, chosen, rejected, beta, l2=0.0), pi_torch) < 1e-7


# --- what the data cannot decide --------------------------------------------------------


def test_never_compared_answer_keeps_its_logit_and_dpo_loss_ignores_it():
    ref = np.array([0.45, 0.05, 0.5])
    chosen, rejected = np.array([1, 1, 1, 0]), np.array([0, 0, 0, 1])  # answer 2 never compared
    assert b.never_compared(chosen, rejected, 3).tolist() == [2]
    beta = 0.5
    pi = b.fit_dpo(ref, chosen, rejected, beta, l2=0.0)
    r_hat = b.fit_reward_model(chosen, rejected, 3, l2=0.0)
    assert r_hat[2] == 0.0 and abs(r_hat[0] + r_hat[1]) < 1e-14  # zero-sum gauge per component
    assert abs(r_hat[1] - r_hat[0] - math.log(3)) < 1e-12  # BT MLE: sigma(d) = 3/4
    # logit of the unseen answer unchanged: log pi(2) - log ref(2) = -log Z, and Z < 1 here
    assert pi[2] > ref[2]  # DPO moved probability onto an answer it never saw
    # Shifting the compared answers' logits together leaves the DPO loss unchanged
    for shift in (-3.0, 3.0):
        moved = pi * np.exp(shift * np.array([1, 1, 0]))
        moved /= moved.sum()
        loss_a = b.tabular_dpo_loss(pi, ref, chosen, rejected, beta)
        assert abs(b.tabular_dpo_loss(moved, ref, chosen, rejected, beta) - loss_a) < 1e-12


def test_separable_data_finite_with_l2_and_clear_error_without():
    ref = [0.4, 0.3, 0.3]
    chosen, rejected = np.array([0, 0, 1, 2]), np.array([1, 2, 2, 1])  # answer 0 always wins
    r_hat = b.fit_reward_model(chosen, rejected, 3)
    assert np.isfinite(r_hat).all() and r_hat[0] > r_hat[1] + 5
    with pytest.raises(ValueError, match="separable"):
        b.fit_reward_model(chosen, rejected, 3, l2=0.0)
    with pytest.raises(ValueError, match="separable"):
        b.fit_dpo(ref, chosen, rejected, 1.0, l2=0.0)


# --- convergence as data grows ------------------------------------------------------------


def test_dpo_converges_to_true_optimum_as_data_grows():
    ref, r = world(6, 6)
    beta = 0.5
    target = b.optimal_policy(ref, r, beta)
    errors = []
    for n in (300, 3_000, 30_000, 300_000):
        tv = [b.total_variation(b.fit_dpo(ref, *b.sample_preferences(ref, r, n, seed=s), beta), target)
              for s in range(4)]  # fmt: skip
        errors.append(np.mean(tv))
    assert all(a > c for a, c in zip(errors, errors[1:])), errors
    assert errors[-1] < 0.01 and errors[0] / errors[-1] > 10  # ~ 1/sqrt(n): 30x expected


# --- the RLHF loop ------------------------------------------------------------------------


def test_fit_rlhf_converges_near_optimum_and_reports_costs():
    ref, r = world(6, 7)
    beta = 0.5
    res = b.fit_rlhf(ref, r, beta, n_iterations=150, batch_size=128, seed=1)
    assert b.total_variation(res.probs, b.optimal_policy(ref, r, beta)) < 0.01
    assert res.n_samples == 150 * 128 and res.n_gradient_steps == 150 * 4
    assert res.hyperparameters["lr"] == 0.05 and res.wall_time_s > 0
    assert res.history["probs"].shape == (150, 6)
    np.testing.assert_array_equal(np.asarray(res), res.probs)
    again = b.fit_rlhf(ref, r, beta, n_iterations=150, batch_size=128, seed=1)
    np.testing.assert_array_equal(again.probs, res.probs)  # seeded: reproducible
    plain = b.fit_rlhf(
        ref, r, beta, n_iterations=5, baseline=False, clip_eps=None, seed=np.random.default_rng(0)
    )
    assert abs(plain.probs.sum() - 1) < 1e-12 and plain.hyperparameters["seed"] == "generator"
    # the objective ends at its maximum beta log Z, which the start (pi_ref, J = E_ref[r]) is below
    log_z = math.log(ref @ np.exp(r / beta))
    assert res.history["objective"][-1] > ref @ r and abs(res.history["objective"][-1] - beta * log_z) < 1e-3


def test_fit_rlhf_on_mle_reward_lands_near_dpo():
    ref, r = world(5, 8)
    chosen, rejected = b.sample_preferences(ref, r, 20_000, seed=8)
    pi_dpo = b.fit_dpo(ref, chosen, rejected, 1.0)
    res = b.fit_rlhf(ref, b.fit_reward_model(chosen, rejected, 5), 1.0, seed=0)
    assert b.total_variation(res.probs, pi_dpo) < 0.01


# --- bad input ----------------------------------------------------------------------------

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
