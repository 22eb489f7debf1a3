"""Which hints explain a student's answer, for :mod:`dpo_teach.exercises`: the tolerance of every
comparison, the classic mistakes an answer matches, answers in a low-precision float type (judged
at their own precision), and numbers typed rounded.
"""

from __future__ import annotations

import math

import numpy as np

from .language import tr

RTOL = 1e-6  # relative tolerance of every comparison (numpy.isclose)
ATOL = 1e-9  # absolute tolerance of every comparison


def close(a, b) -> bool:
    """``a`` and ``b`` agree within the stated tolerance (NaN never agrees)."""
    return bool(np.isclose(a, b, rtol=RTOL, atol=ATOL))


# Low-precision float types a student's answer may come in: machine epsilon and the significant
# digits kept. An answer in one of these is judged at its own precision before any hint is given.
LOW_PRECISION = {"float16": (2.0**-10, 3), "bfloat16": (2.0**-7, 2), "float32": (2.0**-23, 7)}


def low_precision(raw) -> str | None:
    """The low-precision float type (a ``LOW_PRECISION`` key) of a NumPy or torch answer, or of one
    of the items of a tuple/list answer; None for float64 and plain Python numbers."""
    items = raw if isinstance(raw, (tuple, list)) else (raw,)
    for item in items:
        name = str(getattr(item, "dtype", "")).replace("torch.", "")
        if name in LOW_PRECISION:
            return name
    return None


def precision_note(dtype: str, what: str = "output") -> str:
    """The hint for an answer that is right up to the precision of ``dtype``."""
    digits = LOW_PRECISION[dtype][1]
    if what == "value":
        return tr(
            "your value is {dtype}, which keeps ~{digits} significant digits; compute in float64",
            dtype=dtype,
            digits=digits,
        )
    return tr(
        "your {what} is {dtype}: compute in float64 (the inputs are float64); "
        "{dtype} keeps only ~{digits} significant digits",
        what=tr("output") if what == "output" else what,
        dtype=dtype,
        digits=digits,
    )


def rtol_of(dtype: str | None) -> float:
    """The relative tolerance an answer of ``dtype`` is matched with: ``RTOL`` for float64, a few
    units in the last place of ``dtype`` for a low-precision one (rounding piles up in a formula)."""
    return RTOL if dtype is None else max(RTOL, 4 * LOW_PRECISION[dtype][0])


def agrees_to_digits(x: float, expected: float, digits: int = 3) -> bool:
    """``x`` is ``expected`` rounded to ``digits`` (or more) significant digits: within half a unit
    of the ``digits``-th significant digit of ``expected``."""
    if not (math.isfinite(x) and math.isfinite(expected)) or expected == 0:
        return False
    unit = 10.0 ** (math.floor(math.log10(abs(expected))) - digits + 1)
    return abs(x - expected) <= 0.5 * unit * (1 + 1e-9)


def _distance(a, b) -> float:
    """The largest ``|a - b|``; 0 where both are the same infinity."""
    with np.errstate(all="ignore"):
        return float(np.max(np.abs(np.where(a == b, 0.0, np.subtract(a, b)))))


def explain(received, expected, variants, dtype: str | None, what: str = "output") -> list[str]:
    """The hints that explain ``received`` (a number or an array) of the float type ``dtype``
    (``low_precision``): each ``(hint, value)`` mistake whose value it matches.

    A mistake that gives the right value on this input explains nothing and is skipped.
    A float64 answer shows every mistake it matches within the tolerance. A low-precision one is
    matched at its own precision (``rtol_of``), where the right value and several mistakes may all
    be near: the nearest wins, and the right value's explanation is ``precision_note``. A function
    output that nothing explains gets the note as well (precision lost in a cancellation)."""
    found = []
    for hint, value in variants:
        value = np.asarray(value, dtype=np.float64)
        with np.errstate(all="ignore"):
            if np.allclose(received, value, rtol=rtol_of(dtype), atol=ATOL):  # inf matches inf
                if not np.allclose(value, expected, rtol=RTOL, atol=ATOL):  # right here: no clue
                    found.append((_distance(received, value), hint))
    if dtype is not None and np.allclose(received, expected, rtol=rtol_of(dtype), atol=ATOL):
        found.append((_distance(received, expected), precision_note(dtype, what)))
    if dtype is None:
        return [h for _, h in found]
    if not found:
        return [] if what == "value" else [precision_note(dtype, what)]
    nearest = min(d for d, _ in found)
    return [h for d, h in found if d <= nearest * (1 + 1e-9)]
