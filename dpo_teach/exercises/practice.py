r"""Practice questions inside notebooks 01-06 (issue 31), and how their answers are read.

Each notebook asks two or more short questions next to the idea they test: a number to compute, a
prediction written down before a cell computes the answer, or a choice between a few statements.
The checks follow the pattern of the graded set (notebook 09): a right answer prints one line and
returns ``True``; a wrong one raises an ``AssertionError`` that says why it is wrong, in English or
Chinese (``set_language``). One difference: an answer still left as the placeholder ``...`` (or
``None``) prints a "not answered yet" note and returns ``False`` instead of raising, so a notebook
runs from top to bottom before the learner has answered anything. These questions are practice:
the grader scores notebook 09 only.

Here: the readers of an answer (a number, a letter, a set of answers) shared by the checks; the
checks of notebooks 01-03 are in :mod:`.practice_basics`, those of 04-06 in :mod:`.practice_models`.
"""

from __future__ import annotations

from . import feedback as fb
from .language import tr
from .matching import low_precision

__all__ = ["pending", "answer_number", "answer_choice", "answer_set"]


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


def answer_number(check: str, name: str, value, expected: float, variants, where: str) -> float:
    """``value`` read as a float64 and compared with ``expected``; ``variants`` are the
    ``(hint, wrong value)`` mistakes whose hints a matching answer is shown."""
    x = fb.number(check, name, value)
    fb.compare_number(check, name, x, expected, variants, where, low_precision(value))
    return x


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
