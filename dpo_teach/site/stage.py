"""Each book's Sphinx source folder, written from the plan.

The folder (``<cache>/stage/<lang>/``) holds ``conf.py``, the pages under their names (README as
``index.md``, notebooks with their outputs), the repository files the pages show or offer for
download (figures, sources), the language switch's template, and MathJax. A file is written only
when its content changed, and a file the plan no longer names is removed (the folder is the
build's own), so Sphinx re-reads only what changed and a build with nothing changed is quick.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

from .cjk import join_cjk_lines
from .language_switch import TEMPLATE
from .links import Target, markdown_texts, relative, rewrite_links
from .mathjax import SCRIPT, mathjax_parts
from .plan import LANDING, Book, Page

__all__ = ["CAPTIONS", "CSS", "FAST_NOTE", "MATH_CSS", "SWITCH_CSS", "stage_book", "table_math"]

CAPTIONS = {
    "en": {"notebooks": "Notebooks", "teachers": "For teachers", "docs": "Docs", "more": "More"},
    "zh": {"notebooks": "课程笔记本", "teachers": "给老师", "docs": "文档", "more": "更多"},
}
TITLES = {"en": "dpo_teach: DPO, taught", "zh": "dpo_teach：把 DPO 讲清楚"}
SWITCH = {"en": ("English", "en", "Read this page in English"), "zh": ("中文", "zh-CN", "阅读本页的中文版")}
FAST_NOTE = {
    "en": "Built in fast mode: the notebooks ran at their small test size, "
    "so numbers and figures differ from the course's.",
    "zh": "快速模式构建：笔记本以测试用的小规模运行，数字和图与课程正文不同。",
}
SWITCH_CSS = """.header-article-items__end { display: flex; align-items: center; }
.bd-header-article .btn.dpo-language-switch {
  font-size: 1rem; font-weight: 600; gap: .35rem; white-space: nowrap;
}
"""
# An equation wider than its column scrolls sideways (MathJax 3 breaks no lines). The theme clips
# inline math (span.math: overflow hidden), which cut the end off a long $...$ on a phone: it scrolls
# now, by touch or trackpad, with no scrollbar (most formulas overhang their box by a few pixels, and
# each would get a bar). A display equation scrolls in the theme already; restated so the site keeps
# it with a theme update, with a shadow at an edge that hides more (where no scrollbar shows).
MATH_CSS = """span.math { overflow-x: auto; overflow-y: hidden; scrollbar-width: none; }
span.math::-webkit-scrollbar { display: none; }
div.math mjx-container {
  --dpo-cover: var(--pst-color-background); --dpo-shade: rgba(0, 0, 0, .3);
  overflow-x: auto; overflow-y: hidden; min-width: 0;
  background:
    linear-gradient(to right, var(--dpo-cover) 40%, transparent) left / 1.5rem 100% no-repeat local,
    linear-gradient(to left, var(--dpo-cover) 40%, transparent) right / 1.5rem 100% no-repeat local,
    radial-gradient(farthest-side at 0 50%, var(--dpo-shade), transparent) left / .6rem 100% no-repeat,
    radial-gradient(farthest-side at 100% 50%, var(--dpo-shade), transparent) right / .6rem 100% no-repeat;
}
"""
CSS = SWITCH_CSS + MATH_CSS
H1 = re.compile(r"^# .*$", re.MULTILINE)
TABLE_ROW = re.compile(r"^\s*\|.*$", re.MULTILINE)
INLINE_MATH = re.compile(r"\$[^$\n]+\$")


def table_math(text: str) -> str:
    """``|`` inside ``$...$`` in a Markdown table row becomes ``\\vert``: Jupyter and GitHub read
    the math before the table, MyST splits the row's cells at that ``|`` first."""

    def row(match: re.Match) -> str:
        return INLINE_MATH.sub(lambda m: re.sub(r"(?<!\\)\|", r"\\vert ", m.group(0)), match.group(0))

    return TABLE_ROW.sub(row, text)


