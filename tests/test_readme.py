"""The README is written for a student first (issue 25), and its claims stay checkable.

- every shell code block of the READMEs and the docs pages holds one command (a copy button copies
  one thing to run);
- the README links the practitioner, teacher and performance pages, and every relative link of the
  READMEs and those pages lands on a file;
- the notebook table lists every notebook with the full-size time measured by
  ``benchmarks/time_notebooks.py`` (``results/notebook_times.json``);
- the teachers' commands write outside the repository;
- the fine-tune's run time reads the same in the README, its page and ``--help``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dpo_teach.course import notebook_minutes

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = {name: ROOT / "docs" / f"{name}.md" for name in ("practitioners", "teachers", "performance")}
PAGES = [README, ROOT / "README.zh-CN.md", *DOCS.values()]
BASH = re.compile(r"```bash\n(.*?)```", flags=re.S)
LINK = re.compile(r"\]\(([^)\s]+)\)")
ROW = re.compile(r"^\| \[`notebooks/(\d\d)_[a-z0-9_]+\.ipynb`\]\([^)]+\) \| ([^|]+) \|", flags=re.M)


def commands(block: str) -> list[str]:
    """The commands of a shell block: continuation lines joined, comments and blanks dropped, and
    each ``&&`` / ``;`` / ``||`` starting another command."""
    joined = block.replace("\\\n", " ")
    lines = [line.split("  #")[0].strip() for line in joined.splitlines()]
    found = []
    for line in (x for x in lines if x and not x.startswith("#")):
        found += [part for part in re.split(r"&&|\|\||;", line) if part.strip()]
    return found


def time_cell(minutes: float | None) -> str:
    return f"{minutes:.1f} min" if minutes is not None else "not measured"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shell_block_holds_one_command(page):
    for block in BASH.findall(page.read_text(encoding="utf-8")):
        assert len(commands(block)) == 1, f"{page.name}: one command per code block, not {block!r}"


def test_the_one_command_check_fails_on_two():
    assert len(commands("git clone x dpo_teach && cd dpo_teach\n")) == 2
    assert len(commands("python3 -m venv .venv\n. .venv/bin/activate\n")) == 2
    assert len(commands("python -m a \\\n    --flag 1   # a comment\n# a line of comment\n")) == 1


def test_the_readme_links_its_pages_and_every_relative_link_resolves():
    readme = README.read_text(encoding="utf-8")
    for path in DOCS.values():
        assert f"(docs/{path.name})" in readme, f"the README should link docs/{path.name}"
    for page in PAGES:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if not target.startswith(("http://", "https://", "#", "mailto:")):
                assert (page.parent / target.split("#")[0]).exists(), f"{page.name}: broken link {target}"


def test_the_notebook_table_gives_each_notebook_its_measured_time():
    rows = dict(ROW.findall(README.read_text(encoding="utf-8")))
    numbers = sorted(p.name[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert sorted(rows) == numbers, "the README's notebook table lists every notebook, 00 included"
    measured = notebook_minutes()
    for number, cell in rows.items():
        expected = time_cell(measured.get(number))
        assert cell.strip() == expected, (
            f"notebook {number}: the README says {cell.strip()!r}, results/notebook_times.json says "
            f"{expected!r} (python benchmarks/time_notebooks.py --only {number} measures it)"
        )


def test_the_time_check_fails_on_a_wrong_time():
    assert time_cell(0.38) == "0.4 min" and time_cell(None) == "not measured"
    assert time_cell(1.0) != "0.4 min"


def test_teacher_commands_write_outside_the_repository():
    text = DOCS["teachers"].read_text(encoding="utf-8")
    handout = re.findall(r"python -m dpo_teach\.handout (\S+)", text)
    grade = re.findall(r"python -m dpo_teach\.grade (\S+) --csv (\S+)", text)
    assert handout and grade
    for path in handout + [p for pair in grade for p in pair]:
        assert path.startswith("~/"), f"docs/teachers.md writes {path} inside the clone: use a folder outside"


def test_the_fine_tune_time_reads_the_same_everywhere(capsys):
    from dpo_teach.finetune.args import build_parser

    build_parser("test").print_help()
    help_text = " ".join(capsys.readouterr().out.split())
    assert "tiny (CPU, about a minute)" in help_text
    for page in (README, DOCS["practitioners"]):
        text = page.read_text(encoding="utf-8")
        assert "about a minute" in text and "under a minute" not in text, page.name
