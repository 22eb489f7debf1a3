r"""Exercise 11 of :mod:`dpo_teach.exercises` (the derivation, notebook 02; re-exported by
``derivation``): the shifted reward table :math:`r'(x, y) = r(x, y) + f(x)` (it changes), and a
Bradley-Terry preference (Eq. 1) computed from :math:`r` and from :math:`r'`: the same number
(Lemma 1), which is why :math:`\beta\log Z(x)` cancels in Eq. 6. Asking for :math:`r'` makes the
check test the lemma: an answer that never shifts the rewards would get the second probability
right for free. With the classic-mistake catalogues of both answers.
"""

from __future__ import annotations

import math

import numpy as np

from .. import numpy_dpo as nd
from . import calls
from . import feedback as fb
from .inputs import SHIFT_F, SHIFT_PAIR, SHIFT_PROMPT, SHIFT_REWARDS
from .language import tr
from .matching import ATOL, RTOL, low_precision

__all__ = ["check_shift_invariance", "shift_mistakes", "shifted_table_mistakes"]


def shift_mistakes(rewards, f, x: int, pair: tuple[int, int], after: bool) -> list:
    """Exercise 11: wrong values of p(y_a > y_b | x) for the reward table ``rewards`` (prompts x
    answers), before (``after=False``) or after adding ``f[x]`` to every reward of prompt ``x``."""
    a, b = pair
    shift = f[x] if after else 0.0
    row = rewards[x] + shift
    sig = lambda z: float(nd.sigmoid(z))  # noqa: E731
    other = 1 - x  # the other prompt of the two-row table
    wrong = [
        (
            tr("that is p(y_{b} > y_{a}): the margin is r(x, y_{a}) - r(x, y_{b})", a=a + 1, b=b + 1),
            sig(row[b] - row[a]),
        ),
        (tr("sigma is missing: p = sigma(r(x, y_1) - r(x, y_3)), a probability"), row[a] - row[b]),
        (tr("give the probability, not its log"), math.log(sig(row[a] - row[b]))),
        (
            tr(
                "Bradley-Terry uses exp of the rewards, e^{r_1} / (e^{r_1} + e^{r_3}), not r_1 / (r_1 + r_3) "
                "(which a shift would change)"
            ),
            row[a] / (row[a] + row[b]),
        ),
        (
            tr(
                "Bradley-Terry compares the two answers: over all three, e^{r_1} / sum_y e^{r(y)} is "
                "Plackett-Luce's probability that y_1 is ranked first"
            ),
            float(np.exp(row[a] - np.logaddexp.reduce(row))),
        ),
        (tr("compare y_{a} with y_{b}, as the exercise asks", a=a + 1, b=b + 1), sig(row[a] - row[1])),
        (
            tr("use the rewards of prompt x_{x} (row {x} of the table)", x=x + 1),
            sig(rewards[other][a] - rewards[other][b]),
        ),
    ]
    if after:
        d = rewards[x][a] - rewards[x][b]
        wrong += [
            (
                tr(
                    "shift every answer of x_{x} by the same f(x_{x}) = {f}: shifting only one "
                    "answer's reward (or adding f to the difference) changes the preference",
                    x=x + 1,
                    f=f[x],
                ),
                sig(d + f[x]),
            ),
            (
                tr(
                    "shift every answer of x_{x} by the same f(x_{x}) = {f}, not only y_{b}",
                    x=x + 1,
                    f=f[x],
                    b=b + 1,
                ),
                sig(d - f[x]),
            ),
            (tr("r + f(x) adds f(x) to the rewards; you multiplied them by it"), sig(f[x] * d)),
        ]
    return wrong


