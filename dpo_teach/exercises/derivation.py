r"""Exercises 10-11 of :mod:`dpo_teach.exercises`: the derivation of arXiv:2305.18290 (notebook 02),
with their classic-mistake catalogues.

- 10: the KL-regularised objective (Eq. 3) of one policy, :math:`J(\pi) = \mathbb{E}_\pi[r] -
  \beta\,\mathrm{KL}(\pi\,\|\,\pi_\mathrm{ref})`, and :math:`\log Z`; together they give the
  identity :math:`J(\pi) = \beta\log Z - \beta\,\mathrm{KL}(\pi\,\|\,\pi^*)` (Appendix A.1).
- 11: the shifted reward table :math:`r'(x, y) = r(x, y) + f(x)` (it changes), and a Bradley-Terry
  preference (Eq. 1) computed from :math:`r` and from :math:`r'`: the same number (Lemma 1), which is
  why :math:`\beta\log Z(x)` cancels in Eq. 6. Asking for :math:`r'` makes the check test the lemma:
  an answer that never shifts the rewards would get the second probability right for free.

Each catalogue is a list of ``(hint, wrong value)``; a check shows the hint of every mistake whose
value matches the answer (see :mod:`.matching`), like the number exercises in :mod:`.mistakes`.
"""

from __future__ import annotations

import math

import numpy as np

from .. import numpy_dpo as nd
from ..bandit import expected_reward, kl_divergence, optimal_policy
from . import feedback as fb
from .inputs import (
    OBJECTIVE_BETA,
    OBJECTIVE_POLICY,
    OBJECTIVE_REF_PROBS,
    OBJECTIVE_REWARDS,
    SHIFT_F,
    SHIFT_PAIR,
    SHIFT_PROMPT,
    SHIFT_REWARDS,
)
from .matching import ATOL, RTOL, low_precision

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
            "sign of the KL: the penalty is subtracted, J = E_pi[r] - beta KL(pi || pi_ref) "
            "(or the log-ratio is upside down: it is log(pi / pi_ref))",
            reward + beta * kl,
        ),
        (f"beta is missing: the KL is weighted by beta = {beta}", reward - kl),
        ("beta multiplies the KL, it does not divide it", reward - kl / beta),
        (
            "that is KL(pi_ref || pi); the objective penalises KL(pi || pi_ref) = "
            "sum_y pi(y) log(pi(y) / pi_ref(y))",
            reward - beta * kl_divergence(ref, pi),
        ),
        (
            "the expected reward is under pi (the policy given), not under pi_ref",
            expected_reward(ref, r) - beta * kl,
        ),
        (
            "that is beta log Z = J(pi*), the maximum; the exercise asks for J of the given pi",
            beta * _log_z(ref, r, beta),
        ),
        ("the KL penalty is missing: J = E_pi[r] - beta KL(pi || pi_ref)", reward),
        (
            "use the natural log (np.log), not log10, in the KL",
            reward - beta * float(pi @ np.log10(pi / ref)),
        ),
        (
            "the KL is a sum weighted by pi, sum_y pi(y) log(pi(y) / pi_ref(y)), not a plain sum of logs",
            reward - beta * float(np.sum(np.log(pi / ref))),
        ),
        (
            "the penalty of Eq. 3 is the KL to the reference pi_ref; KL(pi || pi*) is what the identity "
            "subtracts from beta log Z",
            reward - beta * kl_star,
        ),
        (
            "sign in the identity: J(pi) = beta log Z MINUS beta KL(pi || pi*)",
            beta * _log_z(ref, r, beta) + beta * kl_star,
        ),
    ]


