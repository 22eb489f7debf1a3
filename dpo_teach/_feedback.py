"""The machinery behind :mod:`dpo_teach.exercises`: turn a student's answer into float64, call a
student's function safely, compare with a reference, and word the feedback.

Every failure is an ``AssertionError`` whose message names the check, the input, the expected
and received values, and hints for the classic mistakes whose output matches the answer.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

RTOL = 1e-6  # relative tolerance of every comparison (numpy.isclose)
ATOL = 1e-9  # absolute tolerance of every comparison


def passed(message: str) -> bool:
    """The one line a right answer prints."""
    print(f"Correct! {message}")
    return True


def hint_lines(hints) -> str:
    unique = list(dict.fromkeys(hints))  # keep order, drop repeats
    return "".join(f"\nHint: {h}" for h in unique)


def close(a, b) -> bool:
    """``a`` and ``b`` agree within the stated tolerance (NaN never agrees)."""
    return bool(np.isclose(a, b, rtol=RTOL, atol=ATOL))


def _fmt(x) -> str:
    return f"{float(x):.10g}"


def _to_numpy(value):
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        tensor = value.detach().cpu()  # a torch tensor, even one that requires grad or on a GPU
        return (tensor.float() if str(tensor.dtype) == "torch.bfloat16" else tensor).numpy()
    return value


def _precision_hint(raw) -> list[str]:
    """A hint when the student's output is in a low-precision float type."""
    items = raw if isinstance(raw, (tuple, list)) else (raw,)
    dtypes = {str(getattr(v, "dtype", "")).replace("torch.", "") for v in items}
    low = dtypes & {"float16", "bfloat16", "float32"}
    if not low:
        return []
    return [f"your output is {low.pop()}: compute in float64 (the inputs are float64)"]


def _placeholder(check: str, name: str):
    return AssertionError(f"{check}: {name} is still the placeholder `...`: replace it with your answer")


def number(check: str, name: str, value) -> float:
    """A single real number from a float, int, NumPy or torch scalar; anything else fails clearly."""
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


