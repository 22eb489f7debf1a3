r"""Exercise 12 of :mod:`dpo_teach.exercises`: IPO (Azar et al. 2023, arXiv:2310.12036, Eq. 17),
the DPO family's squared loss (notebook 06), with its classic-mistake catalogue.

The student writes ``ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
ref_rejected_logps, beta, chosen_lengths=None, rejected_lengths=None)`` -> per-pair losses

.. math:: \mathcal{L}_\mathrm{IPO} = \Big(d - \frac{1}{2\beta}\Big)^2,

with :math:`d = h = (\log\pi_\theta^w - \log\pi_\mathrm{ref}^w) - (\log\pi_\theta^l -
\log\pi_\mathrm{ref}^l)` (summed log-probs: the paper and its reference code) when no lengths are
given, and :math:`d = r_w/|y_w| - r_l/|y_l|` (each log-ratio divided by its own completion length:
TRL's ``loss_type="ipo"``) when they are. Same name, two losses: the convention trap of notebook 06.
The reference is :func:`dpo_teach.numpy_variants.ipo_loss`.
"""

from __future__ import annotations

import numpy as np

from .. import numpy_variants as nv
from . import feedback as fb
from . import runners
from .inputs import pair_cases
from .language import tr

__all__ = ["check_ipo_loss", "IPO_LOSS"]

NAN_IPO = (
    "IPO is a plain square (no exp, no log): a NaN here comes from a log of a log-probability "
    "or a division by a length that is not the completion length"
)
INF_IPO = "the square of a margin of 5e4 is 2.5e9, still finite in float64: compute in float64"


def _d(pc, pr, rc, rr, n_w=None, n_l=None):
    """The quantity IPO regresses: the summed margin h, or TRL's per-token one with lengths."""
    r_w, r_l = pc - rc, pr - rr
    return r_w - r_l if n_w is None else r_w / n_w - r_l / n_l


def _sq(d, beta):
    return (d - 1.0 / (2.0 * beta)) ** 2


def _right(pc, pr, rc, rr, beta):
    return _sq(_summed(pc, pr, rc, rr), beta)  # a length mistake is no mistake without lengths


def _summed(pc, pr, rc, rr, n_w=None, n_l=None):
    return (pc - rc) - (pr - rr)


