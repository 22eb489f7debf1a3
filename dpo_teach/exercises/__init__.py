r"""Exercises with instant feedback for the DPO course (arXiv:2305.18290).

One ``check_*`` per exercise of ``notebooks/09_exercises.ipynb``. A check takes the student's
answer (a number, or a function the student wrote) and compares it with the library's reference
in float64, on fixed inputs first, then seeded random batches, then extreme ones.

- Right: prints one short line and returns ``True``.
- Wrong: raises ``AssertionError`` saying on which input, expected vs received, and, where the
  answer matches a classic mistake (beta forgotten, the margin's sign flipped, log of a
  log-probability, mean instead of sum, ``log(sigmoid(.))`` overflowing), what that mistake is.
- Malformed (the ``...`` placeholder, a string, a wrong shape, a function that raises): also an
  ``AssertionError`` that says what to fix.

Tolerance everywhere: ``numpy.isclose(received, expected, rtol=RTOL, atol=ATOL)``. A number may
be a float, int, ``Fraction``, ``Decimal``, NumPy or torch scalar (read as float64). An answer in
float16 or bfloat16 that is right up to its own precision is told to compute in float64; a float64
one right to 3 significant digits, that it looks typed rounded.

This file says what exercises 1-3 and 7-9 ask and what their references are; exercises 4-6 (functions
on batches of pairs) live in ``pairs``, 10 (the derivation, notebook 02) with its mistakes in
``derivation`` and 11 in ``shift``, 12 (IPO, the DPO family of notebook 06) in ``family``. Beside
them: the inputs (``inputs``), the classic mistakes (``mistakes``, with ``function_mistakes``),
reading and wording a number (``feedback``), calling a student's function and reading its output
(``calls``), which hints explain an answer (``matching``), and running a student's function over the
inputs (``runners``). The practice questions inside notebooks 01-08 (not graded; an unanswered one
prints a note instead of failing): ``practice`` (reading a number, a letter or a set), with their
checks in ``practice_basics`` (01-03), ``practice_models`` (04-06) and ``practice_failures`` (07-08).

Feedback is English by default; ``set_language("zh")`` (or ``DPO_TEACH_LANG=zh``) words every
message and hint in Chinese (``language``; the Chinese catalogue: ``zh_feedback``, ``zh_numbers``,
``zh_functions``, ``zh_derivation``, ``zh_practice``, ``zh_practice_models``).
"""

from __future__ import annotations

import math

import numpy as np

from .. import numpy_dpo as nd
from ..bandit import kl_divergence, optimal_policy
from ..gpt2.logprobs import sequence_logps
from . import feedback as fb
from . import mistakes, runners
from .derivation import check_objective_identity, check_shift_invariance
from .family import check_ipo_loss
from .feedback import ATOL, RTOL
from .inputs import (
    KL_BETA,
    KL_REF_PROBS,
    KL_REWARDS,
    LOGP_BETA,
    LOGP_EXAMPLE,
    TOY_BETA,
    TOY_POLICY,
    TOY_REFERENCE,
    sequence_cases,
    table_cases,
    toy_logs,
)
from .language import get_language, set_language, tr
from .matching import low_precision
from .pairs import check_dpo_gradient, check_dpo_loss, check_gradient_weight

__all__ = [
    "set_language",
    "get_language",
    "RTOL",
    "ATOL",
    "check_implicit_reward",
    "check_bt_probability",
    "check_dpo_loss_value",
    "check_dpo_loss",
    "check_gradient_weight",
    "check_dpo_gradient",
    "check_optimal_policy",
    "check_sequence_logps",
    "check_kl_when_beta_doubles",
    "check_objective_identity",
    "check_shift_invariance",
    "check_ipo_loss",
]

# ---------------------------------------------------------------- 1-3: numbers on one example


