"""Bad input to the formula core: the same ValueError, with the same message, in both twins."""

from __future__ import annotations

import math

import pytest

from helpers import TWINS

# the checked functions of the five DPO arguments (the *_unchecked ones skip these checks)
FUNCS = ["margin", "dpo_loss", "dpo_loss_grad"]

GOOD = [[-1.0, -2.0], [-1.5, -2.5], [-1.2, -2.2], [-1.4, -2.1]]


def _bad_cases():
    nan, inf = math.nan, math.inf
    yield "beta zero", GOOD, 0.0, "beta must be > 0"
    yield "beta negative", GOOD, -0.1, "beta must be > 0"
    yield "beta nan", GOOD, nan, "beta must be > 0"
    yield "beta inf", GOOD, inf, "beta must be > 0"
    yield "beta string", GOOD, "0.1", "beta must be a positive scalar"
    yield "beta vector", GOOD, [0.1, 0.2], "beta must be a positive scalar"
    yield "beta bool", GOOD, True, "bool"
    yield "shape mismatch", [[-1.0, -2.0], [-1.0], GOOD[2], GOOD[3]], 0.1, "shapes do not match"
    yield "nan", [[-1.0, nan], *GOOD[1:]], 0.1, "policy_chosen_logps contains NaN"
    yield "+inf", [GOOD[0], [-1.0, inf], *GOOD[2:]], 0.1, "policy_rejected_logps contains an infinite"
    yield "-inf", [*GOOD[:2], [-inf, -1.0], GOOD[3]], 0.1, "ref_chosen_logps contains an infinite value"
    yield "probabilities", [[0.6, 0.4], *GOOD[1:]], 0.1, "did you pass probabilities"
    yield "positive > 1", [*GOOD[:3], [-1.0, 3.5]], 0.1, "ref_rejected_logps must hold log-probabilities"


@pytest.mark.parametrize("case", list(_bad_cases()), ids=lambda c: c[0])
def test_bad_input_raises_same_error_in_both_twins_and_all_functions(case):
    """margin, dpo_loss and dpo_loss_grad check their five arguments alike, in both twins."""
    _, inputs, beta, fragment = case
    messages = set()
    for twin in TWINS:
        for func in FUNCS:
            with pytest.raises(ValueError, match=fragment) as info:
                getattr(twin.mod, func)(*map(twin.arr, inputs), beta=beta)
            messages.add(str(info.value))
    assert len(messages) == 1, messages


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda m, a: m.implicit_reward(a([0.5]), a([-1.0]), 0.1), "did you pass probabilities"),
        (lambda m, a: m.implicit_reward(a([-0.5]), a([-1.0, -2.0]), 0.1), "shapes do not match"),
        (lambda m, a: m.implicit_reward(a([-0.5]), a([-1.0]), 0.0), "beta must be > 0"),
        (lambda m, a: m.bt_probability(a([math.nan]), a([1.0])), "reward_1 contains NaN"),
        (lambda m, a: m.bt_probability(a([1.0, 2.0]), a([1.0])), "shapes do not match"),
        (lambda m, a: m.sigmoid(a([math.nan])), "contains NaN"),
        (lambda m, a: m.log_sigmoid(a([0.0, math.nan])), "contains NaN"),
        (
            lambda m, a: m.paper_dpo_loss(a([-1.0, -2.0]), a([-1.0, -2.0]), [0], [2], 0.1),
            "yl_idxs has indices in",
        ),
        (
            lambda m, a: m.paper_dpo_loss(a([-1.0, -2.0]), a([-1.0, -2.0]), [0.0], [1.0], 0.1),
            "integer indices",
        ),
        (
            lambda m, a: m.paper_dpo_loss(a([-1.0, -2.0]), a([-1.0, -2.0]), [0, 1], [1], 0.1),
            "shapes do not match",
        ),
        (
            lambda m, a: m.paper_dpo_loss(a([-1.0, 0.3]), a([-1.0, -2.0]), [0], [1], 0.1),
            "pi_logps must hold log-prob",
        ),
        (lambda m, a: m.paper_dpo_loss(a([-1.0, -2.0]), a([-1.0]), [0], [1], 0.1), "shapes do not match"),
    ],
)
def test_other_functions_reject_bad_input_alike(call, fragment):
    messages = []
    for twin in TWINS:
        with pytest.raises(ValueError, match=fragment) as info:
            call(twin.mod, twin.arr)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_small_rounding_above_zero_is_tolerated(twin):
    # log-softmax sums can land a hair above 0; only values beyond 1e-9 are rejected
    losses, _, _ = twin.mod.dpo_loss(*map(twin.arr, ([1e-12], [-1.0], [-0.5], [-0.5])), beta=0.1)
    assert math.isfinite(float(losses[0]))