def shifted_table_mistakes(rewards, f) -> list:
    """Exercise 11: wrong tables for r'(x, y) = r(x, y) + f(x) (``rewards``: prompts x answers)."""
    one_row = rewards.copy()
    one_row[0] += f[0]
    return [
        (tr("that is r itself: add f(x) to every reward of prompt x (the lemma is about r + f(x))"), rewards),
        (tr("f(x) is added, not subtracted: r'(x, y) = r(x, y) + f(x)"), rewards - f[:, None]),
        (tr("r + f(x) adds f(x) to the rewards; you multiplied them by it"), rewards * f[:, None]),
        (tr("shift every prompt by its own f: x_2's answers get f(x_2) = {f} too", f=f[1]), one_row),
        (tr("f(x_1) belongs to the first row (prompt x_1), f(x_2) to the second"), rewards + f[::-1, None]),
    ]


def _check_shifted_table(name, shifted, rewards, f):
    expected = rewards + f[:, None]
    where = tr(
        "r'(x, y) = r(x, y) + f(x) with r = {r} (rows x_1, x_2) and f = {f}", r=SHIFT_REWARDS, f=SHIFT_F
    )
    if shifted is Ellipsis or shifted is None:
        state = tr("still the placeholder `...`") if shifted is Ellipsis else "None"
        raise AssertionError(
            tr("{name}: shifted is {state}: give the table r + f(x), shape (2, 3)", name=name, state=state)
        )
    table = calls.array(name, "shifted", shifted, expected, where)
    if np.isclose(table, expected, rtol=RTOL, atol=ATOL).all():
        return
    hints = [
        h for h, v in shifted_table_mistakes(rewards, f) if np.isclose(table, v, rtol=RTOL, atol=ATOL).all()
    ]
    raise fb.wrong_answer(name, "shifted", where, expected.tolist(), table.tolist(), fb.tolerance(), hints)


def check_shift_invariance(shifted, p_before, p_after):
    r"""Exercise 11. ``shifted``: the table :math:`r'(x, y) = r(x, y) + f(x)` for ``SHIFT_REWARDS``
    and ``SHIFT_F`` (shape (2, 3); it differs from :math:`r`). ``p_before``, ``p_after``:
    :math:`p(y_1 \succ y_3 \mid x_1) = \sigma(r(x_1, y_1) - r(x_1, y_3))` (Eq. 1) from :math:`r` and
    from :math:`r'` (an :math:`f(x)` that depends on the prompt only: Lemma 1, so the two agree)."""
    name = "check_shift_invariance"
    rewards, f, x, (a, b) = np.asarray(SHIFT_REWARDS), np.asarray(SHIFT_F), SHIFT_PROMPT, SHIFT_PAIR
    _check_shifted_table(name, shifted, rewards, f)
    expected = float(nd.bt_probability(rewards[x][a], rewards[x][b]))
    for key, raw, after in (("p_before", p_before, False), ("p_after", p_after, True)):
        value = fb.number(name, key, raw)
        wrong = shift_mistakes(rewards, f, x, (a, b), after)
        if not 0.0 <= value <= 1.0:
            raise AssertionError(
                tr(
                    "{check}: {key} = {value} is not a probability (it must lie in [0, 1]): "
                    "p = sigma(r(x_1, y_1) - r(x_1, y_3))",
                    check=name,
                    key=key,
                    value=repr(value),
                )
                + fb.hint_lines([h for h, v in wrong if math.isclose(value, v)])
            )
        note = tr(" after adding f(x_1) = {f} to every answer of x_1", f=f[x]) if after else ""
        where = tr("p(y_1 > y_3 | x_1) with rewards {r}{note}", r=SHIFT_REWARDS, note=note)
        fb.compare_number(name, key, value, expected, wrong, where, low_precision(raw))
    return fb.passed(
        tr(
            "r' differs from r by {f:g} on every answer of x_1, yet p(y_1 > y_3 | x_1) = {p:.6f} "
            "from both: a shift shared by every answer of the prompt cancels in r(x, y_1) - r(x, y_3) "
            "(Lemma 1), and so does beta log Z(x) in Eq. 6.",
            f=f[x],
            p=expected,
        )
    )
