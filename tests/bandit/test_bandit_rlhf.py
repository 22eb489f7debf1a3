"""The RLHF route in the tabular world (dpo_teach.bandit.rlhf): the PPO-style loop converges to
Eq. 4, and its two pieces, the clipped-surrogate gradient and the Adam step, are exact."""

import math

import numpy as np
import pytest
import torch

from dpo_teach import bandit as b
from dpo_teach.bandit.checks import log_softmax
from dpo_teach.bandit.rlhf import AdamState, adam_step, clipped_surrogate_grad
from helpers import tabular_world as world

# --- the loop ------------------------------------------------------------------------------


def test_fit_rlhf_converges_near_optimum_and_reports_costs():
    ref, r = world(6, 7)
    beta = 0.5
    res = b.fit_rlhf(ref, r, beta, n_iterations=150, batch_size=128, seed=1)
    assert isinstance(res, b.RLHFResult)
    assert b.total_variation(res.probs, b.optimal_policy(ref, r, beta)) < 0.01
    assert res.n_samples == 150 * 128 and res.n_gradient_steps == 150 * 4 and res.n_iterations == 150
    assert res.hyperparameters["lr"] == 0.05 and res.wall_time_s > 0
    assert res.history["probs"].shape == (150, 6)
    np.testing.assert_array_equal(res.history["probs"][-1], res.probs)
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


# --- Adam ----------------------------------------------------------------------------------


