"""How :mod:`dpo_teach.exercises` reads a student's answer and words its feedback: turn the answer
into float64 (or fail clearly on a malformed one), call a student's function safely, compare one
number with its reference, and phrase the messages (which hints explain an answer: ``matching``).

Every failure is an ``AssertionError`` whose message names the check, the input, the expected
and received values, and hints for the classic mistakes whose output matches the answer.
"""

from __future__ import annotations

import math
import warnings
from decimal import Decimal
from fractions import Fraction

import numpy as np

from .matching import ATOL, RTOL, agrees_to_digits, close, explain, precision_note


def passed(message: str) -> bool:
    """The one line a right answer prints."""
    print(f"Correct! {message}")
    return True


def hint_lines(hints) -> str:
    """One ``Hint:`` line per distinct hint, in order."""
    unique = list(dict.fromkeys(hints))  # keep order, drop repeats
    return "".join(f"\nHint: {h}" for h in unique)


def fmt(x) -> str:
    return f"{float(x):.10g}"


def _to_numpy(value):
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        tensor = value.detach().cpu()  # a torch tensor, even one that requires grad or on a GPU
        return (tensor.float() if str(tensor.dtype) == "torch.bfloat16" else tensor).numpy()
    return value


def _placeholder(check: str, name: str):
    return AssertionError(f"{check}: {name} is still the placeholder `...`: replace it with your answer")


def number(check: str, name: str, value) -> float:
    """A single real number (float64) from a float, int, ``Fraction``, ``Decimal``, NumPy or torch
    scalar; anything else fails clearly."""
    if value is Ellipsis:
        raise _placeholder(check, name)
    if value is None:
        raise AssertionError(
            f"{check}: {name} is None; assign the number you computed "
            "(a function that only prints returns None)"
        )
    if isinstance(value, (bool, np.bool_)):
        raise AssertionError(f"{check}: {name} is the bool {value!r}; give a number")
    if isinstance(value, (str, bytes)):
        raise AssertionError(f"{check}: {name} is the string {value!r}; give a number, not text")
    try:
        arr = np.asarray(_to_numpy(value))
        if arr.dtype == object and arr.size and all(isinstance(v, (Fraction, Decimal)) for v in arr.flat):
            arr = arr.astype(np.float64)  # an exact Fraction or Decimal: its nearest float64
    except Exception as err:  # noqa: BLE001 - any conversion failure is the student's input
        raise AssertionError(f"{check}: {name} is a {type(value).__name__}, not a number ({err})") from None
    if arr.dtype.kind not in "iuf":
        dtype = f" of dtype {arr.dtype}" if isinstance(value, np.ndarray) else ""
        raise AssertionError(f"{check}: {name} must be a real number, got a {type(value).__name__}{dtype}")
    if arr.size != 1:
        raise AssertionError(
            f"{check}: {name} must be a single number, got an array of shape "
            f"{arr.shape}; pick the one value the exercise asks for"
        )
    x = float(arr.reshape(()))
    if math.isnan(x):
        raise AssertionError(
            f"{check}: {name} is NaN. NaN comes from the log of a negative "
            "number: did you take the log of a log-probability?"
        )
    if math.isinf(x):
        raise AssertionError(
            f"{check}: {name} is {x}: an overflow (exp of a large number) or log(0) somewhere"
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
            else "close, but not within the tolerance: compute it in code rather than typing a rounded number"
        )
    raise AssertionError(
        f"{check}: {name} is wrong for {where}\n  expected {fmt(expected)}\n  received "
        f"{fmt(x)}   (tolerance rtol={RTOL:g}, atol={ATOL:g})" + hint_lines(hints)
    )


def require_callable(check: str, fn) -> None:
    if fn is Ellipsis:
        raise _placeholder(check, "the function")
    if not callable(fn):
        raise AssertionError(
            f"{check}: expected a function, got a {type(fn).__name__}; pass the "
            "function itself (my_fn), not the result of calling it (my_fn(...))"
        )


