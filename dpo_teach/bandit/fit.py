r"""Fitting on preference pairs in the tabular world: the Bradley-Terry reward model (Eq. 2)
and DPO (Eq. 7) over a softmax policy, both solved exactly by Newton's method in float64.

Convention for what the data cannot decide. Pairs compare answers, so a reward fitted on them
is only known up to a constant on each connected component of the comparison graph, and not at
all for answers that were never compared. Both routes use the same rule: the fitted (implicit)
reward sums to zero over each component and is exactly 0 for never-compared answers. It is
what gradient descent started at pi_ref does (DPO's gradient never moves those directions) and
the limit of a vanishing L2 penalty. With ``l2 > 0`` (default ``1e-6``) both routes add the same
penalty :math:`\tfrac{\ell_2}{2}\lVert r \rVert^2` to the mean loss, which keeps the fit finite
when an answer always wins or always loses (separable data, where the maximum-likelihood reward
is infinite). With ``l2=0`` the pure maximum likelihood is computed, and separable data raise
``ValueError``. Either way ``fit_dpo`` equals ``optimal_policy(ref, fit_reward_model(...), beta)``
to rounding. Both are re-exported by :mod:`dpo_teach.bandit`.
"""

from __future__ import annotations

import numpy as np

from .. import _checks
from .. import numpy_dpo as nd
from .checks import check_distribution, check_l2, check_n_actions, check_pairs, log_softmax
from .newton import newton_minimize

__all__ = ["fit_reward_model", "fit_dpo", "tabular_dpo_loss", "DEFAULT_L2"]

DEFAULT_L2 = 1e-6  # tiny ridge on the (implicit) reward; identical in both routes

# The betas at which fit_dpo's float64 Newton solve in the logits is trustworthy. Above, the
# policy differs from pi_ref by less than float64 resolves in log pi (the implicit reward
# beta * log(pi / pi_ref) is rounding noise times beta); below, the Hessian, which scales as
# beta**2, underflows. Outside, the same solution is optimal_policy(ref, fit_reward_model(...), beta).
FIT_DPO_BETA_RANGE = (1e-100, 1e8)


def _pair_table(chosen, rejected, n_actions):
    """Distinct (y_w, y_l) pairs, their share of the data, and the components' null projector."""
    counts = np.bincount(chosen * n_actions + rejected, minlength=n_actions * n_actions)
    flat = np.flatnonzero(counts)
    yw, yl = np.divmod(flat, n_actions)
    weight = counts[flat] / chosen.shape[0]
    # Connected components of the comparison graph (a never-compared answer is its own
    # component): propagate the smallest label along pairs until nothing changes.
    label = np.arange(n_actions)
    while True:
        low = np.minimum(label[yw], label[yl])
        new = label.copy()
        np.minimum.at(new, yw, low)
        np.minimum.at(new, yl, low)
        new = new[new]  # jump to the label's own label (pointer jumping: few rounds)
        if (new == label).all():
            break
        label = new
    same = label[:, None] == label[None, :]
    # Projector onto the directions the pair loss cannot see: one constant per component.
    null = same / same.sum(axis=1, keepdims=True)
    return yw, yl, weight, null


def unreachable_pair(winners, losers, n_actions):
    """``(i, j)`` such that ``j`` never loses to ``i``, directly or through others, along the
    "``winners[n]`` beats ``losers[n]``" edges although the two are compared (linked), or None.

    The maximum-likelihood reward (Bradley-Terry, Plackett-Luce) is finite iff there is none
    (Zermelo/Ford; Hunter 2004): no group of answers always wins against the rest."""
    beats = np.eye(n_actions, dtype=bool)
    beats[winners, losers] = True
    linked = beats | beats.T
    for _ in range(int(np.ceil(np.log2(n_actions))) + 1):  # transitive closure by squaring
        beats = (beats.astype(float) @ beats.astype(float)) > 0
        linked = (linked.astype(float) @ linked.astype(float)) > 0
    bad = np.argwhere(linked & ~beats)
    return tuple(bad[0]) if len(bad) else None


def _check_mle_exists(yw, yl, n_actions):
    """Raise if the Bradley-Terry MLE is infinite (see :func:`unreachable_pair`)."""
    pair = unreachable_pair(yw, yl, n_actions)
    if pair is not None:
        i, j = pair
        raise ValueError(
            f"the data are separable: answer {j} never loses (directly or through others) to "
            f"answer {i}, so the maximum-likelihood reward gap is infinite (Bradley-Terry, "
            "Eq. 2). Pass l2 > 0 (e.g. the default 1e-6) or collect more pairs"
        )


def _laplacian(n_actions, yw, yl, c):
    r""":math:`\sum_{pairs} c\,(e_w - e_l)(e_w - e_l)^\top` as a dense (K, K) matrix."""
    h = np.zeros((n_actions, n_actions))
    np.add.at(h, (yw, yw), c)
    np.add.at(h, (yl, yl), c)
    np.add.at(h, (yw, yl), -c)
    np.add.at(h, (yl, yw), -c)
    return h


