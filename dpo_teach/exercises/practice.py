r"""Practice questions inside notebooks 01-08 (issue 31), and how their answers are read.

Each notebook asks two or more short questions next to the idea they test: a number to compute, a
prediction written down before a cell computes the answer, or a choice between a few statements.
The checks follow the pattern of the graded set (notebook 09): a right answer prints one line and
returns ``True``; a wrong one raises an ``AssertionError`` that says why it is wrong, in English or
Chinese (``set_language``). One difference: an answer still left as the placeholder ``...`` (or
``None``) prints a "not answered yet" note and returns ``False`` instead of raising, so a notebook
runs from top to bottom before the learner has answered anything. These questions are practice:
the grader scores notebook 09 only.

Numbers are asked to be worked out by hand or predicted, so they are compared at a stated tolerance
of about three significant figures (``HAND_RTOL``, 0.5 %: 0.118 or 0.1175 for 0.11756, 0.693 for
ln 2), not at the graded set's 1e-6; an answer right to two figures only (0.12) is told to give three.

Here: the readers of an answer (a number, a letter, a set of answers) shared by the checks; the
checks of notebooks 01-03 are in :mod:`.practice_basics`, those of 04-06 in :mod:`.practice_models`,
those of 07-08 in :mod:`.practice_failures`.
"""

from __future__ import annotations

import numpy as np

from . import feedback as fb
from .language import tr
from .matching import ATOL, agrees_to_digits

__all__ = ["HAND_RTOL", "pending", "answer_number", "answer_choice", "answer_set"]

HAND_RTOL = 5e-3  # relative tolerance of a practice number: about three significant figures


def pending(check: str, **answers) -> bool:
    """True, after printing a "not answered yet" note, when any answer is still ``...`` or ``None``."""
    missing = [name for name, value in answers.items() if value is Ellipsis or value is None]
    if missing:
        print(
            tr(
                "{check}: not answered yet. Replace the `...` of {names} with your answer, then "
                "run this cell again.",
                check=check,
                names=", ".join(missing),
            )
        )
    return bool(missing)


def _near(a: float, b: float) -> bool:
    return bool(np.isclose(a, b, rtol=HAND_RTOL, atol=ATOL))


def answer_number(check: str, name: str, value, expected: float, variants, where: str) -> float:
    """``value`` read as a float64 and compared with ``expected`` within ``HAND_RTOL`` (about three
    significant figures); ``variants`` are the ``(hint, wrong value)`` mistakes whose hints an
    answer matching them at the same tolerance is shown."""
    x = fb.number(check, name, value)
    if _near(x, expected):
        return x
    hints = [hint for hint, v in variants if _near(x, v) and not _near(v, expected)]
    if not hints and agrees_to_digits(x, expected, digits=2):
        hints.append(tr("right to two significant figures only: give three (the check accepts 0.5 %)"))
    tolerance = tr("(tolerance 0.5 %, about three significant figures)")
    raise fb.wrong_answer(check, name, where, fb.fmt(expected), fb.fmt(x), tolerance, hints)


def _letter(check: str, name: str, value, options) -> str:
    letters = ", ".join(f"'{k}'" for k in options)
    text = value.strip().strip("()").strip().lower() if isinstance(value, str) else None
    if text not in options:
        raise AssertionError(
            tr(
                "{check}: {name} = {value} is not one of the choices; give one letter as a string: {letters}",
                check=check,
                name=name,
                value=repr(value),
                letters=letters,
            )
        )
    return text


def answer_choice(check: str, name: str, value, options: dict, right: str) -> str:
    """A multiple-choice answer: one letter of ``options`` (``letter -> why it is wrong``, the right
    letter's entry unused), given as a string; a wrong letter is told why it is wrong."""
    letter = _letter(check, name, value, options)
    if letter != right:
        raise AssertionError(
            tr("{check}: ({letter}) is not right.", check=check, letter=letter)
            + fb.hint_lines([options[letter]])
        )
    return letter


def answer_set(check: str, name: str, value, expected: set, size: int, reasons: dict) -> set:
    """A set of answer indices (0-based, each below ``size``), given as a list, tuple or set of
    ints; a wrong set is told, for each index it gets wrong, ``reasons[index]``."""
    try:
        chosen = {int(i) for i in value} if not isinstance(value, (str, bytes)) else None
        ok = chosen is not None and all(float(i) == int(i) for i in value)
    except (TypeError, ValueError):
        chosen, ok = None, False
    if not ok or not all(0 <= i < size for i in chosen):
        raise AssertionError(
            tr(
                "{check}: {name} = {value} is not a list of answer indices; give the 0-based indices "
                "(0 to {last}) as a list, e.g. [0, 2]",
                check=check,
                name=name,
                value=repr(value),
                last=size - 1,
            )
        )
    if chosen != expected:
        wrong = sorted(chosen ^ expected)
        hints = [reasons[i] for i in wrong]
        if {i - 1 for i in chosen if i > 0} == expected:
            hints.insert(0, tr("the indices are 0-based: the first answer is 0"))
        raise AssertionError(
            tr("{check}: {name} = {value} is not right.", check=check, name=name, value=sorted(chosen))
            + fb.hint_lines(hints)
        )
    return chosen
