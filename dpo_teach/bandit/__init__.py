r"""The exact tabular world: one prompt, K answers, and DPO's solution equal to the RLHF optimum.

In a world with a single prompt x and K possible answers, a policy is a vector of K
probabilities, so every object of arXiv:2305.18290 is computable exactly: the KL-regularised
optimum (Eq. 4), the Bradley-Terry reward model (Eq. 2), the DPO objective (Eq. 7) and the
RLHF policy optimisation that DPO replaces. This package's face holds the closed form, the
metrics and the data; the fits live beside it and are re-exported here: ``fit`` (reward model
and DPO, exact Newton solves), ``rlhf`` (a PPO-style sampling loop), ``plackett_luce`` (rankings
of k answers, their reward model and DPO on them, Appendix A.3), ``displacement`` (which answers
lose mass at the optimum), ``online`` (online DPO rounds, flipped labels) and ``variants`` (the
exact minimiser of a DPO-family member's loss, ``fit_variant``; ``variants_hinge`` and
``variants_dpop`` solve the two members with a kink); ``newton`` is the damped Newton solver the
fits share and ``checks`` the input checks all of them share.

    >>> from dpo_teach.bandit import optimal_policy, sample_preferences, fit_reward_model, fit_dpo
    >>> ref, r = [0.5, 0.3, 0.2], [0.0, 1.0, -1.0]
    >>> chosen, rejected = sample_preferences(ref, r, n_pairs=10_000, seed=0)
    >>> pi_dpo = fit_dpo(ref, chosen, rejected, beta=0.5)
    >>> pi_rlhf = optimal_policy(ref, fit_reward_model(chosen, rejected, 3), beta=0.5)
    >>> bool(abs(pi_dpo - pi_rlhf).max() < 1e-12)
    True
"""

from __future__ import annotations

import numpy as np

from .. import _checks
from .. import numpy_dpo as nd
from .checks import check_distribution, check_n_actions, check_pairs, check_rewards, check_seed, log_softmax
from .displacement import displacement_threshold, fraction_below_reference
from .fit import DEFAULT_L2, fit_dpo, fit_reward_model, tabular_dpo_loss
from .online import flip_preferences, online_dpo
from .plackett_luce import (
    fit_dpo_pl,
    fit_reward_model_pl,
    plackett_luce_loss,
    sample_rankings,
    tabular_dpo_pl_loss,
)
from .rlhf import RLHFResult, fit_rlhf
from .variants import FIT_VARIANT_LOSSES, fit_variant

__all__ = [
    "optimal_policy",
    "sample_preferences",
    "fit_reward_model",
    "fit_dpo",
    "fit_rlhf",
    "RLHFResult",
    "tabular_dpo_loss",
    "never_compared",
    "expected_reward",
    "kl_divergence",
    "total_variation",
    "DEFAULT_L2",
    "sample_rankings",
    "plackett_luce_loss",
    "tabular_dpo_pl_loss",
    "fit_reward_model_pl",
    "fit_dpo_pl",
    "fit_variant",
    "FIT_VARIANT_LOSSES",
    "displacement_threshold",
    "fraction_below_reference",
    "online_dpo",
    "flip_preferences",
]


def optimal_policy(ref_probs, rewards, beta) -> np.ndarray:
    r"""The optimum of the KL-regularised RL objective (Eq. 3), Eq. (4) of arXiv:2305.18290:

    .. math:: \pi^*(y) = \frac{1}{Z}\,\pi_\mathrm{ref}(y)\exp\big(r(y)/\beta\big),\qquad
        Z = \sum_{y'} \pi_\mathrm{ref}(y')\exp\big(r(y')/\beta\big).

    Computed in log space (softmax of ``log ref + r / beta``), so it is stable for any r/beta,
    even one beyond float64's range (a tiny beta): then the best answers share all the mass.
    Shapes: ``ref_probs`` and ``rewards`` are ``(K,)``; returns ``(K,)`` float64.
    """
    ref = check_distribution(ref_probs)
    r = check_rewards(rewards, ref.shape[0])
    beta = _checks.check_beta(beta)
    with np.errstate(over="ignore"):
        z = r / beta
        if not np.isfinite(z).all():
            # r / beta overflowed (beta tiny). The softmax is unchanged by subtracting max(r)
            # first; then every entry is <= 0, the best answers' exactly 0, and an overflow
            # to -inf is exact: exp(-inf) = 0 is that answer's probability to float64 precision.
            z = (r - r.max()) / beta
    return np.exp(log_softmax(np.log(ref) + z))


def expected_reward(probs, rewards) -> float:
    r""":math:`\mathbb{E}_{y\sim\pi}[r(y)] = \sum_y \pi(y)\,r(y)`."""
    p = check_distribution(probs, "probs", positive=False)
    return float(p @ check_rewards(rewards, p.shape[0]))


