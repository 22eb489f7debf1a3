"""Hints of the exercise checks added in issue 13: the log of |log-prob| (the erratum of notebook
01), probability ratios used as rewards, the batch-mean gradient, a forgotten pi_ref, the rounding
hint only for numbers right to 3 significant digits, low-precision answers (float16, bfloat16)
judged at their own precision, and exact Fraction / Decimal answers accepted."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
import torch

from dpo_teach import exercises as ex
from helpers import dpo_loss, gradient, kl_optimal, optimal_policy, sequence_logps, weight

B = ex.TOY_BETA
R_W, R_L = B * math.log(0.6 / 0.5), B * math.log(0.4 / 0.5)  # exercise 1's right answers
LOSS = math.log1p(math.exp(-0.02))  # exercise 3's right answer
ROUNDED = "typing a rounded number"


def message(check, *answer) -> str:
    with pytest.raises(AssertionError) as info:
        check(*answer)
    return str(info.value)


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


# ------------------------------------------------------------------ 1. log of |log-prob|


def log_abs_loss(log, pc, pr, rc, rr, beta):
    """The DPO loss with log(|x|) (log = np.log or np.log10) taken of every log-prob first."""
    return dpo_loss(*(log(np.abs(np.asarray(x, dtype=np.float64))) for x in (pc, pr, rc, rr)), beta)


def assert_log_of_abs_hint(text: str, base_words: str):
    assert "already log-probabilities" in text and "difference of log-probs" in text, text
    assert base_words in text, text


@pytest.mark.parametrize(("log", "words"), [(np.log, "log(|log-prob|)"), (np.log10, "log10(|log-prob|)")])
def test_exercise_3_log_of_abs_log_prob_is_named(log, words):
    loss = float(log_abs_loss(log, *ex.LOGP_EXAMPLE, ex.LOGP_BETA))
    assert_log_of_abs_hint(message(ex.check_dpo_loss_value, loss), words)


def test_exercise_3_the_erratum_of_notebook_01_is_named():
    margin = ex.LOGP_BETA * (math.log10(0.2 / 0.3) - math.log10(0.8 / 0.7))  # the quoted -0.23 * beta
    text = message(ex.check_dpo_loss_value, math.log1p(math.exp(-margin)))
    assert_log_of_abs_hint(text, "erratum of notebook 01")


@pytest.mark.parametrize(("log", "words"), [(np.log, "log(|log-prob|)"), (np.log10, "log10(|log-prob|)")])
def test_exercise_4_log_of_abs_log_prob_is_named(log, words):
    text = message(ex.check_dpo_loss, lambda *a: log_abs_loss(log, *a))
    assert_log_of_abs_hint(text, words)


def test_exercise_4_log_of_abs_log_prob_in_torch_is_named():
    def torch_loss(pc, pr, rc, rr, beta):
        pc, pr, rc, rr = (torch.log10(torch.as_tensor(x).abs()) for x in (pc, pr, rc, rr))
        return -torch.nn.functional.logsigmoid(beta * ((pc - rc) - (pr - rr)))

    assert_log_of_abs_hint(message(ex.check_dpo_loss, torch_loss), "log10(|log-prob|)")


# ------------------------------------------------------------------ 2. ratios as rewards, rounding


def test_exercise_2_probability_ratios_as_rewards_get_their_hint_not_the_rounding_hint():
    text = message(ex.check_bt_probability, sigmoid(1.2 - 0.8))  # r = pi / pi_ref, no log
    assert "the rewards are log-ratios" in text and "not the ratio 0.6 / 0.5 = 1.2" in text, text
    assert ROUNDED not in text, text


@pytest.mark.parametrize(
    ("check", "answer"),
    [
        (ex.check_bt_probability, (0.595,)),
        (ex.check_bt_probability, (0.603,)),
        (ex.check_bt_probability, (0.599,)),
        (ex.check_implicit_reward, (0.0181, R_L)),
        (ex.check_implicit_reward, (0.01835, R_L)),
        (ex.check_dpo_loss_value, (0.681,)),
        (ex.check_kl_when_beta_doubles, (0.431, kl_optimal(1.0))),
    ],
)
def test_a_nearby_number_is_not_called_rounded(check, answer):
    assert ROUNDED not in message(check, *answer)


@pytest.mark.parametrize(
    ("check", "answer"),
    [
        (ex.check_bt_probability, (0.59999,)),
        (ex.check_implicit_reward, (0.0182, R_L)),
        (ex.check_implicit_reward, (R_W, -0.0223)),
        (ex.check_dpo_loss_value, (0.683,)),
        (ex.check_dpo_loss_value, (0.68320,)),
        (ex.check_kl_when_beta_doubles, (0.432, kl_optimal(1.0))),
    ],
)
def test_a_number_right_to_three_significant_digits_is_called_rounded(check, answer):
    assert ROUNDED in message(check, *answer)


# ------------------------------------------------------------------ 3. gradient of the batch mean


def test_exercise_6_gradient_of_the_batch_mean_gets_a_hint():
    text = message(ex.check_dpo_gradient, lambda *a: tuple(g / len(a[0]) for g in gradient(*a)))
    assert "batch MEAN loss" in text and "divided by the batch size B" in text, text


def test_exercise_6_gradient_of_the_batch_mean_by_autograd_gets_the_hint():
    def autograd_of_mean(pc, pr, rc, rr, beta):
        pc_t, pr_t = (torch.tensor(x, requires_grad=True) for x in (pc, pr))
        logits = beta * ((pc_t - torch.as_tensor(rc)) - (pr_t - torch.as_tensor(rr)))
        (-torch.nn.functional.logsigmoid(logits)).mean().backward()
        return pc_t.grad, pr_t.grad

    assert "batch MEAN loss" in message(ex.check_dpo_gradient, autograd_of_mean)


# ------------------------------------------------------------------ 4. pi_ref forgotten


@pytest.mark.parametrize(
    "answer", [(B * math.log(0.6), R_L), (R_W, B * math.log(0.4))], ids=["r_hat_w", "r_hat_l"]
)
def test_exercise_1_forgotten_reference_gets_a_hint(answer):
    text = message(ex.check_implicit_reward, *answer)
    assert "pi_ref is missing" in text and "not beta * log pi_theta" in text, text


# ------------------------------------------------------------------ 5. low precision


LOW_PRECISION_NUMBERS = {
    "numpy float16 scalar": lambda x: np.float16(x),
    "numpy float16 0-d array": lambda x: np.array(x, dtype=np.float16),
    "numpy float16 array of one": lambda x: np.array([x], dtype=np.float16),
    "torch float16 tensor": lambda x: torch.tensor(x, dtype=torch.float16),
    "a list of one float16": lambda x: [np.float16(x)],
}
NUMBER_EXERCISES = {
    "1 r_hat_w": (ex.check_implicit_reward, (R_W, R_L), 0),
    "1 r_hat_l": (ex.check_implicit_reward, (R_W, R_L), 1),
    "2": (ex.check_bt_probability, (0.6,), 0),
    "3": (ex.check_dpo_loss_value, (LOSS,), 0),
    "9 kl_beta": (ex.check_kl_when_beta_doubles, (kl_optimal(0.5), kl_optimal(1.0)), 0),
    "9 kl_double_beta": (ex.check_kl_when_beta_doubles, (kl_optimal(0.5), kl_optimal(1.0)), 1),
}


@pytest.mark.parametrize("kind", LOW_PRECISION_NUMBERS)
@pytest.mark.parametrize("exercise", NUMBER_EXERCISES)
def test_a_float16_number_right_to_its_precision_gets_the_precision_hint(exercise, kind):
    check, right, k = NUMBER_EXERCISES[exercise]
    answer = list(right)
    answer[k] = LOW_PRECISION_NUMBERS[kind](right[k])
    text = message(check, *answer)
    assert "your value is float16, which keeps ~3 significant digits; compute in float64" in text, text
    assert ROUNDED not in text, text


def test_a_float16_number_computed_in_float16_gets_the_precision_hint():
    p = torch.tensor([0.6, 0.5, 0.4], dtype=torch.float16)
    r_w, r_l = B * (p[0].log() - p[1].log()), B * (p[2].log() - p[1].log())  # ~2 ulp off
    text = message(ex.check_implicit_reward, r_w, r_l)
    assert "your value is float16" in text and ROUNDED not in text, text


def test_a_bfloat16_number_gets_the_precision_hint():
    text = message(ex.check_bt_probability, torch.tensor(0.6, dtype=torch.bfloat16))
    assert "your value is bfloat16, which keeps ~2 significant digits" in text and ROUNDED not in text


def test_a_float16_classic_mistake_gets_its_own_hint_not_the_precision_hint():
    text = message(ex.check_bt_probability, np.float16(sigmoid(1.2 - 0.8)))  # 3 ulp from 0.6
    assert "the rewards are log-ratios" in text and "float16" not in text, text
    text = message(ex.check_implicit_reward, np.float16(math.log(1.2)), R_L)
    assert "beta is missing" in text and "float16" not in text, text


F16_NOTE = "float16 keeps only ~3 significant digits"


def halves(out, to):
    """``out`` (an array, a tensor or a tuple of them) as float16, NumPy or torch."""
    if isinstance(out, tuple):
        return tuple(halves(o, to) for o in out)
    return np.asarray(out).astype(np.float16) if to == "numpy" else torch.as_tensor(out).half()


FUNCTIONS = {
    "4 dpo_loss": (ex.check_dpo_loss, dpo_loss),
    "5 gradient_weight": (ex.check_gradient_weight, weight),
    "6 dpo_gradient": (ex.check_dpo_gradient, gradient),
    "7 optimal_policy": (ex.check_optimal_policy, optimal_policy),
    "8 sequence_logps": (ex.check_sequence_logps, sequence_logps),
}


@pytest.mark.parametrize("to", ["numpy", "torch"])
@pytest.mark.parametrize("exercise", FUNCTIONS)
def test_a_float16_function_output_gets_the_precision_hint_alone(exercise, to):
    check, right = FUNCTIONS[exercise]
    text = message(check, lambda *a: halves(right(*a), to))
    assert f"your output is float16: compute in float64 (the inputs are float64); {F16_NOTE}" in text, text
    assert text.count("Hint:") == 1, text  # not "sums to 0.9998", not a mistake that is right here


def test_a_float16_function_output_of_a_classic_mistake_gets_that_mistake_hint():
    text = message(
        ex.check_dpo_loss, lambda pc, pr, rc, rr, b: dpo_loss(pc, pr, rc, rr, 1.0).astype(np.float16)
    )
    assert "beta is missing" in text and F16_NOTE not in text, text


# ------------------------------------------------------------------ 6. Fraction and Decimal


EXACT = {
    "1 Fraction": (ex.check_implicit_reward, (Fraction(R_W), Fraction(R_L))),
    "1 Decimal": (ex.check_implicit_reward, (Decimal(repr(R_W)), Decimal(R_L))),
    "2 Fraction": (ex.check_bt_probability, (Fraction(3, 5),)),
    "2 Decimal": (ex.check_bt_probability, (Decimal("0.6"),)),
    "3 Fraction": (ex.check_dpo_loss_value, (Fraction(LOSS),)),
    "3 Decimal": (ex.check_dpo_loss_value, (Decimal(repr(LOSS)),)),
    "9 Fraction": (ex.check_kl_when_beta_doubles, (Fraction(kl_optimal(0.5)), Fraction(kl_optimal(1.0)))),
    "9 Decimal": (ex.check_kl_when_beta_doubles, (Decimal(kl_optimal(0.5)), Decimal(repr(kl_optimal(1.0))))),
}


@pytest.mark.parametrize("name", EXACT)
def test_an_exact_fraction_or_decimal_of_the_right_value_is_accepted(name, capsys):
    check, answer = EXACT[name]
    assert check(*answer) is True
    assert capsys.readouterr().out.startswith("Correct!")


def test_a_wrong_fraction_is_read_as_a_number_and_gets_the_mistake_hint():
    assert "P(y_l > y_w)" in message(ex.check_bt_probability, Fraction(2, 5))


@pytest.mark.parametrize(
    ("value", "words"), [(Decimal("NaN"), "is NaN"), (Decimal("sNaN"), "not a number")], ids=["NaN", "sNaN"]
)
def test_a_decimal_nan_is_a_clear_assertion_error(value, words):
    assert words in message(ex.check_bt_probability, value)