def check_implicit_reward(r_hat_w, r_hat_l):
    r"""Exercise 1. The implicit rewards of the toy example at beta = 0.1 (Sec. 5):
    :math:`\hat r_\theta(x, y) = \beta \log \frac{\pi_\theta(y \mid x)}{\pi_\mathrm{ref}(y \mid x)}`
    with :math:`\pi_\theta = (0.6, 0.4)`, :math:`\pi_\mathrm{ref} = (0.5, 0.5)`.
    """
    beta, (pw, pl), (rw, rl) = TOY_BETA, TOY_POLICY, TOY_REFERENCE
    received = {}
    for name, value, p, r, other in (
        ("r_hat_w", r_hat_w, pw, rw, (pl, rl)),
        ("r_hat_l", r_hat_l, pl, rl, (pw, rw)),
    ):
        x = received[name] = fb.number("check_implicit_reward", name, value)
        fb.compare_number(
            "check_implicit_reward",
            name,
            x,
            float(nd.implicit_reward(math.log(p), math.log(r), beta)),
            mistakes.implicit_reward(name, p, r, other, beta),
            tr("the toy example at beta = {beta}", beta=beta),
            low_precision(value),
        )
    r_w, r_l = received["r_hat_w"], received["r_hat_l"]
    return fb.passed(
        tr("r_hat_w = {r_w:.6f}, r_hat_l = {r_l:.6f} (beta = {beta}).", r_w=r_w, r_l=r_l, beta=beta)
    )


def check_bt_probability(p):
    r"""Exercise 2. The Bradley-Terry probability (Eq. 1) that y_w beats y_l in the toy example
    with beta = 1: :math:`p(y_w \succ y_l) = \sigma(\hat r_w - \hat r_l)`.
    """
    x = fb.number("check_bt_probability", "p", p)
    lw, ll, rw, rl = toy_logs()
    r_w, r_l = float(nd.implicit_reward(lw, rw, 1.0)), float(nd.implicit_reward(ll, rl, 1.0))
    expected = float(nd.bt_probability(r_w, r_l))
    variants = mistakes.bt_probability(r_w, r_l, expected)
    if not 0.0 <= x <= 1.0:
        raise AssertionError(
            tr(
                "check_bt_probability: p = {x} is not a probability (it must lie "
                "in [0, 1]): p = sigmoid(r_hat_w - r_hat_l)",
                x=repr(x),
            )
            + fb.hint_lines([h for h, v in variants if math.isclose(x, v)])
        )
    where = tr("the toy example at beta = 1")
    fb.compare_number("check_bt_probability", "p", x, expected, variants, where, low_precision(p))
    return fb.passed(tr("p(y_w > y_l) = {x:.6f}: at beta = 1 it is 0.6 / (0.6 + 0.4), as Eq. 1 says.", x=x))


def check_dpo_loss_value(loss):
    r"""Exercise 3. The DPO loss (Eq. 7) of the log-prob example at beta = 0.1:
    :math:`\log\pi_\theta(y_w) = -0.2`, :math:`\log\pi_\theta(y_l) = -0.8`,
    :math:`\log\pi_\mathrm{ref}(y_w) = -0.3`, :math:`\log\pi_\mathrm{ref}(y_l) = -0.7`.
    """
    x = fb.number("check_dpo_loss_value", "loss", loss)
    m = float(nd.margin(*LOGP_EXAMPLE, LOGP_BETA))
    fb.compare_number(
        "check_dpo_loss_value",
        "loss",
        x,
        float(nd.dpo_loss(*LOGP_EXAMPLE, LOGP_BETA)[0]),
        mistakes.dpo_loss_value(*LOGP_EXAMPLE, LOGP_BETA),
        tr("the log-prob example {example} at beta = {beta}", example=LOGP_EXAMPLE, beta=LOGP_BETA),
        low_precision(loss),
    )
    return fb.passed(
        tr("loss = {x:.6f} (margin = {m:.3f}; a margin of 0 would give ln 2 = 0.693147).", x=x, m=m)
    )


