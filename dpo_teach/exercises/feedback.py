"""How :mod:`dpo_teach.exercises` reads a number a student gives and words its feedback: turn the
answer into float64 (or fail clearly on a malformed one), compare it with its reference, and phrase
the messages (which hints explain an answer: ``matching``; a student's function: ``calls``).

Every failure is an ``AssertionError`` whose message names the check, the input, the expected
and received values, and hints for the classic mistakes whose output matches the answer, in the
feedback's language (``language``).
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np

from .language import PASS_MARKS, get_language, tr
from .matching import ATOL, RTOL, agrees_to_digits, close, explain, precision_note


def passed(message: str) -> bool:
    """The one line a right answer prints (``message`` already in the feedback's language)."""
    mark = PASS_MARKS[1] if get_language() == "zh" else PASS_MARKS[0] + " "
    print(f"{mark}{message}")
    return True


def hint_lines(hints) -> str:
    """One ``Hint:`` line per distinct hint, in order, in the feedback's language."""
    unique = list(dict.fromkeys(tr(h) for h in hints))  # keep order, drop repeats
    return "".join("\n" + tr("Hint: {hint}", hint=h) for h in unique)


def fmt(x) -> str:
    return f"{float(x):.10g}"


def to_numpy(value):
    """A torch tensor as a NumPy array (bfloat16 read as float32); anything else unchanged."""
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        tensor = value.detach().cpu()  # a torch tensor, even one that requires grad or on a GPU
        return (tensor.float() if str(tensor.dtype) == "torch.bfloat16" else tensor).numpy()
    return value


def placeholder(check: str, name: str):
    return AssertionError(
        tr(
            "{check}: {name} is still the placeholder `...`: replace it with your answer",
            check=check,
            name=name,
        )
    )


def number(check: str, name: str, value) -> float:
    """A single real number (float64) from a float, int, ``Fraction``, ``Decimal``, NumPy or torch
    scalar; anything else fails clearly."""
    if value is Ellipsis:
        raise placeholder(check, name)
    if value is None:
        raise AssertionError(
            tr(
                "{check}: {name} is None; assign the number you computed "
                "(a function that only prints returns None)",
                check=check,
                name=name,
            )
        )
    if isinstance(value, (bool, np.bool_)):
        raise AssertionError(
            tr(
                "{check}: {name} is the bool {value}; give a number",
                check=check,
                name=name,
                value=repr(value),
            )
        )
    if isinstance(value, (str, bytes)):
        raise AssertionError(
            tr(
                "{check}: {name} is the string {value}; give a number, not text",
                check=check,
                name=name,
                value=repr(value),
            )
        )
    try:
        arr = np.asarray(to_numpy(value))
        if arr.dtype == object and arr.size and all(isinstance(v, (Fraction, Decimal)) for v in arr.flat):
            arr = arr.astype(np.float64)  # an exact Fraction or Decimal: its nearest float64
    except Exception as err:  # noqa: BLE001 - any conversion failure is the student's input
        raise AssertionError(
            tr(
                "{check}: {name} is a {kind}, not a number ({err})",
                check=check,
                name=name,
                kind=type(value).__name__,
                err=err,
            )
        ) from None
    if arr.dtype.kind not in "iuf":
        dtype = tr(" of dtype {dtype}", dtype=arr.dtype) if isinstance(value, np.ndarray) else ""
        raise AssertionError(
            tr(
                "{check}: {name} must be a real number, got a {kind}{dtype}",
                check=check,
                name=name,
                kind=type(value).__name__,
                dtype=dtype,
            )
        )
    if arr.size != 1:
        raise AssertionError(
            tr(
                "{check}: {name} must be a single number, got an array of shape "
                "{shape}; pick the one value the exercise asks for",
                check=check,
                name=name,
                shape=arr.shape,
            )
        )
    x = float(arr.reshape(()))
    if math.isnan(x):
        raise AssertionError(
            tr(
                "{check}: {name} is NaN. NaN comes from the log of a negative "
                "number: did you take the log of a log-probability?",
                check=check,
                name=name,
            )
        )
    if math.isinf(x):
        raise AssertionError(
            tr(
                "{check}: {name} is {x}: an overflow (exp of a large number) or log(0) somewhere",
                check=check,
                name=name,
                x=x,
            )
        )
    return x


def compare_number(
    check: str, name: str, x: float, expected: float, variants, where: str, dtype: str | None = None
) -> None:
    """Fail unless ``x`` is close to ``expected``; ``variants`` are (hint, value) mistakes;
    ``dtype`` is the answer's low-precision float type (``low_precision``), if any."""
    if close(x, expected):
        return
    hints = explain(x, expected, variants, dtype, what="value")
    if not hints and agrees_to_digits(x, expected):
        hints.append(
            precision_note(dtype, "value")
            if dtype in ("float16", "bfloat16")
            else tr(
                "close, but not within the tolerance: compute it in code rather than typing a rounded number"
            )
        )
    raise wrong_answer(check, name, where, fmt(expected), fmt(x), tolerance(), hints)


def wrong_answer(
    check: str, name: str, where: str, expected, received, tolerance_text: str, hints
) -> AssertionError:
    """The error for a wrong answer: what was expected and received (already formatted), the
    tolerance as the check states it, then one ``Hint:`` line per hint."""
    return AssertionError(
        tr(
            "{check}: {name} is wrong for {where}\n  expected {expected}\n"
            "  received {received}   {tolerance}",
            check=check,
            name=name,
            where=where,
            expected=expected,
            received=received,
            tolerance=tolerance_text,
        )
        + hint_lines(hints)
    )


def tolerance() -> str:
    """The tolerance every comparison uses, as the messages state it."""
    return tr("(tolerance rtol={rtol}, atol={atol})", rtol=f"{RTOL:g}", atol=f"{ATOL:g}")