def _write(path: Path, data: bytes, written: list[Path]) -> None:
    """Write ``data`` to ``path`` unless it already holds exactly that (Sphinx reads by mtime)."""
    written.append(path)
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _add_note(texts: list[str], note: str) -> None:
    """Put ``note`` as a MyST note under the first ``# `` title (or first) of the Markdown ``texts``."""
    block = f"\n\n```{{note}}\n{note}\n```\n"
    for i, text in enumerate(texts):
        match = H1.search(text)
        if match:
            texts[i] = text[: match.end()] + block + text[match.end() :]
            return
    texts.insert(0, block)


def _toctree(book: Book) -> str:
    lines = []
    for section in ("notebooks", "teachers", "docs", "more"):
        names = [p.name for p in book.pages if p.section == section]
        if names:
            caption = CAPTIONS[book.lang][section]
            lines += [
                "",
                "```{toctree}",
                ":hidden:",
                ":maxdepth: 2",
                f":caption: {caption}",
                "",
                *names,
                "```",
            ]
    return "\n".join(lines) + "\n"


class _Linker:
    """Answers :func:`dpo_teach.site.links.rewrite_links` for one page of one book."""

    def __init__(self, repo: Path, book: Book, other: Book, page: Page, files: set[str]):
        self.repo, self.book, self.other, self.page, self.files = repo, book, other, page, files

    def __call__(self, path: str, fragment: str, is_image: bool) -> Target | None:
        frag = f"#{fragment}" if fragment else ""
        if path in self.book.by_source:
            return Target("here", relative(self.page.staged, self.book.by_source[path].staged) + frag)
        if path in self.other.by_source:
            up = "../" * (self.page.name.count("/") + 1)
            return Target("other", f"{up}{self.other.lang}/{self.other.by_source[path].name}.html{frag}")
        full = self.repo / path
        if path.endswith((".md", ".ipynb")) or path in LANDING.values() or full.is_dir():
            return Target("text")  # a page this build leaves out, or a folder: no page to land on
        if full.is_file():
            self.files.add(path)
            return Target("here", relative(self.page.staged, path) + frag)
        return None


def _page_bytes(
    repo: Path, book: Book, other: Book, page: Page, executed: dict[str, dict], files: set[str]
) -> bytes:
    linker = _Linker(repo, book, other, page, files)
    chinese = book.lang == "zh" and not page.note  # a Chinese file, not the English one under the note

    def prose(text: str) -> str:
        text = table_math(rewrite_links(text, page.source, linker))
        return join_cjk_lines(text) if chinese else text

    if not page.is_notebook:
        texts = [prose(markdown_texts(repo / page.source)[0])]
        if page.note:
            _add_note(texts, page.note)
        if page.section == "landing":
            texts.append(_toctree(book))
        return "\n".join(texts).encode("utf-8")
    nb = copy.deepcopy(executed[page.source])
    markdown = [c for c in nb["cells"] if c.get("cell_type") == "markdown"]
    for cell in markdown:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        cell["source"] = prose(source)
    for out in (o for c in nb["cells"] for o in c.get("outputs", [])):  # display(Markdown(table))
        text = out.get("data", {}).get("text/markdown")
        if text is not None:
            out["data"]["text/markdown"] = table_math("".join(text) if isinstance(text, list) else text)
    if page.note:
        texts = [c["source"] for c in markdown]
        before = len(texts)
        _add_note(texts, page.note)
        if len(texts) > before:
            nb["cells"].insert(0, {"cell_type": "markdown", "metadata": {}, "source": texts[0]})
        else:
            for cell, text in zip(markdown, texts):
                cell["source"] = text
    return json.dumps(nb, ensure_ascii=False, indent=1).encode("utf-8")