# ---------------------------------------------------------------- 7-9: the tabular world, sequences


def check_optimal_policy(fn):
    r"""Exercise 7. ``fn(ref_probs, rewards, beta)`` -> :math:`\pi^*`, Eq. (4):
    :math:`\pi^*(y) = \pi_\mathrm{ref}(y) \exp(r(y)/\beta) / Z`; stable for :math:`r/\beta = 10^4`.
    """
    n = runners.check_table_function(
        "check_optimal_policy",
        fn,
        optimal_policy,
        mistakes.OPTIMAL_POLICY,
        cases=table_cases(seed=7),
        nonfinite_hint=mistakes.OVERFLOW_OPTIMAL_POLICY,
        nan_hint=mistakes.NAN_OPTIMAL_POLICY,
    )
    return fb.passed(tr("your pi* matches Eq. 4 on {n} tables, r / beta = 1e4 included.", n=n))


def check_sequence_logps(fn):
    r"""Exercise 8. ``fn(logits, labels)`` -> :math:`\log\pi(y \mid x) = \sum_t \log
    \pi(y_t \mid x, y_{<t})`, shape (B,), summed over completion tokens only. ``logits``: (B, T, V)
    float64; ``labels``: (B, T) token ids with prompt and padding set to -100; the logits at
    position t predict the token at t + 1.
    """
    n = runners.check_sequence_function(
        "check_sequence_logps",
        fn,
        sequence_logps,
        mistakes.SEQUENCE_LOGPS,
        cases=sequence_cases(seed=8),
        nonfinite_hint=mistakes.NONFINITE_SEQUENCE,
        nan_hint=mistakes.NAN_SEQUENCE,
    )
    return fb.passed(tr("your sequence_logps is right on {n} sequences (shift, mask and sum).", n=n))


def _kl_optimal(ref_probs, rewards, beta):
    r""":math:`\mathrm{KL}(\pi^* \| \pi_\mathrm{ref})` for the optimum :math:`\pi^*` of Eq. 3
    (given by Eq. 4), in nats."""
    return kl_divergence(optimal_policy(ref_probs, rewards, beta), ref_probs)


def check_kl_when_beta_doubles(kl_beta, kl_double_beta):
    r"""Exercise 9. :math:`\mathrm{KL}(\pi^* \| \pi_\mathrm{ref})` at beta = 0.5 and at beta = 1 for
    ``KL_REF_PROBS`` and ``KL_REWARDS`` (the optimum of Eq. 3, given by Eq. 4).
    """
    p, r = np.asarray(KL_REF_PROBS), np.asarray(KL_REWARDS)
    name = "check_kl_when_beta_doubles"
    raw = {"kl_beta": kl_beta, "kl_double_beta": kl_double_beta}
    values = {key: fb.number(name, key, value) for key, value in raw.items()}
    kl = {"kl_beta": _kl_optimal(p, r, KL_BETA), "kl_double_beta": _kl_optimal(p, r, 2 * KL_BETA)}
    for key, beta in (("kl_beta", KL_BETA), ("kl_double_beta", 2 * KL_BETA)):
        fb.compare_number(
            name,
            key,
            values[key],
            kl[key],
            mistakes.kl_when_beta_doubles(key, p, r, beta, kl, values),
            tr("ref_probs = {p}, rewards = {r}, beta = {beta}", p=KL_REF_PROBS, r=KL_REWARDS, beta=beta),
            low_precision(raw[key]),
        )
    ratio = kl["kl_double_beta"] / kl["kl_beta"]
    return fb.passed(
        tr(
            "doubling beta cuts KL from {kl:.4f} to {kl2:.4f} nats "
            "(x{ratio:.3f}, not the small-reward x0.25): a larger beta keeps pi* closer to pi_ref.",
            kl=kl["kl_beta"],
            kl2=kl["kl_double_beta"],
            ratio=ratio,
        )
    )
