"""The classic-mistake catalogues of :mod:`dpo_teach.exercises` (arXiv:2305.18290).

For each exercise, a list of ``(hint, wrong answer)``: the value, or the function, a student gets
by making one classic mistake (beta forgotten, the margin's sign flipped, log of a
log-probability, mean instead of sum, sigmoid instead of log-sigmoid, ...). A check shows the
hint of every mistake whose output matches the student's answer, so a hint is only ever shown
when it explains the number the student actually got.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .. import numpy_dpo as nd
from ..bandit import kl_divergence, optimal_policy
from ..bandit.checks import log_softmax
from ..gpt2.logprobs import sequence_logps
from .inputs import TOY_BETA, TOY_POLICY

LOG_OF_LOG = (
    "NaN comes from the log of a negative number: the inputs are already log-probabilities, "
    "do not take their log again (log of a log-probability)"
)
OVERFLOW_LOSS = (
    "a non-finite value on a large margin is overflow: sigmoid(m) underflows to 0 for m < -745, "
    "so log(sigmoid(m)) = -inf, and exp(-m) overflows; use the stable form "
    "-log sigma(m) = np.logaddexp(0, -m) (torch: -F.logsigmoid(m))"
)
OVERFLOW_WEIGHT = (
    "a non-finite value on a large margin is overflow: exp(m) or exp(-m) is inf, and inf / inf "
    "is NaN; use a stable sigmoid: sigma(-m) = np.exp(-np.logaddexp(0, m)) (torch: torch.sigmoid)"
)
OVERFLOW_OPTIMAL_POLICY = (
    "exp(r / beta) overflows for r / beta = 1e4: subtract the largest "
    "log pi_ref + r / beta before exp (or work in log space with logsumexp)"
)
NAN_OPTIMAL_POLICY = (
    "NaN on an ordinary table (no overflow is possible at these r / beta): look for 0 / 0 (a "
    "normaliser Z that is 0), inf - inf, or the log of a negative number; pi* = pi_ref * "
    "exp(r / beta) / Z, with Z the sum of the numerator over all answers"
)
NONFINITE_SEQUENCE = (
    "-inf/NaN on large logits: log(softmax(logits)) underflows to log(0) = "
    "-inf (and -inf * 0 from the mask is NaN); use torch.log_softmax, which is stable"
)
NAN_SEQUENCE = "NaN: log_softmax already gives log-probabilities; do not take their log again"


def _nls(m):
    r""":math:`-\log\sigma(m)`, the right loss of a margin (the library's stable log-sigmoid)."""
    return -nd.log_sigmoid(m)


# ---------------------------------------------------------------- 1-3: numbers on one example


def implicit_reward(name: str, p: float, r: float, other: tuple[float, float], beta: float) -> list:
    """Exercise 1: wrong values of ``name`` (r_hat_w or r_hat_l) for ``pi_theta = p``, ``pi_ref =
    r``; ``other`` is the other response's (pi_theta, pi_ref)."""
    return [
        (f"beta is missing: r_hat = beta * log(pi_theta / pi_ref) with beta = {beta}", math.log(p / r)),
        ("beta multiplies, it does not divide", math.log(p / r) / beta),
        ("use the log of the ratio, not the difference of probabilities", beta * (p - r)),
        ("take the log of the ratio pi_theta / pi_ref", beta * p / r),
        ("the ratio is pi_theta / pi_ref, not pi_ref / pi_theta", beta * math.log(r / p)),
        (
            "log of a log-probability: the ratio of log-probs is not the log of the ratio of probs",
            beta * math.log(math.log(p) / math.log(r)),
        ),
        ("use the natural log (np.log), not log10", beta * math.log10(p / r)),
        (
            f"that is {'r_hat_l' if name == 'r_hat_w' else 'r_hat_w'}: y_w is the answer with "
            "pi_theta = 0.6, y_l the one with 0.4",
            beta * math.log(other[0] / other[1]),
        ),
    ]


def bt_probability(r_w: float, r_l: float, expected: float) -> list:
    """Exercise 2: wrong values of p(y_w > y_l) for the rewards ``r_w``, ``r_l`` at beta = 1."""
    sig = lambda z: float(nd.sigmoid(z))  # noqa: E731
    return [
        (
            "that is P(y_l > y_w): the margin is r_hat_w - r_hat_l, not r_hat_l - r_hat_w",
            float(nd.bt_probability(r_l, r_w)),
        ),
        (
            "the Bradley-Terry model takes rewards (log-ratios), not the probabilities themselves",
            sig(TOY_POLICY[0] - TOY_POLICY[1]),
        ),
        ("sigma needs the difference r_hat_w - r_hat_l, not r_hat_w alone", sig(r_w)),
        ("this exercise uses beta = 1, not 0.1", sig(TOY_BETA * (r_w - r_l))),
        ("give the probability, not its log", math.log(expected)),
        ("a margin of 0 gives 0.5: are both rewards computed from the right probabilities?", 0.5),
    ]


def dpo_loss_value(pc: float, pr: float, rc: float, rr: float, beta: float) -> list:
    """Exercise 3: wrong values of the loss of one pair of log-probs."""
    nls = lambda m: float(_nls(m))  # noqa: E731
    m = nd.margin_unchecked(pc, pr, rc, rr, beta)
    return [
        (f"beta is missing: the margin is beta * (...) with beta = {beta}", nls(m / beta)),
        ("sign of the margin: it is r_hat_w - r_hat_l (chosen minus rejected)", nls(-m)),
        ("the loss is MINUS log sigma(margin); yours is negative", -nls(m)),
        ("the reference log-probs are missing from the margin", nls(beta * (pc - pr))),
        ("sigmoid instead of log-sigmoid: the loss is -log sigma(margin)", 1 - float(nd.sigmoid(m))),
        ("sigmoid instead of log-sigmoid: the loss is -log sigma(margin)", float(nd.sigmoid(m))),
        ("log-ratios are differences of log-probs, not ratios of log-probs", nls(beta * (pc / rc - pr / rr))),
        ("a margin of 0 gives ln 2: did the policy and reference terms cancel?", math.log(2)),
    ]


# ---------------------------------------------------------------- 4-6: functions on batches of pairs
# Each wrong function takes the exercise's five arguments (pc, pr, rc, rr, beta).

DPO_LOSS = [
    (
        "beta is missing from the margin",
        lambda pc, pr, rc, rr, b: _nls(nd.margin_unchecked(pc, pr, rc, rr, 1.0)),
    ),
    (
        "beta multiplies the log-ratios, it does not divide them",
        lambda pc, pr, rc, rr, b: _nls(nd.margin_unchecked(pc, pr, rc, rr, 1.0) / b),
    ),
    (
        "sign of the margin: it is (chosen log-ratio) - (rejected log-ratio)",
        lambda *a: _nls(-nd.margin_unchecked(*a)),
    ),
    ("the loss is MINUS log sigma(margin)", lambda *a: -_nls(nd.margin_unchecked(*a))),
    ("the reference log-probs are missing", lambda pc, pr, rc, rr, b: _nls(b * (pc - pr))),
    ("sigmoid instead of log-sigmoid", lambda *a: nd.sigmoid(-nd.margin_unchecked(*a))),
    ("sigmoid instead of log-sigmoid", lambda *a: -nd.sigmoid(nd.margin_unchecked(*a))),
]

GRADIENT_WEIGHT = [
    (
        "sign: w = sigma(r_hat_l - r_hat_w) is large when the pair is ordered WRONGLY",
        lambda *a: nd.sigmoid(nd.margin_unchecked(*a)),
    ),
    (
        "beta is missing inside the rewards",
        lambda pc, pr, rc, rr, b: nd.sigmoid(-nd.margin_unchecked(pc, pr, rc, rr, 1.0)),
    ),
    (
        "w excludes beta: beta * w is the size of the gradient, not the weight",
        lambda *a: a[4] * nd.sigmoid(-nd.margin_unchecked(*a)),
    ),
    ("the reference log-probs are missing", lambda pc, pr, rc, rr, b: nd.sigmoid(-b * (pc - pr))),
    ("you returned log w; return w itself", lambda *a: nd.log_sigmoid(-nd.margin_unchecked(*a))),
]


def _w(*a):
    return nd.sigmoid(-nd.margin_unchecked(*a))


DPO_GRADIENT = [
    ("beta is missing in front: d loss / d logp_w = -beta * w", lambda *a: (-_w(*a), _w(*a))),
    (
        "signs flipped: increasing log pi(y_w) must DEcrease the loss (negative gradient)",
        lambda *a: (a[4] * _w(*a), -a[4] * _w(*a)),
    ),
    (
        "the weight is sigma(-margin) = sigma(r_hat_l - r_hat_w), not sigma(margin)",
        lambda *a: (-a[4] * nd.sigmoid(nd.margin_unchecked(*a)), a[4] * nd.sigmoid(nd.margin_unchecked(*a))),
    ),
    (
        "the two gradients have opposite signs: -beta*w for y_w, +beta*w for y_l",
        lambda *a: (-a[4] * _w(*a), -a[4] * _w(*a)),
    ),
    (
        "beta is missing, both in front and inside the sigmoid",
        lambda pc, pr, rc, rr, b: (-_w(pc, pr, rc, rr, 1.0), _w(pc, pr, rc, rr, 1.0)),
    ),
    (
        "beta is missing inside the sigmoid",
        lambda pc, pr, rc, rr, b: (-b * _w(pc, pr, rc, rr, 1.0), b * _w(pc, pr, rc, rr, 1.0)),
    ),
]


# ---------------------------------------------------------------- 7-9: the tabular world, sequences


def _softmax(z):
    return np.exp(log_softmax(z))


OPTIMAL_POLICY = [  # wrong fn(ref_probs, rewards, beta)
    (
        "beta divides the reward: exp(r / beta), not exp(beta * r)",
        lambda p, r, b: _softmax(np.log(p) + b * r),
    ),
    ("beta is missing: exp(r / beta)", lambda p, r, b: _softmax(np.log(p) + r)),
    ("pi_ref is missing: pi* = pi_ref * exp(r / beta) / Z", lambda p, r, b: _softmax(r / b)),
    ("the sign: a higher reward must get MORE probability", lambda p, r, b: _softmax(np.log(p) - r / b)),
    ("not normalised: divide by Z = sum_y pi_ref(y) exp(r(y) / beta)", lambda p, r, b: p * np.exp(r / b)),
]


def _gathered(logps, labels):  # (B, T', V), (B, T') -> per-token values, 0 where masked
    mask = labels != -100
    return logps.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1) * mask, mask