def call(check: str, fn, args, where: str):
    """Call the student's ``fn``; any exception becomes an AssertionError naming the input.

    ``sys.exit()`` inside the function (``SystemExit``) fails this exercise like any other error,
    so it cannot end a notebook or a grading run. ``KeyboardInterrupt`` propagates on purpose:
    it is how a student stops a function that runs forever (Ctrl-C / "Interrupt the kernel").
    """
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # overflow warnings: the check explains them itself
            return fn(*args)
    except NotImplementedError:
        raise AssertionError(
            f"{check}: your function raises NotImplementedError: replace the "
            "placeholder `raise NotImplementedError` with your code"
        ) from None
    except SystemExit as err:
        raise AssertionError(
            f"{check}: your function called sys.exit({err.code!r}) (or raised SystemExit) on {where}; "
            "return the value instead of exiting"
        ) from None
    except Exception as err:  # noqa: BLE001 - whatever the student's code raises
        hint = ""
        text = str(err)
        if isinstance(err, TypeError) and ("positional argument" in text or "keyword" in text):
            hint = "\nHint: check the signature: the exercise says which arguments, in which order"
        elif "-100" in text:
            hint = (
                "\nHint: -100 marks prompt and padding and is not a valid index: replace it "
                "(labels.clamp(min=0)) before gather, then mask those positions out of the sum"
            )
        elif "Tensor" in text and "numpy" in text.lower():
            hint = (
                "\nHint: the inputs are NumPy arrays here; use np. functions (or convert "
                "with torch.as_tensor)"
            )
        raise AssertionError(
            f"{check}: your function raised {type(err).__name__}: {text}\n  on {where}{hint}"
        ) from err


def array(check: str, what: str, value, expected: np.ndarray, where: str) -> np.ndarray:
    """The student's output as a float64 array of ``expected``'s shape, or a clear failure."""
    if value is None:
        raise AssertionError(
            f"{check}: your function returned None for {what} on {where}: did you forget `return`?"
        )
    if value is Ellipsis:
        raise _placeholder(check, what)
    if isinstance(value, tuple) and any(np.ndim(_to_numpy(v)) > 0 for v in value):
        raise AssertionError(
            f"{check}: your function returned a tuple of {len(value)} items; "
            f"return only {what}, an array of shape {expected.shape}"
        )
    try:
        arr = np.asarray(_to_numpy(value))
    except Exception as err:  # noqa: BLE001
        raise AssertionError(f"{check}: {what} could not be read as an array ({err})") from None
    if arr.dtype.kind not in "iuf":
        raise AssertionError(
            f"{check}: {what} must hold real numbers, got dtype {arr.dtype} "
            f"({type(value).__name__}) on {where}"
        )
    if arr.shape != expected.shape:
        if arr.ndim == 0:
            how = (
                "the mean over the batch"
                if close(arr, expected.mean())
                else "the sum over the batch"
                if close(arr, expected.sum())
                else "one number"
            )
            raise AssertionError(
                f"{check}: your function returned a single number ({how}) for {what} on "
                f"{where}; return one value per item, shape {expected.shape} (do not "
                "average or sum over the batch)"
            )
        fix = " (reshape or squeeze it)" if arr.size == expected.size else ""
        raise AssertionError(
            f"{check}: {what} has shape {arr.shape}, expected {expected.shape} on {where}{fix}"
        )
    return arr.astype(np.float64)


def outputs(check: str, value, names, expected, where: str):
    """The student's output(s): one array, or a tuple with one array per name."""
    if len(names) == 1:
        return (array(check, names[0], value, expected[0], where),)
    if value is Ellipsis:
        raise _placeholder(check, "the result")
    if not isinstance(value, (tuple, list)) or len(value) != len(names):
        got = f"a {type(value).__name__}"
        if isinstance(value, (tuple, list)):
            got += f" of length {len(value)}"
        raise AssertionError(f"{check}: return a tuple ({', '.join(names)}); got {got} on {where}")
    return tuple(array(check, n, v, e, where) for n, v, e in zip(names, value, expected))


def mismatch_message(check, what, where, inputs, expected, received, label, hints) -> str:
    """The message of a function that is wrong on one input."""
    return (
        f"{check}: wrong {what} on {where}\n  input: {inputs}\n  expected ({label}): "
        f"{expected}\n  received: {received}   (tolerance rtol={RTOL:g}, atol={ATOL:g})" + hint_lines(hints)
    )
