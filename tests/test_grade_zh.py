"""The teacher's tools in Chinese (issue 29): ``python -m dpo_teach.handout DIR --lang zh`` writes the
Chinese notebook and README, ``python -m dpo_teach.grade --lang zh`` prints its table and the
feedback in Chinese, end to end on a Chinese hand-out a student filled in; English stays the default
and a Chinese run leaves the process's language as it found it."""

from __future__ import annotations

import csv
import os
import re

import nbformat
import pytest

from dpo_teach.exercises import language
from dpo_teach.grade import CHECKS, main
from dpo_teach.grade.report import in_language, table
from dpo_teach.grade.verdict import Result
from dpo_teach.handout import EXERCISES_ZH
from dpo_teach.handout import main as handout

CJK = re.compile(r"[\u4e00-\u9fff]")
TIMEOUT = "30"  # seconds per cell, room for a loaded machine


# ---------------------------------------------------------------------- the hand-out


def test_the_chinese_handout_holds_the_chinese_notebook_and_readme(tmp_path):
    written = handout([str(tmp_path / "out"), "--lang", "zh", "--repo", "https://example.org/course.git"])
    assert sorted(p.name for p in written) == ["09_exercises.ipynb", "README.md"]
    nb = nbformat.read(tmp_path / "out" / "09_exercises.ipynb", as_version=4)
    assert [c.source for c in nb.cells] == [c.source for c in nbformat.read(EXERCISES_ZH, as_version=4).cells]
    assert 'set_language("zh")' in next(c.source for c in nb.cells if c.cell_type == "code")
    readme = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# DPO 练习\n\n共 12 道") and "git+https://example.org/course.git" in readme
    assert "正确！" in readme and "pypi.tuna.tsinghua.edu.cn" in readme and "whl/cpu" in readme
    assert "solutions" not in readme.lower() and "答案" in readme


def test_an_unknown_handout_language_is_one_error_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        handout([str(tmp_path / "out"), "--lang", "fr"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith("error:") and "--lang zh" in err
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------- the table, without kernels

GRADER_DETAILS = [  # what run.py, verdict.py and cli.py write, as they write it
    "no check cell for this exercise",
    "the answer is still the placeholder `...`",
    "the function still raises NotImplementedError (the placeholder)",
    "the answers could not be read back from the kernel (ValueError)",
    "the check cell did not call the check",
    "the check cell ran longer than 30 s and was interrupted",
    "the check killed the kernel (os._exit, exit(), a signal or a crash); it was restarted",
    "cell 7 raised ZeroDivisionError: division by zero",
    "cell 7 ran longer than 30 s and was interrupted",
    "NameError: name 'x' is not defined: cell 3, which defines it, raised ValueError: bad",
    "grading failed: RuntimeError: the kernel could not load dpo_teach (timeout)",
    "a.ipynb: not a readable notebook (JSONDecodeError: x)",
]
LEFT_IN_ENGLISH = re.compile(
    r"\b(cell|check|answer|placeholder|raised|ran|kernel|grading|readable|defines|longer)\b"
)


@pytest.mark.parametrize("detail", GRADER_DETAILS)
def test_the_graders_own_details_are_worded_in_chinese(detail):
    text = in_language(detail, "zh")
    assert CJK.search(text) and not LEFT_IN_ENGLISH.search(text), text
    assert in_language(detail, "en") == detail


def test_the_detail_check_fails_on_a_phrase_it_does_not_know():
    text = in_language("the kernel sang a song", "zh")
    assert not CJK.search(text) and LEFT_IN_ENGLISH.search(text)


def test_the_table_in_chinese():
    results = {n: Result("missing", "the answer is still the placeholder `...`") for n in range(1, len(CHECKS) + 1)}
    results[1] = Result("pass", "正确！r_hat_w = 0.018232，r_hat_l = -0.022314（beta = 0.1）。")
    results[2] = Result("fail", "check_bt_probability：p 不对（beta = 1 时的小例子）", ["uses dpo_teach"])
    results[3] = Result("error", "cell 7 raised ZeroDivisionError: division by zero")
    text = table([("alice/09_exercises.ipynb", results)], "zh")
    lines = text.splitlines()
    assert lines[0].startswith("提交") and lines[0].endswith("总分") and "1/12" in lines[2]
    assert lines[3].startswith("ok = 通过，x = 答案错误")
    assert "alice/09_exercises.ipynb 练习 2 错误 [用了 dpo_teach]: check_bt_probability：p 不对" in text
    assert "练习 3 出错 [" not in text and "练习 3 出错: 第 7 个单元格抛出了 ZeroDivisionError" in text
    english = table([("alice/09_exercises.ipynb", results)])
    assert english.splitlines()[0].startswith("submission") and not CJK.search(english.split("\n", 4)[3])


# ---------------------------------------------------------------------- end to end, one kernel


def filled_in(path):
    """The Chinese hand-out with exercise 1 right and exercise 2 wrong; the rest untouched."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.startswith("beta = 0.1\nr_hat_w = ..."):
            cell.source = "beta = 0.1\nr_hat_w = beta * math.log(0.6 / 0.5)\nr_hat_l = beta * math.log(0.4 / 0.5)\n"
        elif cell.cell_type == "code" and cell.source.startswith("p = ..."):
            cell.source = "p = 0.4  # the wrong way round\n"
    nbformat.write(nb, path)


def test_the_chinese_handout_graded_in_chinese_end_to_end(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(language.ENV, raising=False)
    handout([str(tmp_path / "class" / "alice"), "--lang", "zh", "--repo", "x"])
    (tmp_path / "class" / "alice" / "README.md").unlink()
    filled_in(tmp_path / "class" / "alice" / "09_exercises.ipynb")
    capsys.readouterr()
    out_csv = tmp_path / "scores.csv"
    rows = dict(main([str(tmp_path / "class"), "--lang", "zh", "--timeout", TIMEOUT, "--csv", str(out_csv)]))
    assert language.ENV not in os.environ  # the run's language did not leak into the process
    results = rows["alice/09_exercises.ipynb"]
    assert [results[n].status for n in (1, 2, 3, 4)] == ["pass", "fail", "missing", "missing"]
    assert results[1].detail.startswith("正确！r_hat_w = 0.018232")
    assert results[2].detail.startswith("check_bt_probability：p 不对"), results[2].detail
    printed = capsys.readouterr().out
    assert printed.startswith("提交") and "ok = 通过" in printed
    assert "alice/09_exercises.ipynb 练习 2 错误: check_bt_probability：p 不对" in printed
    with out_csv.open(newline="", encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))  # the header stays English: a gradebook's column names
    assert row["exercise_1"] == "pass" and row["feedback_2"].startswith("check_bt_probability：p 不对")
    assert row["feedback_3"] == "答案还是占位符 `...`"
    assert row["feedback_4"] == "函数仍然抛出 NotImplementedError（占位符）"
