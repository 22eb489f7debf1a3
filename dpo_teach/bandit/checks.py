"""Input checks of the tabular world, shared by :mod:`dpo_teach.bandit` and its fits (``fit``,
``rlhf``), so every tabular function raises the same errors; and the stable log-softmax."""

from __future__ import annotations

import numpy as np

from .. import _checks

__all__ = [
    "check_distribution",
    "check_rewards",
    "check_n_actions",
    "check_pairs",
    "check_index_range",
    "check_l2",
    "check_number",
    "check_flag",
    "check_seed",
    "log_softmax",
]


def check_distribution(probs, name: str = "ref_probs", positive: bool = True) -> np.ndarray:
    """A 1-d float64 distribution over K >= 2 answers (every entry > 0 unless ``positive=False``)."""
    p = _checks.as_numeric_array(name, probs, "probs").astype(np.float64)  # None, text, complex: rejected
    if p.ndim != 1 or p.shape[0] < 2:
        raise ValueError(f"{name} must be a 1-d array of K >= 2 probabilities, got shape {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError(f"{name} contains NaN or inf; it must be a probability distribution")
    if (p < 0).any() or (positive and (p == 0).any()):
        raise ValueError(
            f"{name} must give every answer a positive probability (smallest entry {p.min():.3g}): "
            "log pi_ref(y) appears in Eq. 4 and Eq. 7; drop answers with probability 0"
        )
    if abs(p.sum() - 1.0) > 1e-6:
        raise ValueError(
            f"{name} must sum to 1 (a probability distribution), but it sums to {p.sum():.6g}; "
            "normalise it with p / p.sum(), or pass probabilities rather than logits"
        )
    return p / p.sum()


def check_rewards(rewards, n_actions: int, name: str = "rewards") -> np.ndarray:
    """A 1-d float64 array of ``n_actions`` finite rewards."""
    r = _checks.as_numeric_array(name, rewards).astype(np.float64)  # None, text, complex: rejected
    if r.ndim != 1 or r.shape[0] != n_actions:
        raise ValueError(
            f"{name} must hold one reward per answer: expected shape ({n_actions},) to match "
            f"ref_probs, got {r.shape}"
        )
    if not np.isfinite(r).all():
        raise ValueError(f"{name} contains NaN or inf; rewards must be finite numbers")
    return r


def check_n_actions(n_actions) -> int:
    """The number of answers K as an int >= 2."""
    if isinstance(n_actions, bool) or not isinstance(n_actions, (int, np.integer)) or n_actions < 2:
        raise ValueError(f"n_actions must be an integer >= 2 (the number of answers K), got {n_actions!r}")
    return int(n_actions)


def check_index_range(name: str, idx: np.ndarray, n_actions: int) -> None:
    """Raise unless every answer index in the non-empty integer array ``idx`` lies in [0, K)."""
    if idx.min() < 0 or idx.max() >= n_actions:
        raise ValueError(
            f"{name} has indices in [{idx.min()}, {idx.max()}] but there are only "
            f"{n_actions} answers; indices must lie in [0, {n_actions - 1}]"
        )


def check_pairs(chosen, rejected, n_actions: int) -> tuple[np.ndarray, np.ndarray]:
    """1-d integer arrays of equal length >= 1, values in [0, K), chosen[i] != rejected[i]."""
    out = []
    for name, idx in (("chosen", chosen), ("rejected", rejected)):
        idx = np.asarray(idx)
        if idx.size == 0:
            raise ValueError(f"{name} is empty: at least one preference pair is needed")
        if idx.ndim != 1 or idx.dtype.kind not in "iu":
            raise ValueError(
                f"{name} must be a 1-d array of integer answer indices, got dtype {idx.dtype} "
                f"and shape {idx.shape}"
            )
        check_index_range(name, idx, n_actions)
        out.append(idx.astype(np.intp))
    if out[0].shape != out[1].shape:
        raise ValueError(
            f"chosen and rejected must have the same length (one entry per pair), got "
            f"{out[0].shape[0]} and {out[1].shape[0]}"
        )
    same = np.flatnonzero(out[0] == out[1])
    if same.size:
        raise ValueError(
            f"{same.size} pair(s) compare an answer with itself (first at position {same[0]}); "
            "such a pair carries no preference, drop it"
        )
    return out[0], out[1]


def check_number(name: str, value, hint: str) -> float:
    """A real scalar as a float: not a bool, not a string (text is never parsed as a number), not
    an array with more than one entry. ``hint`` says what a good value looks like."""
    arr = None
    if not isinstance(value, (bool, np.bool_, str, bytes)) and value is not None:
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError, RuntimeError):
            arr = None
    if arr is None or arr.ndim != 0 or arr.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be a number ({hint}), got {type(value).__name__} {value!r}")
    return float(arr)


def check_l2(l2) -> float:
    """A ridge strength: a finite float >= 0."""
    l2 = check_number("l2", l2, "a tiny ridge such as 1e-6, or 0 for none")
    if not np.isfinite(l2) or l2 < 0:
        raise ValueError(f"l2 must be a finite number >= 0 (a tiny ridge such as 1e-6), got {l2!r}")
    return l2


def check_flag(name: str, value) -> bool:
    """A switch: ``True`` or ``False`` (a string such as ``"False"`` would silently be true)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def check_seed(seed):
    """What ``numpy.random.default_rng`` accepts for reproducible sampling: ``None``, an int >= 0,
    or a ``numpy.random.Generator`` (also a ``SeedSequence`` or ``BitGenerator``)."""
    generators = (np.random.Generator, np.random.SeedSequence, np.random.BitGenerator)
    if seed is None or isinstance(seed, generators):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(
            f"seed must be an int >= 0 (e.g. seed=0), None (fresh randomness) or a "
            f"numpy.random.Generator, got {type(seed).__name__} {seed!r}"
        )
    return seed


def log_softmax(logits: np.ndarray) -> np.ndarray:
    r""":math:`\log\mathrm{softmax}(z)` of a 1-d array, stable for any finite logits."""
    # Stable: subtract the max before exponentiating (logsumexp). Entries of -inf (probability 0)
    # are fine as long as the max is finite.
    z = logits - logits.max()
    return z - np.log(np.exp(z).sum())
