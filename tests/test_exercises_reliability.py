"""Reliability findings of issue 11 in the exercise checks (C8, U11)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from dpo_teach import exercises as ex
from dpo_teach.exercises import mistakes


def exits(*args):
    sys.exit(3)


def exits_without_code(*args):
    raise SystemExit


@pytest.mark.parametrize("fn", [exits, exits_without_code], ids=["sys.exit(3)", "raise SystemExit"])
@pytest.mark.parametrize(
    "check", [ex.check_dpo_loss, ex.check_gradient_weight, ex.check_dpo_gradient, ex.check_optimal_policy]
)
def test_c8_sys_exit_in_a_student_function_fails_that_exercise_only(check, fn):
    """C8: SystemExit raised by the student's function becomes this exercise's AssertionError."""
    with pytest.raises(AssertionError, match="sys.exit"):
        check(fn)


def test_c8_keyboard_interrupt_propagates_so_a_student_can_stop_a_runaway_function():
    """C8: KeyboardInterrupt is not swallowed (documented in feedback.call)."""

    def interrupted(*args):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ex.check_dpo_loss(interrupted)


def test_u11_nan_pi_star_on_an_ordinary_table_gets_a_nan_hint_not_the_overflow_hint():
    """U11: a NaN pi* where no overflow is possible is explained as NaN (0/0, inf - inf, log < 0)."""

    def nan_policy(ref_probs, rewards, beta):
        return np.full_like(np.asarray(ref_probs, dtype=float), np.nan)

    with pytest.raises(AssertionError) as info:
        ex.check_optimal_policy(nan_policy)
    message = str(info.value)
    assert mistakes.NAN_OPTIMAL_POLICY in message
    assert mistakes.OVERFLOW_OPTIMAL_POLICY not in message


def test_u11_overflow_on_large_rewards_still_gets_the_overflow_hint():
    """U11: the naive exp(r / beta) at r / beta = 1e4 keeps the overflow hint."""

    def naive(ref_probs, rewards, beta):
        with np.errstate(all="ignore"):
            w = np.asarray(ref_probs) * np.exp(np.asarray(rewards) / beta)
            return w / w.sum()

    with pytest.raises(AssertionError) as info:
        ex.check_optimal_policy(naive)
    assert mistakes.OVERFLOW_OPTIMAL_POLICY in str(info.value)