def compare_number(check: str, name: str, x: float, expected: float, variants, where: str) -> None:
    """Fail unless ``x`` is close to ``expected``; ``variants`` are (hint, value) mistakes."""
    if close(x, expected):
        return
    hints = [h for h, v in variants if np.isfinite(v) and close(x, v)]
    if not hints and abs(x - expected) <= 1e-2 * abs(expected):
        hints.append(
            "close, but not within the tolerance: compute it in code rather than typing a rounded number"
        )
    raise AssertionError(
        f"{check}: {name} is wrong for {where}\n  expected {_fmt(expected)}\n  received "
        f"{_fmt(x)}   (tolerance rtol={RTOL:g}, atol={ATOL:g})" + hint_lines(hints)
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
    """Call the student's ``fn``; any exception becomes an AssertionError naming the input."""
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # overflow warnings: the check explains them itself
            return fn(*args)
    except NotImplementedError:
        raise AssertionError(
            f"{check}: your function raises NotImplementedError: replace the "
            "placeholder `raise NotImplementedError` with your code"
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


def first_mismatch(received: np.ndarray, expected: np.ndarray):
    """Index of the first entry outside the tolerance, or None."""
    bad = ~np.isclose(received, expected, rtol=RTOL, atol=ATOL)
    return tuple(int(i) for i in np.argwhere(bad)[0]) if bad.any() else None


def _nonfinite(value, extreme: bool, nonfinite_hint, nan_hint):
    """On an extreme input a NaN or inf is overflow; on an ordinary one a NaN is a log of a
    negative number (most often the log of a log-probability)."""
    if np.isfinite(value):
        return []
    return [nonfinite_hint if extreme or np.isinf(value) else nan_hint]


def _mismatch_message(check, what, where, inputs, expected, received, label, hints):
    return (
        f"{check}: wrong {what} on {where}\n  input: {inputs}\n  expected ({label}): "
        f"{expected}\n  received: {received}   (tolerance rtol={RTOL:g}, atol={ATOL:g})" + hint_lines(hints)
    )


def _tupled(f):
    return lambda *args: (f(*args),)


def check_pair_function(
    check, fn, names, reference, variants, *, cases, nonfinite_hint, nan_hint, expected_label="reference"
) -> int:
    """Run ``fn(pc, pr, rc, rr, beta)`` on every case ``(label, (pc, pr, rc, rr), beta)``; fail on
    the first pair where an output differs from ``reference``. Returns the number of pairs.

    With one output name, ``reference`` and the ``(hint, variant)`` functions return one array;
    with several, a tuple of arrays."""
    require_callable(check, fn)
    if len(names) == 1:
        reference = _tupled(reference)
        variants = [(h, _tupled(v)) for h, v in variants]
    arg_names = ("policy_chosen_logps", "policy_rejected_logps", "ref_chosen_logps", "ref_rejected_logps")
    n = 0
    for label, arrays, beta in cases:
        expected = reference(*arrays, beta)
        where = f"{label} (B = {len(arrays[0])}, beta = {beta})"
        raw = call(check, fn, tuple(a.copy() for a in arrays) + (beta,), where)
        received = outputs(check, raw, names, expected, where)
        for j, (name, got, exp) in enumerate(zip(names, received, expected)):
            bad = first_mismatch(got, exp)
            if bad is None:
                continue
            (i,) = bad
            inputs = ", ".join(f"{a}={_fmt(x[i])}" for a, x in zip(arg_names, arrays)) + f", beta={beta}"
            with np.errstate(all="ignore"):
                hints = [h for h, v in variants if close(got[i], np.asarray(v(*arrays, beta)[j])[i])]
            margin = beta * ((arrays[0][i] - arrays[2][i]) - (arrays[1][i] - arrays[3][i]))
            hints += _nonfinite(got[i], abs(margin) > 700, nonfinite_hint, nan_hint)
            hints += _precision_hint(raw)
            raise AssertionError(
                _mismatch_message(
                    check,
                    name,
                    f"{where}, pair {i}",
                    inputs,
                    _fmt(exp[i]),
                    _fmt(got[i]),
                    expected_label,
                    hints,
                )
            )
        n += len(arrays[0])
    return n


def check_table_function(check, fn, reference, variants, *, cases, nonfinite_hint) -> int:
    """Run ``fn(ref_probs, rewards, beta)`` on every case; compare whole distributions."""
    require_callable(check, fn)
    for label, p, r, beta in cases:
        expected = reference(p, r, beta)
        where = f"{label} (K = {len(p)}, beta = {beta})"
        raw = call(check, fn, (p.copy(), r.copy(), beta), where)
        got = array(check, "pi*", raw, expected, where)
        bad = first_mismatch(got, expected)
        if bad is None:
            continue
        with np.errstate(all="ignore"):
            hints = [h for h, v in variants if np.allclose(got, v(p, r, beta), rtol=RTOL, atol=ATOL)]
        if not np.isfinite(got).all():
            hints.append(nonfinite_hint)
        elif not hints and not close(got.sum(), 1.0):
            hints.append(f"pi* must be a distribution; yours sums to {got.sum():.6g}")
        hints += _precision_hint(raw)
        inputs = f"ref_probs={np.round(p, 6).tolist()}, rewards={np.round(r, 6).tolist()}, beta={beta}"
        raise AssertionError(
            _mismatch_message(
                check,
                "pi*",
                f"{where}, first at index {bad[0]}",
                inputs,
                np.array2string(expected, precision=6),
                np.array2string(got, precision=6),
                "reference",
                hints,
            )
        )
    return len(cases)


def check_sequence_function(check, fn, reference, variants, *, cases, nonfinite_hint, nan_hint) -> int:
    """Run ``fn(logits, labels)`` on every case; fail on the first sequence that differs."""
    require_callable(check, fn)
    n = 0
    for label, logits, labels in cases:
        expected = reference(logits, labels).numpy()
        where = f"{label} (logits {tuple(logits.shape)}, labels {tuple(labels.shape)})"
        raw = call(check, fn, (logits.clone(), labels.clone()), where)
        got = array(check, "the sequence log-probs", raw, expected, where)
        bad = first_mismatch(got, expected)
        if bad is not None:
            (b,) = bad
            hints = [h for h, v in variants if close(got[b], v(logits, labels)[b].item())]
            extreme = float(logits[b].abs().max()) > 700
            hints += _nonfinite(got[b], extreme, nonfinite_hint, nan_hint)
            hints += _precision_hint(raw)
            raise AssertionError(
                _mismatch_message(
                    check,
                    "log-prob",
                    f"{where}, row {b}",
                    f"labels[{b}] = {labels[b].tolist()}",
                    _fmt(expected[b]),
                    _fmt(got[b]),
                    "reference",
                    hints,
                )
            )
        n += len(expected)
    return n