def log_z_mistakes(ref, r, pi, beta) -> list:
    """Exercise 10: wrong values of log Z = log sum_y pi_ref(y) exp(r(y) / beta)."""
    log_z = _log_z(ref, r, beta)
    return [
        ("that is Z itself; take its log (log Z, not Z)", math.exp(log_z)),
        ("that is beta log Z (= J(pi*)); the exercise asks for log Z", beta * log_z),
        ("beta divides the reward: exp(r / beta), not exp(beta * r)", _log_z(ref, r * beta * beta, beta)),
        ("pi_ref is missing: Z = sum_y pi_ref(y) exp(r(y) / beta)", _log_z(np.ones_like(ref), r, beta)),
        ("Z weights by the reference pi_ref, not by the policy pi of this exercise", _log_z(pi, r, beta)),
        ("use the natural log (np.log), not log10", log_z / math.log(10)),
        (
            "log Z is the log of a sum (log-sum-exp), not the sum of the logs: "
            "log sum_y pi_ref e^{r/beta} is not sum_y pi_ref r / beta",
            float(ref @ r) / beta,
        ),
        ("sign: log Z, not -log Z", -log_z),
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
    table = f"ref_probs = {OBJECTIVE_REF_PROBS}, rewards = {OBJECTIVE_REWARDS}"
    where = f"{table}, pi = {OBJECTIVE_POLICY}, beta = {beta}"
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
                f"your J(pi) exceeds beta log Z = J(pi*) = {ceiling:.6f}, the largest value J can take "
                "(J(pi) = beta log Z - beta KL(pi || pi*) and a KL is >= 0)",
                values["objective"],
            )
        )
    for key, raw in (("objective", objective), ("log_z", log_z)):
        fb.compare_number(name, key, values[key], expected[key], catalogues[key], where, low_precision(raw))
    gap = ceiling - values["objective"]
    return fb.passed(
        f"J(pi) = {values['objective']:.6f}, log Z = {values['log_z']:.6f}: beta log Z - J(pi) = {gap:.6f} "
        f"= beta KL(pi || pi*) >= 0, so J is largest at pi = pi* (Appendix A.1)."
    )


# ---------------------------------------------------------------- 11: a preference under r + f(x)


def shift_mistakes(rewards, f, x: int, pair: tuple[int, int], after: bool) -> list:
    """Exercise 11: wrong values of p(y_a > y_b | x) for the reward table ``rewards`` (prompts x
    answers), before (``after=False``) or after adding ``f[x]`` to every reward of prompt ``x``."""
    a, b = pair
    shift = f[x] if after else 0.0
    row = rewards[x] + shift
    sig = lambda z: float(nd.sigmoid(z))  # noqa: E731
    other = 1 - x  # the other prompt of the two-row table
    wrong = [
        (
            f"that is p(y_{b + 1} > y_{a + 1}): the margin is r(x, y_{a + 1}) - r(x, y_{b + 1})",
            sig(row[b] - row[a]),
        ),
        ("sigma is missing: p = sigma(r(x, y_1) - r(x, y_3)), a probability", row[a] - row[b]),
        ("give the probability, not its log", math.log(sig(row[a] - row[b]))),
        (
            "Bradley-Terry uses exp of the rewards, e^{r_1} / (e^{r_1} + e^{r_3}), not r_1 / (r_1 + r_3) "
            "(which a shift would change)",
            row[a] / (row[a] + row[b]),
        ),
        (
            "Bradley-Terry compares the two answers: over all three, e^{r_1} / sum_y e^{r(y)} is "
            "Plackett-Luce's probability that y_1 is ranked first",
            float(np.exp(row[a] - np.logaddexp.reduce(row))),
        ),
        (f"compare y_{a + 1} with y_{b + 1}, as the exercise asks", sig(row[a] - row[1])),
        (
            f"use the rewards of prompt x_{x + 1} (row {x + 1} of the table)",
            sig(rewards[other][a] - rewards[other][b]),
        ),
    ]
    if after:
        d = rewards[x][a] - rewards[x][b]
        wrong += [
            (
                f"shift every answer of x_{x + 1} by the same f(x_{x + 1}) = {f[x]}: shifting only one "
                "answer's reward (or adding f to the difference) changes the preference",
                sig(d + f[x]),
            ),
            (
                f"shift every answer of x_{x + 1} by the same f(x_{x + 1}) = {f[x]}, not only y_{b + 1}",
                sig(d - f[x]),
            ),
            ("r + f(x) adds f(x) to the rewards; you multiplied them by it", sig(f[x] * d)),
        ]
    return wrong


