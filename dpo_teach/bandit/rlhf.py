r"""The RLHF route's second stage in the tabular world: KL-regularised policy optimisation by
sampling, in the shape of PPO (Schulman et al. 2017) as used for RLHF (Ziegler et al. 2019).

It maximises the objective of Eq. (3) of arXiv:2305.18290,

.. math:: J(\pi) = \mathbb{E}_{y\sim\pi}[r(y)] - \beta\,\mathrm{KL}(\pi\,\|\,\pi_\mathrm{ref}),

whose maximiser is :math:`\pi^*` of Eq. (4) (:func:`dpo_teach.bandit.optimal_policy`), but only
through samples, the way RLHF must: draw answers from the current policy, score them, form an
advantage with a baseline, and take clipped policy-gradient steps. Nothing in the loop uses the
closed form; ``history`` records exact diagnostics (computable here, never in an LLM) so one can
watch it converge. The loop's two pieces are named functions with their equations above the
code: the gradient of PPO's clipped surrogate (:func:`clipped_surrogate_grad`) and the Adam
update (:func:`adam_step`). Re-exported as ``dpo_teach.bandit.fit_rlhf``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .. import _checks
from .checks import check_distribution, check_flag, check_number, check_rewards, check_seed, log_softmax

__all__ = ["RLHFResult", "fit_rlhf", "clipped_surrogate_grad", "AdamState", "adam_step"]


@dataclass
class RLHFResult:
    """What ``fit_rlhf`` returns: the policy and what it cost."""

    probs: np.ndarray  # final policy pi_theta, shape (K,)
    n_samples: int  # answers sampled from the policy = reward evaluations (one per sample)
    n_iterations: int  # sample-then-update rounds ("rollouts")
    n_gradient_steps: int  # optimiser updates (n_iterations * n_epochs)
    wall_time_s: float  # time spent in the loop, seconds
    hyperparameters: dict  # every knob of the run, for the comparison table
    history: dict = field(repr=False)  # per iteration: 'probs' (T, K), 'objective', 'kl', 'reward'


def _objective(probs, log_ref, rewards, beta):
    """Exact J(pi) = E_pi[r] - beta KL(pi || pi_ref), its KL and its expected reward."""
    log_p = np.log(np.maximum(probs, 1e-300))
    kl = float(probs @ (log_p - log_ref))
    reward = float(probs @ rewards)
    return reward - beta * kl, kl, reward


def clipped_surrogate_grad(theta, y, log_p_old, adv, clip_eps):
    r"""Gradient in the logits :math:`\theta` of PPO's clipped surrogate (Schulman et al. 2017, Eq. 7)
    on one batch of sampled answers ``y`` with advantages ``adv``:

    .. math:: L(\theta) = \frac1B\sum_i \min\big(\rho_i A_i,\
        \mathrm{clip}(\rho_i, 1-\epsilon, 1+\epsilon) A_i\big),\qquad
        \rho_i = \frac{\pi_\theta(y_i)}{\pi_{\theta_\mathrm{old}}(y_i)}

    Where the clipped term is the minimum it is constant in :math:`\theta` (zero gradient); elsewhere
    :math:`\nabla_\theta\,\rho_i A_i = \rho_i A_i (e_{y_i} - \pi_\theta)` for a softmax policy.
    ``clip_eps=None`` gives the plain importance-weighted policy gradient. Returns ``(K,)``, an
    ascent direction.
    """
    k, batch_size = theta.shape[0], y.shape[0]
    log_p = log_softmax(theta)
    # $\rho_i = \pi_\theta(y_i) / \pi_{\theta_{old}}(y_i)$
    ratio = np.exp(log_p[y] - log_p_old[y])
    # min(.) picks the clipped, constant term when the ratio has moved past 1 +- eps in A's direction
    active = np.ones(batch_size, dtype=bool)
    if clip_eps is not None:
        active = ~(((adv > 0) & (ratio > 1 + clip_eps)) | ((adv < 0) & (ratio < 1 - clip_eps)))
    coef = np.where(active, ratio * adv, 0.0) / batch_size
    # $\sum_i c_i (e_{y_i} - \pi_\theta)$
    return np.bincount(y, coef, k) - np.exp(log_p) * coef.sum()


@dataclass
class AdamState:
    """Adam's running moments and step count (Kingma & Ba 2015), for one parameter vector."""

    m: np.ndarray  # first moment (mean of gradients)
    v: np.ndarray  # second moment (mean of squared gradients)
    t: int = 0  # steps taken
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8


def adam_step(theta, grad, state: AdamState, lr: float):
    r"""One Adam ascent step (Kingma & Ba 2015, Algorithm 1); updates ``state`` in place:

    .. math:: m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,\quad
        \theta_t = \theta_{t-1} + \eta\,\frac{m_t / (1-\beta_1^t)}{\sqrt{v_t / (1-\beta_2^t)} + \epsilon}

    (Here :math:`\beta_1, \beta_2` are Adam's decay rates, not DPO's beta.) Returns the new ``theta``.
    """
    state.t += 1
    state.m = state.b1 * state.m + (1 - state.b1) * grad
    state.v = state.b2 * state.v + (1 - state.b2) * grad**2
    m_hat = state.m / (1 - state.b1**state.t)  # bias corrections: the moments start at 0
    v_hat = state.v / (1 - state.b2**state.t)
    return theta + lr * m_hat / (np.sqrt(v_hat) + state.eps)


# Below this spread of rewards and beta, Adam's eps (1e-8) is no longer small against the
# gradients: the loop would silently stall near pi_ref (fit_rlhf raises instead).
ADAM_MIN_SCALE = 1e-6