IPO_LOSS = [  # (hint, wrong fn(pc, pr, rc, rr, beta[, n_w, n_l]))
    (
        "the target margin is 1/(2 beta), not 1/beta: the 1/2 is missing",
        lambda pc, pr, rc, rr, b, *n: (_d(pc, pr, rc, rr, *n) - 1.0 / b) ** 2,
    ),
    (
        "the target margin is 1/(2 beta) (the paper's tau is beta), not beta/2",
        lambda pc, pr, rc, rr, b, *n: (_d(pc, pr, rc, rr, *n) - b / 2.0) ** 2,
    ),
    (
        "beta does not multiply the margin in IPO (that is DPO's sigma(beta h)): the loss is "
        "(h - 1/(2 beta))^2 on the log-ratios themselves",
        lambda pc, pr, rc, rr, b, *n: _sq(b * _d(pc, pr, rc, rr, *n), b),
    ),
    (
        "beta does not multiply the margin in IPO: beta (h - 1/(2 beta)) = beta h - 1/2 is the "
        "right loss scaled by beta^2",
        lambda pc, pr, rc, rr, b, *n: (b * _d(pc, pr, rc, rr, *n) - 0.5) ** 2,
    ),
    (
        "sign of the margin: it is (chosen log-ratio) - (rejected log-ratio)",
        lambda pc, pr, rc, rr, b, *n: _sq(-_d(pc, pr, rc, rr, *n), b),
    ),
    (
        "the loss is the SQUARE of (margin - 1/(2 beta)), not its absolute value",
        lambda pc, pr, rc, rr, b, *n: np.abs(_d(pc, pr, rc, rr, *n) - 1.0 / (2.0 * b)),
    ),
    (
        "IPO's loss has no 1/2 in front of the square",
        lambda pc, pr, rc, rr, b, *n: 0.5 * _sq(_d(pc, pr, rc, rr, *n), b),
    ),
    (
        "the reference log-probs are missing: the margin is a difference of LOG-RATIOS",
        lambda pc, pr, rc, rr, b, *n: _sq(_d(pc, pr, 0 * rc, 0 * rr, *n), b),
    ),
    (
        "sums vs means: with lengths, TRL's ipo divides each log-ratio by its own completion "
        "length (a per-token mean); you used the summed log-ratios",
        lambda pc, pr, rc, rr, b, *n: _sq(_summed(pc, pr, rc, rr), b),
    ),
    (
        "sums vs means: divide each log-ratio by its OWN length (r_w/|y_w| - r_l/|y_l|), not the "
        "whole margin by the total length",
        lambda pc, pr, rc, rr, b, *n: (
            _sq(_summed(pc, pr, rc, rr) / (n[0] + n[1]), b) if n else _right(pc, pr, rc, rr, b)
        ),
    ),
    (
        "sums vs means: divide each log-ratio by its OWN length, not the margin by the mean length",
        lambda pc, pr, rc, rr, b, *n: (
            _sq(_summed(pc, pr, rc, rr) / ((n[0] + n[1]) / 2), b) if n else _right(pc, pr, rc, rr, b)
        ),
    ),
    (
        "the lengths are swapped: the chosen log-ratio is divided by the CHOSEN length",
        lambda pc, pr, rc, rr, b, *n: (
            _sq(_d(pc, pr, rc, rr, n[1], n[0]), b) if n else _right(pc, pr, rc, rr, b)
        ),
    ),
    (
        "sums vs means: the reference log-probs are divided by the lengths too (the log-RATIO is averaged)",
        lambda pc, pr, rc, rr, b, *n: (
            _sq((pc / n[0] - rc) - (pr / n[1] - rr), b) if n else _right(pc, pr, rc, rr, b)
        ),
    ),
]


def _reference(pc, pr, rc, rr, beta, n_w=None, n_l=None):
    return nv.ipo_loss(pc, pr, rc, rr, beta, n_w, n_l)[0]


def ipo_cases(seed: int) -> list:
    """The pair batches of exercises 4-6 without lengths (the paper's sums), then the same batches
    with integer completion lengths 1-60 (TRL's per-token form)."""
    plain = pair_cases(seed)
    rng = np.random.default_rng(seed + 1000)
    with_lengths = []
    for label, arrays, beta in plain:
        b = len(arrays[0])
        n_w, n_l = (rng.integers(1, 61, size=b).astype(np.float64) for _ in range(2))
        lengths = {"chosen_lengths": n_w, "rejected_lengths": n_l}
        with_lengths.append(
            (tr("{label}, with lengths (TRL's per-token form)", label=label), arrays, beta, lengths)
        )
    return plain + with_lengths


def check_ipo_loss(fn):
    r"""Exercise 12. ``fn(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
    ref_rejected_logps, beta, chosen_lengths=None, rejected_lengths=None)`` -> per-pair IPO losses
    (arXiv:2310.12036, Eq. 17): :math:`(d - \frac{1}{2\beta})^2` with :math:`d` the summed margin
    without lengths, the per-token one (each log-ratio over its own length) with them.
    """
    n = runners.check_pair_function(
        "check_ipo_loss",
        fn,
        ("losses",),
        _reference,
        IPO_LOSS,
        nonfinite_hint=INF_IPO,
        nan_hint=NAN_IPO,
        cases=ipo_cases(seed=12),
    )
    return fb.passed(
        tr(
            "your ipo_loss matches Eq. 17 on {n} pairs, in the paper's summed form and TRL's per-token one.",
            n=n,
        )
    )
