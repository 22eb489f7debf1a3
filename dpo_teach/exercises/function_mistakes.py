"""The hints and wrong functions of the function exercises 4-8 of :mod:`dpo_teach.exercises`
(arXiv:2305.18290), re-exported by :mod:`.mistakes`, the whole catalogue.

Each catalogue is a list of ``(hint, wrong function)``: the function a student writes by making
one classic mistake (beta forgotten, the margin's sign flipped, log of a log-probability, mean
instead of sum, sigmoid instead of log-sigmoid, ...). Beside them, the hints a check shows for a
non-finite answer, and the log-of-|log-prob| hints shared with exercise 3.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import numpy_dpo as nd
from ..bandit.checks import log_softmax
from ..gpt2.logprobs import sequence_logps

LOG_OF_LOG = (
    "NaN comes from the log of a negative number: the inputs are already log-probabilities, "
    "do not take their log again (log of a log-probability)"
)
OVERFLOW_LOSS = (
    "a non-finite value on a large margin is overflow: exp(-m) overflows for m < -709.78 (float64; "
    "-88.72 in float32), so sigmoid(m) = 1 / (1 + exp(-m)) is exactly 0 and log(sigmoid(m)) = -inf; "
    "use the stable form "
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
_ALREADY_LOGS = (
    "the inputs are already log-probabilities, so the log-ratio is a difference of log-probs: "
    "log pi_theta(y) - log pi_ref(y) (e.g. -0.2 - (-0.3) = +0.1), not the log of a ratio of log-probs"
)
LOG_OF_ABS_LOG = f"{_ALREADY_LOGS}; you took log(|log-prob|)"
LOG10_OF_ABS_LOG = (
    f"{_ALREADY_LOGS}; you took log10(|log-prob|), the erratum of notebook 01 "
    "(log10(0.2 / 0.3) = -0.17 is not a log-ratio of these log-probs)"
)


def _nls(m):
    r""":math:`-\log\sigma(m)`, the right loss of a margin (the library's stable log-sigmoid)."""
    return -nd.log_sigmoid(m)


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
    (LOG_OF_ABS_LOG, lambda *a: _nls(nd.margin_unchecked(*(np.log(np.abs(x)) for x in a[:4]), a[4]))),
    (LOG10_OF_ABS_LOG, lambda *a: _nls(nd.margin_unchecked(*(np.log10(np.abs(x)) for x in a[:4]), a[4]))),
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
    (
        "divided by the batch size B: that is the gradient of the batch MEAN loss; the exercise asks "
        "for each pair's own loss, d loss_i / d logp_w(i) = -beta * w_i (no 1 / B)",
        lambda *a: (-a[4] * _w(*a) / len(a[0]), a[4] * _w(*a) / len(a[0])),
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
