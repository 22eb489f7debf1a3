"""Exercise 12, IPO (dpo_teach.exercises.family): the right answer passes in both conventions, each
classic mistake is named (the catalogue itself is run in test_exercises_mistakes.py), and the
grader sees it as exercise 12."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dpo_teach import exercises as ex
from dpo_teach import numpy_variants as nv
from dpo_teach.exercises import family
from dpo_teach.grade import CHECKS
from helpers import ipo_loss as ipo


def ipo_torch(pc, pr, rc, rr, beta, chosen_lengths=None, rejected_lengths=None):
    t = [torch.as_tensor(a) for a in (pc, pr, rc, rr)]
    if chosen_lengths is not None:
        chosen_lengths, rejected_lengths = torch.as_tensor(chosen_lengths), torch.as_tensor(rejected_lengths)
    return ipo(*t, beta, chosen_lengths, rejected_lengths)


def test_it_is_exercise_12_for_the_grader():
    assert CHECKS.index("check_ipo_loss") + 1 == 12 and len(CHECKS) == 12


@pytest.mark.parametrize("fn", [ipo, ipo_torch], ids=["numpy", "torch"])
def test_the_right_answer_passes_in_both_conventions(fn, capsys):
    assert ex.check_ipo_loss(fn) is True
    out = capsys.readouterr().out
    assert out.startswith("Correct!") and "summed form and TRL's per-token one" in out


def test_the_cases_hold_both_conventions_and_the_reference_is_the_library():
    cases = family.ipo_cases(seed=12)
    with_lengths = [c for c in cases if len(c) == 4]
    assert 0 < len(with_lengths) < len(cases)
    for _, arrays, beta, lengths in with_lengths:
        n_w, n_l = lengths.values()
        assert (n_w >= 1).all() and (n_w == np.round(n_w)).all() and (n_l >= 1).all()
        assert np.allclose(ipo(*arrays, beta, n_w, n_l), nv.ipo_loss(*arrays, beta, n_w, n_l)[0], rtol=1e-12)


def test_a_five_argument_function_is_told_to_take_the_lengths():
    def paper_only(pc, pr, rc, rr, beta):
        return ipo(pc, pr, rc, rr, beta)

    with pytest.raises(AssertionError, match="signature") as info:
        ex.check_ipo_loss(paper_only)
    assert "with lengths" in str(info.value)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda pc, pr, rc, rr, b, *n: ipo(pc, pr, rc, rr, b / 2, *n), "the 1/2 is missing"),
        (lambda pc, pr, rc, rr, b, *n: ipo(b * pc, b * pr, b * rc, b * rr, b, *n), "beta does not multiply"),
        (lambda pc, pr, rc, rr, b, *n: ipo(pc, pr, rc, rr, b), "you used the summed log-ratios"),
    ],
    ids=["missing 1/2", "beta times margin", "sums instead of means"],
)
def test_the_three_classic_mistakes_of_the_issue_are_named(wrong, hint):
    with pytest.raises(AssertionError, match="Hint: ") as info:
        ex.check_ipo_loss(wrong)
    assert hint in str(info.value)


def test_a_batch_mean_is_refused_with_its_name():
    with pytest.raises(AssertionError, match="mean over the batch"):
        ex.check_ipo_loss(lambda *a: ipo(*a).mean())
