r"""Exercises 4-6 of :mod:`dpo_teach.exercises`: functions a student writes on batches of
preference pairs ``fn(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
ref_rejected_logps, beta)``: the DPO loss (Eq. 7), the gradient weight and the gradient (Sec. 4),
run on the pair batches of ``inputs`` and compared with the library (and torch autograd).
"""

from __future__ import annotations

import torch

from .. import numpy_dpo as nd
from .. import torch_dpo as td
from . import feedback as fb
from . import mistakes, runners
from .inputs import pair_cases
from .language import tr

__all__ = ["check_dpo_loss", "check_gradient_weight", "check_dpo_gradient"]


def check_dpo_loss(fn):
    r"""Exercise 4. ``fn(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
    ref_rejected_logps, beta)`` -> per-example losses, shape (B,), Eq. (7):
    :math:`-\log\sigma\big(\beta[(\log\pi_\theta^w - \log\pi_\mathrm{ref}^w) -
    (\log\pi_\theta^l - \log\pi_\mathrm{ref}^l)]\big)`, stable up to margins of +-5e4.
    """
    n = runners.check_pair_function(
        "check_dpo_loss",
        fn,
        ("losses",),
        lambda *a: nd.dpo_loss(*a)[0],
        mistakes.DPO_LOSS,
        nonfinite_hint=mistakes.OVERFLOW_LOSS,
        nan_hint=mistakes.LOG_OF_LOG,
        cases=pair_cases(seed=4),
    )
    return fb.passed(tr("your dpo_loss matches Eq. 7 on {n} pairs, margins up to +-5e4 included.", n=n))


def check_gradient_weight(fn):
    r"""Exercise 5. ``fn(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
    ref_rejected_logps, beta)`` -> the weight :math:`w = \sigma(\hat r_l - \hat r_w)` of each
    pair in the DPO gradient (Sec. 4), shape (B,).
    """
    n = runners.check_pair_function(
        "check_gradient_weight",
        fn,
        ("w",),
        lambda *a: nd.sigmoid(-nd.margin(*a)),
        mistakes.GRADIENT_WEIGHT,
        nonfinite_hint=mistakes.OVERFLOW_WEIGHT,
        nan_hint=mistakes.LOG_OF_LOG,
        cases=pair_cases(seed=5),
    )
    return fb.passed(
        tr("your gradient weight is right on {n} pairs (w -> 1 when a pair is badly ordered).", n=n)
    )


def _autograd_grads(pc, pr, rc, rr, beta):
    """The reference for exercise 6: torch autograd through the library's loss."""
    pc_t, pr_t = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (pc, pr))
    losses, _, _ = td.dpo_loss(pc_t, pr_t, torch.as_tensor(rc), torch.as_tensor(rr), beta)
    losses.sum().backward()  # each loss depends on its own pair only: grad of the sum = per pair
    return pc_t.grad.numpy(), pr_t.grad.numpy()


def check_dpo_gradient(fn):
    r"""Exercise 6. ``fn(...same five arguments...)`` -> ``(grad_chosen, grad_rejected)``, the
    derivatives of each pair's loss with respect to :math:`\log\pi_\theta(y_w)` and
    :math:`\log\pi_\theta(y_l)`, derived by hand; compared with torch autograd.
    """
    n = runners.check_pair_function(
        "check_dpo_gradient",
        fn,
        ("grad_chosen", "grad_rejected"),
        _autograd_grads,
        mistakes.DPO_GRADIENT,
        nonfinite_hint=mistakes.OVERFLOW_WEIGHT,
        nan_hint=mistakes.LOG_OF_LOG,
        cases=pair_cases(seed=6),
        expected_label="autograd",
    )
    return fb.passed(tr("your hand-derived gradient equals torch autograd on {n} pairs.", n=n))
