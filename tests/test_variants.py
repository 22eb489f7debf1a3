"""The DPO family (docs/family.md): both twins vs plain `math`, each other, autograd and finite
differences; extreme margins; the LOSSES registry; IPO's two conventions; gradient_weights.

Bad input is tested in test_variants_bad_input.py."""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest
import torch

import dpo_teach.numpy_dpo as nd
import dpo_teach.numpy_variants as nv
import dpo_teach.torch_dpo as td
import dpo_teach.torch_variants as tv
from helpers import random_batch

VARIANTS = {"numpy": nv, "torch": tv}
BETA, E, LAM, ALPHA, GAMMA = 0.3, 0.2, 1.5, 0.7, 0.4
NAMES = ["sigmoid", "ipo", "ipo_trl", "cdpo", "robust", "hinge", "nca_pair", "bco_pair", "apo_zero",
         "apo_down", "sigmoid_norm", "dpop", "rpo", "simpo", "orpo"]  # fmt: skip
PAIRWISE = ["sigmoid", "ipo", "cdpo", "robust", "hinge"]


def ls(x):  # log sigma(x), stable, plain math
    return -(max(0.0, -x) + math.log1p(math.exp(-abs(x))))


def s(x):
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def math_loss(name, pc, pr, rc, rr, nw, nl, beta=BETA):
    """(loss, chosen_reward, rejected_reward) of one example, from docs/family.md's formulas."""
    rw, rl = pc - rc, pr - rr
    h, aw, al = rw - rl, pc / nw, pr / nl
    if name == "simpo":
        return -ls(beta * (aw - al) - GAMMA), beta * aw, beta * al
    if name == "orpo":
        ow, ol = aw - math.log(-math.expm1(aw)), al - math.log(-math.expm1(al))
        return -aw - LAM * ls(ow - ol), LAM * aw, LAM * al
    loss = {
        "sigmoid": lambda: -ls(beta * h),
        "ipo": lambda: (h - 1 / (2 * beta)) ** 2,
        "ipo_trl": lambda: (rw / nw - rl / nl - 1 / (2 * beta)) ** 2,
        "cdpo": lambda: -(1 - E) * ls(beta * h) - E * ls(-beta * h),
        "robust": lambda: (-(1 - E) * ls(beta * h) + E * ls(-beta * h)) / (1 - 2 * E),
        "hinge": lambda: max(0.0, 1 - beta * h),
        "nca_pair": lambda: -ls(beta * rw) - ls(-beta * rw) / 2 - ls(-beta * rl) / 2,
        "bco_pair": lambda: -ls(beta * rw) - ls(-beta * rl),
        "apo_zero": lambda: 1 - s(beta * rw) + s(beta * rl),
        "apo_down": lambda: s(beta * rw) + 1 - s(beta * h),
        "sigmoid_norm": lambda: -ls(beta * (rw / nw - rl / nl)),
        "dpop": lambda: -ls(beta * (h - LAM * max(0.0, rc - pc))),
        "rpo": lambda: -ls(beta * h) + ALPHA * (-pc / nw),
    }[name]()
    return loss, beta * rw, beta * rl


def call(mod, name, pc, pr, rc, rr, nw, nl, beta=BETA):
    """The twin's function for ``name``, called with the positional argument order of docs/family.md."""
    fn = mod.LOSSES["ipo" if name == "ipo_trl" else name]
    args = {
        "sigmoid": (pc, pr, rc, rr, beta), "ipo": (pc, pr, rc, rr, beta),
        "ipo_trl": (pc, pr, rc, rr, beta, nw, nl), "cdpo": (pc, pr, rc, rr, beta, E),
        "robust": (pc, pr, rc, rr, beta, E), "sigmoid_norm": (pc, pr, rc, rr, nw, nl, beta),
        "dpop": (pc, pr, rc, rr, beta, LAM), "rpo": (pc, pr, rc, rr, nw, beta, ALPHA),
        "simpo": (pc, pr, nw, nl, beta, GAMMA), "orpo": (pc, pr, nw, nl, LAM),
    }.get(name, (pc, pr, rc, rr, beta))  # fmt: skip
    return fn(*args)


def batch(seed, n=16, scale=5.0):
    pc, pr, rc, rr = random_batch(seed, n, scale)
    lengths = np.random.default_rng(seed + 1).integers(1, 30, size=(2, n)).astype(np.float64)
    return pc, pr, rc, rr, *lengths


def run(twin, name, arrays, beta=BETA):
    out = call(VARIANTS[twin.name], name, *map(twin.arr, arrays), beta=beta)
    assert len(out) == 3
    return [twin.np_(x) for x in out]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", range(3))
