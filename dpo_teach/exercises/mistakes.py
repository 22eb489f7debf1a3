"""The classic-mistake catalogues of :mod:`dpo_teach.exercises` (arXiv:2305.18290).

For each exercise, a list of ``(hint, wrong answer)``: the value, or the function, a student gets
by making one classic mistake (beta forgotten, the margin's sign flipped, log of a
log-probability, mean instead of sum, sigmoid instead of log-sigmoid, ...). A check shows the
hint of every mistake whose output matches the student's answer, so a hint is only ever shown
when it explains the number the student actually got.

This module holds the number exercises (1-3 and 9) and re-exports the function exercises' (4-8)
catalogues and hints from :mod:`.function_mistakes`.
"""

from __future__ import annotations

import math

import numpy as np

from .. import numpy_dpo as nd
from ..bandit import kl_divergence, optimal_policy
from .function_mistakes import (
    DPO_GRADIENT,
    DPO_LOSS,
    GRADIENT_WEIGHT,
    LOG10_OF_ABS_LOG,
    LOG_OF_ABS_LOG,
    LOG_OF_LOG,
    NAN_OPTIMAL_POLICY,
    NAN_SEQUENCE,
    NONFINITE_SEQUENCE,
    OPTIMAL_POLICY,
    OVERFLOW_LOSS,
    OVERFLOW_OPTIMAL_POLICY,
    OVERFLOW_WEIGHT,
    SEQUENCE_LOGPS,
)
from .inputs import TOY_BETA, TOY_POLICY, TOY_REFERENCE
from .language import tr

__all__ = [
    "implicit_reward",
    "bt_probability",
    "dpo_loss_value",
    "kl_when_beta_doubles",
    "DPO_LOSS",
    "GRADIENT_WEIGHT",
    "DPO_GRADIENT",
    "OPTIMAL_POLICY",
    "SEQUENCE_LOGPS",
    "LOG_OF_LOG",
    "LOG_OF_ABS_LOG",
    "LOG10_OF_ABS_LOG",
    "OVERFLOW_LOSS",
    "OVERFLOW_WEIGHT",
    "OVERFLOW_OPTIMAL_POLICY",
    "NAN_OPTIMAL_POLICY",
    "NONFINITE_SEQUENCE",
    "NAN_SEQUENCE",
]

# ---------------------------------------------------------------- 1-3: numbers on one example


def implicit_reward(name: str, p: float, r: float, other: tuple[float, float], beta: float) -> list:
    """Exercise 1: wrong values of ``name`` (r_hat_w or r_hat_l) for ``pi_theta = p``, ``pi_ref =
    r``; ``other`` is the other response's (pi_theta, pi_ref)."""
    return [
        (
            tr("beta is missing: r_hat = beta * log(pi_theta / pi_ref) with beta = {beta}", beta=beta),
            math.log(p / r),
        ),
        (tr("beta multiplies, it does not divide"), math.log(p / r) / beta),
        (tr("use the log of the ratio, not the difference of probabilities"), beta * (p - r)),
        (tr("take the log of the ratio pi_theta / pi_ref"), beta * p / r),
        (tr("the ratio is pi_theta / pi_ref, not pi_ref / pi_theta"), beta * math.log(r / p)),
        (
            tr("log of a log-probability: the ratio of log-probs is not the log of the ratio of probs"),
            beta * math.log(math.log(p) / math.log(r)),
        ),
        (tr("use the natural log (np.log), not log10"), beta * math.log10(p / r)),
        (
            tr("pi_ref is missing: r_hat = beta * (log pi_theta - log pi_ref), not beta * log pi_theta"),
            beta * math.log(p),
        ),
        (
            tr(
                "that is {other}: y_w is the answer with pi_theta = 0.6, y_l the one with 0.4",
                other="r_hat_l" if name == "r_hat_w" else "r_hat_w",
            ),
            beta * math.log(other[0] / other[1]),
        ),
    ]


