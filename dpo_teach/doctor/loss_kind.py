r"""Is the logged loss DPO's sigmoid loss? Told (``--loss-type``) or read from the log itself.

The sigmoid loss of Eq. 7 (arXiv:2305.18290) is :math:`-\log\sigma(m)` of the margin
:math:`m` = ``rewards/margins``. Two facts give another loss away:

* before any update the rewards are 0 (policy = reference), so the sigmoid loss is exactly
  :math:`\ln 2`; a log whose rewards are 0 there but whose loss is not (IPO: :math:`1/(4\beta^2)`,
  RPO's NLL term, a mixture-of-experts auxiliary loss) logs another loss;
* :math:`-\log\sigma` is convex, so the mean loss of a batch is at least :math:`-\log\sigma` of its
  mean margin (Jensen); a logged loss below that bound is scaled (divided by the accumulation
  steps, say) or another loss.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["LOSS_TYPES", "sigmoid_loss"]

# TRL 1.16's DPOConfig.loss_type values (RPO is ["sigmoid", "sft"]: pass sigmoid,sft)
LOSS_TYPES = ("sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair", "sppo_hard", "aot",
              "aot_unpaired", "apo_zero", "apo_down", "discopop", "sft", "sigmoid_norm")  # fmt: skip
LN2 = math.log(2.0)
ZERO_REWARD_TOL = 5e-3  # |rewards| before any update below this: the policy is the reference
LOSS_TOL = 2e-4  # |loss - ln 2| above this at that entry: not the sigmoid loss
BOUND_TOL = 1e-3  # a loss below the Jensen bound by more than this (+ 1 % of it) ...
BOUND_SHARE = 0.5  # ... at more than half the entries: not the sigmoid loss of these margins


def _neg_log_sigmoid(m: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, -m)  # -log sigma(m), stable for any m


def sigmoid_loss(s, loss_type: str | None) -> tuple[bool, str | None]:
    """``(is the loss Eq. 7's, a note for the report or None)`` for the series ``s``; ``loss_type``:
    TRL's name(s), comma-separated, or None to read it from the log."""
    if loss_type is not None:
        return loss_type == "sigmoid", None
    steps, loss = s.get("loss")
    if not len(loss):
        return True, None
    if s.has("aux_loss"):
        return False, ("the log has aux_loss (a mixture-of-experts router loss added to DPO's): the "
                       "checks that read the loss's value against ln 2 are adapted")  # fmt: skip
    if s.pre_update_first:
        at = {k: v[0] for k in ("rewards/chosen", "rewards/rejected")
              for st, v in [s.get(k)] if len(v) and st[0] == steps[0]}  # fmt: skip
        if len(at) == 2 and all(abs(v) <= ZERO_REWARD_TOL for v in at.values()) and np.isfinite(loss[0]):
            if abs(loss[0] - LN2) > LOSS_TOL:
                return False, (f"at step {steps[0]} the rewards are 0 (policy = reference) but the loss is "
                               f"{loss[0]:.6g}, not ln 2: not DPO's sigmoid loss (IPO, RPO's NLL term, an "
                               "auxiliary loss?); pass --loss-type to name it")  # fmt: skip
    msteps, margin = s.get("rewards/margins")
    both, at_loss, at_margin = np.intersect1d(steps, msteps, return_indices=True)
    if len(both) >= 3:
        lv, mv = loss[at_loss], margin[at_margin]
        ok = np.isfinite(lv) & np.isfinite(mv)
        bound = _neg_log_sigmoid(mv[ok])
        below = lv[ok] < bound - BOUND_TOL - 0.01 * bound
        if ok.sum() >= 3 and below.sum() > BOUND_SHARE * ok.sum():
            i = int(np.argmax(below))
            return False, (f"the loss is below what the sigmoid loss can be at the logged margins at "
                           f"{int(below.sum())} of {int(ok.sum())} entries (step {both[ok][i]}: loss "
                           f"{lv[ok][i]:.3g}, margins {mv[ok][i]:.3g}, -log sigmoid(margins) "
                           f"{bound[i]:.3g}): "
                           "a scaled loss (divided by the accumulation steps?) or another loss; the "
                           "checks that read the loss's value are adapted")  # fmt: skip
    return True, None
