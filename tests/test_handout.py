"""``python -m dpo_teach.handout DIR``: the exercises for students, no solutions (issue 12, item 8)."""

from __future__ import annotations

import nbformat
import pytest

from dpo_teach.handout import EXERCISES, main


def test_handout_holds_the_exercises_and_a_readme_and_no_solution(tmp_path):
    written = main([str(tmp_path / "out")])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["09_exercises.ipynb", "README.md"]
    assert len(written) == 2
    nb = nbformat.read(tmp_path / "out" / "09_exercises.ipynb", as_version=4)
    original = nbformat.read(EXERCISES, as_version=4)
    assert [c.source for c in nb.cells] == [c.source for c in original.cells]
    assert "raise NotImplementedError" in "\n".join(c.source for c in nb.cells)  # unsolved
    readme = (tmp_path / "out" / "README.md").read_text()
    assert "solutions" not in readme.lower() and "Hand in" in readme


def test_handout_does_not_overwrite_without_force(tmp_path, capsys):
    (tmp_path / "README.md").write_text("my notes")
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path)])
    assert exit_info.value.code == 2 and "--force" in capsys.readouterr().err
    assert (tmp_path / "README.md").read_text() == "my notes"
    main([str(tmp_path), "--force"])
    assert (tmp_path / "README.md").read_text() != "my notes"


def test_handout_into_a_file_is_one_error_line(tmp_path, capsys):
    (tmp_path / "f").write_text("")
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "f")])
    assert exit_info.value.code == 2 and capsys.readouterr().err.startswith("error:")


def test_the_readme_counts_the_notebooks_exercises_and_names_the_repo(tmp_path, monkeypatch):
    from dpo_teach import handout

    main([str(tmp_path / "a"), "--repo", "https://example.org/course.git"])
    readme = (tmp_path / "a" / "README.md").read_text()
    assert readme.startswith("# DPO exercises\n\n12 exercises") and "git+https://example.org/course.git" in readme
    assert "What the grader runs" in readme and "Restart kernel and run all" in readme
    fewer = nbformat.read(EXERCISES, as_version=4)
    fewer.cells = [c for c in fewer.cells if not c.source.startswith("check_ipo_loss(")]  # drop one check
    nbformat.write(fewer, tmp_path / "09_exercises.ipynb")
    monkeypatch.setattr(handout, "EXERCISES", tmp_path / "09_exercises.ipynb")
    main([str(tmp_path / "b"), "--repo", "x"])
    assert "\n11 exercises" in "\n" + (tmp_path / "b" / "README.md").read_text().split("\n", 2)[2]
