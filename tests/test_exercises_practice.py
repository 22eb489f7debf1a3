"""The practice questions of notebooks 01-08 (dpo_teach.exercises.practice*): a right answer passes,
each wrong answer is told it is wrong and why, an unanswered one (``...`` or ``None``) prints a note
and returns False without raising, the feedback is Chinese under ``set_language("zh")``, and every
notebook 01-08 asks at least two of them, committed unanswered.

``RIGHT`` holds the answers (the teachers' key, docs/teachers.md)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from dpo_teach import doctor
from dpo_teach import numpy_dpo as nd
from dpo_teach.bandit import optimal_policy
from dpo_teach.exercises import language, practice_basics, practice_failures, practice_models, set_language

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CHECKS = {
    name: getattr(m, name)
    for m in (practice_basics, practice_models, practice_failures)
    for name in m.__all__
    if name.startswith("check_")
}
P_TRUE = float(nd.sigmoid(2.0))  # 07: the pair's true preference, reward gap 2
P_DPO = 0.8 * P_TRUE + 0.2 * (1 - P_TRUE)  # what labels flipped with probability 0.2 show
P_CDPO = 0.8 * P_DPO + 0.2 * (1 - P_DPO)  # cDPO smooths them once more
CJK = re.compile(r"[\u4e00-\u9fff]")

RIGHT = {  # check -> the right answer(s); computed where the question asks for a computation
    "check_toy_margin": (0.2 * (math.log(0.3 / 0.2) - math.log(0.5 / 0.6)),),
    "check_loss_at_start": (math.log(2),),
    "check_optimal_share": (optimal_policy(np.array([0.5, 0.25, 0.25]), np.array([0.0, 1.0, 2.0]), 0.5)[2],),
    "check_why_z_cancels": ("b",),
    "check_chosen_gradient": (-0.5 * nd.sigmoid(1.5),),  # m = 0.5 * ((-12 + 11) - (-10 + 12)) = -1.5
    "check_one_pair_forever": ("c",),
    "check_displaced_answers": ([0, 1],),
    "check_beta_for_kl_budget": (1.0,),
    "check_logged_margin": (0.4, 4.0),
    "check_prompt_mask": ("b",),
    "check_noisy_label_loss": ("robust", 0.2),
    "check_trl_ipo_margin": (15.0,),
    "check_pick_checkpoint": (100,),
    "check_noisy_label_optimum": (P_DPO, P_CDPO),
    "check_broken_step": ("a",),
    "check_log_fix": ("c",),
}

WRONG = {  # check -> [(a wrong answer, words its feedback must hold)]
    "check_toy_margin": [((math.log(1.8),), "that is h"), ((-0.2 * math.log(1.8),), "sign")],
    "check_loss_at_start": [((0.0,), "infinite margin"), ((3 * math.log(2),), "beta changes nothing")],
    "check_optimal_share": [((0.25,), "beta -> infinity"), ((13.6,), "no probability")],
    "check_why_z_cancels": [(("a",), "Theorem 1"), (("c",), "not neglected"), (("d",), "never samples")],
    "check_chosen_gradient": [((0.5 * nd.sigmoid(1.5),), "negative"), ((-0.25,), "step 0")],
    "check_one_pair_forever": [
        (("a",), "never reaches 0"),
        (("b",), "infinite margin"),
        (("d",), "same amount"),
    ],
    "check_displaced_answers": [(([0],), "answer 1: r_phi = 0.5 is below"), (([1, 2],), "0-based")],
    "check_beta_for_kl_budget": [
        ((0.5,), "over the budget"),
        ((3.0,), "within the budget"),
        ((0.2,), "candidates"),
    ],
    "check_logged_margin": [((4.0, 4.0), "that is h"), ((0.4, 0.4), "h = m / beta has no beta")],
    "check_prompt_mask": [(("a",), "cancels in the margin"), (("d",), "padding")],
    "check_noisy_label_loss": [
        (("ipo", 0.2), "no flip rate"),
        (("cdpo", 0.8), "share flipped"),
        (("dpo", 0.2), "not a name in LOSSES"),
    ],  # fmt: skip
    "check_trl_ipo_margin": [((1.0,), "summed"), ((20.0,), "mean length"), ((30.0,), "target 1/beta")],
    "check_pick_checkpoint": [
        ((200,), "inside the collapse"),
        ((250,), "not the final one alone"),
        ((150,), "cheap alarm"),
        ((50,), "scores higher with the judge"),
        ((0,), "the reference itself"),
        ((75,), "not a checkpoint of the table"),
    ],
    "check_noisy_label_optimum": [
        ((P_TRUE, P_CDPO), "the true preference"),
        ((0.8 * P_TRUE, P_CDPO), "the flipped pairs count too"),
        ((1 - P_DPO, P_CDPO), "y_l is preferred"),
        ((P_DPO, P_DPO), "DPO's optimum"),
        ((P_DPO, P_TRUE), "robust DPO's optimum"),
        ((P_DPO, 0.6 * P_TRUE + 0.4 * (1 - P_TRUE)), "not one flip at 2 eps"),
    ],
    "check_broken_step": [
        (("b",), "optimizer"),
        (("c",), "section 3"),
        (("d",), "section 8"),
        (("e",), "grad_norm is not 0"),
    ],
    "check_log_fix": [(("a",), "exactly 0.0"), (("b",), "5e-07"), (("d",), "NaN")],
}


def test_every_check_has_a_right_and_a_wrong_answer_here():
    assert set(RIGHT) == set(WRONG) == set(CHECKS)
    assert len(CHECKS) >= 16


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_a_right_answer_passes_with_one_line(name, capsys):
    assert CHECKS[name](*RIGHT[name]) is True
    out = capsys.readouterr().out
    assert out.startswith("Correct!") and out.count("\n") == 1


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_an_unanswered_question_prints_a_note_and_does_not_raise(name, capsys):
    n = len(RIGHT[name])
    for blank in (Ellipsis, None):
        assert CHECKS[name](*([blank] * n)) is False
        assert "not answered yet" in capsys.readouterr().out
    if n > 1:  # one answer given, the other not: still a note, naming the one left
        assert CHECKS[name](RIGHT[name][0], ...) is False
        assert "not answered yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("name", "answer", "words"), [(n, a, w) for n, cases in WRONG.items() for a, w in cases]
)
def test_a_wrong_answer_is_told_it_is_wrong_and_why(name, answer, words):
    with pytest.raises(AssertionError) as info:
        CHECKS[name](*answer)
    text = str(info.value)
    assert text.startswith(name) and words in text, text


# ------------------------------------------------- numbers by hand: about three significant figures

NUMERIC = {  # check -> index of the numeric answer in RIGHT
    name: [i for i, a in enumerate(answers) if not isinstance(a, (str, list))]
    for name, answers in RIGHT.items()
}
PICKED = ("check_beta_for_kl_budget", "check_pick_checkpoint")  # a value picked from a list, not worked
NUMERIC = {name: idx for name, idx in NUMERIC.items() if idx and name not in PICKED}


def rounded(x: float, digits: int) -> float:
    return float(f"{x:.{digits - 1}e}")


def with_answer(name: str, i: int, value: float) -> tuple:
    answers = list(RIGHT[name])
    answers[i] = value
    return tuple(answers)


@pytest.mark.parametrize(("name", "i"), [(n, i) for n, idx in NUMERIC.items() for i in idx])
def test_a_number_worked_by_hand_to_three_significant_figures_passes(name, i, capsys):
    right = float(RIGHT[name][i])
    for value in (rounded(right, 3), rounded(right, 4), right * (1 + 4e-3)):
        assert CHECKS[name](*with_answer(name, i, value)) is True, value
    assert capsys.readouterr().out.count("Correct!") == 3


@pytest.mark.parametrize(("name", "i"), [(n, i) for n, idx in NUMERIC.items() for i in idx])
def test_a_number_outside_the_stated_tolerance_still_fails_and_says_the_tolerance(name, i):
    right = float(RIGHT[name][i])
    with pytest.raises(AssertionError, match=r"tolerance 0\.5 %"):
        CHECKS[name](*with_answer(name, i, right * (1 + 6e-3)))


def test_the_toy_margin_to_three_figures_passes_and_to_two_gets_a_hint(capsys):
    m = RIGHT["check_toy_margin"][0]
    assert round(m, 4) == 0.1176 and practice_basics.check_toy_margin(0.1175) is True
    assert practice_basics.check_toy_margin(0.118) is True and practice_basics.check_toy_margin(0.117) is True
    with pytest.raises(AssertionError, match="two significant figures only: give three"):
        practice_basics.check_toy_margin(0.12)
    with pytest.raises(AssertionError) as info:  # a wrong answer far off gets no rounding hint
        practice_basics.check_toy_margin(0.5)
    assert "significant figures only" not in str(info.value)


def test_ln_2_predicted_as_0_693_is_right_and_0_70_is_wrong(capsys):
    assert practice_basics.check_loss_at_start(0.693) is True
    with pytest.raises(AssertionError, match=r"tolerance 0\.5 %"):
        practice_basics.check_loss_at_start(0.70)  # 1 % off: outside the stated tolerance


@pytest.mark.parametrize(
    ("name", "answer", "words"),
    [
        ("check_toy_margin", (round(math.log(1.8), 3),), "that is h"),  # 0.588: h by hand, not m
        ("check_toy_margin", (-0.118,), "sign"),
        ("check_loss_at_start", (2.08,), "beta changes nothing"),  # 3 ln 2 by hand
        ("check_chosen_gradient", (0.409,), "negative"),
        ("check_trl_ipo_margin", (30.0,), "1/(2 beta), half of it"),
    ],
)
def test_a_mistake_worked_by_hand_to_three_figures_still_gets_its_hint(name, answer, words):
    with pytest.raises(AssertionError) as info:
        CHECKS[name](*answer)
    assert words in str(info.value), str(info.value)


def test_the_ipo_hint_for_30_no_longer_calls_it_1_over_beta():
    # beta = 0.5: 1/beta = 2; the answer 30 comes from using the target 1/beta instead of 1/(2 beta)
    with pytest.raises(AssertionError) as info:
        practice_models.check_trl_ipo_margin(30.0)
    assert "that is 1/beta" not in str(info.value) and 1 / practice_models.IPO_BETA == 2


@pytest.mark.parametrize("bad", [1, "z", ["b"], 2.5])
def test_a_malformed_choice_is_told_what_to_give(bad):
    with pytest.raises(AssertionError, match="one letter as a string"):
        practice_basics.check_why_z_cancels(bad)


def test_a_choice_accepts_upper_case_and_parentheses():
    assert practice_basics.check_why_z_cancels(" (B) ") is True


@pytest.mark.parametrize("bad", ["0, 1", [0, 7], [0.5], 3])
def test_a_malformed_set_of_answers_is_told_what_to_give(bad):
    with pytest.raises(AssertionError, match="0-based indices"):
        practice_models.check_displaced_answers(bad)


@pytest.mark.parametrize("name", sorted(WRONG))
def test_feedback_is_chinese_after_set_language(name, monkeypatch, capsys):
    monkeypatch.setenv(language.ENV, "en")  # restored after the test, so the language cannot leak
    set_language("zh")
    answer, _ = WRONG[name][0]
    with pytest.raises(AssertionError) as info:
        CHECKS[name](*answer)
    assert all(CJK.search(line) for line in str(info.value).splitlines()), str(info.value)
    CHECKS[name](*([...] * len(RIGHT[name])))
    assert CJK.search(capsys.readouterr().out)


def test_the_questions_rest_on_facts_that_can_fail():
    # 04: beta = 0.5 is just over the budget, so the question has a trap; beta = 1 is inside it
    table = practice_models._budget_table()
    assert table[0.5][0] > practice_models.BUDGET_KL > table[1.0][0]
    # 04: answer 1 has a positive reward and still loses mass ("chosen" is relative)
    assert practice_models.DISPLACED_REWARD[1] > 0 and 1 in set(RIGHT["check_displaced_answers"][0])
    # 06: TRL's IPO asks for 15 times the summed target on this path (notebook 06 works 48 at 40/60 tokens)
    assert RIGHT["check_trl_ipo_margin"][0] == pytest.approx(15 * 1 / (2 * practice_models.IPO_BETA))
    # 07: the checkpoint the judge picks is neither held-out accuracy's, held-out loss's nor the last one,
    # and the KL jumps by an order of magnitude right after it (section 2's alarm)
    rows = {row[0]: row for row in practice_failures.CHECKPOINTS}
    keep = RIGHT["check_pick_checkpoint"][0]
    assert keep == max(rows, key=lambda s: rows[s][5])
    assert keep not in (max(rows, key=lambda s: rows[s][1]), min(rows, key=lambda s: rows[s][2]), max(rows))
    assert rows[keep + 50][3] > 5 * rows[keep][3] and rows[keep + 50][4] < rows[keep][4] - 0.1
    # 07: DPO shrinks the preference toward 1/2, cDPO further
    assert 0.5 < P_CDPO < P_DPO < P_TRUE
    # 08: the log's signature is section 10.2's, and the doctor reads it so
    log = doctor.parse_log({"log_history": practice_failures.clinic_log()}, source="question")
    assert [f.id for f in doctor.diagnose(log)] == ["stuck_at_ln2", "zero_grad_norm", "empty_completions"]


# ---------------------------------------------------------------------- the notebooks


def notebook_code(number: str) -> str:
    (path,) = NOTEBOOKS.glob(f"{number}_*.ipynb")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


CALL = re.compile(r"^(check_\w+)\(", flags=re.M)
ASKED_IN = {  # notebook -> the checks it calls
    "01": {"check_toy_margin", "check_loss_at_start"},
    "02": {"check_optimal_share", "check_why_z_cancels"},
    "03": {"check_chosen_gradient", "check_one_pair_forever"},
    "04": {"check_displaced_answers", "check_beta_for_kl_budget"},
    "05": {"check_logged_margin", "check_prompt_mask"},
    "06": {"check_noisy_label_loss", "check_trl_ipo_margin"},
    "07": {"check_pick_checkpoint", "check_noisy_label_optimum"},
    "08": {"check_broken_step", "check_log_fix"},
}


def test_each_notebook_01_to_08_asks_at_least_two_questions_committed_unanswered():
    assert set().union(*ASKED_IN.values()) == set(CHECKS)
    for number, checks in ASKED_IN.items():
        code = notebook_code(number)
        assert set(CALL.findall(code)) >= checks and len(checks) >= 2, number
        for name in checks:  # the answer the check reads is still the placeholder
            args = re.search(rf"^{name}\(([^)]*)\)", code, flags=re.M).group(1).split(",")
            for arg in (a.strip() for a in args):
                assert re.search(rf"^{re.escape(arg)} = \.\.\.  # YOUR", code, flags=re.M), (
                    number,
                    name,
                    arg,
                )


def test_the_kl_budget_question_uses_notebook_04s_world():
    code = notebook_code("04")
    ref = re.search(r"^ref = np\.array\((\[[^\]]*\])\)", code, flags=re.M).group(1)
    r_true = re.search(r"^r_true = np\.array\((\[[^\]]*\])\)", code, flags=re.M).group(1)
    assert tuple(json.loads(ref)) == practice_models.BUDGET_REF
    assert tuple(json.loads(r_true)) == practice_models.BUDGET_REWARD
