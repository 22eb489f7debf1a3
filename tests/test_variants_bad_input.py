"""Bad input to the DPO family: the same ValueError, with the same message, in both twins."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import dpo_teach.numpy_variants as nv
import dpo_teach.torch_variants as tv
from helpers import TWINS

P = [[-1.0, -2.0], [-1.5, -2.5], [-1.2, -2.2], [-1.4, -2.1]]  # pc, pr, rc, rr
N = [3, 4]  # token counts
nan, inf = math.nan, math.inf


def _cases():
    beta_members = ["ipo_loss", "hinge_loss", "nca_loss", "bco_pair_loss", "apo_zero_loss", "apo_down_loss"]
    for f in beta_members:
        yield f"{f} beta 0", lambda m, a, f=f: getattr(m, f)(*map(a, P), 0.0), "beta must be > 0"
        yield f"{f} nan", lambda m, a, f=f: getattr(m, f)(a([nan, -1.0]), *map(a, P[1:]), 0.1), "contains NaN"
        yield (
            f"{f} probs",
            lambda m, a, f=f: getattr(m, f)(*map(a, P[:3]), a([0.5, 0.2]), 0.1),
            "probabilities",
        )
        yield (
            f"{f} shape",
            lambda m, a, f=f: getattr(m, f)(a([-1.0]), *map(a, P[1:]), 0.1),
            "shapes do not match",
        )
    for e, frag in [(0.6, r"in \[0, 0.5\], got 0.6"), (-0.1, "in"), (nan, "finite"), (True, "real number"),
                    ("0.1", "real number"), ([0.1, 0.2], "real scalar")]:  # fmt: skip
        yield f"cdpo e={e!r}", lambda m, a, e=e: m.cdpo_loss(*map(a, P), 0.1, e), "label_smoothing must be "
        yield f"cdpo e={e!r} text", lambda m, a, e=e: m.cdpo_loss(*map(a, P), 0.1, e), frag
    yield "cdpo 0.6 why", lambda m, a: m.cdpo_loss(*map(a, P), 0.1, 0.6), "more often wrong than right"
    yield (
        "robust 0.5",
        lambda m, a: m.robust_dpo_loss(*map(a, P), 0.1, 0.5),
        r"in \[0, 0.5\), got 0.5: robust",
    )
    yield "robust -inf", lambda m, a: m.robust_dpo_loss(*map(a, P), 0.1, -inf), "label_smoothing must be"
    for lam in (-1.0, inf, nan):
        yield (
            f"dpop {lam}",
            lambda m, a, x=lam: m.dpop_loss(*map(a, P), 0.1, x),
            "lambda_ must be finite and >= 0",
        )
        yield (
            f"orpo {lam}",
            lambda m, a, x=lam: m.orpo_loss(*map(a, P[:2]), N, N, x),
            "lambda_ must be finite",
        )
    yield "rpo alpha", lambda m, a: m.rpo_loss(*map(a, P), N, 0.1, -0.1), "alpha must be finite and >= 0"
    yield "simpo gamma", lambda m, a: m.simpo_loss(*map(a, P[:2]), N, N, 0.1, nan), "gamma must be finite"
    yield "simpo beta", lambda m, a: m.simpo_loss(*map(a, P[:2]), N, N, -1.0, 0.5), "beta must be > 0"
    for bad, frag in [([0, 4], "the value 0"), ([-2, 4], "the value -2"), ([2.5, 4], "a fraction"),
                      ([nan, 4], "chosen_lengths contains NaN"), ([inf, 4], "infinite"),
                      ([3], "shapes do not"), (None, "chosen_lengths is None"), ("3", "string")]:  # fmt: skip
        yield f"norm {bad}", lambda m, a, b=bad: m.length_normalized_dpo_loss(*map(a, P), b, N, 0.1), frag
        yield f"simpo {bad}", lambda m, a, b=bad: m.simpo_loss(*map(a, P[:2]), b, N, 0.1, 0.5), frag
        yield f"orpo {bad}", lambda m, a, b=bad: m.orpo_loss(*map(a, P[:2]), b, N, 1.0), frag
        yield f"rpo {bad}", lambda m, a, b=bad: m.rpo_loss(*map(a, P), b, 0.1, 1.0), frag
        if bad is not None:  # ipo without chosen_lengths is the "pass both or neither" case below
            yield f"ipo {bad}", lambda m, a, b=bad: m.ipo_loss(*map(a, P), 0.1, b, N), frag
    yield "ipo one length", lambda m, a: m.ipo_loss(*map(a, P), 0.1, N), "pass both chosen_lengths"
    yield "ipo other length", lambda m, a: m.ipo_loss(*map(a, P), 0.1, None, N), "not just one"
    yield (
        "rejected lengths",
        lambda m, a: m.simpo_loss(*map(a, P[:2]), N, [1, 0], 0.1, 0.5),
        "rejected_lengths",
    )
    yield "orpo logp 0", lambda m, a: m.orpo_loss(a([0.0, -1.0]), a(P[1]), N, N, 1.0), "must be < 0 for ORPO"
    yield "orpo rej 0", lambda m, a: m.orpo_loss(a(P[0]), a([-1.0, 0.0]), N, N, 1.0), "policy_rejected_logps"
    yield "orpo positive", lambda m, a: m.orpo_loss(a([0.3, -1.0]), a(P[1]), N, N, 1.0), "probabilities"
    yield "complex", lambda m, a: m.hinge_loss(np.array([-1 + 1j, -1]), *map(a, P[1:]), 0.1), "complex dtype"


@pytest.mark.parametrize("case", list(_cases()), ids=lambda c: c[0])
def test_bad_input_raises_the_same_error_in_both_twins(case):
    _, call, fragment = case
    messages = set()
    for twin in TWINS:
        mod = nv if twin.name == "numpy" else tv
        with pytest.raises(ValueError, match=fragment) as info:
            call(mod, twin.arr)
        messages.add(str(info.value))
    assert len(messages) == 1, messages


def test_tensor_inputs():
    grad = torch.tensor(P[0], dtype=torch.float64, requires_grad=True)
    with pytest.raises(ValueError, match="requires grad: the NumPy twin"):
        nv.hinge_loss(grad, *P[1:], 0.1)
    out = nv.hinge_loss(grad.detach(), *P[1:], 0.1)[0]  # a tensor without grad is converted
    np.testing.assert_allclose(out, tv.hinge_loss(grad, *P[1:], 0.1)[0].detach().numpy(), rtol=1e-15)
    with pytest.raises(ValueError, match="lambda_ is a tensor that requires grad"):
        tv.dpop_loss(*P, 0.1, torch.tensor(1.0, requires_grad=True))
    with pytest.raises(ValueError, match="must be a real number"):
        tv.cdpo_loss(*P, 0.1, torch.tensor(True))
    assert tv.simpo_loss(*P[:2], torch.tensor(N), torch.tensor(N), 0.1, 0.5)[0].dtype == torch.float64
    with pytest.raises(ValueError, match="ref_logp must be finite"):
        tv.gradient_weights("sigmoid", [1.0, 2.0], ref_logp=0.5)
    with pytest.raises(ValueError, match="margins contains NaN"):
        tv.gradient_weights("sigmoid", [nan])


BOOL_LENGTHS = {"array": lambda: np.array([True, True]), "list": lambda: [True, 2], "scalar": lambda: True,
                "tensor": lambda: torch.tensor([True, True])}  # fmt: skip


@pytest.mark.parametrize("kind", BOOL_LENGTHS)
@pytest.mark.parametrize("member", ["length_normalized_dpo_loss", "ipo_loss", "simpo_loss", "rpo_loss"])
def test_boolean_lengths_are_refused_in_both_twins(member, kind):
    """Issue 23: True is not a token count (it read as 1); every length argument refuses booleans,
    with one message in both twins."""
    messages = set()
    for mod in (nv, tv):
        args = {"length_normalized_dpo_loss": lambda b: (*P, b, N, 0.1), "ipo_loss": lambda b: (*P, 0.1, b, N),
                "simpo_loss": lambda b: (*P[:2], b, N, 0.1, 0.5), "rpo_loss": lambda b: (*P, b, 0.1, 1.0)}  # fmt: skip
        with pytest.raises(ValueError, match="chosen_lengths holds boolean values") as info:
            getattr(mod, member)(*args[member](BOOL_LENGTHS[kind]()))
        messages.add(str(info.value))
    assert len(messages) == 1, messages