def kl_divergence(probs, ref_probs) -> float:
    r""":math:`\mathrm{KL}(\pi\,\|\,\pi_\mathrm{ref}) = \sum_y \pi(y)\log\frac{\pi(y)}{\pi_\mathrm{ref}(y)}`
    (the penalty of Eq. 3). Terms with :math:`\pi(y) = 0` contribute 0."""
    q = check_distribution(ref_probs)
    p = check_distribution(probs, "probs", positive=False)
    if p.shape != q.shape:
        raise ValueError(f"probs has shape {p.shape} but ref_probs has {q.shape}: one entry per answer")
    nz = p > 0
    return float(np.sum(p[nz] * (np.log(p[nz]) - np.log(q[nz]))))


def total_variation(p, q) -> float:
    r"""Total-variation distance :math:`\tfrac12\sum_y |p(y) - q(y)|` (0 = same policy, 1 = disjoint).

    ``p`` and ``q`` must be probability distributions over the same K answers (zeros allowed),
    checked like every tabular input: counts, NaN or mismatched lengths raise ``ValueError``."""
    p = check_distribution(p, "p", positive=False)
    q = check_distribution(q, "q", positive=False)
    if p.shape != q.shape:
        raise ValueError(f"p has shape {p.shape} but q has {q.shape}: one entry per answer in both")
    return float(0.5 * np.abs(p - q).sum())


# --- preference data ----------------------------------------------------------------------


def sample_preferences(ref_probs, rewards, n_pairs, seed=None) -> tuple[np.ndarray, np.ndarray]:
    r"""Draw ``n_pairs`` preference pairs the way the paper's data is made (Sec. 3).

    Two different answers :math:`y_1 \neq y_2` are drawn from :math:`\pi_\mathrm{ref}` (i.i.d.
    draws, conditioned on being different: identical answers carry no preference), so
    :math:`P(y_1 = i, y_2 = j) \propto \pi_\mathrm{ref}(i)\,\pi_\mathrm{ref}(j)` for
    :math:`i \neq j`, and labelled by the Bradley-Terry model with the true reward, Eq. (1):
    :math:`p(y_1 \succ y_2) = \sigma(r(y_1) - r(y_2))`. The pairs are sampled directly from that
    distribution (no redrawing), so the time is O(n_pairs) whatever ``ref_probs`` is, even when
    it puts almost all its mass on one answer.

    Returns ``(chosen, rejected)``: integer arrays of shape ``(n_pairs,)`` (:math:`y_w`, :math:`y_l`).
    ``seed`` is an int >= 0, ``None`` or a ``numpy.random.Generator``.
    """
    ref = check_distribution(ref_probs)
    r = check_rewards(rewards, ref.shape[0])
    if isinstance(n_pairs, bool) or not isinstance(n_pairs, (int, np.integer)) or n_pairs < 1:
        raise ValueError(f"n_pairs must be an integer >= 1, got {n_pairs!r}")
    rng = np.random.default_rng(check_seed(seed))
    k = ref.shape[0]
    # others[i] = sum of ref over j != i, summed directly: 1 - ref[i] would lose every digit
    # when ref[i] is within rounding of 1
    before = np.concatenate(([0.0], np.cumsum(ref)[:-1]))
    after = np.concatenate((np.cumsum(ref[::-1])[::-1][1:], [0.0]))
    others = before + after
    # y_1's marginal: P(y_1 = i) = sum_{j != i} ref_i ref_j / Z = ref_i (1 - ref_i) / (1 - sum ref^2)
    first = ref * others
    y1 = rng.choice(k, size=n_pairs, p=first / first.sum())
    # y_2 given y_1 = i: ref restricted to j != i, one vectorised draw per distinct value of y_1
    y2 = np.empty(n_pairs, dtype=y1.dtype)
    order = np.argsort(y1, kind="stable")  # positions grouped by the value of y_1
    counts = np.bincount(y1, minlength=k)
    start = 0
    for i in np.flatnonzero(counts):
        second = ref.copy()
        second[i] = 0.0
        y2[order[start : start + counts[i]]] = rng.choice(k, size=counts[i], p=second / second.sum())
        start += counts[i]
    # Eq. (1): y_1 wins with probability sigma(r_1 - r_2)
    first_wins = rng.random(n_pairs) < nd.bt_probability(r[y1], r[y2])
    chosen = np.where(first_wins, y1, y2)
    rejected = np.where(first_wins, y2, y1)
    return chosen, rejected


def never_compared(chosen, rejected, n_actions) -> np.ndarray:
    """Indices of answers that appear in no pair (the data says nothing about them)."""
    n_actions = check_n_actions(n_actions)
    chosen, rejected = check_pairs(chosen, rejected, n_actions)
    seen = np.zeros(n_actions, dtype=bool)
    seen[chosen] = seen[rejected] = True
    return np.flatnonzero(~seen)