@pytest.mark.parametrize("lr", [0.05, 1e-3])
def test_adam_step_matches_torch_adam_in_float64(lr):
    rng = np.random.default_rng(0)
    k = 5
    theta = rng.normal(size=k)
    state = AdamState(m=np.zeros(k), v=np.zeros(k))
    param = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([param], lr=lr, betas=(0.9, 0.999), eps=1e-8, maximize=True, foreach=False)
    for step in range(1, 8):  # gradients of varying size and sign, as in the loop
        grad = rng.normal(scale=10.0 ** rng.integers(-3, 2), size=k)
        theta = adam_step(theta, grad, state, lr)
        param.grad = torch.tensor(grad, dtype=torch.float64)
        opt.step()
        assert state.t == step
        np.testing.assert_allclose(theta, param.detach().numpy(), rtol=1e-12, atol=1e-12)
        torch_state = opt.state[param]
        # maximize=True negates the gradient inside torch: its first moment is ours negated
        np.testing.assert_allclose(state.m, -torch_state["exp_avg"].numpy(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(state.v, torch_state["exp_avg_sq"].numpy(), rtol=1e-12, atol=1e-15)


def test_adam_first_step_moves_every_coordinate_by_lr_along_the_gradient_sign():
    # bias-corrected: m_hat = g, v_hat = g^2, so the first step is lr * sign(g) (up to eps)
    grad = np.array([3.0, -1e-3, 250.0])
    state = AdamState(m=np.zeros(3), v=np.zeros(3))
    theta = adam_step(np.zeros(3), grad, state, 0.1)
    np.testing.assert_allclose(theta, 0.1 * np.sign(grad), rtol=1e-4)


# --- the clipped surrogate -------------------------------------------------------------------


def surrogate_torch(theta, y, log_p_old, adv, clip_eps):
    """PPO's clipped surrogate (Schulman et al. 2017, Eq. 7) written directly, for autograd."""
    log_p = torch.log_softmax(theta, 0)
    ratio = torch.exp(log_p[y] - log_p_old[y])
    if clip_eps is None:
        return (ratio * adv).mean()
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps)
    return torch.minimum(ratio * adv, clipped * adv).mean()


def surrogate_numpy(theta, y, log_p_old, adv, clip_eps):
    ratio = np.exp(log_softmax(theta)[y] - log_p_old[y])
    return np.minimum(ratio * adv, np.clip(ratio, 1 - clip_eps, 1 + clip_eps) * adv).mean()


def surrogate_point(seed, k=6, n=200):
    """Current logits far enough from the old ones that ratios fall on both sides of 1 +- eps."""
    rng = np.random.default_rng(seed)
    theta_old = rng.normal(size=k)
    theta = theta_old + rng.normal(scale=0.5, size=k)
    log_p_old = log_softmax(theta_old)
    y = rng.choice(k, size=n, p=np.exp(log_p_old))
    adv = rng.normal(size=n)
    return theta, y, log_p_old, adv


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("clip_eps", [0.2, 0.1, None])
def test_clipped_surrogate_grad_equals_autograd(seed, clip_eps):
    theta, y, log_p_old, adv = surrogate_point(seed)
    ratio = np.exp(log_softmax(theta)[y] - log_p_old[y])
    if clip_eps is not None:
        # a point where no ratio sits on a clip boundary (there the surrogate has a kink)
        assert np.abs(np.abs(ratio - 1) - clip_eps).min() > 1e-6
        clipped = ((adv > 0) & (ratio > 1 + clip_eps)) | ((adv < 0) & (ratio < 1 - clip_eps))
        assert clipped.any() and not clipped.all()  # both kinds of sample are present
    theta_t = torch.tensor(theta, requires_grad=True)
    y_t, lp_t, adv_t = torch.as_tensor(y), torch.as_tensor(log_p_old), torch.as_tensor(adv)
    surrogate_torch(theta_t, y_t, lp_t, adv_t, clip_eps).backward()
    got = clipped_surrogate_grad(theta, y, log_p_old, adv, clip_eps)
    assert got.shape == theta.shape
    np.testing.assert_allclose(got, theta_t.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_clipped_surrogate_grad_equals_finite_differences():
    theta, y, log_p_old, adv = surrogate_point(11)
    got = clipped_surrogate_grad(theta, y, log_p_old, adv, 0.2)
    h = 1e-6  # small enough that no ratio crosses a clip boundary
    fd = [
        (
            surrogate_numpy(theta + h * e, y, log_p_old, adv, 0.2)
            - surrogate_numpy(theta - h * e, y, log_p_old, adv, 0.2)
        )
        / (2 * h)
        for e in np.eye(theta.shape[0])
    ]
    np.testing.assert_allclose(got, fd, atol=1e-8)
    assert abs(got.sum()) < 1e-14  # softmax logits: shifting them all changes nothing


def test_samples_clipped_in_the_advantages_direction_give_no_gradient():
    theta_old = np.log(np.array([0.2, 0.3, 0.5]))
    theta = np.log(np.array([0.4, 0.3, 0.3]))  # ratios 2.0, 1.0, 0.6
    log_p_old = log_softmax(theta_old)
    # answer 0 moved up past 1 + eps with A > 0, answer 2 moved down past 1 - eps with A < 0
    y, adv = np.array([0, 0, 2, 2]), np.array([1.0, 0.5, -2.0, -0.1])
    np.testing.assert_array_equal(clipped_surrogate_grad(theta, y, log_p_old, adv, 0.2), 0.0)
    # the same samples, against the advantage's direction, do pull
    assert np.abs(clipped_surrogate_grad(theta, y, log_p_old, -adv, 0.2)).max() > 0.1
    # and unclipped (clip_eps=None) every sample counts
    assert np.abs(clipped_surrogate_grad(theta, y, log_p_old, adv, None)).max() > 0.1
    # adding clipped samples to a batch only rescales the others by the batch size
    y2, adv2 = np.array([1, 0, 2]), np.array([0.7, 1.0, -2.0])  # sample 0 active, 1-2 clipped
    full = clipped_surrogate_grad(theta, y2, log_p_old, adv2, 0.2)
    alone = clipped_surrogate_grad(theta, y2[:1], log_p_old, adv2[:1], 0.2)
    np.testing.assert_allclose(full, alone / 3, rtol=1e-14, atol=1e-17)