def shifted_table_mistakes(rewards, f) -> list:
    """Exercise 11: wrong tables for r'(x, y) = r(x, y) + f(x) (``rewards``: prompts x answers)."""
    one_row = rewards.copy()
    one_row[0] += f[0]
    return [
        ("that is r itself: add f(x) to every reward of prompt x (the lemma is about r + f(x))", rewards),
        ("f(x) is added, not subtracted: r'(x, y) = r(x, y) + f(x)", rewards - f[:, None]),
        ("r + f(x) adds f(x) to the rewards; you multiplied them by it", rewards * f[:, None]),
        ("shift every prompt by its own f: x_2's answers get f(x_2) = " f"{f[1]} too", one_row),
        ("f(x_1) belongs to the first row (prompt x_1), f(x_2) to the second", rewards + f[::-1, None]),
    ]


def _check_shifted_table(name, shifted, rewards, f):
    expected = rewards + f[:, None]
    where = f"r'(x, y) = r(x, y) + f(x) with r = {SHIFT_REWARDS} (rows x_1, x_2) and f = {SHIFT_F}"
    if shifted is Ellipsis or shifted is None:
        state = "still the placeholder `...`" if shifted is Ellipsis else "None"
        raise AssertionError(f"{name}: shifted is {state}: give the table r + f(x), shape (2, 3)")
    table = fb.array(name, "shifted", shifted, expected, where)
    if np.isclose(table, expected, rtol=RTOL, atol=ATOL).all():
        return
    hints = [h for h, v in shifted_table_mistakes(rewards, f) if np.isclose(table, v, rtol=RTOL, atol=ATOL).all()]
    raise AssertionError(
        f"{name}: shifted is wrong for {where}\n  expected {expected.tolist()}\n  received {table.tolist()}"
        f"   (tolerance rtol={RTOL:g}, atol={ATOL:g})" + fb.hint_lines(hints)
    )


def check_shift_invariance(shifted, p_before, p_after):
    r"""Exercise 11. ``shifted``: the table :math:`r'(x, y) = r(x, y) + f(x)` for ``SHIFT_REWARDS``
    and ``SHIFT_F`` (shape (2, 3); it differs from :math:`r`). ``p_before``, ``p_after``:
    :math:`p(y_1 \succ y_3 \mid x_1) = \sigma(r(x_1, y_1) - r(x_1, y_3))` (Eq. 1) from :math:`r` and
    from :math:`r'` (an :math:`f(x)` that depends on the prompt only: Lemma 1, so the two agree)."""
    name = "check_shift_invariance"
    rewards, f, x, (a, b) = np.asarray(SHIFT_REWARDS), np.asarray(SHIFT_F), SHIFT_PROMPT, SHIFT_PAIR
    _check_shifted_table(name, shifted, rewards, f)
    expected = float(nd.bt_probability(rewards[x][a], rewards[x][b]))
    for key, raw, after in (("p_before", p_before, False), ("p_after", p_after, True)):
        value = fb.number(name, key, raw)
        wrong = shift_mistakes(rewards, f, x, (a, b), after)
        if not 0.0 <= value <= 1.0:
            raise AssertionError(
                f"{name}: {key} = {value!r} is not a probability (it must lie in [0, 1]): "
                f"p = sigma(r(x_1, y_1) - r(x_1, y_3))"
                + fb.hint_lines([h for h, v in wrong if math.isclose(value, v)])
            )
        note = f" after adding f(x_1) = {f[x]} to every answer of x_1" if after else ""
        where = f"p(y_1 > y_3 | x_1) with rewards {SHIFT_REWARDS}{note}"
        fb.compare_number(name, key, value, expected, wrong, where, low_precision(raw))
    return fb.passed(
        f"r' differs from r by {f[x]:g} on every answer of x_1, yet p(y_1 > y_3 | x_1) = {expected:.6f} "
        "from both: a shift shared by every answer of the prompt cancels in r(x, y_1) - r(x, y_3) "
        "(Lemma 1), and so does beta log Z(x) in Eq. 6."
    )
