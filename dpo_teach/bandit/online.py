r"""Off-policy data and its fix in the tabular world: online (iterative) DPO, and noisy labels.

Offline DPO fits once on pairs drawn from some fixed distribution; an answer never compared keeps
its logit, so its probability still moves through the normaliser (notebook 04). Online DPO
alternates: draw pairs from the **current** policy, label them (Bradley-Terry, Eq. 1), refit DPO
against the same :math:`\pi_\mathrm{ref}` on all pairs so far. Once the policy puts mass on an
answer, the next round's pairs compare it, and the fit (the Bradley-Terry MLE plugged into Eq. 4)
converges to :math:`\pi^*` as the pairs accumulate.

:func:`flip_preferences` swaps a random share of labels: the noise model of cDPO and robust DPO.
"""

from __future__ import annotations

import numpy as np

from .. import _checks
from .checks import check_distribution, check_pairs, check_rewards, check_seed
from .fit import DEFAULT_L2, fit_dpo

__all__ = ["online_dpo", "flip_preferences"]


def _round(t, probs, ref, rewards, pi_star, n_pairs) -> dict:
    nz = probs > 0
    return {
        "round": t,
        "probs": probs,
        "n_pairs": n_pairs,  # pairs the fit has seen so far
        "expected_reward": float(probs @ rewards),
        "kl_to_reference": float(np.sum(probs[nz] * np.log(probs[nz] / ref[nz]))),
        "tv_to_optimal": float(0.5 * np.abs(probs - pi_star).sum()),
    }


def online_dpo(ref_probs, rewards, beta, n_pairs, rounds, *, seed=0, initial=None, accumulate=True,
               l2=DEFAULT_L2) -> list[dict]:  # fmt: skip
    r"""Rounds :math:`t = 1..T` of: draw ``n_pairs`` pairs from :math:`\pi_{t-1}` with
    Bradley-Terry labels (:func:`~dpo_teach.bandit.sample_preferences`, seed ``seed + t``), then
    :math:`\pi_t` = ``fit_dpo`` (reference :math:`\pi_\mathrm{ref}` throughout) on every pair so far
    (``accumulate=False``: on this round's pairs only).

    :math:`\pi_0` is :math:`\pi_\mathrm{ref}`, or, with ``initial=(chosen, rejected)`` (offline,
    possibly off-policy pairs), the DPO fit on those, whose pairs then stay in the data. Returns one
    dict per round, round 0 first: ``probs``, ``n_pairs`` (seen by the fit), ``expected_reward``,
    ``kl_to_reference`` and ``tv_to_optimal`` (total variation to :math:`\pi^*`, Eq. 4).
    """
    from . import optimal_policy, sample_preferences  # the package face, loaded by now

    ref = check_distribution(ref_probs)
    r = check_rewards(rewards, ref.shape[0])
    beta = _checks.check_beta(beta)
    for name, value in (("n_pairs", n_pairs), ("rounds", rounds)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    seed = check_seed(seed)
    if seed is not None and not isinstance(seed, (int, np.integer)):
        raise ValueError("seed must be an int >= 0 or None here (round t uses seed + t)")
    pi_star = optimal_policy(ref, r, beta)
    chosen = rejected = np.zeros(0, dtype=np.intp)
    probs = ref
    if initial is not None:
        chosen, rejected = check_pairs(*initial, ref.shape[0])
        probs = fit_dpo(ref, chosen, rejected, beta, l2=l2)
    out = [_round(0, probs, ref, r, pi_star, chosen.shape[0])]
    for t in range(1, rounds + 1):
        c, j = sample_preferences(probs, r, n_pairs, None if seed is None else seed + t)
        chosen, rejected = (
            (np.concatenate((chosen, c)), np.concatenate((rejected, j))) if accumulate else (c, j)
        )
        probs = fit_dpo(ref, chosen, rejected, beta, l2=l2)
        out.append(_round(t, probs, ref, r, pi_star, chosen.shape[0]))
    return out


def flip_preferences(chosen, rejected, rate, seed=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Swap chosen and rejected of each pair independently with probability ``rate`` in [0, 1] (a
    labeller that errs at that rate). Returns ``(chosen, rejected, flipped)``, ``flipped`` a bool mask."""
    chosen, rejected = np.asarray(chosen), np.asarray(rejected)
    if chosen.shape != rejected.shape or chosen.ndim != 1:
        raise ValueError("chosen and rejected must be 1-d arrays of the same length (one entry per pair)")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ValueError(f"rate must be a probability in [0, 1], got {rate!r}")
    flipped = np.random.default_rng(check_seed(seed)).random(chosen.shape[0]) < rate
    return np.where(flipped, rejected, chosen), np.where(flipped, chosen, rejected), flipped
