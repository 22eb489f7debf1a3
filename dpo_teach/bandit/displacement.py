r"""Likelihood displacement, exactly: at the optimum the *chosen* answer often ends below
:math:`\pi_\mathrm{ref}`, and that is not by itself a failure.

At :math:`\pi^*` (Eq. 4 of arXiv:2305.18290) every answer's log-ratio is
:math:`\log\frac{\pi^*(y)}{\pi_\mathrm{ref}(y)} = \frac{r(y)}{\beta} - \log Z`, so an answer gains
probability exactly when its reward beats the soft maximum

.. math:: \tau(\beta) = \beta\log Z = \beta\log\sum_y \pi_\mathrm{ref}(y)\,e^{r(y)/\beta},

which falls from :math:`\max_y r(y)` (:math:`\beta \to 0`) to :math:`\mathbb{E}_{\pi_\mathrm{ref}}[r]`
(:math:`\beta \to \infty`). A chosen answer only has to beat the rejected one; if it is below
:math:`\tau` it loses mass, while the margin :math:`\hat r_w - \hat r_l = r(y_w) - r(y_l)` and the
expected reward still rise. It becomes harmful when the chosen answer is the best one there is and
still loses mass, which cannot happen at :math:`\pi^*` (the best answer always has
:math:`r = \max r \ge \tau`) but can along a finite-data or finite-step run.
"""

from __future__ import annotations

import numpy as np

from .. import _checks
from .checks import check_distribution, check_index_range, check_rewards

__all__ = ["displacement_threshold", "fraction_below_reference"]


def displacement_threshold(ref_probs, rewards, beta) -> float:
    r""":math:`\tau(\beta) = \beta\log\sum_y\pi_\mathrm{ref}(y)e^{r(y)/\beta}`: at :math:`\pi^*` an answer
    ends below :math:`\pi_\mathrm{ref}` iff :math:`r(y) < \tau` (computed stably, in log space)."""
    ref = check_distribution(ref_probs)
    r = check_rewards(rewards, ref.shape[0])
    beta = _checks.check_beta(beta)
    top = r.max()  # beta * logsumexp(log ref + r / beta), shifted by max r so nothing overflows
    return float(top + beta * np.log(np.sum(ref * np.exp((r - top) / beta))))


def fraction_below_reference(policy_probs, ref_probs, answers) -> float:
    r"""Share of ``answers`` (e.g. the chosen answer of every pair, repeats counted) whose
    probability under ``policy_probs`` is below :math:`\pi_\mathrm{ref}`,
    :math:`\frac1N\sum_i[\pi(y_i) < \pi_\mathrm{ref}(y_i)]`."""
    ref = check_distribution(ref_probs)
    pol = check_distribution(policy_probs, "policy_probs", positive=False)
    if pol.shape != ref.shape:
        raise ValueError(f"policy_probs has shape {pol.shape} but ref_probs has {ref.shape}")
    idx = np.asarray(answers)
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError("answers must be a non-empty 1-d array of answer indices (integers)")
    check_index_range("answers", idx, ref.shape[0])
    return float(np.mean(pol[idx] < ref[idx]))
