"""`python -m dpo_teach.figures`: the one command that rewrites the committed figures/."""

from __future__ import annotations

import pytest

from dpo_teach import figures, plotting

REPO = plotting.repo_root()


def test_finds_the_notebooks_that_save_figures():
    found = figures.figure_notebooks(REPO)
    assert [p.name[:2] for p in found] == ["00", "01", "03", "04", "05", "06", "07", "08"]
    assert figures.figure_names(found[3])[:2] == ["04_beta_path", "04_frontier"]
    assert [p.name[:2] for p in figures.figure_notebooks(REPO, ["5", "04", "05"])] == ["04", "05"]


def test_refuses_what_it_cannot_do_with_a_clear_message(monkeypatch, capsys):
    with pytest.raises(figures.FiguresError, match="choose from 00 01 03 04 05"):
        figures.figure_notebooks(REPO, ["02"])  # notebook 02 saves no figure
    assert figures.main(["--fast"]) == 2  # a fast run must not overwrite the committed figures
    assert "--out" in capsys.readouterr().err
    monkeypatch.setattr(figures, "repo_root", lambda: None)  # as for an installed package
    assert figures.main(["--only", "01"]) == 2
    assert "clone" in capsys.readouterr().err


def test_fast_run_writes_only_where_it_is_told(tmp_path):
    """One small notebook in fast mode (~5 s): its figures land in --out; the committed figures
    and the notebook file are untouched."""
    notebook = REPO / "notebooks" / "01_toy_example.ipynb"
    committed = {p: p.stat().st_mtime_ns for p in (REPO / "figures").glob("*.png")}
    source = notebook.read_bytes()
    assert figures.main(["--fast", "--only", "01", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["01_beta_direction.png", "01_beta_sweep.png"]
    assert {p: p.stat().st_mtime_ns for p in (REPO / "figures").glob("*.png")} == committed
    assert notebook.read_bytes() == source
