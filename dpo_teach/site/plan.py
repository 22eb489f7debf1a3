"""Which pages each book holds, and the repository file each page is made from.

Both books hold the same page names (``index``, ``notebooks/01_toy_example``, ``docs/family``,
...), so the language switch always lands on the matching page:

- English: README.md as the landing page, ``notebooks/NN_*.ipynb`` in order, the solutions only in
  a teacher's copy, ``docs/*.md``, and the Markdown pages those link to (``benchmarks/README.md``);
- Chinese: README.zh-CN.md, ``notebooks/zh/NN_*.ipynb`` (``docs/zh/*.md``) where a Chinese version
  exists, else the English file under a one-line note in Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from . import SiteError
from .links import MD_LINK, markdown_texts, resolve

__all__ = ["LANGS", "ZH_NOTE", "Book", "Page", "plan_books"]

LANGS = ("en", "zh")
# "this page has no Chinese version yet; the English original follows"
ZH_NOTE = "本页还没有中文版，下面是英文原文。"
LANDING = {"en": "README.md", "zh": "README.zh-CN.md"}


@dataclass(frozen=True)
class Page:
    name: str  # the page's name in both books, e.g. "notebooks/01_toy_example"
    source: str  # the repository file it is made from (POSIX path from the repository's root)
    section: str  # "landing", "notebooks", "teachers", "docs" or "more" (the table of contents)
    note: str = ""  # a line under the page's title (the Chinese book's note on an English page)

    @property
    def staged(self) -> str:
        """Where the page's source lies in the book's Sphinx folder: its name + the file's suffix."""
        return self.name + PurePosixPath(self.source).suffix

    @property
    def is_notebook(self) -> bool:
        return self.source.endswith(".ipynb")


@dataclass(frozen=True)
class Book:
    lang: str  # "en" or "zh"
    pages: tuple[Page, ...]
    by_source: dict[str, Page] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "by_source", {p.source: p for p in self.pages})

    def names(self) -> list[str]:
        return [p.name for p in self.pages]


def _english_pages(repo: Path, with_solutions: bool, only: list[str] | None) -> list[Page]:
    notebooks = sorted((repo / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if only:
        by_number = {p.name[:2]: p for p in notebooks}
        unknown = [n for n in only if n.zfill(2) not in by_number]
        if unknown:
            raise SiteError(
                f"--only {' '.join(unknown)}: no notebook has that number; "
                f"choose from {' '.join(sorted(by_number))}"
            )
        notebooks = [by_number[n] for n in sorted({n.zfill(2) for n in only})]
    pages = [Page("index", LANDING["en"], "landing")]
    pages += [Page(f"notebooks/{p.stem}", f"notebooks/{p.name}", "notebooks") for p in notebooks]
    if with_solutions:
        solutions = sorted((repo / "notebooks" / "solutions").glob("*.ipynb"))
        if only:
            solutions = [p for p in solutions if p.name[:2] in {n.zfill(2) for n in only}]
        pages += [
            Page(f"notebooks/solutions/{p.stem}", f"notebooks/solutions/{p.name}", "teachers")
            for p in solutions
        ]
    pages += [Page(f"docs/{p.stem}", f"docs/{p.name}", "docs") for p in sorted((repo / "docs").glob("*.md"))]
    return pages + _linked_pages(repo, pages)


def _linked_pages(repo: Path, pages: list[Page]) -> list[Page]:
    """Markdown files of the repository that the pages link to and no book holds yet (one level)."""
    known = {p.source for p in pages} | set(LANDING.values())
    more: dict[str, Page] = {}
    for page in pages:
        for text in markdown_texts(repo / page.source):
            for match in MD_LINK.finditer(text):
                found = resolve(page.source, match.group(3))
                path = found and found[0]
                if path and path.endswith(".md") and path not in known and (repo / path).is_file():
                    more.setdefault(path, Page(path[: -len(".md")], path, "more"))
    return sorted(more.values(), key=lambda p: p.name)


def _chinese_version(repo: Path, source: str) -> str | None:
    """``notebooks/zh/X`` for ``notebooks/X``, ``docs/zh/X`` for ``docs/X`` (where it exists)."""
    path = PurePosixPath(source)
    if path.parts[0] not in ("notebooks", "docs"):
        return None
    zh = str(PurePosixPath(path.parts[0], "zh", *path.parts[1:]))
    return zh if (repo / zh).is_file() else None


def plan_books(repo: Path, *, with_solutions: bool = False, only: list[str] | None = None) -> dict[str, Book]:
    """The two books of the repository ``repo``; ``only`` limits the notebooks to those numbers."""
    for lang, landing in LANDING.items():
        if not (repo / landing).is_file():
            raise SiteError(
                f"{repo / landing} is missing: it is the {lang} book's landing page; "
                "build the site from a clone of the repository"
            )
    english = _english_pages(repo, with_solutions, only)
    chinese = [Page("index", LANDING["zh"], "landing")]
    for page in english[1:]:
        zh = _chinese_version(repo, page.source)
        chinese.append(
            Page(page.name, zh, page.section) if zh else Page(page.name, page.source, page.section, ZH_NOTE)
        )
    return {"en": Book("en", tuple(english)), "zh": Book("zh", tuple(chinese))}
