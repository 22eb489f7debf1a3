r"""Exercises 10-11 of :mod:`dpo_teach.exercises`: the derivation of arXiv:2305.18290 (notebook 02),
with their classic-mistake catalogues.

- 10 (here): the KL-regularised objective (Eq. 3) of one policy, :math:`J(\pi) = \mathbb{E}_\pi[r] -
  \beta\,\mathrm{KL}(\pi\,\|\,\pi_\mathrm{ref})`, and :math:`\log Z`; together they give the
  identity :math:`J(\pi) = \beta\log Z - \beta\,\mathrm{KL}(\pi\,\|\,\pi^*)` (Appendix A.1).
- 11 (in :mod:`.shift`, re-exported here): a Bradley-Terry preference under :math:`r` and under
  :math:`r + f(x)`, the same number (Lemma 1).

Each catalogue is a list of ``(hint, wrong value)``; a check shows the hint of every mistake whose
value matches the answer (see :mod:`.matching`), like the number exercises in :mod:`.mistakes`.
"""

from __future__ import annotations

import math

import numpy as np

from ..bandit import expected_reward, kl_divergence, optimal_policy
from . import feedback as fb
from .inputs import OBJECTIVE_BETA, OBJECTIVE_POLICY, OBJECTIVE_REF_PROBS, OBJECTIVE_REWARDS
from .language import tr
from .matching import low_precision
from .shift import check_shift_invariance, shift_mistakes, shifted_table_mistakes

__all__ = [
    "check_objective_identity",
    "check_shift_invariance",
    "objective_mistakes",
    "log_z_mistakes",
    "shift_mistakes",
    "shifted_table_mistakes",
]


def _log_z(ref, r, beta) -> float:
    r""":math:`\log Z = \log\sum_y \pi_\mathrm{ref}(y)\,e^{r(y)/\beta}`, stable (log-sum-exp)."""
    return float(np.logaddexp.reduce(np.log(ref) + r / beta))


# ---------------------------------------------------------------- 10: the objective and log Z


def objective_mistakes(ref, r, pi, beta) -> list:
    """Exercise 10: wrong values of J(pi) = E_pi[r] - beta KL(pi || pi_ref)."""
    reward, kl = expected_reward(pi, r), kl_divergence(pi, ref)
    kl_star = kl_divergence(pi, optimal_policy(ref, r, beta))
    return [
        (
            tr(
                "sign of the KL: the penalty is subtracted, J = E_pi[r] - beta KL(pi || pi_ref) "
                "(or the log-ratio is upside down: it is log(pi / pi_ref))"
            ),
            reward + beta * kl,
        ),
        (tr("beta is missing: the KL is weighted by beta = {beta}", beta=beta), reward - kl),
        (tr("beta multiplies the KL, it does not divide it"), reward - kl / beta),
        (
            tr(
                "that is KL(pi_ref || pi); the objective penalises KL(pi || pi_ref) = "
                "sum_y pi(y) log(pi(y) / pi_ref(y))"
            ),
            reward - beta * kl_divergence(ref, pi),
        ),
        (
            tr("the expected reward is under pi (the policy given), not under pi_ref"),
            expected_reward(ref, r) - beta * kl,
        ),
        (
            tr("that is beta log Z = J(pi*), the maximum; the exercise asks for J of the given pi"),
            beta * _log_z(ref, r, beta),
        ),
        (tr("the KL penalty is missing: J = E_pi[r] - beta KL(pi || pi_ref)"), reward),
        (
            tr("use the natural log (np.log), not log10, in the KL"),
            reward - beta * float(pi @ np.log10(pi / ref)),
        ),
        (
            tr("the KL is a sum weighted by pi, sum_y pi(y) log(pi(y) / pi_ref(y)), not a plain sum of logs"),
            reward - beta * float(np.sum(np.log(pi / ref))),
        ),
        (
            tr(
                "the penalty of Eq. 3 is the KL to the reference pi_ref; KL(pi || pi*) is what the identity "
                "subtracts from beta log Z"
            ),
            reward - beta * kl_star,
        ),
        (
            tr("sign in the identity: J(pi) = beta log Z MINUS beta KL(pi || pi*)"),
            beta * _log_z(ref, r, beta) + beta * kl_star,
        ),
    ]


