"""``python -m dpo_teach.grade``: per-exercise scores that survive errors (issue 12, item 7).

Fixtures (tests/fixtures/grade/) are the solutions notebook and two damaged copies:
``one_error_cell`` (exercise 1's answer cell divides by zero) and ``hostile`` (exercise 3 imports
the library's dpo_loss, 4 kills the kernel with os._exit, 5 calls sys.exit inside the function, 7
loops forever, 8 prints megabytes and then answers right, 9 calls exercise 7's looping function).
All three end with the solved exercises 10-12 (the derivation, IPO), unchanged, so each scores them.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from dpo_teach.grade import CHECKS, main

FIXTURES = Path(__file__).parent / "fixtures" / "grade"
TIMEOUT = "6"  # seconds per cell: each looping cell costs this much (room for a loaded CI machine)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("grades") / "scores.csv"
    names = ["all_right.ipynb", "one_error_cell.ipynb", "hostile.ipynb"]
    rows = dict(main([str(FIXTURES / n) for n in names] + ["--timeout", TIMEOUT, "--csv", str(out)]))
    return rows, out


def statuses(results):
    return [results[n].status for n in range(1, len(CHECKS) + 1)]


def test_all_right_scores_twelve_of_twelve(graded):
    rows, _ = graded
    assert len(CHECKS) == 12
    assert statuses(rows["all_right.ipynb"]) == ["pass"] * 12
    assert all(not r.flags for r in rows["all_right.ipynb"].values())


def test_one_error_cell_costs_its_exercise_only(graded):
    rows, _ = graded
    results = rows["one_error_cell.ipynb"]
    assert statuses(results) == ["error"] + ["pass"] * 11
    assert results[1].detail.startswith("ZeroDivisionError")


def test_hostile_functions_cost_their_own_exercises_only(graded):
    rows, _ = graded
    r = rows["hostile.ipynb"]
    first_nine = ["pass", "pass", "pass", "error", "fail", "pass", "error", "pass", "error"]
    assert statuses(r) == first_nine + ["pass", "pass", "pass"]  # 10-12: solved, and call nothing hostile
    assert r[3].flags == ["uses dpo_teach"]  # passes, but the teacher sees the import
    assert "killed the kernel" in r[4].detail  # os._exit: restarted, later exercises still graded
    assert "sys.exit" in r[5].detail  # the check reports it as this exercise's failure
    assert "longer than" in r[7].detail and "longer than" in r[9].detail
    assert r[8].detail.startswith("Correct!")  # megabytes of output do not hide the verdict


def test_csv_has_one_row_per_submission_and_a_total(graded):
    _, out = graded
    rows = list(csv.DictReader(out.open()))
    assert [row["submission"] for row in rows] == ["all_right.ipynb", "one_error_cell.ipynb", "hostile.ipynb"]
    assert [row["total"] for row in rows] == ["12", "11", "8"]
    assert rows[2]["exercise_5"] == "fail" and "exercise 3: uses dpo_teach" in rows[2]["flags"]


def test_a_missing_file_is_one_error_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "nope.ipynb")])
    assert exit_info.value.code == 2 and capsys.readouterr().err.startswith("error:")


def test_an_unreadable_notebook_scores_zero_and_the_rest_are_still_graded(tmp_path, capsys):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("not json")
    rows = dict(main([str(bad)]))
    assert statuses(rows["bad.ipynb"]) == ["error"] * 12
    assert "not a readable notebook" in capsys.readouterr().out
