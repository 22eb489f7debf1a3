"""The mistake catalogues of the exercises (dpo_teach.exercises.mistakes): every entry, submitted as
the student's answer, fails with its own hint."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dpo_teach import exercises as ex
from dpo_teach.exercises import derivation, family, mistakes
from helpers import kl_optimal


# Every entry of the mistake catalogues, submitted as the student's answer, must fail and be
# named: a catalogue entry that no answer can reach is dead.
def catalogued():
    for check, catalogue in (
        (ex.check_dpo_loss, mistakes.DPO_LOSS),
        (ex.check_gradient_weight, mistakes.GRADIENT_WEIGHT),
        (ex.check_dpo_gradient, mistakes.DPO_GRADIENT),
        (ex.check_optimal_policy, mistakes.OPTIMAL_POLICY),
        (ex.check_sequence_logps, mistakes.SEQUENCE_LOGPS),
        (ex.check_ipo_loss, family.IPO_LOSS),
    ):
        yield from ((check, (fn,), h) for h, fn in catalogue)
    toy = ex.TOY_BETA * math.log(0.6 / 0.5), ex.TOY_BETA * math.log(0.4 / 0.5)
    for h, v in mistakes.implicit_reward("r_hat_w", 0.6, 0.5, (0.4, 0.5), ex.TOY_BETA):
        yield ex.check_implicit_reward, (v, toy[1]), h
    for h, v in mistakes.implicit_reward("r_hat_l", 0.4, 0.5, (0.6, 0.5), ex.TOY_BETA):
        yield ex.check_implicit_reward, (toy[0], v), h
    yield from (
        (ex.check_bt_probability, (v,), h)
        for h, v in mistakes.bt_probability(math.log(1.2), math.log(0.8), 0.6)
    )
    yield from (
        (ex.check_dpo_loss_value, (v,), h) for h, v in mistakes.dpo_loss_value(*ex.LOGP_EXAMPLE, ex.LOGP_BETA)
    )
    p, r = np.array(ex.KL_REF_PROBS), np.array(ex.KL_REWARDS)
    kl = {"kl_beta": kl_optimal(ex.KL_BETA), "kl_double_beta": kl_optimal(2 * ex.KL_BETA)}
    for key, beta in (("kl_beta", ex.KL_BETA), ("kl_double_beta", 2 * ex.KL_BETA)):
        for h, v in mistakes.kl_when_beta_doubles(key, p, r, beta, kl, kl):
            # exp(beta * r) is exp(r / beta) at beta = 1, and the halving rules apply to one value
            if np.isfinite(v) and not math.isclose(v, kl[key], rel_tol=ex.RTOL):
                yield ex.check_kl_when_beta_doubles, tuple(v if k == key else kl[k] for k in kl), h

    ref, r, pi = (
        np.array(v)
        for v in (ex.inputs.OBJECTIVE_REF_PROBS, ex.inputs.OBJECTIVE_REWARDS, ex.inputs.OBJECTIVE_POLICY)
    )
    objective = float(pi @ r - ex.inputs.OBJECTIVE_BETA * np.sum(pi * np.log(pi / ref)))
    log_z = math.log(float(ref @ np.exp(r / ex.inputs.OBJECTIVE_BETA)))
    yield from (
        (ex.check_objective_identity, (v, log_z), h)
        for h, v in derivation.objective_mistakes(ref, r, pi, ex.inputs.OBJECTIVE_BETA)
    )
    yield from (
        (ex.check_objective_identity, (objective, v), h)
        for h, v in derivation.log_z_mistakes(ref, r, pi, ex.inputs.OBJECTIVE_BETA)
    )
    table = np.array(ex.inputs.SHIFT_REWARDS)
    p = 1 / (1 + math.exp(-(table[0, 0] - table[0, 2])))
    shifted = table + np.array(ex.inputs.SHIFT_F)[:, None]
    for h, v in derivation.shifted_table_mistakes(table, np.array(ex.inputs.SHIFT_F)):
        yield ex.check_shift_invariance, (v, p, p), h
    for after in (False, True):
        for h, v in derivation.shift_mistakes(table, ex.inputs.SHIFT_F, 0, (0, 2), after):
            yield ex.check_shift_invariance, ((shifted, p, v) if after else (shifted, v, p)), h


CATALOGUED = list(catalogued())


@pytest.mark.parametrize(
    ("check", "answer", "hint"),
    CATALOGUED,
    ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(CATALOGUED)],
)
def test_every_catalogued_mistake_is_named(check, answer, hint):
    with pytest.raises(AssertionError) as info:
        check(*answer)
    assert f"Hint: {hint}" in str(info.value), str(info.value)


CATALOGUES = ["DPO_LOSS", "GRADIENT_WEIGHT", "DPO_GRADIENT", "OPTIMAL_POLICY", "SEQUENCE_LOGPS"]


@pytest.mark.parametrize("name", CATALOGUES)
def test_each_catalogue_pairs_a_hint_with_a_wrong_function(name):
    catalogue = getattr(mistakes, name)
    assert len(catalogue) >= 2
    assert all(isinstance(h, str) and h.strip() for h, _ in catalogue)  # a hint may cover two variants
    assert all(callable(fn) for _, fn in catalogue)
    assert len({id(fn) for _, fn in catalogue}) == len(catalogue)


def test_the_catalogues_reach_every_check():
    reached = {check.__name__ for check, _, _ in CATALOGUED}
    assert reached == {n for n in ex.__all__ if n.startswith("check_")}
