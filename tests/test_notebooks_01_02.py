"""Structure of notebooks 01 and 02 (their numbers are checked by the `assert`s they run under nbval).

Committed without outputs, kernelspec ``python3``, open with "What you will learn", close with a
five-line summary, import the formulas from ``dpo_teach`` instead of redefining them, and save
their figures through ``dpo_teach.plotting.save_figure``.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

import dpo_teach.numpy_dpo as nd
import dpo_teach.torch_dpo as td

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
FIGURES = {
    "01_toy_example.ipynb": ["01_beta_sweep", "01_beta_direction"],
    "02_gradient.ipynb": ["02_weighting", "02_softmax_demo"],
}
LIBRARY_NAMES = sorted(set(nd.__all__) | set(td.__all__))


@pytest.fixture(params=sorted(FIGURES), ids=str)
def notebook(request):
    path = NOTEBOOKS / request.param
    return request.param, nbformat.read(path, as_version=4)


def test_committed_clean_with_python3_kernel(notebook):
    name, nb = notebook
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name}: clear the outputs before committing"
            assert cell.execution_count is None, f"{name}: clear the execution counts"


def test_opens_with_what_you_learn_and_closes_with_five_line_summary(notebook):
    name, nb = notebook
    assert nb.cells[0].cell_type == "markdown" and "What you will learn" in nb.cells[0].source
    last = nb.cells[-1]
    assert last.cell_type == "markdown" and last.source.startswith("## Summary")
    assert len(re.findall(r"^\d\. ", last.source, flags=re.M)) == 5, f"{name}: the summary has five lines"


def test_uses_the_library_and_saves_its_figures(notebook):
    name, nb = notebook
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "import dpo_teach.numpy_dpo as nd" in code and "import dpo_teach.torch_dpo as td" in code
    for fn in LIBRARY_NAMES:
        assert not re.search(rf"^\s*def {fn}\b", code, flags=re.M), f"{name} redefines {fn}"
    assert "assert " in code
    for figure in FIGURES[name]:
        assert f'save_figure(fig, "{figure}")' in code
        png = NOTEBOOKS.parent / "figures" / f"{figure}.png"
        assert png.is_file(), f"figures/{figure}.png is missing: run the notebook with DPO_TEACH_FAST=0"


def test_beta_direction_stated_once():
    """A larger beta keeps the policy closer to the reference: said once, in notebook 01."""
    text = "\n".join(c.source for f in sorted(FIGURES) for c in nbformat.read(NOTEBOOKS / f, 4).cells)
    assert text.count("A larger $\\beta$ keeps the policy closer") == 1
    assert "smaller $\\beta$ keeps" not in text
