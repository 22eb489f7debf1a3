r"""Rankings in the tabular world: Plackett-Luce data, its reward model and DPO on rankings,
Appendix A.3 of arXiv:2305.18290.

A person shown k answers ranks them, best first: :math:`\tau = (\tau_1, \dots, \tau_k)`. The
Plackett-Luce model (Eq. 18) picks the best, then the best of the rest, and so on:

.. math:: p(\tau \mid r) = \prod_{j=1}^{k} \frac{\exp r(\tau_j)}{\sum_{l=j}^{k} \exp r(\tau_l)},

which for k = 2 is Bradley-Terry (Eq. 1). ``sample_rankings`` draws such data,
``fit_reward_model_pl`` is the reward's maximum likelihood, and ``fit_dpo_pl`` minimises the DPO
loss of A.3 (the same likelihood with the implicit reward :math:`\beta\log\pi/\pi_\mathrm{ref}`
in place of r). They agree: ``fit_dpo_pl == optimal_policy(ref, fit_reward_model_pl(...), beta)``.

What the data cannot decide follows :mod:`dpo_teach.bandit.fit`'s convention: a ranking compares
each of its answers with every other, so rankings join answers into connected components; the
fitted (implicit) reward sums to zero on each component and is 0 for answers in no ranking. With
``l2 > 0`` both routes add :math:`\tfrac{\ell_2}{2}\lVert r\rVert^2` to the mean loss; with
``l2=0`` data whose MLE is infinite (one group of answers always ranked above the rest) raise.
"""

from __future__ import annotations

import numpy as np

from .. import _checks
from .checks import (
    check_distribution,
    check_index_range,
    check_l2,
    check_n_actions,
    check_rewards,
    check_seed,
    log_softmax,
)
from .fit import DEFAULT_L2, FIT_DPO_BETA_RANGE, unreachable_pair
from .newton import newton_minimize

__all__ = [
    "sample_rankings",
    "plackett_luce_loss",
    "tabular_dpo_pl_loss",
    "fit_reward_model_pl",
    "fit_dpo_pl",
    "check_rankings",
]


def check_rankings(rankings, n_actions: int) -> np.ndarray:
    """A 2-d integer array ``(N, k)``: N >= 1 rankings of k >= 2 distinct answers in [0, K), best first."""
    idx = np.asarray(rankings)
    if idx.ndim != 2 or idx.shape[0] < 1 or idx.shape[1] < 2 or idx.dtype.kind not in "iu":
        raise ValueError(
            f"rankings must be a 2-d integer array of shape (N, k), one ranking of k >= 2 answer "
            f"indices per row, best first; got dtype {idx.dtype} and shape {idx.shape}"
        )
    check_index_range("rankings", idx, n_actions)
    ordered = np.sort(idx, axis=1)
    repeated = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
    if repeated.size:
        raise ValueError(
            f"{repeated.size} ranking(s) list an answer twice (first in row {repeated[0]}: "
            f"{idx[repeated[0]].tolist()}); each row ranks k different answers"
        )
    return idx.astype(np.intp)


