"""The course site's parts on a small made-up repository: which pages each book holds, how links
between files become links between pages, what the execution cache keys on, and the command
line's bad input. The built site in a real browser: tests/test_site_browser.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from dpo_teach.site import SiteError
from dpo_teach.site.browser import raw_tex, switched
from dpo_teach.site.cli import build_parser, main
from dpo_teach.site.execute import clean_outputs, executed_notebook, execution_key, package_fingerprint
from dpo_teach.site.language_switch import switch_url
from dpo_teach.site.plan import ZH_NOTE, plan_books
from dpo_teach.site.stage import stage_book, table_math
from dpo_teach.site.zh_search import BROKEN, FIXED, fix_language_data

REPO = Path(__file__).resolve().parents[1]


def notebook(*cells: str, code: str = "x = 1") -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(c) for c in cells] + [nbformat.v4.new_code_cell(code)]
    return nbformat.writes(nb)


@pytest.fixture
def repo(tmp_path) -> Path:
    """README pair, two notebooks (01 with a Chinese version), a solution, a doc, a figure."""
    files = {
        "README.md": "# course\n\n[中文](README.zh-CN.md) | [one](notebooks/01_a.ipynb) | "
        "[two](notebooks/02_b.ipynb) | [docs](docs/x.md) | [bench](benchmarks/README.md) | "
        "[code](dpo_teach/) | [gone](notebooks/missing.png)\n",
        "README.zh-CN.md": "[English](README.md) | 中文\n\n# 课程\n\n[一](notebooks/zh/01_a.ipynb)\n",
        "notebooks/01_a.ipynb": notebook("# 01 · A\n\n[solutions](solutions/02_b_solutions.ipynb)"),
        "notebooks/02_b.ipynb": notebook(
            "# 02 · B\n\nSee ![fig](../figures/f.png).", "| a | $p(y|x)$ |\n|---|---|"
        ),
        "notebooks/zh/01_a.ipynb": notebook("# 01 · 甲\n\n英文版：[01_a.ipynb](../01_a.ipynb)"),
        "notebooks/solutions/02_b_solutions.ipynb": notebook("# 02 · B solutions"),
        "docs/x.md": "# X\n\n![f](../figures/f.png) and [two](../notebooks/02_b.ipynb#part)\n",
        "benchmarks/README.md": "# Bench\n",
        "figures/f.png": "png",
        "dpo_teach/__init__.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def staged(repo: Path, tmp_path: Path, **plan) -> Path:
    books = plan_books(repo, **plan)
    mathjax = tmp_path / "mathjax"
    mathjax.mkdir(exist_ok=True)
    (mathjax / "tex-mml-chtml.js").write_text("// mathjax", encoding="utf-8")
    executed = {p.source: json.loads((repo / p.source).read_text()) for b in books.values() for p in b.pages
                if p.is_notebook}  # fmt: skip
    stage = tmp_path / "stage"
    for lang, other in (("en", "zh"), ("zh", "en")):
        stage_book(
            repo, books[lang], books[other], stage / lang, executed=executed, mathjax=mathjax, fast=False
        )
    return stage


def markdown_of(path: Path) -> str:
    return "\n".join(
        c["source"] for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "markdown"
    )


def test_both_books_hold_the_same_pages_from_their_own_files(repo):
    books = plan_books(repo)
    assert books["en"].names() == books["zh"].names() == [
        "index", "notebooks/01_a", "notebooks/02_b", "docs/x", "benchmarks/README"]  # fmt: skip
    zh = {p.name: p for p in books["zh"].pages}
    assert zh["index"].source == "README.zh-CN.md"
    assert (zh["notebooks/01_a"].source, zh["notebooks/01_a"].note) == ("notebooks/zh/01_a.ipynb", "")
    assert (zh["notebooks/02_b"].source, zh["notebooks/02_b"].note) == ("notebooks/02_b.ipynb", ZH_NOTE)
    assert plan_books(repo, only=["2"])["en"].names()[1:3] == ["notebooks/02_b", "docs/x"]
    assert "notebooks/solutions/02_b_solutions" in plan_books(repo, with_solutions=True)["en"].names()


def test_a_missing_notebook_number_or_landing_page_is_refused(repo):
    with pytest.raises(SiteError, match="--only 7: no notebook has that number; choose from 01 02"):
        plan_books(repo, only=["7"])
    (repo / "README.zh-CN.md").unlink()
    with pytest.raises(SiteError, match="README.zh-CN.md is missing"):
        plan_books(repo)


def test_links_land_on_pages_of_the_book_the_other_book_or_files_beside_them(repo, tmp_path):
    stage = staged(repo, tmp_path)
    en = (stage / "en" / "index.md").read_text()
    assert '<a class="dpo-other-book" href="../zh/index.html">中文</a>' in en
    assert (
        "[one](notebooks/01_a.ipynb)" in en
        and "[docs](docs/x.md)" in en
        and "[bench](benchmarks/README.md)" in en
    )
    assert "| code |" in en  # a folder has no page: its text stays, its link goes
    assert "[gone](notebooks/missing.png)" in en  # no such file: left for the link check to report
    assert "```{toctree}" in en and ":caption: Notebooks" in en
    zh = (stage / "zh" / "index.md").read_text()
    assert '<a class="dpo-other-book" href="../en/index.html">English</a>' in zh
    assert "[一](notebooks/01_a.ipynb)" in zh and ":caption: 课程笔记本" in zh
    # the Chinese notebook's link to its English original goes to the English book
    assert 'href="../../en/notebooks/01_a.html">01_a.ipynb</a>' in markdown_of(
        stage / "zh/notebooks/01_a.ipynb"
    )
    # a figure is copied beside the pages and linked from where the page now lies; fragments survive
    doc = (stage / "en" / "docs" / "x.md").read_text()
    assert "![f](../figures/f.png)" in doc and "[two](../notebooks/02_b.ipynb#part)" in doc
    assert (stage / "en" / "figures" / "f.png").read_text() == "png"
    # the solutions are no page of a student's copy: the link keeps its text only
    assert "[solutions]" not in markdown_of(stage / "en/notebooks/01_a.ipynb")
    assert "solutions" in markdown_of(stage / "en/notebooks/01_a.ipynb")


def test_an_english_page_in_the_chinese_book_says_so_under_its_title(repo, tmp_path):
    stage = staged(repo, tmp_path)
    assert markdown_of(stage / "zh/notebooks/02_b.ipynb").startswith(
        f"# 02 · B\n\n```{{note}}\n{ZH_NOTE}\n```"
    )
    assert (stage / "zh/docs/x.md").read_text().startswith(f"# X\n\n```{{note}}\n{ZH_NOTE}\n```")
    assert ZH_NOTE not in (stage / "en/docs/x.md").read_text()
    assert ZH_NOTE not in markdown_of(stage / "zh/notebooks/01_a.ipynb")


def test_staging_again_changes_nothing_and_drops_what_the_plan_dropped(repo, tmp_path):
    stage = staged(repo, tmp_path, with_solutions=True)
    assert (stage / "en/notebooks/solutions/02_b_solutions.ipynb").is_file()
    assert "[solutions](../solutions/02_b_solutions.ipynb)" not in markdown_of(
        stage / "en/notebooks/01_a.ipynb"
    )
    assert "[solutions](solutions/02_b_solutions.ipynb)" in markdown_of(stage / "en/notebooks/01_a.ipynb")
    books = plan_books(repo, with_solutions=True)
    executed = {
        p.source: json.loads((repo / p.source).read_text()) for p in books["en"].pages if p.is_notebook
    }
    mathjax = tmp_path / "mathjax"
    assert (
        stage_book(
            repo, books["en"], books["zh"], stage / "en", executed=executed, mathjax=mathjax, fast=False
        )
        == 0
    )
    staged(repo, tmp_path)  # a student's copy: the solutions page goes
    assert not (stage / "en/notebooks/solutions").exists()


def test_math_in_a_table_row_keeps_its_bar_and_the_row_its_cells():
    assert table_math("| a | $p(y|x)$ | `b|c` |") == r"| a | $p(y\vert x)$ | `b|c` |"
    assert table_math("text $p(y|x)$") == "text $p(y|x)$"  # not a table row: Markdown keeps the bar
    assert table_math(r"| $\|u\|$ |") == r"| $\|u\|$ |"  # an escaped bar is GitHub's own way


def test_the_fast_mode_note_and_the_switch_reach_the_books_configuration(repo, tmp_path):
    conf = (staged(repo, tmp_path) / "zh" / "conf.py").read_text()
    assert "language = 'zh_CN'" in conf and "'folder': 'en'" in conf and "mathjax/tex-mml-chtml.js" in conf
    assert "'announcement': ''" in conf


def test_the_language_switch_goes_to_the_same_page_in_the_other_book():
    assert switch_url("notebooks/01_a", "zh", ["index", "notebooks/01_a"]) == "../../zh/notebooks/01_a.html"
    assert switch_url("index", "en", ["index"]) == "../en/index.html"
    assert switch_url("search", "en", ["index"]) == "../en/search.html"
    assert switch_url("docs/only_here", "en", ["index"]) == "../../en/index.html"
    assert switched("en/notebooks/01_a.html") == "zh/notebooks/01_a.html"
    assert switched("index.html") is None


def test_raw_tex_is_found_and_plain_text_is_not():
    for text in ("see $$x^2$$ here", r"the \frac{a}{b} ratio", r"a $\beta$ b", r"\(x\)", "cost $a_i$ here"):
        assert raw_tex(text) is not None, text
    for text in ("It costs $5 and $6.", "a plain sentence", "β = 0.1 and π_ref"):
        assert raw_tex(text) is None, text


def test_widget_views_are_dropped_and_other_outputs_kept():
    view = "application/vnd.jupyter.widget-view+json"
    outputs = [
        {"output_type": "display_data", "data": {"text/plain": "  0%|", view: {}}},
        {"output_type": "display_data", "data": {"image/png": "AA==", view: {}}},
        {"output_type": "stream", "name": "stdout", "text": "42\n"},
    ]
    nb = {"metadata": {"widgets": {"state": {}}}, "cells": [{"cell_type": "code", "outputs": outputs}]}
    cleaned = clean_outputs(nb)
    assert "widgets" not in cleaned["metadata"]
    assert [o.get("data", o.get("text")) for o in cleaned["cells"][0]["outputs"]] == [
        {"image/png": "AA=="},
        "42\n",
    ]


def test_the_chinese_search_names_a_stemmer_that_exists(tmp_path):
    path = tmp_path / "language_data.js"
    path.write_text(f"var EnglishStemmer = function() {{}};\n{BROKEN}\n", encoding="utf-8")
    assert fix_language_data(path) and FIXED in path.read_text() and BROKEN not in path.read_text()
    assert not fix_language_data(path)  # already right: untouched


def test_the_execution_key_changes_with_the_notebook_the_package_and_the_size(repo):
    first = package_fingerprint(repo)
    (repo / "dpo_teach" / "site").mkdir()
    (repo / "dpo_teach" / "site" / "x.py").write_text("# the builder itself")
    (repo / "dpo_teach" / "__pycache__").mkdir()
    (repo / "dpo_teach" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert package_fingerprint(repo) == first
    (repo / "dpo_teach" / "__init__.py").write_text("x = 1\n")
    assert package_fingerprint(repo) != first
    key = execution_key(repo, "notebooks/01_a.ipynb", fast=False, fingerprint="f")
    assert key == execution_key(repo, "notebooks/01_a.ipynb", fast=False, fingerprint="f")
    assert key != execution_key(repo, "notebooks/01_a.ipynb", fast=True, fingerprint="f")
    assert key != execution_key(repo, "notebooks/01_a.ipynb", fast=False, fingerprint="g")
    (repo / "notebooks" / "01_a.ipynb").write_text(notebook("# 01 · A, edited"))
    assert key != execution_key(repo, "notebooks/01_a.ipynb", fast=False, fingerprint="f")


def text_of(nb: dict) -> str:
    return "".join(nb["cells"][-1]["outputs"][0]["text"])


def test_a_notebook_runs_once_and_again_only_when_it_changes(repo, tmp_path):
    (repo / "notebooks" / "01_a.ipynb").write_text(
        notebook("# 01", code="import os\nprint(6 * 7, os.environ['DPO_TEACH_FAST'])")
    )
    cache = tmp_path / "cache"
    nb, seconds = executed_notebook(repo, "notebooks/01_a.ipynb", fast=True, cache=cache, fingerprint="f")
    assert seconds is not None and text_of(nb) == "42 1\n"
    assert executed_notebook(repo, "notebooks/01_a.ipynb", fast=True, cache=cache, fingerprint="f")[1] is None
    (repo / "notebooks" / "01_a.ipynb").write_text(notebook("# 01", code="print(7 * 7)"))
    nb, seconds = executed_notebook(repo, "notebooks/01_a.ipynb", fast=True, cache=cache, fingerprint="f")
    assert seconds is not None and text_of(nb) == "49\n"
    assert len([p for p in (cache / "executions").rglob("*.ipynb") if p.is_file()]) == 1  # the older one went


def test_a_failing_notebook_is_one_line_naming_it_and_its_cell(repo, tmp_path):
    (repo / "notebooks" / "01_a.ipynb").write_text(notebook("# 01", code="1 / 0"))
    with pytest.raises(SiteError, match=r"notebooks/01_a.ipynb failed at code cell 1 \(ZeroDivisionError"):
        executed_notebook(repo, "notebooks/01_a.ipynb", fast=True, cache=tmp_path / "cache", fingerprint="f")


def test_a_failed_build_names_the_command_that_builds_the_other_notebooks(repo, tmp_path, monkeypatch):
    from dpo_teach.site import build

    def run(repo, source, **_):
        if "01_a" in source:  # the English notebook and its Chinese version
            raise SiteError(f"{source} failed at code cell 1")
        return {}, 1.0

    monkeypatch.setattr(build, "executed_notebook", run)
    from dpo_teach.site.mathjax import MATHJAX_VERSION, SCRIPT

    mathjax = tmp_path / "cache" / f"mathjax-{MATHJAX_VERSION}"  # installed: no npm here
    mathjax.mkdir(parents=True)
    (mathjax / SCRIPT).write_text("// mathjax")
    with pytest.raises(SiteError) as err:
        build.build_site(repo, tmp_path / "site", cache=tmp_path / "cache", say=lambda line: None)
    assert "2 of 3 notebooks failed, so no site was written" in str(err.value)
    assert str(err.value).endswith("the others: python -m dpo_teach.site build --only 02")
    assert not (tmp_path / "site").exists()


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["build", "--only", "99"], "--only 99: no notebook has that number; choose from 00"),
        (["build", "--only", "one"], "--only one: give notebook numbers"),
        (["check", "EMPTY"], "holds no built site (no index.html)"),
        (["check", "SITE", "--chromium", "/nonexistent/chromium"], "Chromium was not found"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_2(argv, words, tmp_path, capsys):
    (tmp_path / "EMPTY").mkdir()
    (tmp_path / "SITE").mkdir()
    (tmp_path / "SITE" / "index.html").write_text("<html></html>")
    argv = [str(tmp_path / a) if a in ("EMPTY", "SITE") else a for a in argv]
    if argv[0] == "build":
        argv += ["--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache")]
    assert main(argv) == 2
    assert words in error_line(capsys)


def test_a_students_copy_is_the_default_and_a_teachers_copy_is_asked_for():
    parse = build_parser().parse_args
    assert parse(["build"]).with_solutions is False
    assert parse(["build", "--no-solutions"]).with_solutions is False
    assert parse(["build", "--with-solutions"]).with_solutions is True


def test_a_folder_the_command_did_not_write_is_never_replaced(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert (
        main(["build", "--fast", "--only", "01", "--out", str(out), "--cache", str(tmp_path / "cache")]) == 2
    )
    assert re.search(r"is not a site this command built .*never deleted", error_line(capsys))
    assert [p.name for p in out.iterdir()] == ["notes.txt"] and (out / "notes.txt").read_text() == "keep me"
    assert not (tmp_path / "cache").exists()  # refused before anything ran


def test_the_real_repository_plans_every_notebook_and_zh_version():
    books = plan_books(REPO)
    names = books["en"].names()
    notebooks = sorted(p.stem for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert [n for n in names if n.startswith("notebooks/")] == [f"notebooks/{n}" for n in notebooks]
    assert "notebooks/solutions/09_exercises_solutions" not in names
    for zh in (REPO / "notebooks" / "zh").glob("[0-9][0-9]_*.ipynb"):
        page = next(p for p in books["zh"].pages if p.name == f"notebooks/{zh.stem}")
        assert page.source == f"notebooks/zh/{zh.name}" and not page.note


def test_a_failed_npm_install_names_its_cause_not_npm_s_log_file():
    from dpo_teach.site.mathjax import npm_reason

    refused = (
        "npm error code ECONNREFUSED\nnpm error syscall connect\n"
        "npm error FetchError: request to http://127.0.0.1:9/mathjax failed, reason: connect ECONNREFUSED\n"
        "npm error     at ClientRequest.<anonymous> (index.js:130:14)\nnpm error\n"
        "npm error A complete log of this run can be found in: /root/.npm/_logs/debug-0.log\n"
    )
    assert npm_reason(refused).startswith("FetchError: request to http://127.0.0.1:9/mathjax failed")
    assert npm_reason("npm error code E404\nnpm error A complete log ...\n") == "code E404"
    assert npm_reason("") == "no output"


def test_wrapped_chinese_lines_are_joined_outside_code_and_headings():
    from dpo_teach.site.cjk import join_cjk_lines

    code = "```python\n# 中文注释\n# 第二行\n```\n"
    text = "# 标题\n正文第一行，\n  接着第二行 RLHF\n是方法\n\n" + code + "中文\nEnglish"
    assert join_cjk_lines(text) == "# 标题\n正文第一行，接着第二行 RLHF\n是方法\n\n" + code + "中文\nEnglish"


def test_the_chinese_book_joins_its_own_wrapped_lines_only(repo, tmp_path):
    (repo / "README.zh-CN.md").write_text("# 课程\n\n用成对\n的回答\n", encoding="utf-8")
    (repo / "docs" / "x.md").write_text("# X\n\n中文\n引文\n", encoding="utf-8")  # shown under the note
    stage = staged(repo, tmp_path)
    assert "用成对的回答" in (stage / "zh" / "index.md").read_text()
    assert "中文\n引文" in (stage / "zh" / "docs" / "x.md").read_text()
    assert "中文\n引文" in (stage / "en" / "docs" / "x.md").read_text()


def test_a_markdown_table_a_cell_displays_keeps_the_bars_inside_its_math(repo, tmp_path):
    nb = nbformat.v4.new_notebook()
    table = "| loss | formula |\n|---|---|\n| norm | $r_w/|y_w|$ |\n"
    cell = nbformat.v4.new_code_cell("display(Markdown(table))")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": table, "text/plain": "x"})]
    nb.cells = [nbformat.v4.new_markdown_cell("# 02 · B"), cell]
    (repo / "notebooks" / "02_b.ipynb").write_text(nbformat.writes(nb), encoding="utf-8")
    stage = staged(repo, tmp_path)
    for lang in ("en", "zh"):
        shown = json.loads((stage / lang / "notebooks" / "02_b.ipynb").read_text())["cells"][-1]["outputs"][0]
        assert shown["data"]["text/markdown"] == table.replace("|y_w|", r"\vert y_w\vert "), lang


def test_a_teachers_copy_stages_the_solutions_pages_and_a_students_copy_does_not(tmp_path):
    """The real repository's exercises, staged without Sphinx (what Sphinx builds is the stage)."""
    solutions = "notebooks/solutions/09_exercises_solutions"
    (tmp_path / "teacher").mkdir()
    (tmp_path / "student").mkdir()
    teacher = staged(REPO, tmp_path / "teacher", with_solutions=True, only=["09"])
    student = staged(REPO, tmp_path / "student", only=["09"])
    for lang, caption in (("en", ":caption: For teachers"), ("zh", ":caption: 给老师")):
        assert (teacher / lang / f"{solutions}.ipynb").is_file(), lang
        assert (
            caption in (teacher / lang / "index.md").read_text()
            and solutions in (teacher / lang / "index.md").read_text()
        )
        assert (student / lang / "notebooks" / "09_exercises.ipynb").is_file(), lang
        assert not (student / lang / "notebooks" / "solutions").exists(), lang
        assert caption not in (student / lang / "index.md").read_text()
        assert solutions not in (student / lang / "conf.py").read_text()  # the switch's page list
    # the Chinese book's teacher page is the Chinese solutions notebook, not the English one under the note
    zh = markdown_of(teacher / "zh" / f"{solutions}.ipynb")
    source = json.loads((REPO / "notebooks/zh/solutions/09_exercises_solutions.ipynb").read_text())
    title = "".join(source["cells"][0]["source"]).splitlines()[0]
    assert ZH_NOTE not in zh and zh.splitlines()[0] == title and "给老师" in title
