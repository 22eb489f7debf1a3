"""``python -m dpo_teach.grade``: per-exercise scores that survive errors (issue 12) and hostile
students (issue 24).

Fixtures (tests/fixtures/grade/): the solutions notebook and two damaged copies:
``one_error_cell`` (exercise 1's answer cell divides by zero) and ``hostile`` (exercise 3 imports
the library's dpo_loss, 4 kills the kernel with os._exit, 5 calls sys.exit inside the function, 7
loops forever, 8 prints megabytes and then answers right, 9 calls exercise 7's looping function).
The attacks of issue 24 are small notebooks (exercises 1, 2 and 4) written by ``make_attacks.py``:
``read_solutions``, ``write_outside``, ``kill_grader``, ``forge``, ``library_hidden``,
``setup_timeout``, and ``three_right`` (no attack).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from dpo_teach.grade import CHECKS, main
from dpo_teach.grade.report import csv_text
from dpo_teach.grade.sandbox import COURSE, bwrap_status
from dpo_teach.grade.verdict import Result

FIXTURES = Path(__file__).parent / "fixtures" / "grade"
# seconds per cell: each of the three looping cells costs this much (and a core). The other cells
# take < 0.1 s at load 6 on 2 cores (the library's import has its own 300 s): a limit, 60x those.
TIMEOUT = "6"
BWRAP, WHY_NOT = bwrap_status()
needs_bwrap = pytest.mark.skipif(not BWRAP, reason=f"needs bubblewrap: {WHY_NOT}")
LANDED = COURSE / "tests" / "fixtures" / "grade" / "written_by_a_submission.txt"  # write_outside's target


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
    assert "ZeroDivisionError" in results[1].detail


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


def test_csv_has_one_row_per_submission_a_total_and_the_feedback(graded):
    _, out = graded
    rows = list(csv.DictReader(out.open()))[:3]  # the files first, in the order given, then the folder
    assert [row["submission"] for row in rows] == ["all_right.ipynb", "one_error_cell.ipynb", "hostile.ipynb"]
    assert [row["total"] for row in rows] == ["12", "11", "8"]
    assert rows[2]["exercise_5"] == "fail" and "exercise 3: uses dpo_teach" in rows[2]["flags"]
    assert "sys.exit" in rows[2]["feedback_5"] and rows[0]["feedback_1"].startswith("Correct!")


# ---------------------------------------------------------------- a class folder with the attacks

CLASS = {
    "alice/09_exercises.ipynb": "three_right.ipynb",
    "bob/09_exercises.ipynb": "kill_grader.ipynb",
    "carol/09_exercises.ipynb": "../../../notebooks/09_exercises.ipynb",  # the hand-out, untouched
    '=HYPERLINK("x")+forge.ipynb': "forge.ipynb",
    "read_solutions.ipynb": "read_solutions.ipynb",
    "write_outside.ipynb": "write_outside.ipynb",
    "library_hidden.ipynb": "library_hidden.ipynb",
    "setup_timeout.ipynb": "setup_timeout.ipynb",
}


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class") / "submissions"
    for name, source in CLASS.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / source, folder / name)
    before = {p: p.read_bytes() for p in folder.rglob("*.ipynb")}
    out = folder.parent / "scores.csv"
    single = [str(FIXTURES / n) for n in ("all_right.ipynb", "one_error_cell.ipynb", "hostile.ipynb")]
    try:
        rows = dict(main([*single, str(folder), "--timeout", TIMEOUT, "--csv", str(out)]))
        landed = LANDED.exists()
    finally:
        LANDED.unlink(missing_ok=True)  # written by the attack, if it got through
    return rows, out, landed, before


@pytest.fixture(scope="module")
def graded(attacked):
    rows, out, *_ = attacked  # one grading run for every fixture: the submissions run side by side
    return rows, out


def test_rows_are_named_by_their_path_in_the_folder(attacked):
    rows, *_ = attacked
    assert sorted(rows) == sorted([*CLASS, "all_right.ipynb", "one_error_cell.ipynb", "hostile.ipynb"])


def test_the_grader_and_the_other_rows_survive_a_kill(attacked):
    rows, *_ = attacked
    assert statuses(rows["alice/09_exercises.ipynb"])[:4] == ["pass", "pass", "missing", "pass"]
    assert rows["bob/09_exercises.ipynb"][4].status == "pass"  # graded after the kills


def test_forged_verdicts_score_fail(attacked):
    rows, *_ = attacked
    forged = rows['=HYPERLINK("x")+forge.ipynb']
    assert statuses(forged)[:4] == ["fail", "fail", "missing", "fail"]  # a redefined check, patched checks, a print


def test_an_untouched_handout_is_missing_everywhere(attacked):
    rows, *_ = attacked
    carol = rows["carol/09_exercises.ipynb"]
    assert statuses(carol) == ["missing"] * 12, [r.detail for r in carol.values()]


def test_a_timed_out_setup_cell_is_named_as_the_cause(attacked):
    rows, *_ = attacked
    r = rows["setup_timeout.ipynb"]
    assert r[1].status == "error" and r[1].detail.startswith("cell 1 ran longer than")
    assert r[2].status == "pass"  # needs none of its names
    assert r[4].status == "error" and "name 'np' is not defined: cell 1, which defines it, ran longer" in r[4].detail


def test_library_use_in_check_cells_and_under_another_name_is_flagged(attacked):
    rows, *_ = attacked
    r = rows["library_hidden.ipynb"]
    assert r[2].status == "pass" and "uses dpo_teach" in r[2].flags  # all of it in the check cell
    assert r[4].flags == ["calls dpo_teach.numpy_dpo as reference"]  # no "dpo_teach" in its source


def test_the_csv_is_formula_safe(attacked):
    _, out, *_ = attacked
    names = [row["submission"] for row in csv.DictReader(out.open())]
    assert "'=HYPERLINK(\"x\")+forge.ipynb" in names
    row = ["-1", "+x", "@x", "\tx", "\rx", "=x", "ok -"]
    text = csv_text([(name, {1: Result("fail", name)}) for name in row])
    cells = [line[0] for line in csv.reader(text.splitlines()[1:])]
    assert [c for c in cells if not c.startswith("'")] == ["ok -"]


@needs_bwrap
def test_the_solutions_cannot_be_read(attacked):
    rows, *_ = attacked
    assert rows["read_solutions.ipynb"][1].status == "fail"  # right only if it read the solutions


@needs_bwrap
def test_writes_outside_the_temporary_directory_do_not_land(attacked):
    rows, _, landed, before = attacked
    assert rows["write_outside.ipynb"][1].status == "pass" and not landed
    assert all(p.read_bytes() == data for p, data in before.items())  # the submissions are unchanged


@needs_bwrap
def test_without_bubblewrap_a_kill_still_costs_one_exercise(monkeypatch, capsys):
    from dpo_teach.grade import cli, run

    status = (False, "bubblewrap switched off by this test")
    monkeypatch.setattr(run, "bwrap_status", lambda: status)
    monkeypatch.setattr(cli, "bwrap_status", lambda: status)
    rows = dict(main([str(FIXTURES / n) for n in ("kill_grader.ipynb", "three_right.ipynb")] + ["--timeout", TIMEOUT]))
    assert "warning: bubblewrap switched off" in capsys.readouterr().err
    details = [r.detail for r in rows["kill_grader.ipynb"].values()]
    assert statuses(rows["kill_grader.ipynb"])[:4] == ["error", "error", "missing", "pass"], details
    assert statuses(rows["three_right.ipynb"])[:4] == ["pass", "pass", "missing", "pass"]


def test_a_launcher_being_killed_counts_as_dead_before_it_is_gone():
    """The race behind a flaky CI run: the kill is posted, the cell reports idle, and only later
    does the launcher exit. ``doomed`` must say True from the zombie on, False while it lives."""
    import subprocess
    import time

    from dpo_teach.grade.kernel import doomed

    child = subprocess.Popen(["sleep", "30"])
    try:
        assert not doomed(child.pid)  # alive, nothing pending: the wrong answer it must not give
        child.kill()
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child.pid}/status").read_text().find("State:\tZ") < 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # killed, not yet reaped: a zombie
        assert doomed(child.pid)
    finally:
        child.kill()
        child.wait()
    assert doomed(child.pid)  # reaped: gone


# ---------------------------------------------------------------- refused before anything runs


def test_two_submissions_with_one_name_are_refused(tmp_path, capsys):
    for who in ("alice", "bob"):
        (tmp_path / who).mkdir()
        shutil.copyfile(FIXTURES / "three_right.ipynb", tmp_path / who / "09_exercises.ipynb")
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "alice" / "09_exercises.ipynb"), str(tmp_path / "bob" / "09_exercises.ipynb")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith("error: two submissions are named 09_exercises.ipynb")
    assert "graded" not in err


@pytest.mark.parametrize(
    ("csv_name", "message"),
    [("/proc/x.csv", "cannot write"), ("sub.ipynb", "is a submission"), ("notes.csv", "not a CSV this grader wrote")],
)
def test_a_bad_csv_path_is_refused_before_grading(tmp_path, capsys, csv_name, message):
    submission = tmp_path / "sub.ipynb"
    shutil.copyfile(FIXTURES / "three_right.ipynb", submission)
    (tmp_path / "notes.csv").write_text("my own notes\n")
    with pytest.raises(SystemExit) as exit_info:
        main([str(submission), "--csv", str(tmp_path / csv_name) if not csv_name.startswith("/") else csv_name])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith("error:") and message in err and "graded" not in err
    assert (tmp_path / "notes.csv").read_text() == "my own notes\n"
    assert submission.read_bytes() == (FIXTURES / "three_right.ipynb").read_bytes()


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