def fit_reward_model(chosen, rejected, n_actions, *, l2=DEFAULT_L2) -> np.ndarray:
    r"""Bradley-Terry maximum likelihood, Eq. (2) of arXiv:2305.18290, for a tabular reward:

    .. math:: \hat r = \arg\min_r\; -\frac1N\sum_{i}\log\sigma\big(r(y_w^i) - r(y_l^i)\big)
        + \frac{\ell_2}{2}\lVert r\rVert^2 .

    Solved by Newton's method in float64 to rounding level. The reward sums to zero on each
    connected component of the comparison graph and is 0 for never-compared answers (see the
    module docstring); ``l2=0`` gives the pure MLE and raises if the data are separable.
    Returns ``(n_actions,)`` float64.
    """
    n_actions = check_n_actions(n_actions)
    chosen, rejected = check_pairs(chosen, rejected, n_actions)
    l2 = check_l2(l2)
    yw, yl, weight, null = _pair_table(chosen, rejected, n_actions)
    if l2 == 0:
        _check_mle_exists(yw, yl, n_actions)

    def objective(r):
        margin = r[yw] - r[yl]
        p_wrong = nd.bt_probability(r[yl], r[yw])  # sigma(r_l - r_w)
        f = -weight @ nd.log_sigmoid(margin) + 0.5 * l2 * r @ r
        g = np.bincount(yw, -weight * p_wrong, n_actions) + np.bincount(yl, weight * p_wrong, n_actions)
        h = _laplacian(n_actions, yw, yl, weight * p_wrong * (1 - p_wrong))
        return f, g + l2 * r, h + l2 * np.eye(n_actions)

    return newton_minimize(objective, np.zeros(n_actions), null)


def tabular_dpo_loss(policy_probs, ref_probs, chosen, rejected, beta) -> float:
    r"""Mean DPO loss, Eq. (7), of a tabular policy on the pairs (no penalty term)."""
    ref = check_distribution(ref_probs)
    pol = check_distribution(policy_probs, "policy_probs")
    if pol.shape != ref.shape:
        raise ValueError(f"policy_probs has shape {pol.shape} but ref_probs has {ref.shape}")
    chosen, rejected = check_pairs(chosen, rejected, ref.shape[0])
    logp, log_ref = np.log(pol), np.log(ref)
    losses, _, _ = nd.dpo_loss(logp[chosen], logp[rejected], log_ref[chosen], log_ref[rejected], beta)
    return float(losses.mean())


def fit_dpo(ref_probs, chosen, rejected, beta, *, l2=DEFAULT_L2) -> np.ndarray:
    r"""Minimise the DPO loss, Eq. (7) of arXiv:2305.18290, over a tabular softmax policy
    :math:`\pi_\theta = \mathrm{softmax}(\theta)`:

    .. math:: \min_\theta\; -\frac1N\sum_i \log\sigma\Big(\beta\log\frac{\pi_\theta(y_w^i)}
        {\pi_\mathrm{ref}(y_w^i)} - \beta\log\frac{\pi_\theta(y_l^i)}{\pi_\mathrm{ref}(y_l^i)}\Big)
        + \frac{\ell_2}{2}\lVert \beta(\theta - \log\pi_\mathrm{ref})\rVert^2 .

    The loss comes from :func:`dpo_teach.numpy_dpo.dpo_loss`, its gradient from ``dpo_loss_grad``
    chained through the softmax; Newton's method in float64, started at
    :math:`\theta = \log\pi_\mathrm{ref}`, converges to rounding level. The penalty is on the
    implicit reward :math:`\beta(\theta - \log\pi_\mathrm{ref})`, the same as ``fit_reward_model``'s,
    so the result equals ``optimal_policy(ref_probs, fit_reward_model(...), beta)``.

    ``beta`` must lie in ``FIT_DPO_BETA_RANGE`` (1e-100 to 1e8), where this float64 solve is
    trustworthy; outside it a ``ValueError`` points to the equal, stable route above.

    Pairs only fix the policy on compared answers, up to one constant per connected component:
    a never-compared answer keeps its logit :math:`\log\pi_\mathrm{ref}(y)`, yet its probability
    still changes through the normaliser (DPO can move mass onto answers it never saw).
    Returns the policy's probabilities, ``(K,)`` float64.
    """
    ref = check_distribution(ref_probs)
    k = ref.shape[0]
    chosen, rejected = check_pairs(chosen, rejected, k)
    beta = _checks.check_beta(beta)
    l2 = check_l2(l2)
    lo, hi = FIT_DPO_BETA_RANGE
    if not lo <= beta <= hi:
        why = (
            "large, the policy differs from ref_probs by less than float64 resolves"
            if beta > hi
            else "small, the curvature (which scales as beta**2) underflows"
        )
        raise ValueError(
            f"beta={beta!r} is outside [{lo:g}, {hi:g}], where fit_dpo's float64 solve over the "
            f"policy's logits works: at a beta this {why}. The DPO solution equals "
            "optimal_policy(ref_probs, fit_reward_model(chosen, rejected, K, l2=l2), beta), which "
            "is stable for any beta: compute it that way"
        )
    yw, yl, weight, null = _pair_table(chosen, rejected, k)
    if l2 == 0:
        _check_mle_exists(yw, yl, k)
    log_ref = np.log(ref)

    def objective(theta):
        logp = log_softmax(theta)  # log pi_theta(y)
        losses, _, _ = nd.dpo_loss(logp[yw], logp[yl], log_ref[yw], log_ref[yl], beta)
        # d loss / d log pi(y_w) = -beta * s, d / d log pi(y_l) = +beta * s, s = sigma(r_l - r_w)
        grad_w, grad_l = nd.dpo_loss_grad(logp[yw], logp[yl], log_ref[yw], log_ref[yl], beta)
        s = -grad_w / beta
        # chain rule: d log pi(y) / d theta = e_y - pi; the two -pi terms cancel (grad_l = -grad_w)
        g = np.bincount(yw, weight * grad_w, k) + np.bincount(yl, weight * grad_l, k)
        h = _laplacian(k, yw, yl, weight * beta**2 * s * (1 - s))
        u = beta * (theta - log_ref)  # implicit reward, up to the shared constant beta log Z
        f = weight @ losses + 0.5 * l2 * u @ u
        return f, g + l2 * beta * u, h + l2 * beta**2 * np.eye(k)

    theta = newton_minimize(objective, log_ref.copy(), beta**2 * null)
    return np.exp(log_softmax(theta))