def bt_probability(r_w: float, r_l: float, expected: float) -> list:
    """Exercise 2: wrong values of p(y_w > y_l) for the rewards ``r_w``, ``r_l`` at beta = 1."""
    sig = lambda z: float(nd.sigmoid(z))  # noqa: E731
    return [
        (
            tr("that is P(y_l > y_w): the margin is r_hat_w - r_hat_l, not r_hat_l - r_hat_w"),
            float(nd.bt_probability(r_l, r_w)),
        ),
        (
            tr("the Bradley-Terry model takes rewards (log-ratios), not the probabilities themselves"),
            sig(TOY_POLICY[0] - TOY_POLICY[1]),
        ),
        (
            tr(
                "the rewards are log-ratios: r_hat_w = log(pi_theta / pi_ref) = log(0.6 / 0.5), not the "
                "ratio 0.6 / 0.5 = 1.2 itself (and r_hat_l = log 0.8, not 0.8)"
            ),
            sig(TOY_POLICY[0] / TOY_REFERENCE[0] - TOY_POLICY[1] / TOY_REFERENCE[1]),
        ),
        (tr("sigma needs the difference r_hat_w - r_hat_l, not r_hat_w alone"), sig(r_w)),
        (tr("this exercise uses beta = 1, not 0.1"), sig(TOY_BETA * (r_w - r_l))),
        (tr("give the probability, not its log"), math.log(expected)),
        (tr("a margin of 0 gives 0.5: are both rewards computed from the right probabilities?"), 0.5),
    ]


def dpo_loss_value(pc: float, pr: float, rc: float, rr: float, beta: float) -> list:
    """Exercise 3: wrong values of the loss of one pair of log-probs."""
    nls = lambda m: -float(nd.log_sigmoid(m))  # noqa: E731
    m = nd.margin_unchecked(pc, pr, rc, rr, beta)
    ln_abs, log10_abs = ([f(abs(x)) for x in (pc, pr, rc, rr)] for f in (math.log, math.log10))
    return [
        (tr("beta is missing: the margin is beta * (...) with beta = {beta}", beta=beta), nls(m / beta)),
        (tr("sign of the margin: it is r_hat_w - r_hat_l (chosen minus rejected)"), nls(-m)),
        (tr("the loss is MINUS log sigma(margin); yours is negative"), -nls(m)),
        (tr("the reference log-probs are missing from the margin"), nls(beta * (pc - pr))),
        (tr("sigmoid instead of log-sigmoid: the loss is -log sigma(margin)"), 1 - float(nd.sigmoid(m))),
        (tr("sigmoid instead of log-sigmoid: the loss is -log sigma(margin)"), float(nd.sigmoid(m))),
        (
            tr("log-ratios are differences of log-probs, not ratios of log-probs"),
            nls(beta * (pc / rc - pr / rr)),
        ),
        (tr(LOG_OF_ABS_LOG), nls(nd.margin_unchecked(*ln_abs, beta))),
        (tr(LOG10_OF_ABS_LOG), nls(nd.margin_unchecked(*log10_abs, beta))),
        (tr("a margin of 0 gives ln 2: did the policy and reference terms cancel?"), math.log(2)),
    ]


def kl_when_beta_doubles(key: str, p, r, beta: float, kl: dict, received: dict) -> list:
    """Exercise 9: wrong values of ``kl[key]`` (``"kl_beta"`` or ``"kl_double_beta"``, at ``beta``)
    for the table ``p``, ``r``; ``kl`` holds both right values, ``received`` the student's."""
    pi = optimal_policy(p, r, beta)
    wrong_pi = optimal_policy(p, r * beta * beta, beta)  # exp(beta * r)
    mistakes = [
        (
            tr(
                "that is KL(pi_ref || pi*); the objective (Eq. 3) penalises KL(pi || pi_ref) = "
                "sum pi* log(pi* / pi_ref)"
            ),
            kl_divergence(p, pi),
        ),
        (tr("pi* uses exp(r / beta), not exp(beta * r)"), kl_divergence(wrong_pi, p)),
        (
            tr(
                "the small-reward rule KL ~ Var(r) / (2 beta^2) quarters the KL when beta doubles; "
                "here r / beta is not small, so compute it exactly"
            ),
            kl["kl_beta"] / 4 if key == "kl_double_beta" else np.nan,
        ),
        (
            tr("KL does not simply halve when beta doubles: compute it exactly"),
            kl["kl_beta"] / 2 if key == "kl_double_beta" else np.nan,
        ),
        (
            tr("KL is a sum over responses weighted by pi*, not a plain sum of log-ratios"),
            float(np.sum(np.log(pi / p))),
        ),
        (
            tr("the two values are swapped: pass the KL at beta = 0.5 first, then at beta = 1"),
            kl["kl_double_beta" if key == "kl_beta" else "kl_beta"],
        ),
    ]
    if key == "kl_double_beta" and received[key] >= received["kl_beta"]:  # always shown then
        mistakes.append(
            (
                tr(
                    "your KL does not fall: a larger beta is a stronger KL penalty, so pi* moves "
                    "closer to pi_ref"
                ),
                received[key],
            )
        )
    return mistakes