def _conf(book: Book, other: Book, fast: bool) -> bytes:
    label, lang, title = SWITCH[other.lang]
    options = {
        "article_header_end": ["language-switch.html", "article-header-buttons.html"],
        "home_page_in_toc": True,
        "show_navbar_depth": 1,
        "use_download_button": True,
        "use_fullscreen_button": False,
        # pydata-sphinx-theme 0.20 adds a header bar holding a second search field over the book
        # theme's sidebar search unless this is set; the sidebar's search is the one the theme means
        "navbar_persistent": [],
        "announcement": FAST_NOTE[book.lang] if fast else "",
    }
    conf = {
        "project": "dpo_teach",
        "html_title": TITLES[book.lang],
        "language": "zh_CN" if book.lang == "zh" else "en",
        "extensions": ["myst_nb", "dpo_teach.site.language_switch", "dpo_teach.site.zh_search"],
        "html_theme": "sphinx_book_theme",
        "html_theme_options": options,
        "templates_path": ["_templates"],
        "html_static_path": ["_static"],
        "html_css_files": ["dpo-site.css"],
        "mathjax_path": f"mathjax/{SCRIPT}",  # served from _static: no CDN (dpo_teach.site.mathjax)
        "nb_execution_mode": "off",  # the notebooks arrive executed (dpo_teach.site.execute)
        "nb_render_markdown_format": "myst",  # Markdown outputs (tables with $math$) parsed like cells
        "nb_ipywidgets_js": {},  # no widget JavaScript from a CDN; widget outputs were dropped
        "nb_merge_streams": True,
        "myst_enable_extensions": ["dollarmath", "amsmath", "html_image"],
        "myst_heading_anchors": 4,  # GitHub's heading anchors, so README's #links land
        "myst_dmath_double_inline": True,  # $$...$$ inside a paragraph, as GitHub and Jupyter show it
        "html_last_updated_fmt": None,
        "html_context": {"default_mode": "auto"},  # else a first visit logs "invalid theme mode"
        # Sphinx's Chinese search re-reads jieba's default dictionary as a user dictionary (350k
        # words, ~10 s of CPU each build); jieba uses that dictionary anyway, so skip the re-read
        "html_search_options": {"dict": ""} if book.lang == "zh" else {},
        "dpo_site_switch": {
            "folder": other.lang,
            "label": label,
            "lang": lang,
            "title": title,
            "pages": other.names(),
        },
    }
    lines = ["# Written by python -m dpo_teach.site build (dpo_teach/site/stage.py); rewritten each build."]
    lines += [f"{key} = {value!r}" for key, value in conf.items()]
    return ("\n".join(lines) + "\n").encode("utf-8")


def stage_book(
    repo: Path, book: Book, other: Book, stage: Path, *, executed: dict[str, dict], mathjax: Path, fast: bool
) -> int:
    """Write ``book``'s Sphinx folder ``stage``; return how many of its files changed."""
    stage.mkdir(parents=True, exist_ok=True)
    before = {p: p.stat().st_mtime_ns for p in stage.rglob("*") if p.is_file()}
    written: list[Path] = []
    files: set[str] = set()
    _write(stage / "conf.py", _conf(book, other, fast), written)
    _write(stage / "_templates" / "language-switch.html", TEMPLATE.encode("utf-8"), written)
    _write(stage / "_static" / "dpo-site.css", CSS.encode("utf-8"), written)
    for rel in mathjax_parts(mathjax):
        _write(stage / "_static" / "mathjax" / rel, (mathjax / rel).read_bytes(), written)
    for page in book.pages:
        _write(stage / page.staged, _page_bytes(repo, book, other, page, executed, files), written)
    for path in sorted(files):
        _write(stage / path, (repo / path).read_bytes(), written)
    keep = set(written)
    for path in before:
        if path not in keep:
            path.unlink()  # the stage is the build's own folder: a page or file the plan dropped
    for folder in sorted((p for p in stage.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(folder.iterdir()):
            folder.rmdir()
    return sum(1 for p in written if before.get(p) != p.stat().st_mtime_ns)