def log_z_mistakes(ref, r, pi, beta) -> list:
    """Exercise 10: wrong values of log Z = log sum_y pi_ref(y) exp(r(y) / beta)."""
    log_z = _log_z(ref, r, beta)
    return [
        (tr("that is Z itself; take its log (log Z, not Z)"), math.exp(log_z)),
        (tr("that is beta log Z (= J(pi*)); the exercise asks for log Z"), beta * log_z),
        (tr("beta divides the reward: exp(r / beta), not exp(beta * r)"), _log_z(ref, r * beta * beta, beta)),
        (tr("pi_ref is missing: Z = sum_y pi_ref(y) exp(r(y) / beta)"), _log_z(np.ones_like(ref), r, beta)),
        (tr("Z weights by the reference pi_ref, not by the policy pi of this exercise"), _log_z(pi, r, beta)),
        (tr("use the natural log (np.log), not log10"), log_z / math.log(10)),
        (
            tr(
                "log Z is the log of a sum (log-sum-exp), not the sum of the logs: "
                "log sum_y pi_ref e^{r/beta} is not sum_y pi_ref r / beta"
            ),
            float(ref @ r) / beta,
        ),
        (tr("sign: log Z, not -log Z"), -log_z),
    ]


def check_objective_identity(objective, log_z):
    r"""Exercise 10. For ``OBJECTIVE_REF_PROBS``, ``OBJECTIVE_REWARDS``, the policy
    ``OBJECTIVE_POLICY`` and ``OBJECTIVE_BETA``: the objective of Eq. 3,
    :math:`J(\pi) = \mathbb{E}_\pi[r] - \beta\,\mathrm{KL}(\pi\,\|\,\pi_\mathrm{ref})`, and
    :math:`\log Z = \log\sum_y \pi_\mathrm{ref}(y)\,e^{r(y)/\beta}`.
    """
    name = "check_objective_identity"
    ref, r = np.asarray(OBJECTIVE_REF_PROBS), np.asarray(OBJECTIVE_REWARDS)
    pi, beta = np.asarray(OBJECTIVE_POLICY), OBJECTIVE_BETA
    where = tr(
        "ref_probs = {ref}, rewards = {r}, pi = {pi}, beta = {beta}",
        ref=OBJECTIVE_REF_PROBS,
        r=OBJECTIVE_REWARDS,
        pi=OBJECTIVE_POLICY,
        beta=beta,
    )
    values = {"objective": fb.number(name, "objective", objective), "log_z": fb.number(name, "log_z", log_z)}
    expected = {
        "objective": expected_reward(pi, r) - beta * kl_divergence(pi, ref),
        "log_z": _log_z(ref, r, beta),
    }
    catalogues = {
        "objective": objective_mistakes(ref, r, pi, beta),
        "log_z": log_z_mistakes(ref, r, pi, beta),
    }
    ceiling = beta * expected["log_z"]
    if values["objective"] > ceiling * (1 + 1e-6) + 1e-9:  # always shown then: J(pi) <= J(pi*)
        catalogues["objective"].append(
            (
                tr(
                    "your J(pi) exceeds beta log Z = J(pi*) = {ceiling:.6f}, the largest value J can take "
                    "(J(pi) = beta log Z - beta KL(pi || pi*) and a KL is >= 0)",
                    ceiling=ceiling,
                ),
                values["objective"],
            )
        )
    for key, raw in (("objective", objective), ("log_z", log_z)):
        fb.compare_number(name, key, values[key], expected[key], catalogues[key], where, low_precision(raw))
    gap = ceiling - values["objective"]
    return fb.passed(
        tr(
            "J(pi) = {j:.6f}, log Z = {log_z:.6f}: beta log Z - J(pi) = {gap:.6f} "
            "= beta KL(pi || pi*) >= 0, so J is largest at pi = pi* (Appendix A.1).",
            j=values["objective"],
            log_z=values["log_z"],
            gap=gap,
        )
    )
