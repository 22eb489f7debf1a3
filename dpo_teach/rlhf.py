r"""The RLHF route's second stage in the tabular world: KL-regularised policy optimisation by
sampling, in the shape of PPO (Schulman et al. 2017) as used for RLHF (Ziegler et al. 2019).

It maximises the objective of Eq. (3) of arXiv:2305.18290,

.. math:: J(\pi) = \mathbb{E}_{y\sim\pi}[r(y)] - \beta\,\mathrm{KL}(\pi\,\|\,\pi_\mathrm{ref}),

whose maximiser is :math:`\pi^*` of Eq. (4) (:func:`dpo_teach.bandit.optimal_policy`), but only
through samples, the way RLHF must: draw answers from the current policy, score them, form an
advantage with a baseline, and take clipped policy-gradient steps. Nothing in the loop uses the
closed form; ``history`` records exact diagnostics (computable here, never in an LLM) so one can
watch it converge. Import it as ``dpo_teach.bandit.fit_rlhf``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from . import _checks
from ._tabular import _check_ref_probs, _check_rewards, _log_softmax


@dataclass
class RLHFResult:
    """What ``fit_rlhf`` returns: the policy and what it cost.

    ``np.asarray(result)`` is ``result.probs``, so the result can be used where probabilities are.
    """

    probs: np.ndarray  # final policy pi_theta, shape (K,)
    n_samples: int  # answers sampled from the policy = reward evaluations (one per sample)
    n_iterations: int  # sample-then-update rounds ("rollouts")
    n_gradient_steps: int  # optimiser updates (n_iterations * n_epochs)
    wall_time_s: float  # time spent in the loop, seconds
    hyperparameters: dict  # every knob of the run, for the comparison table
    history: dict = field(repr=False)  # per iteration: 'probs' (T, K), 'objective', 'kl', 'reward'

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.probs, dtype=dtype)


def _objective(probs, log_ref, rewards, beta):
    """Exact J(pi) = E_pi[r] - beta KL(pi || pi_ref), its KL and its expected reward."""
    log_p = np.log(np.maximum(probs, 1e-300))
    kl = float(probs @ (log_p - log_ref))
    reward = float(probs @ rewards)
    return reward - beta * kl, kl, reward


def fit_rlhf(
    ref_probs,
    rewards,
    beta,
    *,
    n_iterations: int = 200,  # rounds of (sample a batch, then update on it)
    batch_size: int = 256,  # answers sampled from pi_theta per round
    n_epochs: int = 4,  # PPO: optimiser passes over each batch
    lr: float = 0.05,  # Adam step size on the logits
    anneal_lr: bool = True,  # decay the step size linearly to 0 over the run (as PPO codes do)
    clip_eps: float | None = 0.2,  # PPO ratio clipping; None = plain (multi-epoch) policy gradient
    baseline: bool = True,  # subtract the batch mean reward (a bandit's critic is one number)
    seed=0,  # int, None or numpy.random.Generator: the sampling randomness
) -> RLHFResult:
    r"""Maximise :math:`\mathbb{E}_\pi[r] - \beta\,\mathrm{KL}(\pi\|\pi_\mathrm{ref})` (Eq. 3) by
    sampling, starting from :math:`\pi_\theta = \pi_\mathrm{ref}`. Each round:

    1. sample :math:`y_1..y_B \sim \pi_{\theta_\mathrm{old}}` and score them with ``rewards``;
    2. KL-penalised reward per sample, as in RLHF:
       :math:`R_i = r(y_i) - \beta\log\frac{\pi_{\theta_\mathrm{old}}(y_i)}{\pi_\mathrm{ref}(y_i)}`
       (its policy gradient is an unbiased estimate of :math:`\nabla J`);
    3. advantage :math:`A_i = R_i - \bar R` (batch-mean baseline);
    4. ``n_epochs`` Adam steps (step size ``lr``, annealed linearly to 0) on the PPO clipped surrogate
       :math:`\frac1B\sum_i \min(\rho_i A_i, \mathrm{clip}(\rho_i, 1\pm\epsilon) A_i)`,
       :math:`\rho_i = \pi_\theta(y_i)/\pi_{\theta_\mathrm{old}}(y_i)`, whose gradient in the
       logits is :math:`\rho_i A_i (e_{y_i} - \pi_\theta)` where not clipped.

    At :math:`\pi^*` every :math:`R_i` equals :math:`\beta\log Z`, so the advantages vanish and the
    iteration can settle there. ``rewards`` may be the true reward or a fitted reward model
    (the RLHF pipeline: ``fit_rlhf(ref, fit_reward_model(chosen, rejected, K), beta)``).

    Returns an :class:`RLHFResult` (``.probs``, costs, ``.hyperparameters``, ``.history``).
    """
    ref = _check_ref_probs(ref_probs)
    k = ref.shape[0]
    r = _check_rewards(rewards, k)
    beta = _checks.check_beta(beta)
    for name, value in (("n_iterations", n_iterations), ("batch_size", batch_size), ("n_epochs", n_epochs)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive step size (e.g. 0.05), got {lr!r}")
    if clip_eps is not None and not 0 < clip_eps < 1:
        raise ValueError(f"clip_eps must lie in (0, 1) (PPO uses 0.1-0.3), or be None; got {clip_eps!r}")
    seed_label = "generator" if isinstance(seed, np.random.Generator) else seed
    hyperparameters = dict(
        beta=beta, n_iterations=n_iterations, batch_size=batch_size, n_epochs=n_epochs, lr=lr,
        anneal_lr=anneal_lr, clip_eps=clip_eps, baseline=baseline, optimizer="adam(0.9, 0.999)",
        seed=seed_label,
    )  # fmt: skip
    rng = np.random.default_rng(seed)
    log_ref = np.log(ref)
    theta = log_ref.copy()  # logits; pi_theta = softmax(theta) starts at pi_ref
    m, v = np.zeros(k), np.zeros(k)  # Adam moments
    b1, b2, adam_eps, t = 0.9, 0.999, 1e-8, 0
    hist = {"probs": [], "objective": [], "kl": [], "reward": []}

    start = time.perf_counter()
    for it in range(n_iterations):
        # 1. sample from the current (old) policy
        log_p_old = _log_softmax(theta)
        y = rng.choice(k, size=batch_size, p=np.exp(log_p_old))
        # 2. KL-penalised reward of each sample
        reward_kl = r[y] - beta * (log_p_old[y] - log_ref[y])
        # 3. advantage with a baseline
        adv = reward_kl - reward_kl.mean() if baseline else reward_kl
        lr_t = lr * (1 - it / n_iterations) if anneal_lr else lr
        for _ in range(n_epochs):
            log_p = _log_softmax(theta)
            ratio = np.exp(log_p[y] - log_p_old[y])  # rho_i
            active = np.ones(batch_size, dtype=bool)
            if clip_eps is not None:  # min(.) picks the clipped, constant term: zero gradient
                active = ~(((adv > 0) & (ratio > 1 + clip_eps)) | ((adv < 0) & (ratio < 1 - clip_eps)))
            coef = np.where(active, ratio * adv, 0.0) / batch_size
            # d/d theta of sum_i coef_i log pi(y_i) = sum_i coef_i (e_{y_i} - pi)   (ascent)
            grad = np.bincount(y, coef, k) - np.exp(log_p) * coef.sum()
            t += 1
            m = b1 * m + (1 - b1) * grad
            v = b2 * v + (1 - b2) * grad**2
            theta = theta + lr_t * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + adam_eps)
        probs = np.exp(_log_softmax(theta))
        obj, kl, rew = _objective(probs, log_ref, r, beta)
        for key, val in zip(hist, (probs, obj, kl, rew)):
            hist[key].append(val)
    wall = time.perf_counter() - start

    return RLHFResult(
        probs=np.exp(_log_softmax(theta)),
        n_samples=n_iterations * batch_size,
        n_iterations=n_iterations,
        n_gradient_steps=n_iterations * n_epochs,
        wall_time_s=wall,
        hyperparameters=hyperparameters,
        history={key: np.asarray(val) for key, val in hist.items()},
    )