def test_known_values_from_plain_math(twin, name, seed):
    arrays = batch(10 + seed, n=4)
    got = run(twin, name, arrays)
    for i in range(4):
        want = math_loss(name, *(float(a[i]) for a in arrays))
        for g, w in zip(got, want):
            assert g.dtype == np.float64
            assert math.isclose(g[i], w, rel_tol=1e-12, abs_tol=1e-12), (name, i, g[i], w)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", range(3))
def test_twins_agree(name, seed):
    arrays = batch(100 + seed, n=64)
    a = [np.asarray(x) for x in call(nv, name, *arrays)]
    b = call(tv, name, *map(torch.tensor, arrays))
    for x, y in zip(a, b):
        assert x.dtype == np.float64 and y.dtype == torch.float64 and not y.requires_grad
        np.testing.assert_allclose(x, y.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_autograd_equals_central_finite_differences(name):
    pc, pr, rc, rr, nw, nl = batch(7, n=32, scale=2.0)
    tw, tl = torch.tensor(pc, requires_grad=True), torch.tensor(pr, requires_grad=True)
    losses, r_w, r_l = call(tv, name, tw, tl, *map(torch.tensor, (rc, rr, nw, nl)))
    assert losses.requires_grad and not r_w.requires_grad and not r_l.requires_grad
    losses.sum().backward()
    eps = 1e-6

    def f(dw, dl):
        return call(nv, name, pc + dw, pr + dl, rc, rr, nw, nl)[0]

    tol = dict(rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(tw.grad.numpy(), (f(eps, 0) - f(-eps, 0)) / (2 * eps), **tol)
    np.testing.assert_allclose(tl.grad.numpy(), (f(0, eps) - f(0, -eps)) / (2 * eps), **tol)


@pytest.mark.parametrize("name", NAMES)
def test_margins_of_5e4_are_finite_and_exact(twin, name):
    big = 5e4  # r_w = +-5e4 with r_l = 0 (h = +-5e4) and r_w = -r_l = +-5e4 (h = +-1e5)
    pc = np.array([-1.0, -big - 1, -1.0, -big - 1])
    rc = np.array([-big - 1, -1.0, -big - 1, -1.0])
    pr = np.array([-2.0, -2.0, -big - 1, -1.0])
    rr = np.array([-2.0, -2.0, -1.0, -big - 1])
    nw, nl = np.array([1.0, 1.0, 7.0, 3.0]), np.array([1.0, 2.0, 1.0, 5.0])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        got = run(twin, name, (pc, pr, rc, rr, nw, nl), beta=1.0)
        if twin.name == "torch":
            tw = torch.tensor(pc, requires_grad=True)
            call(tv, name, tw, *map(torch.tensor, (pr, rc, rr, nw, nl)), beta=1.0)[0].sum().backward()
            assert torch.isfinite(tw.grad).all()
    for i in range(4):
        want = math_loss(name, pc[i], pr[i], rc[i], rr[i], nw[i], nl[i], beta=1.0)
        for g, w in zip(got, want):
            assert np.isfinite(g[i]) and math.isclose(g[i], w, rel_tol=1e-12, abs_tol=1e-12), (i, g, w)


SIGNATURES = {
    "ipo": "pc pr rc rr beta chosen_lengths rejected_lengths", "cdpo": "pc pr rc rr beta label_smoothing",
    "robust": "pc pr rc rr beta label_smoothing", "hinge": "pc pr rc rr beta",
    "nca_pair": "pc pr rc rr beta", "bco_pair": "pc pr rc rr beta", "apo_zero": "pc pr rc rr beta",
    "apo_down": "pc pr rc rr beta", "sigmoid_norm": "pc pr rc rr chosen_lengths rejected_lengths beta",
    "dpop": "pc pr rc rr beta lambda_", "rpo": "pc pr rc rr chosen_lengths beta alpha",
    "simpo": "pc pr chosen_lengths rejected_lengths beta gamma",
    "orpo": "pc pr chosen_lengths rejected_lengths lambda_",
}  # fmt: skip
SHORT = {"pc": "policy_chosen_logps", "pr": "policy_rejected_logps", "rc": "ref_chosen_logps",
         "rr": "ref_rejected_logps"}  # fmt: skip
FUNCS = {"ipo": "ipo_loss", "cdpo": "cdpo_loss", "robust": "robust_dpo_loss", "hinge": "hinge_loss",
         "nca_pair": "nca_loss", "bco_pair": "bco_pair_loss", "apo_zero": "apo_zero_loss",
         "apo_down": "apo_down_loss", "sigmoid_norm": "length_normalized_dpo_loss", "dpop": "dpop_loss",
         "rpo": "rpo_loss", "simpo": "simpo_loss", "orpo": "orpo_loss"}  # fmt: skip


@pytest.mark.parametrize("mod, core", [(nv, nd), (tv, td)], ids=["numpy", "torch"])
def test_losses_registry_is_complete_with_family_signatures(mod, core):
    assert list(mod.LOSSES) == ["sigmoid", *SIGNATURES]
    assert mod.LOSSES["sigmoid"] is core.dpo_loss
    for key, func in FUNCS.items():
        fn = getattr(mod, func)
        assert mod.LOSSES[key] is fn and func in mod.__all__
        want = [SHORT.get(a, a) for a in SIGNATURES[key].split()]
        assert list(inspect.signature(fn).parameters) == want, key
        doc = fn.__doc__
        assert "math:" in doc and ("arXiv:" in doc or "Mitchell" in doc), key
    assert [n for n in tv.__all__ if n != "gradient_weights"] == nv.__all__


def test_ipo_with_lengths_is_trl_and_without_is_the_paper(twin):
    pc, pr, rc, rr, nw, nl = batch(3, n=32)
    # TRL 1.16 `ipo`: every log-prob is divided by its completion's token count first
    logits = (pc / nw - pr / nl) - (rc / nw - rr / nl)
    trl = (logits - 1 / (2 * BETA)) ** 2
    paper = ((pc - rc) - (pr - rr) - 1 / (2 * BETA)) ** 2  # Eq. 17, tau = beta, summed log-probs
    np.testing.assert_allclose(run(twin, "ipo_trl", (pc, pr, rc, rr, nw, nl))[0], trl, rtol=1e-12)
    np.testing.assert_allclose(run(twin, "ipo", (pc, pr, rc, rr, nw, nl))[0], paper, rtol=1e-12)
    assert not np.allclose(trl, paper)  # the convention trap: same name, different loss
    ones = np.ones_like(nw)
    np.testing.assert_allclose(run(twin, "ipo_trl", (pc, pr, rc, rr, ones, ones))[0], paper, rtol=1e-12)


H = np.linspace(-30.0, 30.0, 61)
OPTIONS = dict(label_smoothing=E, lambda_=LAM, alpha=ALPHA, gamma=GAMMA)


@pytest.mark.parametrize("name", list(tv.LOSSES))
def test_gradient_weights_are_finite_with_the_documented_shape(name):
    fn = tv.LOSSES[name]
    opts = {k: v for k, v in OPTIONS.items() if k in inspect.signature(fn).parameters}
    g_w, g_l = tv.gradient_weights(name, H, beta=0.5, **opts)
    assert g_w.shape == g_l.shape == H.shape and g_w.dtype == torch.float64
    assert torch.isfinite(g_w).all() and torch.isfinite(g_l).all() and not g_w.requires_grad
    if name in PAIRWISE:  # L depends on h alone: dL/dr_w = dL/dh = -dL/dr_l
        np.testing.assert_allclose(g_l.numpy(), -g_w.numpy(), rtol=1e-12, atol=1e-15)
    assert tv.gradient_weights(fn, H, beta=0.5, **opts)[0].tolist() == g_w.tolist()


def test_gradient_weights_of_sigmoid_and_bco_are_the_closed_forms():
    for beta in (0.1, 0.5, 2.0):
        g_w, g_l = tv.gradient_weights("sigmoid", np.r_[H, -5e4, 5e4], beta=beta)
        want = [-beta * s(-beta * h) for h in np.r_[H, -5e4, 5e4]]
        np.testing.assert_allclose(g_w.numpy(), want, rtol=1e-12, atol=1e-300)
        assert (g_w <= 0).all()  # descent raises the margin
        g_w, g_l = tv.gradient_weights("bco_pair", H, beta=beta)  # r_w = h/2, r_l = -h/2
        np.testing.assert_allclose(g_w.numpy(), [-beta * s(-beta * h / 2) for h in H], rtol=1e-12)
        np.testing.assert_allclose(g_l.numpy(), [beta * s(-beta * h / 2) for h in H], rtol=1e-12)
    # rpo's SFT term adds -alpha / |y_w| to dL/dr_w; a scalar length is broadcast
    g_w, _ = tv.gradient_weights("rpo", H, beta=0.5, alpha=ALPHA, chosen_lengths=4)
    np.testing.assert_allclose(g_w.numpy(), [-0.5 * s(-0.5 * h) - ALPHA / 4 for h in H], rtol=1e-12)
