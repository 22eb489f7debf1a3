"""Input checks shared by the NumPy and torch twins, so both raise the same errors.

Each twin computes cheap summaries of its inputs with its own library (``np.isnan(x).any()``
or ``torch.isnan(x).any()``) and hands them here; the wording of every error lives in one place.
"""

from __future__ import annotations

import math

# Sums of log-probabilities are <= 0. Allow a hair of rounding above zero, nothing more.
LOGP_TOLERANCE = 1e-9


def check_beta(beta) -> float:
    """Return ``beta`` as a float, or raise if it is not a positive, finite scalar."""
    if isinstance(beta, bool):
        raise ValueError(f"beta must be a positive number, got the bool {beta!r}")
    if isinstance(beta, (str, bytes)):
        raise ValueError(f"beta must be a positive scalar (e.g. beta=0.1), got the string {beta!r}")
    try:
        value = float(beta)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(
            f"beta must be a positive scalar (e.g. beta=0.1), got {type(beta).__name__} {beta!r}"
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"beta must be > 0 and finite, got {value!r}: beta is the strength of the KL "
            "penalty (a larger beta keeps the policy closer to the reference); "
            "typical values are 0.1 to 0.5"
        )
    return value


def check_same_shape(named_shapes: dict[str, tuple]) -> None:
    """Raise if the arrays named in ``named_shapes`` do not all have the same shape."""
    items = list(named_shapes.items())
    first_name, first_shape = items[0]
    for name, shape in items[1:]:
        if tuple(shape) != tuple(first_shape):
            raise ValueError(
                f"shapes do not match: {first_name} has shape {tuple(first_shape)} but {name} "
                f"has shape {tuple(shape)}; pass one value per preference pair in every input "
                "(sum token log-probs to one number per sequence first)"
            )


def check_finite(name: str, has_nan: bool, has_inf: bool) -> None:
    """Raise for NaN or infinite values in an input that must be a real number."""
    if has_nan:
        raise ValueError(
            f"{name} contains NaN: check the upstream computation (a log of a negative "
            "number, 0 * inf, or a diverged model) before computing the DPO loss"
        )
    if has_inf:
        raise ValueError(
            f"{name} contains an infinite value: DPO needs finite inputs; a log-probability "
            "of -inf means a response the model gives probability 0"
        )


def check_logps(name: str, has_nan: bool, has_inf: bool, max_value: float) -> None:
    """Raise unless ``name`` holds finite log-probabilities (all <= 0)."""
    check_finite(name, has_nan, has_inf)
    if max_value > LOGP_TOLERANCE:
        hint = (
            " - did you pass probabilities instead of log-probabilities? Use log(p)"
            if max_value <= 1
            else " - log-probabilities of whole sequences are sums of log p(token) <= 0"
        )
        raise ValueError(
            f"{name} must hold log-probabilities (values <= 0), but its largest value is "
            f"{max_value:.6g}{hint}"
        )


def check_indices(name: str, shape: tuple, is_integer: bool, lo: int, hi: int, n: int) -> None:
    """Raise unless ``name`` is a 1-d integer index array with values in ``[0, n)``."""
    if not is_integer:
        raise ValueError(f"{name} must hold integer indices into pi_logps, not floats")
    if len(shape) != 1:
        raise ValueError(f"{name} must be 1-d (one index per pair), got shape {tuple(shape)}")
    if shape[0] and (lo < 0 or hi >= n):
        raise ValueError(
            f"{name} has indices in [{lo}, {hi}] but pi_logps has only {n} entries; "
            f"indices must lie in [0, {n - 1}]"
        )
