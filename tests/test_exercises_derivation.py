"""Exercises 10-11, the derivation (dpo_teach.exercises.derivation): the right answer passes with one
line, every catalogued mistake gets its own hint, and malformed answers fail clearly."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
import torch

from dpo_teach import exercises as ex
from dpo_teach.bandit import kl_divergence, optimal_policy
from dpo_teach.exercises import derivation, inputs
from dpo_teach.grade import CHECKS

REF, R = np.array(inputs.OBJECTIVE_REF_PROBS), np.array(inputs.OBJECTIVE_REWARDS)
PI, BETA = np.array(inputs.OBJECTIVE_POLICY), inputs.OBJECTIVE_BETA
TABLE, F = np.array(inputs.SHIFT_REWARDS), inputs.SHIFT_F

# A student's right answers, computed the way the exercises ask (from the definitions).
OBJECTIVE = float(PI @ R - BETA * np.sum(PI * np.log(PI / REF)))  # E_pi[r] - beta KL(pi || pi_ref)
LOG_Z = math.log(float(REF @ np.exp(R / BETA)))  # log sum_y pi_ref(y) e^{r(y)/beta}
P_BEFORE = 1 / (1 + math.exp(-(TABLE[0, 0] - TABLE[0, 2])))  # sigma(r(x_1, y_1) - r(x_1, y_3))
SHIFTED_TABLE = TABLE + np.array(F)[:, None]  # r'(x, y) = r(x, y) + f(x), every answer of each prompt
SHIFTED = SHIFTED_TABLE[0]
P_AFTER = 1 / (1 + math.exp(-(SHIFTED[0] - SHIFTED[2])))


def test_the_checks_are_exercises_10_and_11_for_the_grader():
    checks = [n for n in ex.__all__ if n.startswith("check_")]
    assert checks[9:11] == ["check_objective_identity", "check_shift_invariance"]
    assert CHECKS.index("check_objective_identity") + 1 == 10


def test_the_reference_satisfies_the_identity_of_appendix_a1():
    pi_star = optimal_policy(REF, R, BETA)
    assert abs(OBJECTIVE - (BETA * LOG_Z - BETA * kl_divergence(PI, pi_star))) < 1e-12
    assert P_BEFORE == pytest.approx(P_AFTER, abs=1e-15)


RIGHT = {
    "10 floats": (ex.check_objective_identity, (OBJECTIVE, LOG_Z)),
    "10 numpy and torch": (ex.check_objective_identity, (np.float64(OBJECTIVE), torch.tensor(LOG_Z))),
    "10 Fraction, Decimal": (ex.check_objective_identity, (Fraction(OBJECTIVE), Decimal(LOG_Z))),
    "11 floats": (ex.check_shift_invariance, (SHIFTED_TABLE, P_BEFORE, P_AFTER)),
    "11 numpy": (ex.check_shift_invariance, (SHIFTED_TABLE.tolist(), np.float64(P_BEFORE), np.array(P_AFTER))),
    "11 torch table": (ex.check_shift_invariance, (torch.tensor(SHIFTED_TABLE), P_BEFORE, P_AFTER)),
}


@pytest.mark.parametrize("name", RIGHT)
def test_right_answer_returns_true_and_prints_one_line(name, capsys):
    check, args = RIGHT[name]
    assert check(*args) is True
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("Correct!"), out


def catalogued():
    """Every entry of the two catalogues, submitted as the student's answer (the rest right)."""
    for hint, value in derivation.objective_mistakes(REF, R, PI, BETA):
        yield "objective", ex.check_objective_identity, (value, LOG_Z), hint
    for hint, value in derivation.log_z_mistakes(REF, R, PI, BETA):
        yield "log_z", ex.check_objective_identity, (OBJECTIVE, value), hint
    for hint, table in derivation.shifted_table_mistakes(TABLE, np.array(F)):
        yield "shifted", ex.check_shift_invariance, (table, P_BEFORE, P_AFTER), hint
    for after in (False, True):
        for hint, value in derivation.shift_mistakes(TABLE, F, 0, (0, 2), after):
            yield (
                ("p_after" if after else "p_before"),
                ex.check_shift_invariance,
                ((SHIFTED_TABLE, P_BEFORE, value) if after else (SHIFTED_TABLE, value, P_AFTER)),
                hint,
            )