def _raise_overflow(r, beta, lr, clip_eps):
    """The loop met inf or NaN: name the scale problem (huge rewards or beta) or the divergence."""
    big = max(float(np.abs(r).max()), beta)
    if big > 1e100:
        raise ValueError(
            f"rewards (largest |r| = {float(np.abs(r).max()):.3g}) and beta ({beta:.3g}) are too "
            "large for float64 in this loop: Adam squares the gradient, which overflows beyond "
            "~1e154. The optimum depends only on rewards / beta: divide rewards and beta by the "
            f"same factor (e.g. both by {big:.0e}) and call again"
        )
    raise ValueError(
        f"fit_rlhf diverged (the logits or Adam's moments became inf or NaN) with lr={lr!r} and "
        f"clip_eps={clip_eps!r}; use a smaller lr (the default is 0.05) or clipping (clip_eps=0.2)"
    )


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

    Scale: only rewards / beta matters for the optimum, but Adam does not work at every scale in
    float64: rewards and beta whose spread is below 1e-6 (Adam's eps dominates) or so large that
    squared gradients overflow raise ``ValueError`` saying to rescale both by the same factor.
    ``batch_size`` must be >= 2 with ``baseline=True`` (one sample is its own mean: zero advantage).

    Returns an :class:`RLHFResult` (``.probs``, costs, ``.hyperparameters``, ``.history``).
    """
    ref = check_distribution(ref_probs)
    k = ref.shape[0]
    r = check_rewards(rewards, k)
    beta = _checks.check_beta(beta)
    for name, value in (("n_iterations", n_iterations), ("batch_size", batch_size), ("n_epochs", n_epochs)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    lr = check_number("lr", lr, "a positive step size, e.g. 0.05")
    if not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive step size (e.g. 0.05), got {lr!r}")
    if clip_eps is not None:
        clip_eps = check_number("clip_eps", clip_eps, "in (0, 1), PPO uses 0.1-0.3; or None for no clipping")
        if not 0 < clip_eps < 1:
            raise ValueError(f"clip_eps must lie in (0, 1) (PPO uses 0.1-0.3), or be None; got {clip_eps!r}")
    anneal_lr, baseline = check_flag("anneal_lr", anneal_lr), check_flag("baseline", baseline)
    if baseline and batch_size < 2:
        raise ValueError(
            f"batch_size={batch_size} with baseline=True: the baseline is the batch's mean reward, so "
            "with one sample every advantage A = R - mean(R) is 0 and the policy never moves from "
            "ref_probs; use batch_size >= 2 (the default is 256), or baseline=False"
        )
    with np.errstate(over="ignore"):
        scale = float(np.ptp(r))  # reward differences drive the policy; beta weighs the KL term
    if 0 < scale and max(scale, beta) < ADAM_MIN_SCALE:
        raise ValueError(
            f"rewards span only {scale:.3g} and beta is {beta:.3g}: at this scale Adam's eps "
            f"({AdamState.eps:g}) swamps the gradients, so the policy would barely move from "
            "ref_probs. The optimum depends only on rewards / beta: multiply rewards and beta by "
            f"the same factor (e.g. {1 / max(scale, beta):.0e}) and call again"
        )
    seed_label = "generator" if isinstance(check_seed(seed), np.random.Generator) else seed
    hyperparameters = dict(
        beta=beta, n_iterations=n_iterations, batch_size=batch_size, n_epochs=n_epochs, lr=lr,
        anneal_lr=anneal_lr, clip_eps=clip_eps, baseline=baseline, optimizer="adam(0.9, 0.999)",
        seed=seed_label,
    )  # fmt: skip
    rng = np.random.default_rng(seed)
    log_ref = np.log(ref)
    theta = log_ref.copy()  # logits; pi_theta = softmax(theta) starts at pi_ref
    adam = AdamState(m=np.zeros(k), v=np.zeros(k))
    hist = {"probs": [], "objective": [], "kl": [], "reward": []}

    start = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore"):  # inf / NaN are caught below, by name
        for it in range(n_iterations):
            # 1. sample from the current (old) policy
            log_p_old = log_softmax(theta)
            y = rng.choice(k, size=batch_size, p=np.exp(log_p_old))
            # 2. KL-penalised reward: $R_i = r(y_i) - \beta \log(\pi_{old}(y_i) / \pi_{ref}(y_i))$
            reward_kl = r[y] - beta * (log_p_old[y] - log_ref[y])
            # 3. advantage with a baseline: $A_i = R_i - \bar R$
            adv = reward_kl - reward_kl.mean() if baseline else reward_kl
            # 4. n_epochs Adam ascent steps on the clipped surrogate
            lr_t = lr * (1 - it / n_iterations) if anneal_lr else lr
            for _ in range(n_epochs):
                grad = clipped_surrogate_grad(theta, y, log_p_old, adv, clip_eps)
                theta = adam_step(theta, grad, adam, lr_t)
            # float64 overflow (rewards or beta far too large) or divergence: a clear error, not NaN
            if not (np.isfinite(adv).all() and np.isfinite(adam.v).all() and np.isfinite(theta).all()):
                _raise_overflow(r, beta, lr, clip_eps)
            probs = np.exp(log_softmax(theta))
            obj, kl, rew = _objective(probs, log_ref, r, beta)
            for key, val in zip(hist, (probs, obj, kl, rew)):
                hist[key].append(val)
    wall = time.perf_counter() - start

    return RLHFResult(
        probs=np.exp(log_softmax(theta)),
        n_samples=n_iterations * batch_size,
        n_iterations=n_iterations,
        n_gradient_steps=n_iterations * n_epochs,
        wall_time_s=wall,
        hyperparameters=hyperparameters,
        history={key: np.asarray(val) for key, val in hist.items()},
    )
