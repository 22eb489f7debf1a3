"""Every check in dpo_teach.exercises accepts a right answer and rejects the classic wrong ones
with a message that names the mistake; and the facts the exercises rest on.

The mistake catalogues are tested in test_exercises_mistakes.py, the feedback on malformed answers
in test_exercises_feedback.py, the two notebooks in test_exercises_notebooks.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dpo_teach import exercises as ex
from dpo_teach import numpy_dpo as nd
from dpo_teach import torch_dpo as td
from dpo_teach.bandit import kl_divergence
from dpo_teach.bandit import optimal_policy as library_optimal_policy
from helpers import (
    dpo_loss,
    dpo_loss_torch,
    gradient,
    ipo_loss,
    kl_optimal,
    margin,
    optimal_policy,
    sequence_logps,
    weight,
)

# ------------------------------------------------------------------ right answers (a student's)

B = ex.TOY_BETA
# exercises 10-11 (the derivation): J(pi), log Z, and one Bradley-Terry probability
_REF, _R, _PI = (
    np.array(v)
    for v in (ex.inputs.OBJECTIVE_REF_PROBS, ex.inputs.OBJECTIVE_REWARDS, ex.inputs.OBJECTIVE_POLICY)
)
OBJECTIVE = float(_PI @ _R - ex.inputs.OBJECTIVE_BETA * np.sum(_PI * np.log(_PI / _REF)))
LOG_Z = math.log(float(_REF @ np.exp(_R / ex.inputs.OBJECTIVE_BETA)))
P_SHIFT = 1 / (1 + math.exp(-(ex.inputs.SHIFT_REWARDS[0][0] - ex.inputs.SHIFT_REWARDS[0][2])))
SHIFTED_TABLE = np.array(ex.inputs.SHIFT_REWARDS) + np.array(ex.inputs.SHIFT_F)[:, None]

RIGHT = {
    "implicit_reward": (ex.check_implicit_reward, (B * math.log(0.6 / 0.5), B * math.log(0.4 / 0.5))),
    "implicit_reward_arrays": (  # NumPy / torch scalars and one-element lists are numbers too
        ex.check_implicit_reward,
        (np.array(B * math.log(1.2)), [torch.tensor(B * math.log(0.8), dtype=torch.float64)]),
    ),
    "bt_probability": (ex.check_bt_probability, (0.6,)),
    "dpo_loss_value": (ex.check_dpo_loss_value, (math.log1p(math.exp(-0.02)),)),
    "dpo_loss": (ex.check_dpo_loss, (dpo_loss,)),
    "dpo_loss_torch": (ex.check_dpo_loss, (dpo_loss_torch,)),
    "gradient_weight": (ex.check_gradient_weight, (weight,)),
    "dpo_gradient": (ex.check_dpo_gradient, (gradient,)),
    "optimal_policy": (ex.check_optimal_policy, (optimal_policy,)),
    "sequence_logps": (ex.check_sequence_logps, (sequence_logps,)),
    "kl": (ex.check_kl_when_beta_doubles, (kl_optimal(0.5), kl_optimal(1.0))),
    "objective_identity": (ex.check_objective_identity, (OBJECTIVE, LOG_Z)),
    "shift_invariance": (ex.check_shift_invariance, (SHIFTED_TABLE, P_SHIFT, P_SHIFT)),
    "ipo_loss": (ex.check_ipo_loss, (ipo_loss,)),
}


@pytest.mark.parametrize("name", RIGHT)
def test_right_answer_returns_true_and_prints_one_line(name, capsys):
    check, args = RIGHT[name]
    assert check(*args) is True
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("Correct!"), out


def test_every_check_is_covered():
    checks = {n for n in ex.__all__ if n.startswith("check_")}
    assert len(checks) >= 8
    assert checks == {check.__name__ for check, _ in RIGHT.values()}


# ------------------------------------------------------------------ classic mistakes -> their hint


def naive_loss(pc, pr, rc, rr, beta):  # -log(sigmoid(m)): log(0) for m < -709.78 (float64)
    return -np.log(1.0 / (1.0 + np.exp(-margin(pc, pr, rc, rr, beta))))


WRONG = [
    # (check, answer, words the message must contain)
    (ex.check_implicit_reward, (math.log(1.2), B * math.log(0.8)), "beta is missing"),
    (ex.check_implicit_reward, (B * math.log(1.2), math.log(0.8)), "beta is missing"),
    (ex.check_implicit_reward, (B * math.log(0.5 / 0.6), B * math.log(0.8)), "pi_theta / pi_ref"),
    (ex.check_implicit_reward, (B * math.log(math.log(0.6) / math.log(0.5)), 0.0), "log of a log-prob"),
    (ex.check_implicit_reward, (B * math.log(0.8), B * math.log(1.2)), "y_w is the answer"),
    (ex.check_implicit_reward, (0.01, -0.01), "not the difference of probabilities"),
    (ex.check_implicit_reward, (0.0182, -0.0223), "rounded"),
    (ex.check_bt_probability, (0.4,), "P(y_l > y_w)"),
    (ex.check_bt_probability, (1 / (1 + math.exp(-0.2)),), "not the probabilities"),
    (ex.check_bt_probability, (math.log(0.6),), "not a probability"),
    (ex.check_bt_probability, (0.5,), "margin of 0"),
    (ex.check_dpo_loss_value, (math.log1p(math.exp(-0.2)),), "beta is missing"),
    (ex.check_dpo_loss_value, (math.log1p(math.exp(0.02)),), "sign of the margin"),
    (ex.check_dpo_loss_value, (-math.log1p(math.exp(-0.02)),), "MINUS log sigma"),
    (ex.check_dpo_loss_value, (1 - 1 / (1 + math.exp(-0.02)),), "sigmoid instead of log-sigmoid"),
    (ex.check_dpo_loss_value, (math.log1p(math.exp(-0.06)),), "reference log-probs are missing"),
    (ex.check_dpo_loss, (lambda pc, pr, rc, rr, b: dpo_loss(pc, pr, rc, rr, 1.0),), "beta is missing"),
    (ex.check_dpo_loss, (lambda pc, pr, rc, rr, b: dpo_loss(pr, pc, rr, rc, b),), "sign of the margin"),
    (ex.check_dpo_loss, (lambda *a: -dpo_loss(*a),), "MINUS log sigma"),
    (ex.check_dpo_loss, (lambda pc, pr, rc, rr, b: np.logaddexp(0, -b * (pc - pr)),), "reference"),
    (ex.check_dpo_loss, (naive_loss,), "overflow"),
    (ex.check_dpo_loss, (lambda *a: dpo_loss(*a).mean(),), "mean over the batch"),
    (ex.check_dpo_loss, (lambda pc, pr, rc, rr, b: dpo_loss(np.log(pc), pr, rc, rr, b),), "log of a log"),
    (ex.check_dpo_loss, (lambda *a: (dpo_loss(*a), a[0], a[1]),), "return only losses"),
    (ex.check_dpo_loss, (lambda *a: dpo_loss(*(np.float32(x) for x in a)),), "compute in float64"),
    (
        ex.check_sequence_logps,
        (lambda lg, lb: sequence_logps(lg.to(torch.bfloat16), lb),),
        "your output is bfloat16: compute in float64",
    ),
    (ex.check_gradient_weight, (lambda *a: 1 - weight(*a),), "ordered WRONGLY"),
    (ex.check_gradient_weight, (lambda *a: a[4] * weight(*a),), "w excludes beta"),
    (ex.check_gradient_weight, (lambda pc, pr, rc, rr, b: weight(pc, pr, rc, rr, 1.0),), "beta is missing"),
    (ex.check_gradient_weight, (lambda *a: np.exp(-margin(*a)) / (1 + np.exp(-margin(*a))),), "overflow"),
    (ex.check_dpo_gradient, (lambda *a: tuple(g / a[4] for g in gradient(*a)),), "beta is missing in front"),
    (ex.check_dpo_gradient, (lambda *a: tuple(-g for g in gradient(*a)),), "signs flipped"),
    (ex.check_dpo_gradient, (lambda *a: (gradient(*a)[0], gradient(*a)[0]),), "opposite signs"),
    (ex.check_dpo_gradient, (lambda *a: gradient(*a)[0],), "return a tuple (grad_chosen, grad_rejected)"),
    (ex.check_optimal_policy, (lambda p, r, b: optimal_policy(p, r * b * b, b),), "not exp(beta * r)"),
    (ex.check_optimal_policy, (lambda p, r, b: optimal_policy(p, r * b, b),), "beta is missing"),
    (ex.check_optimal_policy, (lambda p, r, b: optimal_policy(np.ones_like(p), r, b),), "pi_ref is missing"),
    (ex.check_optimal_policy, (lambda p, r, b: p * np.exp(r / b),), "not normalised"),
    (ex.check_optimal_policy, (lambda p, r, b: p * np.exp(r / b) / np.sum(p * np.exp(r / b)),), "overflows"),
    (ex.check_sequence_logps, (lambda lg, lb: sequence_logps(lg, lb, shift=False),), "no shift"),
    (ex.check_sequence_logps, (lambda lg, lb: sequence_logps(lg, lb, mean=True),), "mean instead of sum"),
    (
        ex.check_sequence_logps,
        (lambda lg, lb: sequence_logps(lg, lb, log=torch.softmax),),
        "summed probabilities",
    ),
    (ex.check_sequence_logps, (lambda lg, lb: -sequence_logps(lg, lb),), "negative log-likelihood"),
    (
        ex.check_sequence_logps,
        (lambda lg, lb: sequence_logps(lg, lb, log=lambda x, d: torch.log(torch.softmax(x, d))),),
        "log(softmax(logits)) underflows",
    ),
    (
        ex.check_sequence_logps,
        (lambda lg, lb: sequence_logps(lg, lb, log=lambda x, d: torch.log(torch.log_softmax(x, d))),),
        "do not take their log again",
    ),
    (
        ex.check_sequence_logps,
        (
            lambda lg, lb: (
                torch.log_softmax(lg[:, :-1], -1).gather(-1, lb[:, 1:].clamp(min=0)[..., None]).sum((1, 2))
            ),
        ),
        "must be masked",
    ),
    (ex.check_kl_when_beta_doubles, (kl_optimal(0.5), kl_optimal(0.5) / 4), "small-reward rule"),
    (ex.check_kl_when_beta_doubles, (kl_optimal(0.5), kl_optimal(0.5) / 2), "does not simply halve"),
    (ex.check_kl_when_beta_doubles, (kl_optimal(0.5, True), kl_optimal(1.0, True)), "exp(beta * r)"),
    (ex.check_kl_when_beta_doubles, (kl_optimal(0.5), 2 * kl_optimal(0.5)), "your KL does not fall"),
    (ex.check_kl_when_beta_doubles, (kl_optimal(1.0), kl_optimal(0.5)), "swapped"),
]


@pytest.mark.parametrize(("check", "answer", "words"), WRONG, ids=[f"{c.__name__}-{w}" for c, _, w in WRONG])
def test_classic_mistake_is_named(check, answer, words, capsys):
    with pytest.raises(AssertionError) as info:
        check(*answer)
    message = str(info.value)
    assert words in message, message
    assert capsys.readouterr().out == ""  # no "Correct!" line on a wrong answer


# ------------------------------------------------------------------ the facts behind the exercises


def test_kl_exercise_closed_form_is_exact():
    p, r = np.array(ex.KL_REF_PROBS), np.array(ex.KL_REWARDS)

    def kl_of_optimum(beta):  # the library's route: Eq. 4, then the KL
        return kl_divergence(library_optimal_policy(p, r, beta), p)

    for beta in (ex.KL_BETA, 2 * ex.KL_BETA):
        pi = optimal_policy(p, r, beta)
        assert kl_of_optimum(beta) == pytest.approx(float(pi @ np.log(pi / p)), rel=1e-13)
    # the check accepts exactly these two numbers
    assert ex.check_kl_when_beta_doubles(kl_of_optimum(ex.KL_BETA), kl_of_optimum(2 * ex.KL_BETA))
    # doubling beta shrinks the KL, but by 0.445 here, not by the small-reward factor 1/4
    ratio = kl_optimal(1.0) / kl_optimal(0.5)
    assert 0.44 < ratio < 0.45
    # ... while for small r / beta the factor does approach 1/4 (KL ~ Var(r) / (2 beta^2))
    assert kl_of_optimum(200.0) / kl_of_optimum(100.0) == pytest.approx(0.25, rel=1e-2)


def test_references_agree_with_the_library():
    rng = np.random.default_rng(0)
    p, r = rng.dirichlet(np.ones(5)), rng.normal(size=5)
    np.testing.assert_allclose(library_optimal_policy(p, r, 0.3), optimal_policy(p, r, 0.3), rtol=1e-12)
    pc, pr, rc, rr = (-rng.uniform(1, 9, size=6) for _ in range(4))
    np.testing.assert_allclose(nd.margin(pc, pr, rc, rr, 0.2), margin(pc, pr, rc, rr, 0.2), rtol=1e-12)
    np.testing.assert_allclose(nd.dpo_loss(pc, pr, rc, rr, 0.2)[0], dpo_loss(pc, pr, rc, rr, 0.2), rtol=1e-12)
    # the hand-derived gradient is torch autograd through the library's loss (exercise 6's reference)
    pc_t, pr_t = (torch.tensor(a, requires_grad=True) for a in (pc, pr))
    td.dpo_loss(pc_t, pr_t, torch.tensor(rc), torch.tensor(rr), 0.2)[0].sum().backward()
    for got, want in zip((pc_t.grad.numpy(), pr_t.grad.numpy()), gradient(pc, pr, rc, rr, 0.2)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    for got, want in zip(nd.dpo_loss_grad(pc, pr, rc, rr, 0.2), gradient(pc, pr, rc, rr, 0.2)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
