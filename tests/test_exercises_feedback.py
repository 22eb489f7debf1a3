"""The feedback of the exercise checks (dpo_teach.exercises.feedback and .runners): a wrong function
is shown the input it failed on, inputs are seeded, and malformed answers are clear AssertionErrors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dpo_teach import exercises as ex
from helpers import dpo_loss


def test_function_mismatch_names_input_expected_and_received():
    with pytest.raises(AssertionError) as info:
        ex.check_dpo_loss(lambda pc, pr, rc, rr, b: dpo_loss(pc, pr, rc, rr, 1.0))
    message = str(info.value)
    # the first differing input is the simplest one: the log-prob example, pair 0
    assert "the log-prob example" in message and "pair 0" in message
    assert "policy_chosen_logps=-0.2" in message and "beta=0.1" in message
    assert "expected (reference): 0.6831971" in message and "received: 0.5981388" in message


def test_random_inputs_are_seeded():
    def wrong_on_random(*a):  # right on the fixed examples, wrong once B > 2
        out = dpo_loss(*a)
        return out + (len(out) > 2)

    messages = []
    for _ in range(2):
        with pytest.raises(AssertionError) as info:
            ex.check_dpo_loss(wrong_on_random)
        messages.append(str(info.value))
    assert messages[0] == messages[1] and "random batch 1 of 5 (seed 4)" in messages[0]


def test_student_function_may_modify_its_inputs():
    def in_place(pc, pr, rc, rr, beta):
        out = dpo_loss(pc, pr, rc, rr, beta)
        pc[:] = 0.0  # a careless in-place edit must not corrupt the check's reference
        return out

    assert ex.check_dpo_loss(in_place)


# ------------------------------------------------------------------ malformed answers


def raises(*a):
    raise ZeroDivisionError("boom")


MALFORMED = [
    (ex.check_implicit_reward, (..., 0.0), "placeholder"),
    (ex.check_implicit_reward, (None, 0.0), "is None"),
    (ex.check_implicit_reward, ("0.018", 0.0), "string"),
    (ex.check_implicit_reward, (True, 0.0), "bool"),
    (ex.check_implicit_reward, ([0.1, 0.2], 0.0), "single number"),
    (ex.check_implicit_reward, (float("nan"), 0.0), "NaN"),
    (ex.check_bt_probability, ({"p": 0.6},), "must be a real number, got a dict"),
    (ex.check_dpo_loss_value, (float("inf"),), "overflow"),
    (ex.check_dpo_loss, (...,), "placeholder"),
    (ex.check_dpo_loss, (0.7,), "expected a function"),
    (ex.check_dpo_loss, (raises,), "raised ZeroDivisionError: boom"),
    (ex.check_dpo_loss, (lambda *a: None,), "forget `return`"),
    (ex.check_dpo_loss, (lambda *a: "loss",), "real numbers"),
    (ex.check_dpo_loss, (lambda *a: np.zeros((2, 3)),), "has shape (2, 3), expected (1,)"),
    (ex.check_dpo_loss, (lambda pc, pr, beta: pc,), "signature"),
    (
        ex.check_gradient_weight,
        (lambda *a: (_ for _ in ()).throw(NotImplementedError()),),
        "NotImplementedError",
    ),
    (ex.check_dpo_gradient, (lambda *a: (1.0, 2.0, 3.0),), "got a tuple of length 3"),
    (ex.check_dpo_gradient, (lambda *a: (a[0], None),), "returned None for grad_rejected"),
    (ex.check_optimal_policy, (lambda p, r, b: p[:-1],), "has shape"),
    (
        ex.check_sequence_logps,
        (lambda lg, lb: torch.log_softmax(lg[:, :-1], -1).gather(-1, lb[:, 1:, None]).sum((1, 2)),),
        "-100 marks prompt and padding",
    ),
    (ex.check_sequence_logps, (lambda lg, lb: lg.sum(),), "single number"),
    (ex.check_sequence_logps, (lambda lg, lb: np.asarray(lg),), "has shape"),
    (ex.check_kl_when_beta_doubles, (0.4, ...), "kl_double_beta is still the placeholder"),
]


@pytest.mark.parametrize(("check", "answer", "words"), MALFORMED, ids=[w for _, _, w in MALFORMED])
def test_malformed_answer_is_a_clear_assertion_error(check, answer, words):
    with pytest.raises(AssertionError) as info:
        check(*answer)
    assert words in str(info.value), str(info.value)


def test_a_raising_function_keeps_its_own_traceback():
    with pytest.raises(AssertionError) as info:
        ex.check_dpo_loss(raises)
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert "the log-prob example" in str(info.value)
