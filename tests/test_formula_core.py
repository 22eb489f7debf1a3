"""The formula core: NumPy twin vs torch twin vs torch autograd vs finite differences vs `math`.

Bad input is tested in test_formula_core_bad_input.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import dpo_teach.numpy_dpo as nd
import dpo_teach.torch_dpo as td
from helpers import random_batch

LN2 = math.log(2.0)
# every function of the five DPO arguments, checked and unchecked
FIVE_ARG_FUNCS = ["margin", "dpo_loss", "dpo_loss_grad", "margin_unchecked", "dpo_loss_unchecked"]


def math_loss(margin: float) -> float:
    """-log sigma(m) in plain Python, stable: max(0, -m) + log1p(exp(-|m|))."""
    return max(0.0, -margin) + math.log1p(math.exp(-abs(margin)))


def math_sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


# --- known answers -------------------------------------------------------------------------


def test_margin_zero_gives_ln2(twin):
    logps = twin.arr([-3.0, -12.5, -0.25])
    losses, r_w, r_l = twin.mod.dpo_loss(logps, logps - 1.0, logps, logps - 1.0, beta=0.1)
    np.testing.assert_allclose(twin.np_(losses), LN2, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(twin.np_(r_w), 0.0)
    np.testing.assert_array_equal(twin.np_(r_l), 0.0)
    np.testing.assert_array_equal(twin.np_(twin.mod.margin(logps, logps - 1.0, logps, logps - 1.0, 0.1)), 0.0)
    g_w, g_l = twin.mod.dpo_loss_grad(logps, logps - 1.0, logps, logps - 1.0, beta=0.1)
    np.testing.assert_allclose(twin.np_(g_w), -0.05, atol=1e-16)  # -beta * sigma(0)
    np.testing.assert_allclose(twin.np_(g_l), +0.05, atol=1e-16)


def test_toy_example_at_beta_one_gives_exactly_0_6(twin):
    pc, pr, rc, rr = (twin.arr(math.log(p)) for p in (0.6, 0.4, 0.5, 0.5))
    losses, r_w, r_l = twin.mod.dpo_loss(pc, pr, rc, rr, 1.0)
    assert abs(float(r_w) - math.log(1.2)) < 1e-15
    assert abs(float(r_l) - math.log(0.8)) < 1e-15
    assert abs(float(twin.mod.bt_probability(r_w, r_l)) - 0.6) < 1e-15
    assert abs(float(losses) + math.log(0.6)) < 1e-15
    assert abs(float(twin.mod.margin(pc, pr, rc, rr, 1.0)) - math.log(1.5)) < 1e-15  # log(1.2 / 0.8)
    _, g_l = twin.mod.dpo_loss_grad(pc, pr, rc, rr, beta=1.0)
    assert abs(float(g_l) - 0.4) < 1e-15  # w = sigma(r_l - r_w) = 1 - 0.6


def test_implicit_reward_is_beta_times_log_ratio(twin):
    r = twin.mod.implicit_reward(twin.arr([-0.2, -0.8]), twin.arr([-0.3, -0.7]), beta=0.5)
    np.testing.assert_allclose(twin.np_(r), [0.05, -0.05], atol=1e-15)


def test_bt_probability_is_eq1(twin):
    r1, r2 = twin.arr([0.0, 2.0, -1.0]), twin.arr([0.0, 1.0, 3.0])
    p = twin.np_(twin.mod.bt_probability(r1, r2))
    expected = [math.exp(a) / (math.exp(a) + math.exp(b)) for a, b in zip([0, 2, -1], [0, 1, 3])]
    np.testing.assert_allclose(p, expected, rtol=1e-14)
    np.testing.assert_allclose(p + twin.np_(twin.mod.bt_probability(r2, r1)), 1.0, rtol=1e-15)


# --- agreement: twins, math, autograd, finite differences ---------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_plain_math(twin, seed):
    pc, pr, rc, rr = random_batch(seed)
    beta = [0.05, 0.1, 0.5, 1.0, 3.0][seed]
    losses, r_w, r_l = twin.mod.dpo_loss(*map(twin.arr, (pc, pr, rc, rr)), beta=beta)
    g_w, g_l = twin.mod.dpo_loss_grad(*map(twin.arr, (pc, pr, rc, rr)), beta=beta)
    margins = twin.np_(twin.mod.margin(*map(twin.arr, (pc, pr, rc, rr)), beta=beta))
    assert margins.dtype == np.float64 and margins.shape == pc.shape
    for i in range(len(pc)):
        m = beta * ((pc[i] - rc[i]) - (pr[i] - rr[i]))
        assert math.isclose(margins[i], m, rel_tol=1e-12, abs_tol=1e-12)
        assert math.isclose(twin.np_(losses)[i], math_loss(m), rel_tol=1e-12, abs_tol=1e-300)
        assert math.isclose(twin.np_(r_w)[i], beta * (pc[i] - rc[i]), rel_tol=1e-12, abs_tol=1e-15)
        assert math.isclose(twin.np_(r_l)[i], beta * (pr[i] - rr[i]), rel_tol=1e-12, abs_tol=1e-15)
        assert math.isclose(twin.np_(g_l)[i], beta * math_sigmoid(-m), rel_tol=1e-12)
        assert twin.np_(g_w)[i] == -twin.np_(g_l)[i]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("func", FIVE_ARG_FUNCS + ["paper"])
def test_twins_agree(seed, func):
    batch = random_batch(100 + seed)
    np_out, t_out = _call_both(func, batch, beta=0.3)
    if func.startswith("margin"):  # one array, not a tuple
        np_out, t_out = (np_out,), (t_out,)
    assert len(np_out) == len(t_out)
    for a, b in zip(np_out, t_out):
        assert b.dtype == torch.float64 and a.dtype == np.float64
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-14, atol=1e-15)


def _call_both(func, batch, beta):
    if func == "paper":  # interleave chosen/rejected the way the appendix's code indexes them
        pc, pr, rc, rr = batch
        pi, ref = np.stack([pc, pr], 1).ravel(), np.stack([rc, rr], 1).ravel()
        yw, yl = np.arange(0, len(pi), 2), np.arange(1, len(pi), 2)
        return (
            nd.paper_dpo_loss(pi, ref, yw, yl, beta),
            td.paper_dpo_loss(torch.tensor(pi), torch.tensor(ref), torch.tensor(yw), torch.tensor(yl), beta),
        )
    return getattr(nd, func)(*batch, beta=beta), getattr(td, func)(*map(torch.tensor, batch), beta=beta)


def test_both_twins_export_the_same_names():
    assert nd.__all__ == td.__all__
    assert {"margin", "margin_unchecked", "dpo_loss_unchecked"} <= set(nd.__all__)
    for name in nd.__all__:
        assert callable(getattr(nd, name)) and callable(getattr(td, name)), name


@pytest.mark.parametrize("seed", range(3))
def test_margin_is_the_reward_difference_of_dpo_loss(twin, seed):
    batch = [twin.arr(x) for x in random_batch(400 + seed)]
    beta = [0.1, 0.7, 4.0][seed]
    _, r_w, r_l = (twin.np_(x) for x in twin.mod.dpo_loss(*batch, beta))
    m = twin.np_(twin.mod.margin(*batch, beta))
    np.testing.assert_allclose(m, r_w - r_l, rtol=1e-12, atol=1e-12)
    # ... and the loss is -log sigma(margin), the gradient weight sigma(-margin)
    losses, _, _ = twin.mod.dpo_loss(*batch, beta)
    np.testing.assert_allclose(twin.np_(losses), -twin.np_(twin.mod.log_sigmoid(twin.arr(m))), rtol=1e-13)
    _, g_l = twin.mod.dpo_loss_grad(*batch, beta)
    np.testing.assert_allclose(twin.np_(g_l), beta * twin.np_(twin.mod.sigmoid(twin.arr(-m))), rtol=1e-13)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("name", ["margin", "dpo_loss"])
def test_unchecked_equals_checked_on_valid_input(twin, name, seed):
    batch = [twin.arr(x) for x in random_batch(500 + seed)]
    checked = getattr(twin.mod, name)(*batch, 0.25)
    unchecked = getattr(twin.mod, f"{name}_unchecked")(*batch, 0.25)
    if name == "margin":
        checked, unchecked = (checked,), (unchecked,)
    assert len(checked) == len(unchecked)
    for a, b in zip(checked, unchecked):
        assert type(a) is type(b) and a.dtype == b.dtype
        np.testing.assert_array_equal(twin.np_(a), twin.np_(b))


@pytest.mark.parametrize("seed", range(3))
def test_analytic_grad_equals_autograd_and_finite_differences(twin, seed):
    pc, pr, rc, rr = random_batch(200 + seed, n=32, scale=2.0)
    beta = 0.7
    g_w, g_l = (twin.np_(g) for g in twin.mod.dpo_loss_grad(*map(twin.arr, (pc, pr, rc, rr)), beta))

    # torch autograd on the per-example losses (each loss depends on its own pair only)
    tw, tl = torch.tensor(pc, requires_grad=True), torch.tensor(pr, requires_grad=True)
    losses, _, _ = td.dpo_loss(tw, tl, torch.tensor(rc), torch.tensor(rr), beta)
    losses.sum().backward()
    np.testing.assert_allclose(g_w, tw.grad.numpy(), rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(g_l, tl.grad.numpy(), rtol=1e-13, atol=1e-16)

    # central finite differences, in the twin's own loss
    h = 1e-6

    def loss_at(dw, dl):
        out, _, _ = twin.mod.dpo_loss(twin.arr(pc + dw), twin.arr(pr + dl), twin.arr(rc), twin.arr(rr), beta)
        return twin.np_(out)

    fd_w = (loss_at(h, 0) - loss_at(-h, 0)) / (2 * h)
    fd_l = (loss_at(0, h) - loss_at(0, -h)) / (2 * h)
    np.testing.assert_allclose(g_w, fd_w, atol=1e-8)
    np.testing.assert_allclose(g_l, fd_l, atol=1e-8)


def test_torch_rewards_are_detached_and_loss_differentiable():
    pc = torch.tensor([-1.0, -2.0], dtype=torch.float64, requires_grad=True)
    pr = torch.tensor([-1.5, -1.0], dtype=torch.float64, requires_grad=True)
    ref = torch.tensor([-1.2, -1.2], dtype=torch.float64)
    losses, r_w, r_l = td.dpo_loss(pc, pr, ref, ref, beta=0.1)
    assert losses.requires_grad and not r_w.requires_grad and not r_l.requires_grad
    losses2, rewards = td.paper_dpo_loss(torch.stack([pc, pr], 1).ravel(), ref.repeat(2), [0, 2], [1, 3], 0.1)
    assert losses2.requires_grad and not rewards.requires_grad
    g_w, g_l = td.dpo_loss_grad(pc, pr, ref, ref, beta=0.1)
    assert not g_w.requires_grad and not g_l.requires_grad


# --- symmetry and extremes --------------------------------------------------------------------


def test_swapping_chosen_and_rejected_flips_the_margin(twin):
    pc, pr, rc, rr = map(twin.arr, random_batch(7))
    loss, r_w, r_l = (twin.np_(x) for x in twin.mod.dpo_loss(pc, pr, rc, rr, 0.2))
    loss_s, r_w_s, r_l_s = (twin.np_(x) for x in twin.mod.dpo_loss(pr, pc, rr, rc, 0.2))
    np.testing.assert_array_equal(r_w_s, r_l)
    np.testing.assert_array_equal(r_l_s, r_w)
    # softplus(-m) - softplus(m) = -m
    np.testing.assert_allclose(loss - loss_s, -(r_w - r_l), rtol=1e-12, atol=1e-14)
    m, m_s = (twin.np_(twin.mod.margin(*args, 0.2)) for args in ((pc, pr, rc, rr), (pr, pc, rr, rc)))
    assert (m != 0).all()
    np.testing.assert_array_equal(m_s, -m)  # a - b = -(b - a) exactly in floating point


@pytest.mark.parametrize("margin", [5e4, -5e4, 1e4, -1e4, 800.0, -800.0, 40.0, -40.0])
def test_extreme_margins_are_exact_and_finite(twin, margin):
    beta = 1.0
    # policy_chosen - ref_chosen = margin / 2, policy_rejected - ref_rejected = -margin / 2
    ref = twin.arr([-6e4])
    pc, pr = twin.arr([-6e4 + margin / 2]), twin.arr([-6e4 - margin / 2])
    losses, r_w, r_l = (twin.np_(x)[0] for x in twin.mod.dpo_loss(pc, pr, ref, ref, beta))
    g_w, g_l = (twin.np_(x)[0] for x in twin.mod.dpo_loss_grad(pc, pr, ref, ref, beta))
    assert math.isfinite(losses) and math.isfinite(g_w) and math.isfinite(g_l)
    assert math.isclose(r_w - r_l, margin, rel_tol=1e-12)
    assert math.isclose(float(twin.np_(twin.mod.margin(pc, pr, ref, ref, beta))[0]), margin, rel_tol=1e-12)
    assert math.isclose(losses, math_loss(margin), rel_tol=1e-12, abs_tol=1e-300)
    assert -beta <= g_w <= 0 <= g_l <= beta
    if margin <= -800:  # loss ~ -margin, gradient saturates at beta (wrong pairs pushed hardest)
        assert losses == pytest.approx(-margin, rel=1e-15) and g_l == beta
    if margin >= 800:  # confident and right: no loss, no push
        assert losses < 1e-300 and g_l < 1e-300


@pytest.mark.parametrize("z", [-1e4, -5e4, -800.0, 0.0, 800.0, 1e4, 5e4])
def test_sigmoid_and_log_sigmoid_stable(twin, z):
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow in NumPy
        s = float(twin.mod.sigmoid(twin.arr(z)))
        ls = float(twin.mod.log_sigmoid(twin.arr(z)))
    assert math.isclose(s, math_sigmoid(z), rel_tol=1e-15, abs_tol=0) or (s == 0 and z <= -800)
    assert math.isclose(ls, -math_loss(z), rel_tol=1e-15, abs_tol=1e-300)
    assert math.isfinite(ls)


def test_sigmoid_of_infinities(twin):
    assert float(twin.mod.sigmoid(twin.arr(math.inf))) == 1.0
    assert float(twin.mod.sigmoid(twin.arr(-math.inf))) == 0.0


# --- dtypes ---------------------------------------------------------------------------------------


def test_dtypes_are_preserved():
    assert nd.dpo_loss(-1, -2, -1, -1, 1)[0].dtype == np.float64  # ints promoted
    assert nd.dpo_loss(*(np.float32([-1.0]),) * 4, 1)[0].dtype == np.float32
    assert td.dpo_loss(-1.0, -2.0, -1.0, -1.0, 1)[0].dtype == torch.float64  # Python floats -> float64
    assert td.dpo_loss(*(torch.tensor([-1.0]),) * 4, 1)[0].dtype == torch.float32
    assert nd.margin(-1, -2, -1, -1, 1).dtype == np.float64
    assert nd.margin(*(np.float32([-1.0]),) * 4, 1).dtype == np.float32
    assert td.margin(-1.0, -2.0, -1.0, -1.0, 1).dtype == torch.float64
    assert td.margin(*(torch.tensor([-1.0]),) * 4, 1).dtype == torch.float32
    assert td.sigmoid(torch.tensor([1, 2])).dtype == torch.float64


# --- paper_dpo_loss ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_paper_loss_equals_dpo_loss(twin, seed):
    pc, pr, rc, rr = random_batch(300 + seed, n=16)
    # a shuffled layout: chosen and rejected scattered through one array
    rng = np.random.default_rng(seed)
    perm = rng.permutation(32)
    pi, ref = np.empty(32), np.empty(32)
    pi[perm[:16]], pi[perm[16:]], ref[perm[:16]], ref[perm[16:]] = pc, pr, rc, rr
    losses, rewards = twin.mod.paper_dpo_loss(twin.arr(pi), twin.arr(ref), perm[:16], perm[16:], beta=0.4)
    expected, r_w, r_l = twin.mod.dpo_loss(*map(twin.arr, (pc, pr, rc, rr)), beta=0.4)
    np.testing.assert_allclose(twin.np_(losses), twin.np_(expected), rtol=1e-14)
    np.testing.assert_allclose(twin.np_(rewards)[perm[:16]], twin.np_(r_w), rtol=1e-14)
    np.testing.assert_allclose(twin.np_(rewards)[perm[16:]], twin.np_(r_l), rtol=1e-14)


# --- properties (hypothesis) ---------------------------------------------------------------------

logp = st.floats(min_value=-1e4, max_value=0.0, allow_nan=False)
betas = st.floats(min_value=1e-3, max_value=1e2)


@settings(max_examples=200, deadline=None)
@given(pc=logp, pr=logp, rc=logp, rr=logp, beta=betas)
def test_properties(pc, pr, rc, rr, beta):
    loss, r_w, r_l = nd.dpo_loss(pc, pr, rc, rr, beta)
    g_w, g_l = nd.dpo_loss_grad(pc, pr, rc, rr, beta)
    t_loss, t_w, t_l = td.dpo_loss(pc, pr, rc, rr, beta)
    m = beta * ((pc - rc) - (pr - rr))
    assert math.isclose(float(nd.margin(pc, pr, rc, rr, beta)), m, rel_tol=1e-12, abs_tol=1e-12)
    assert math.isclose(float(td.margin(pc, pr, rc, rr, beta)), m, rel_tol=1e-12, abs_tol=1e-12)
    assert loss >= 0 and math.isfinite(loss)
    assert math.isclose(loss, math_loss(m), rel_tol=1e-12, abs_tol=1e-300)
    assert math.isclose(float(t_loss), float(loss), rel_tol=1e-13, abs_tol=1e-300)
    assert -beta <= g_w <= 0 <= g_l <= beta and g_w == -g_l
    # the loss in terms of the Bradley-Terry probability of the implicit rewards
    p = nd.bt_probability(r_w, r_l)
    if p > 1e-300:
        assert math.isclose(loss, -math.log(p), rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=100, deadline=None)
@given(m1=st.floats(-1e3, 1e3), dm=st.floats(1e-3, 10))
def test_loss_decreases_as_margin_grows(m1, dm):
    def loss(m):  # policy_rejected = -1500 - m, everything else -1500: margin = m at beta = 1
        return float(nd.dpo_loss(-1500.0, -1500.0 - m, -1500.0, -1500.0, 1.0)[0])

    assert loss(m1 + dm) <= loss(m1)