def sample_rankings(ref_probs, rewards, n_rankings, k, seed=None) -> np.ndarray:
    r"""Draw ``n_rankings`` rankings of ``k`` answers, the data of A.3, exactly:

    1. the set S of k different answers has :math:`P(S) = \prod_{y\in S}\pi_\mathrm{ref}(y) /
       e_k(\pi_\mathrm{ref})` (:math:`e_k`: the elementary symmetric polynomial): k i.i.d. draws
       from :math:`\pi_\mathrm{ref}` conditioned on being all different, as ``sample_preferences``
       does for k = 2. Sampled answer by answer with the exact inclusion probabilities
       (conditional Poisson sampling, no redrawing), so time is O(n_rankings K) for any ref;
    2. S is ranked by Plackett-Luce (Eq. 18) with the true reward: sorting
       :math:`r(y) + G_y`, :math:`G_y` i.i.d. standard Gumbel, gives exactly that distribution.

    Returns ``(n_rankings, k)`` integer answer indices, best first; ``seed`` as ``sample_preferences``.
    """
    ref = check_distribution(ref_probs)
    n_actions = ref.shape[0]
    r = check_rewards(rewards, n_actions)
    for name, value, lo, hi, span in (
        ("n_rankings", n_rankings, 1, np.inf, ">= 1"),
        ("k", k, 2, n_actions, f"in [2, {n_actions}] (the answers per ranking, at most K)"),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
            raise ValueError(f"{name} must be an integer {span}, got {value!r}")
    rng = np.random.default_rng(check_seed(seed))
    # log_e[m, i] = log e_m(ref[i:]): log of the sum over m-subsets of answers i..K-1 of their
    # ref products (log space: e_k can underflow); e_m(ref[i:]) = e_m(ref[i+1:]) + ref_i e_{m-1}(ref[i+1:])
    log_e = np.full((k + 1, n_actions + 1), -np.inf)
    log_e[0] = 0.0
    log_ref = np.log(ref)
    for i in range(n_actions - 1, -1, -1):
        log_e[1:, i] = np.logaddexp(log_e[1:, i + 1], log_ref[i] + log_e[:-1, i + 1])
    members = np.empty((n_rankings, k), dtype=np.intp)
    need = np.full(n_rankings, k)  # answers still to pick, per ranking
    for i in range(n_actions):
        # P(answer i is in S | the answers before i decided) = ref_i e_{m-1}(ref[i+1:]) / e_m(ref[i:])
        m = np.maximum(need, 1)
        with np.errstate(invalid="ignore"):
            p_in = np.exp(log_ref[i] + log_e[m - 1, i + 1] - log_e[m, i])
        take = (need > 0) & ((need >= n_actions - i) | (rng.random(n_rankings) < p_in))
        members[take, k - need[take]] = i
        need -= take
    # Eq. 18 by the Gumbel-max trick: order each set by r + Gumbel noise, largest first
    noisy = r[members] + rng.gumbel(size=members.shape)
    return np.take_along_axis(members, np.argsort(-noisy, axis=1), axis=1)


def plackett_luce_loss(scores) -> np.ndarray:
    r"""Negative log-likelihood of each ranking under Plackett-Luce (Eq. 18), ``(N, k)`` -> ``(N,)``:

    .. math:: -\log p(\tau) = \sum_{j=1}^{k}\Big(\log\sum_{l=j}^{k} e^{s_l} - s_j\Big),

    ``scores[n, j]`` the score (reward) of the answer ranked j-th in ranking n, best first. With
    :math:`s = \beta\log\pi_\theta/\pi_\mathrm{ref}` it is the DPO loss of A.3 per ranking; for
    k = 2, :math:`-\log\sigma(s_1 - s_2)`, Eq. 7. Stable (log-sum-exp) for any finite scores.
    """
    s = _checks.as_numeric_array("scores", scores).astype(np.float64)
    if s.ndim != 2 or s.shape[1] < 2:
        raise ValueError(f"scores must have shape (N, k) with k >= 2, one row per ranking, got {s.shape}")
    if not np.isfinite(s).all():
        raise ValueError("scores contains NaN or inf; scores (rewards) must be finite numbers")
    suffix = np.logaddexp.accumulate(s[:, ::-1], axis=1)[:, ::-1]  # log sum_{l >= j} exp(s_l)
    return (suffix - s).sum(axis=1)


def tabular_dpo_pl_loss(policy_probs, ref_probs, rankings, beta) -> float:
    r"""Mean DPO loss of A.3 of a tabular policy on the rankings (no penalty term)."""
    ref = check_distribution(ref_probs)
    pol = check_distribution(policy_probs, "policy_probs")
    if pol.shape != ref.shape:
        raise ValueError(f"policy_probs has shape {pol.shape} but ref_probs has {ref.shape}")
    ranks = check_rankings(rankings, ref.shape[0])
    implicit = _checks.check_beta(beta) * (np.log(pol) - np.log(ref))  # beta log pi / pi_ref
    return float(plackett_luce_loss(implicit[ranks]).mean())


def _ranking_table(ranks, n_actions):
    """Distinct rankings, their share of the data, and the components' null projector."""
    rows, counts = np.unique(ranks, axis=0, return_counts=True)
    a, b = rows[:, :-1].ravel(), rows[:, 1:].ravel()  # consecutive answers: a ranked above b
    label = np.arange(n_actions)  # connected components: propagate the smallest label
    while True:
        low = np.minimum(label[a], label[b])
        new = label.copy()
        np.minimum.at(new, a, low)
        np.minimum.at(new, b, low)
        new = new[new]
        if (new == label).all():
            break
        label = new
    same = label[:, None] == label[None, :]
    return rows, counts / ranks.shape[0], same / same.sum(axis=1, keepdims=True)


def _check_pl_mle_exists(rows, n_actions):
    """The PL MLE is finite iff, within every component, each answer reaches every other along
    "ranked above" edges (Hunter 2004): no group of answers is always ranked above the rest."""
    pair = unreachable_pair(rows[:, :-1].ravel(), rows[:, 1:].ravel(), n_actions)
    if pair is not None:
        i, j = pair
        raise ValueError(
            f"the data are separable: answer {j} is never ranked below answer {i} (directly or "
            "through others), so the maximum-likelihood reward gap is infinite (Plackett-Luce, "
            "Eq. 18). Pass l2 > 0 (e.g. the default 1e-6) or collect more rankings"
        )


def _pl_objective(rows, weight, n_actions, u):
    r"""Weighted PL negative log-likelihood of the rankings at scores ``u`` (K,): value, gradient, Hessian.

    Stage j of a ranking is a softmax over its answers ranked j-th or lower; each stage adds
    :math:`p - e_{\tau_j}` to the gradient and :math:`\mathrm{diag}(p) - pp^\top` to the Hessian."""
    s = u[rows]  # (R, k)
    suffix = np.logaddexp.accumulate(s[:, ::-1], axis=1)[:, ::-1]  # (R, k): log-normaliser of stage j
    f = weight @ (suffix - s).sum(axis=1)
    stage = np.arange(s.shape[1])
    later = stage[None, :] >= stage[:, None]  # (j, l): answer l is still in the running at stage j
    p = np.exp(np.where(later, s[:, None, :] - suffix[:, :, None], -np.inf))  # (R, j, l), softmaxes
    g_rank = p.sum(axis=1) - 1.0  # (R, k): d f / d s_l, per ranking
    h_rank = np.einsum("rl,lm->rlm", p.sum(axis=1), np.eye(s.shape[1])) - np.einsum("rjl,rjm->rlm", p, p)
    g = np.bincount(rows.ravel(), (weight[:, None] * g_rank).ravel(), n_actions)
    flat = (rows[:, :, None] * n_actions + rows[:, None, :]).ravel()
    h = np.bincount(flat, (weight[:, None, None] * h_rank).ravel(), n_actions * n_actions)
    return f, g, h.reshape(n_actions, n_actions)


def fit_reward_model_pl(rankings, n_actions, *, l2=DEFAULT_L2) -> np.ndarray:
    r"""Plackett-Luce maximum likelihood (Eq. 18) of a tabular reward, the ranking analogue of Eq. 2:

    .. math:: \hat r = \arg\min_r\; \frac1N\sum_i -\log p(\tau^i \mid r) + \frac{\ell_2}{2}\lVert r\rVert^2 .

    Newton's method in float64, to rounding. Zero-sum on each component, 0 for answers in no
    ranking (module docstring); ``l2=0`` gives the pure MLE and raises on separable data. For
    k = 2 it equals ``fit_reward_model(rankings[:, 0], rankings[:, 1], n_actions)``. Returns (K,).
    """
    n_actions = check_n_actions(n_actions)
    ranks = check_rankings(rankings, n_actions)
    l2 = check_l2(l2)
    rows, weight, null = _ranking_table(ranks, n_actions)
    if l2 == 0:
        _check_pl_mle_exists(rows, n_actions)

    def objective(r):
        f, g, h = _pl_objective(rows, weight, n_actions, r)
        return f + 0.5 * l2 * r @ r, g + l2 * r, h + l2 * np.eye(n_actions)

    return newton_minimize(objective, np.zeros(n_actions), null)


def fit_dpo_pl(ref_probs, rankings, beta, *, l2=DEFAULT_L2) -> np.ndarray:
    r"""Minimise the DPO loss of A.3 over softmax policies :math:`\pi_\theta = \mathrm{softmax}(\theta)`:

    .. math:: \min_\theta\; -\frac1N\sum_i \log \prod_{j=1}^{k} \frac{\exp\big(\beta\log
        \frac{\pi_\theta(\tau^i_j)}{\pi_\mathrm{ref}(\tau^i_j)}\big)}{\sum_{l=j}^{k}\exp\big(\beta
        \log\frac{\pi_\theta(\tau^i_l)}{\pi_\mathrm{ref}(\tau^i_l)}\big)}
        + \frac{\ell_2}{2}\lVert\beta(\theta - \log\pi_\mathrm{ref})\rVert^2 .

    Newton's method in the logits, started at :math:`\theta = \log\pi_\mathrm{ref}`, like
    ``fit_dpo`` (same penalty, same ``FIT_DPO_BETA_RANGE``). The result equals
    ``optimal_policy(ref_probs, fit_reward_model_pl(rankings, K, l2=l2), beta)`` to rounding.
    Returns the policy's probabilities, ``(K,)`` float64.
    """
    ref = check_distribution(ref_probs)
    n_actions = ref.shape[0]
    ranks = check_rankings(rankings, n_actions)
    beta = _checks.check_beta(beta)
    l2 = check_l2(l2)
    lo, hi = FIT_DPO_BETA_RANGE
    if not lo <= beta <= hi:
        raise ValueError(
            f"beta={beta!r} is outside [{lo:g}, {hi:g}], where fit_dpo_pl's float64 solve over the "
            "policy's logits works. The solution equals optimal_policy(ref_probs, "
            "fit_reward_model_pl(rankings, K, l2=l2), beta), stable for any beta: compute it that way"
        )
    rows, weight, null = _ranking_table(ranks, n_actions)
    if l2 == 0:
        _check_pl_mle_exists(rows, n_actions)
    log_ref = np.log(ref)

    def objective(theta):
        implicit = beta * (log_softmax(theta) - log_ref)  # beta log pi_theta / pi_ref
        f, g, h = _pl_objective(rows, weight, n_actions, implicit)
        # chain rule: d implicit / d theta = beta (I - 1 pi^T); every stage's gradient sums to 0,
        # so the pi terms vanish: gradient beta g, Hessian beta^2 H
        u = beta * (theta - log_ref)  # the penalised implicit reward, as in fit_dpo
        return f + 0.5 * l2 * u @ u, beta * g + l2 * beta * u, beta**2 * (h + l2 * np.eye(n_actions))

    theta = newton_minimize(objective, log_ref.copy(), beta**2 * null)
    return np.exp(log_softmax(theta))
