"""The exercise notebook and its solutions (notebooks/09_exercises*.ipynb) state the same exercises;
the student's version fails on its placeholders, the solution passes."""

from __future__ import annotations

import json
from pathlib import Path

from dpo_teach import exercises as ex

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def cells(name):
    return json.loads((NOTEBOOKS / name).read_text())["cells"]


def test_student_and_solution_notebooks_state_the_same_exercises():
    student = cells("09_exercises.ipynb")
    solution = cells("solutions/09_exercises_solutions.ipynb")
    assert len(student) == len(solution)
    checks_called = set()
    for s, t in zip(student, solution):
        assert s["cell_type"] == t["cell_type"]
        src_s, src_t = "".join(s["source"]), "".join(t["source"])
        if s["cell_type"] == "markdown" and not src_s.startswith("# "):
            # statements are identical (titles may differ); a link to the repository's docs/ is one
            # folder deeper from solutions/ (../../docs/), so that it resolves from each copy
            assert src_s == src_t.replace("](../../docs/", "](../docs/")
        if s["cell_type"] == "code" and src_s.startswith("check_"):
            assert src_s == src_t  # the same check call ...
            assert "raises-exception" in s["metadata"].get("tags", [])  # ... fails on the placeholder
            assert "raises-exception" not in t["metadata"].get("tags", [])  # ... passes when solved
            checks_called.add(src_s.split("(")[0].strip().split()[-1])
        assert not s.get("outputs") and not t.get("outputs")  # committed without outputs
    assert checks_called == {n for n in ex.__all__ if n.startswith("check_")}
    assert not any("..." in "".join(c["source"]) for c in solution if c["cell_type"] == "code")