def _no_shift(lg, lb):
    return _gathered(torch.log_softmax(lg, -1), lb)[0].sum(-1)


def _probs(lg, lb):
    return _gathered(torch.softmax(lg[:, :-1], -1), lb[:, 1:])[0].sum(-1)


def _no_mask(lg, lb):
    logps = torch.log_softmax(lg[:, :-1], -1)
    return logps.gather(-1, lb[:, 1:].clamp(min=0).unsqueeze(-1)).sum((-1, -2))


SEQUENCE_LOGPS = [  # wrong fn(logits, labels)
    (
        "no shift: the logits at position t predict the token at t + 1 "
        "(use logits[:, :-1] with labels[:, 1:])",
        _no_shift,
    ),
    (
        "mean instead of sum: the paper SUMS token log-probs; averaging silently rescales beta",
        lambda lg, lb: sequence_logps(lg, lb, average_log_prob=True),
    ),
    ("you summed probabilities: use log_softmax, not softmax", _probs),
    ("the prompt/padding positions (label -100) must be masked out of the sum", _no_mask),
    (
        "sign: return log-probabilities (<= 0), not the negative log-likelihood",
        lambda lg, lb: -sequence_logps(lg, lb),
    ),
]


def kl_when_beta_doubles(key: str, p, r, beta: float, kl: dict, received: dict) -> list:
    """Exercise 9: wrong values of ``kl[key]`` (``"kl_beta"`` or ``"kl_double_beta"``, at ``beta``)
    for the table ``p``, ``r``; ``kl`` holds both right values, ``received`` the student's."""
    pi = optimal_policy(p, r, beta)
    wrong_pi = optimal_policy(p, r * beta * beta, beta)  # exp(beta * r)
    mistakes = [
        (
            "that is KL(pi_ref || pi*); the objective (Eq. 3) penalises KL(pi || pi_ref) = "
            "sum pi* log(pi* / pi_ref)",
            kl_divergence(p, pi),
        ),
        ("pi* uses exp(r / beta), not exp(beta * r)", kl_divergence(wrong_pi, p)),
        (
            "the small-reward rule KL ~ Var(r) / (2 beta^2) quarters the KL when beta doubles; "
            "here r / beta is not small, so compute it exactly",
            kl["kl_beta"] / 4 if key == "kl_double_beta" else np.nan,
        ),
        (
            "KL does not simply halve when beta doubles: compute it exactly",
            kl["kl_beta"] / 2 if key == "kl_double_beta" else np.nan,
        ),
        (
            "KL is a sum over responses weighted by pi*, not a plain sum of log-ratios",
            float(np.sum(np.log(pi / p))),
        ),
        (
            "the two values are swapped: pass the KL at beta = 0.5 first, then at beta = 1",
            kl["kl_double_beta" if key == "kl_beta" else "kl_beta"],
        ),
    ]
    if key == "kl_double_beta" and received[key] >= received["kl_beta"]:  # always shown then
        mistakes.append(
            (
                "your KL does not fall: a larger beta is a stronger KL penalty, so pi* moves "
                "closer to pi_ref",
                received[key],
            )
        )
    return mistakes
