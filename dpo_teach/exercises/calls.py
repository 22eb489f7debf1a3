"""How :mod:`dpo_teach.exercises` runs a function a student wrote and reads what it returns: call it
safely (any exception, ``sys.exit`` included, becomes feedback naming the input), turn its output
into float64 arrays of the expected shape (or fail clearly), and word the message of an output that
is wrong on one input. Messages are in the feedback's language (``language``).
"""

from __future__ import annotations

import warnings

import numpy as np

from .feedback import hint_lines, placeholder, to_numpy, tolerance
from .language import tr
from .matching import close


def require_callable(check: str, fn) -> None:
    if fn is Ellipsis:
        raise placeholder(check, tr("the function"))
    if not callable(fn):
        raise AssertionError(
            tr(
                "{check}: expected a function, got a {kind}; pass the "
                "function itself (my_fn), not the result of calling it (my_fn(...))",
                check=check,
                kind=type(fn).__name__,
            )
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
            tr(
                "{check}: your function raises NotImplementedError: replace the "
                "placeholder `raise NotImplementedError` with your code",
                check=check,
            )
        ) from None
    except SystemExit as err:
        raise AssertionError(
            tr(
                "{check}: your function called sys.exit({code}) (or raised SystemExit) on {where}; "
                "return the value instead of exiting",
                check=check,
                code=repr(err.code),
                where=where,
            )
        ) from None
    except Exception as err:  # noqa: BLE001 - whatever the student's code raises
        hint = ""
        text = str(err)
        if isinstance(err, TypeError) and ("positional argument" in text or "keyword" in text):
            hint = hint_lines([tr("check the signature: the exercise says which arguments, in which order")])
        elif "-100" in text:
            hint = hint_lines(
                [
                    tr(
                        "-100 marks prompt and padding and is not a valid index: replace it "
                        "(labels.clamp(min=0)) before gather, then mask those positions out of the sum"
                    )
                ]
            )
        elif "Tensor" in text and "numpy" in text.lower():
            hint = hint_lines(
                [tr("the inputs are NumPy arrays here; use np. functions (or convert with torch.as_tensor)")]
            )
        raise AssertionError(
            tr(
                "{check}: your function raised {kind}: {text}\n  on {where}",
                check=check,
                kind=type(err).__name__,
                text=text,
                where=where,
            )
            + hint
        ) from err


def array(check: str, what: str, value, expected: np.ndarray, where: str) -> np.ndarray:
    """The student's output as a float64 array of ``expected``'s shape, or a clear failure."""
    if value is None:
        raise AssertionError(
            tr(
                "{check}: your function returned None for {what} on {where}: did you forget `return`?",
                check=check,
                what=what,
                where=where,
            )
        )
    if value is Ellipsis:
        raise placeholder(check, what)
    if isinstance(value, tuple) and any(np.ndim(to_numpy(v)) > 0 for v in value):
        raise AssertionError(
            tr(
                "{check}: your function returned a tuple of {n} items; "
                "return only {what}, an array of shape {shape}",
                check=check,
                n=len(value),
                what=what,
                shape=expected.shape,
            )
        )
    try:
        arr = np.asarray(to_numpy(value))
    except Exception as err:  # noqa: BLE001
        raise AssertionError(
            tr("{check}: {what} could not be read as an array ({err})", check=check, what=what, err=err)
        ) from None
    if arr.dtype.kind not in "iuf":
        raise AssertionError(
            tr(
                "{check}: {what} must hold real numbers, got dtype {dtype} ({kind}) on {where}",
                check=check,
                what=what,
                dtype=arr.dtype,
                kind=type(value).__name__,
                where=where,
            )
        )
    if arr.shape != expected.shape:
        if arr.ndim == 0:
            how = (
                tr("the mean over the batch")
                if close(arr, expected.mean())
                else tr("the sum over the batch")
                if close(arr, expected.sum())
                else tr("one number")
            )
            raise AssertionError(
                tr(
                    "{check}: your function returned a single number ({how}) for {what} on "
                    "{where}; return one value per item, shape {shape} (do not "
                    "average or sum over the batch)",
                    check=check,
                    how=how,
                    what=what,
                    where=where,
                    shape=expected.shape,
                )
            )
        fix = tr(" (reshape or squeeze it)") if arr.size == expected.size else ""
        raise AssertionError(
            tr(
                "{check}: {what} has shape {got}, expected {shape} on {where}{fix}",
                check=check,
                what=what,
                got=arr.shape,
                shape=expected.shape,
                where=where,
                fix=fix,
            )
        )
    return arr.astype(np.float64)


def outputs(check: str, value, names, expected, where: str):
    """The student's output(s): one array, or a tuple with one array per name."""
    if len(names) == 1:
        return (array(check, names[0], value, expected[0], where),)
    if value is Ellipsis:
        raise placeholder(check, tr("the result"))
    if not isinstance(value, (tuple, list)) or len(value) != len(names):
        got = tr("a {kind}", kind=type(value).__name__)
        if isinstance(value, (tuple, list)):
            got += tr(" of length {n}", n=len(value))
        raise AssertionError(
            tr(
                "{check}: return a tuple ({names}); got {got} on {where}",
                check=check,
                names=", ".join(names),
                got=got,
                where=where,
            )
        )
    return tuple(array(check, n, v, e, where) for n, v, e in zip(names, value, expected))


def mismatch_message(check, what, where, inputs, expected, received, label, hints) -> str:
    """The message of a function that is wrong on one input."""
    text = tr(
        "{check}: wrong {what} on {where}\n  input: {inputs}\n  expected ({label}): {expected}\n"
        "  received: {received}   {tolerance}",
        check=check,
        what=what,
        where=where,
        inputs=inputs,
        label=label,
        expected=expected,
        received=received,
        tolerance=tolerance(),
    )
    return text + hint_lines(hints)
