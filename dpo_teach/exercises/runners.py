"""How :mod:`dpo_teach.exercises` checks a function a student wrote: run it on every input of a
list of cases, compare each output with the reference in float64, and fail on the first entry
that differs, with the hints of the classic mistakes whose output matches it there.

Three shapes of exercise: functions of a batch of preference pairs ``fn(pc, pr, rc, rr, beta)``,
of a table ``fn(ref_probs, rewards, beta)``, and of a batch of sequences ``fn(logits, labels)``.
"""

from __future__ import annotations

import numpy as np

from .. import numpy_dpo as nd
from .calls import array, call, mismatch_message, outputs, require_callable
from .feedback import fmt
from .language import tr
from .matching import ATOL, RTOL, explain, low_precision, rtol_of

PAIR_ARGUMENTS = ("policy_chosen_logps", "policy_rejected_logps", "ref_chosen_logps", "ref_rejected_logps")


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


def _tupled(f):
    return lambda *args: (f(*args),)


def check_pair_function(
    check, fn, names, reference, variants, *, cases, nonfinite_hint, nan_hint, expected_label=None
) -> int:
    """Run ``fn(pc, pr, rc, rr, beta)`` on every case ``(label, (pc, pr, rc, rr), beta)``; fail on
    the first pair where an output differs from ``reference``. Returns the number of pairs.

    A case may carry a fourth item, ``{name: array}`` of per-pair arrays passed after ``beta``
    (e.g. the completion lengths): ``fn(pc, pr, rc, rr, beta, *extra.values())``.
    With one output name, ``reference`` and the ``(hint, variant)`` functions return one array;
    with several, a tuple of arrays."""
    require_callable(check, fn)
    expected_label = expected_label or tr("reference")
    if len(names) == 1:
        reference = _tupled(reference)
        variants = [(h, _tupled(v)) for h, v in variants]
    n = 0
    for label, arrays, beta, *more in cases:
        extra = more[0] if more else {}
        tail = (beta, *extra.values())
        expected = reference(*arrays, *tail)
        where = tr("{label} (B = {b}, beta = {beta})", label=label, b=len(arrays[0]), beta=beta)
        args = tuple(a.copy() for a in arrays) + (beta,) + tuple(a.copy() for a in extra.values())
        raw = call(check, fn, args, where)
        received = outputs(check, raw, names, expected, where)
        for j, (name, got, exp) in enumerate(zip(names, received, expected)):
            bad = first_mismatch(got, exp)
            if bad is None:
                continue
            (i,) = bad
            inputs = ", ".join(f"{a}={fmt(x[i])}" for a, x in zip(PAIR_ARGUMENTS, arrays)) + f", beta={beta}"
            inputs += "".join(f", {a}={fmt(x[i])}" for a, x in extra.items())
            with np.errstate(all="ignore"):
                wrong = [(h, np.asarray(v(*arrays, *tail)[j])[i]) for h, v in variants]
            hints = explain(got[i], exp[i], wrong, low_precision(raw))
            m = nd.margin_unchecked(*(a[i] for a in arrays), beta)
            hints += _nonfinite(got[i], abs(m) > 700, nonfinite_hint, nan_hint)
            raise AssertionError(
                mismatch_message(
                    check,
                    name,
                    tr("{where}, pair {i}", where=where, i=i),
                    inputs,
                    fmt(exp[i]),
                    fmt(got[i]),
                    expected_label,
                    hints,
                )
            )
        n += len(arrays[0])
    return n


def check_table_function(check, fn, reference, variants, *, cases, nonfinite_hint, nan_hint) -> int:
    """Run ``fn(ref_probs, rewards, beta)`` on every case; compare whole distributions.

    A non-finite answer gets ``nonfinite_hint`` (overflow) where overflow is possible (an inf, or
    ``|r / beta|`` beyond what ``exp`` survives), ``nan_hint`` for a NaN on an ordinary table."""
    require_callable(check, fn)
    for label, p, r, beta in cases:
        expected = reference(p, r, beta)
        where = tr("{label} (K = {k}, beta = {beta})", label=label, k=len(p), beta=beta)
        raw = call(check, fn, (p.copy(), r.copy(), beta), where)
        got = array(check, "pi*", raw, expected, where)
        bad = first_mismatch(got, expected)
        if bad is None:
            continue
        dtype = low_precision(raw)
        with np.errstate(all="ignore"):
            hints = explain(got, expected, [(h, v(p, r, beta)) for h, v in variants], dtype)
        if not np.isfinite(got).all():
            extreme = np.isinf(got).any() or np.abs(np.asarray(r) / beta).max() > 700
            hints.append(nonfinite_hint if extreme else nan_hint)
        elif not hints and not np.isclose(got.sum(), 1.0, rtol=rtol_of(dtype), atol=ATOL):
            hints.append(tr("pi* must be a distribution; yours sums to {total}", total=f"{got.sum():.6g}"))
        inputs = f"ref_probs={np.round(p, 6).tolist()}, rewards={np.round(r, 6).tolist()}, beta={beta}"
        raise AssertionError(
            mismatch_message(
                check,
                "pi*",
                tr("{where}, first at index {i}", where=where, i=bad[0]),
                inputs,
                np.array2string(expected, precision=6),
                np.array2string(got, precision=6),
                tr("reference"),
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
        where = tr(
            "{label} (logits {logits}, labels {labels})",
            label=label,
            logits=tuple(logits.shape),
            labels=tuple(labels.shape),
        )
        raw = call(check, fn, (logits.clone(), labels.clone()), where)
        got = array(check, tr("the sequence log-probs"), raw, expected, where)
        bad = first_mismatch(got, expected)
        if bad is not None:
            (b,) = bad
            wrong = [(h, v(logits, labels)[b].item()) for h, v in variants]
            hints = explain(got[b], expected[b], wrong, low_precision(raw))
            extreme = float(logits[b].abs().max()) > 700
            hints += _nonfinite(got[b], extreme, nonfinite_hint, nan_hint)
            raise AssertionError(
                mismatch_message(
                    check,
                    tr("log-prob"),
                    tr("{where}, row {b}", where=where, b=b),
                    f"labels[{b}] = {labels[b].tolist()}",
                    fmt(expected[b]),
                    fmt(got[b]),
                    tr("reference"),
                    hints,
                )
            )
        n += len(expected)
    return n