CATALOGUED = list(catalogued())


@pytest.mark.parametrize(("which", "check", "answer", "hint"), CATALOGUED, ids=[c[0] for c in CATALOGUED])
def test_every_catalogued_mistake_is_named(which, check, answer, hint):
    with pytest.raises(AssertionError) as info:
        check(*answer)
    message = str(info.value)
    assert message.startswith(check.__name__) and which in message.splitlines()[0]
    assert f"Hint: {hint}" in message, message


CLASSIC = [
    # (check, answer, words the message must contain): the mistakes the exercises are about
    (ex.check_objective_identity, (PI @ R + BETA * np.sum(PI * np.log(PI / REF)), LOG_Z), "sign of the KL"),
    (ex.check_objective_identity, (PI @ R - np.sum(PI * np.log(PI / REF)), LOG_Z), "beta is missing"),
    (ex.check_objective_identity, (OBJECTIVE, float(REF @ np.exp(R / BETA))), "log Z, not Z"),
    (ex.check_objective_identity, (OBJECTIVE, math.log(float(REF @ np.exp(BETA * R)))), "exp(r / beta)"),
    (ex.check_objective_identity, (BETA * LOG_Z + 0.1, LOG_Z), "exceeds beta log Z"),
    (ex.check_shift_invariance, (SHIFTED_TABLE, P_BEFORE, 1 / (1 + math.exp(-(SHIFTED[0] - TABLE[0, 2])))), "only one"),
    (ex.check_shift_invariance, (SHIFTED_TABLE, 1 - P_BEFORE, P_AFTER), "p(y_3 > y_1)"),
    (ex.check_shift_invariance, (SHIFTED_TABLE, P_BEFORE, round(P_AFTER, 3)), "rounded"),
    # the answer that never shifts the rewards: p_after = p_before is right, so the table must catch it
    (ex.check_shift_invariance, (TABLE, P_BEFORE, P_BEFORE), "that is r itself"),
]


@pytest.mark.parametrize(("check", "answer", "words"), CLASSIC, ids=[w for *_, w in CLASSIC])
def test_classic_mistakes_get_their_hint(check, answer, words):
    with pytest.raises(AssertionError, match="expected") as info:
        check(*answer)
    assert words in str(info.value), str(info.value)


MALFORMED = [
    (ex.check_objective_identity, (..., LOG_Z), "objective is still the placeholder"),
    (ex.check_objective_identity, (OBJECTIVE, None), "log_z is None"),
    (ex.check_objective_identity, ("0.93", LOG_Z), "not text"),
    (ex.check_objective_identity, (np.array([OBJECTIVE, LOG_Z]), LOG_Z), "single number"),
    (ex.check_objective_identity, (OBJECTIVE, float("nan")), "NaN"),
    (ex.check_objective_identity, (OBJECTIVE, float("inf")), "overflow"),
    (ex.check_shift_invariance, (SHIFTED_TABLE, True, P_AFTER), "bool"),
    (ex.check_shift_invariance, (SHIFTED_TABLE, P_BEFORE, ...), "p_after is still the placeholder"),
    (ex.check_shift_invariance, (..., P_BEFORE, P_AFTER), "shifted is still the placeholder"),
    (ex.check_shift_invariance, (SHIFTED_TABLE[0], P_BEFORE, P_AFTER), "shape (3,), expected (2, 3)"),
    (ex.check_shift_invariance, (SHIFTED_TABLE, P_BEFORE, 1.7), "not a probability"),
    (ex.check_shift_invariance, (SHIFTED_TABLE, P_BEFORE, 1j), "real number"),
]


@pytest.mark.parametrize(("check", "answer", "words"), MALFORMED, ids=[w for *_, w in MALFORMED])
def test_malformed_answers_fail_clearly(check, answer, words):
    with pytest.raises(AssertionError) as info:
        check(*answer)
    assert words in str(info.value), str(info.value)


def test_a_low_precision_answer_is_told_to_use_float64():
    with pytest.raises(AssertionError, match="float16"):
        ex.check_objective_identity(np.float16(OBJECTIVE), LOG_Z)
