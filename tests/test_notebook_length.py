"""Each notebook's main line stays readable: at most ``LIMIT`` markdown words (issue 31).

The main line is every markdown cell outside the appendix. The appendix runs from the markdown cell
with a line starting ``## Appendix`` up to the ``## Summary`` cell (``## 小结`` in Chinese), which
counts as main line again. A word is a run of non-space characters (headings, formulas and table
cells included). Detail that verifies the library belongs in the appendix; repeated explanations
are shortened rather than moved.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("0*.ipynb"))  # the English notebooks; zh/ and solutions/ follow them
LIMIT = 2000

APPENDIX = re.compile(r"^## Appendix", flags=re.M)
SUMMARY = re.compile(r"^## (Summary|小结)", flags=re.M)
WORD = re.compile(r"\S+")


def main_line_words(nb) -> int:
    """Markdown words outside ``## Appendix`` .. ``## Summary``."""
    words, in_appendix = 0, False
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        if APPENDIX.search(cell.source):
            in_appendix = True
        if SUMMARY.search(cell.source):
            in_appendix = False
        if not in_appendix:
            words += len(WORD.findall(cell.source))
    return words


def length_problem(name: str, nb) -> str | None:
    """Why ``nb``'s main line is too long, or None when it fits."""
    words = main_line_words(nb)
    if words <= LIMIT:
        return None
    return (f"{name}: {words} main-line markdown words, over the limit of {LIMIT} by {words - LIMIT}; "
            "shorten repeated explanations, or move library checks to the '## Appendix' before '## Summary'")


def test_the_notebooks_are_found():
    assert len(PATHS) >= 10 and PATHS[0].name == "00_map.ipynb"


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_main_line_is_at_most_2000_words(path):
    problem = length_problem(f"notebooks/{path.name}", nbformat.read(path, as_version=4))
    assert problem is None, problem


def test_the_length_check_fails_on_2001_words_and_passes_them_in_the_appendix():
    new_md = nbformat.v4.new_markdown_cell
    long_text = " ".join(["word"] * (LIMIT - 2))  # with "## Section" below: 2001 words

    def notebook(*sources):
        cells = [new_md(s) for s in sources] + [nbformat.v4.new_code_cell("x = 1")]
        return nbformat.v4.new_notebook(cells=cells)

    too_long = notebook("## Section", long_text, "one")
    assert main_line_words(too_long) == LIMIT + 1
    problem = length_problem("synthetic.ipynb", too_long)
    assert problem is not None and problem.startswith("synthetic.ipynb: 2001 main-line markdown words")
    assert length_problem("synthetic.ipynb", notebook("## Section", long_text)) is None  # exactly 2000
    # the same words under an appendix heading: only the Summary after it counts again
    in_appendix = notebook("## Appendix: checks", "## Section", long_text, "one", "## Summary\n\n1. done")
    assert main_line_words(in_appendix) == 4 and length_problem("synthetic.ipynb", in_appendix) is None
    # a Chinese summary closes the appendix too; a "### Appendix" subsection does not open one
    assert main_line_words(notebook("## Appendix", long_text, "## 小结 一")) == 3
    assert length_problem("synthetic.ipynb", notebook("### Appendix", long_text, "one", "two")) is not None
