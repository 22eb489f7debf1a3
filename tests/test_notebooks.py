"""Structure of every notebook (their numbers are checked by the `assert`s they run under nbval).

Committed without outputs, kernelspec ``python3``, open with "What you will learn", close with a
five-line summary, import from ``dpo_teach`` instead of redefining its formulas, import no private
module and not the CLI, and save their figures (numbered like the notebook) through
``dpo_teach.plotting.save_figure``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

import dpo_teach.numpy_dpo as nd
import dpo_teach.torch_dpo as td

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
FIGURES = ROOT / "figures"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb")) + sorted((NOTEBOOKS / "solutions").glob("*.ipynb"))
LIBRARY_NAMES = sorted(set(nd.__all__) | set(td.__all__))
SAVE_FIGURE = re.compile(r'save_figure\(\s*\w+\s*,\s*"([^"]*)"\s*\)')


def label(path: Path) -> str:
    return str(path.relative_to(NOTEBOOKS))


def number(path: Path) -> str:
    return path.name[:2]


def is_exercises(path: Path) -> bool:
    return "exercises" in path.stem  # students write their own functions there


def code_of(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def imports_of(nb) -> list[tuple[str, str | None]]:
    """``(module, name)`` of every import in the code cells (IPython magics and shell lines skipped)."""
    found = []
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        source = "\n".join(
            line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                found += [(alias.name, None) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                found += [("." * node.level + (node.module or ""), alias.name) for alias in node.names]
    return found


@pytest.fixture(params=PATHS, ids=label)
def notebook(request):
    return request.param, nbformat.read(request.param, as_version=4)


def test_every_notebook_is_found_and_numbered():
    names = [p.name for p in PATHS]
    assert len(PATHS) >= 6 and "01_toy_example.ipynb" in names
    assert all(re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", n) for n in names), names
    top = [number(p) for p in PATHS if p.parent == NOTEBOOKS]
    assert len(top) == len(set(top)), f"two notebooks share a number: {sorted(top)}"
    for solution in (p for p in PATHS if p.parent != NOTEBOOKS):  # a solution belongs to a notebook
        assert any(p.parent == NOTEBOOKS and p.stem in solution.stem for p in PATHS), solution.name


def test_committed_clean_with_python3_kernel(notebook):
    path, nb = notebook
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{label(path)}: clear the outputs before committing"
            assert cell.execution_count is None, f"{label(path)}: clear the execution counts"


def test_opens_with_what_you_learn_and_closes_with_five_line_summary(notebook):
    path, nb = notebook
    first, last = nb.cells[0], nb.cells[-1]
    assert first.cell_type == "markdown" and first.source.startswith(f"# {number(path)} · "), (
        f"{label(path)}: the title starts with the notebook's own number"
    )
    assert "What you will learn" in first.source, label(path)
    assert last.cell_type == "markdown" and last.source.startswith("## Summary"), label(path)
    assert len(re.findall(r"^\d\. ", last.source, flags=re.M)) == 5, (
        f"{label(path)}: the summary has five lines"
    )


CHEATSHEET_LINK = re.compile(r"\]\(((?:\.\./)+docs/cheatsheet\.md)\)")


def summary_links_cheatsheet(path, source: str) -> bool:
    """The summary links docs/cheatsheet.md by a relative path that resolves from the notebook."""
    return any(
        (path.parent / m).resolve() == ROOT / "docs" / "cheatsheet.md"
        for m in CHEATSHEET_LINK.findall(source)
    )


def test_the_summary_links_the_one_page_recap(notebook):
    path, nb = notebook
    assert summary_links_cheatsheet(path, nb.cells[-1].source), (
        f"{label(path)}: end the summary with a link to the recap, [the cheatsheet](../docs/cheatsheet.md)"
    )


def test_the_recap_link_check_fails_on_a_missing_or_broken_link():
    path = NOTEBOOKS / "01_toy_example.ipynb"
    assert summary_links_cheatsheet(path, "[the cheatsheet](../docs/cheatsheet.md)")
    assert not summary_links_cheatsheet(path, "1. no link")
    assert not summary_links_cheatsheet(
        path, "[the cheatsheet](../../docs/cheatsheet.md)"
    )  # resolves outside
    assert summary_links_cheatsheet(NOTEBOOKS / "solutions" / "x.ipynb", "[c](../../docs/cheatsheet.md)")


def test_uses_the_library_and_redefines_none_of_its_formulas(notebook):
    path, nb = notebook
    modules = {m for m, _ in imports_of(nb)}
    assert any(m == "dpo_teach" or m.startswith("dpo_teach.") for m in modules), label(path)
    if is_exercises(path):
        return
    code = code_of(nb)
    for fn in LIBRARY_NAMES:
        assert not re.search(rf"^\s*def {fn}\b", code, flags=re.M), f"{label(path)} redefines {fn}"
    assert "assert " in code, f"{label(path)} checks no fact with assert"


def test_imports_neither_the_cli_nor_private_modules(notebook):
    path, nb = notebook
    for module, name in imports_of(nb):
        full = f"{module}.{name}" if name else module
        assert not module.startswith("."), f"{label(path)}: relative import {module}"
        if not full.startswith("dpo_teach"):
            continue
        assert "dpo_teach.finetune" not in full and "dpo_teach.__main__" not in full, f"{label(path)}: {full}"
        private = [p for p in full.split(".") if p.startswith("_")]
        assert not private, f"{label(path)} imports the private {full}"


def test_figures_are_numbered_like_the_notebook_and_committed(notebook):
    path, nb = notebook
    code = code_of(nb)
    names = SAVE_FIGURE.findall(code)
    assert len(names) == code.count("save_figure("), f'{label(path)}: save_figure(fig, "NN_name") only'
    assert len(names) == len(set(names)), f"{label(path)} saves a figure twice"
    for name in names:
        assert name.startswith(f"{number(path)}_"), (
            f"{label(path)} saves {name}: number it {number(path)}_..."
        )
        png = FIGURES / f"{name}.png"
        regenerate = f"python -m dpo_teach.figures --only {number(path)}"
        assert png.is_file(), f"figures/{name}.png is missing: run {regenerate}"
    if names:
        assert ("dpo_teach.plotting", "save_figure") in imports_of(nb)


def test_every_committed_figure_comes_from_a_notebook():
    saved = {name for p in PATHS for name in SAVE_FIGURE.findall(code_of(nbformat.read(p, 4)))}
    committed = {p.stem for p in FIGURES.glob("*.png")}
    assert committed == saved, f"orphaned: {sorted(committed - saved)}, missing: {sorted(saved - committed)}"


def test_beta_direction_stated_once():
    """A larger beta keeps the policy closer to the reference: said once in notebook 01, at most
    once (e.g. in its summary) in any other notebook, and nowhere the other way round."""
    statement = "A larger $\\beta$ keeps the policy closer"
    text = {p: "\n".join(c.source for c in nbformat.read(p, 4).cells) for p in PATHS}
    assert text[NOTEBOOKS / "01_toy_example.ipynb"].count(statement) == 1
    for path, source in text.items():
        assert source.count(statement) <= 1, f"{label(path)} says it more than once"
        assert "smaller $\\beta$ keeps" not in source, label(path)


def test_the_chinese_summaries_link_the_recap_too():
    zh = sorted((NOTEBOOKS / "zh").glob("*.ipynb")) + sorted((NOTEBOOKS / "zh" / "solutions").glob("*.ipynb"))
    missing = [
        p.name for p in zh if not summary_links_cheatsheet(p, nbformat.read(p, as_version=4).cells[-1].source)
    ]
    assert zh and not missing, (
        f"notebooks/zh: end the 小结 with a link to ../../docs/cheatsheet.md: {missing}"
    )
