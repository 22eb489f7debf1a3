"""The fits of the tabular world (dpo_teach.bandit.fit): DPO = RLHF on the MLE reward, a stationary
point of Eq. 7, the beta limits, what the data cannot decide, separable data, convergence."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dpo_teach import bandit as b
from helpers import tabular_world as world

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


def test_fit_dpo_beta_limits():
    ref, r = world(7, 2)
    chosen, rejected = b.sample_preferences(ref, r, 20_000, seed=0)
    r_hat = b.fit_reward_model(chosen, rejected, 7)
    assert b.total_variation(b.fit_dpo(ref, chosen, rejected, beta=1e7), ref) < 1e-6
    assert b.fit_dpo(ref, chosen, rejected, beta=1e-4)[np.argmax(r_hat)] > 1 - 1e-9


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


def test_tabular_dpo_loss_is_the_mean_of_the_twin_loss():
    from dpo_teach import numpy_dpo as nd

    ref, r = world(4, 9)
    pi = b.optimal_policy(ref, r, 1.0)
    chosen, rejected = b.sample_preferences(ref, r, 50, seed=9)
    logp, logr = np.log(pi), np.log(ref)
    expected = nd.dpo_loss(logp[chosen], logp[rejected], logr[chosen], logr[rejected], 0.3)[0].mean()
    assert b.tabular_dpo_loss(pi, ref, chosen, rejected, 0.3) == pytest.approx(expected, rel=1e-13)


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
