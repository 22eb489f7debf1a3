"""Links between the repository's files, turned into links between the books' pages.

The course's Markdown links files of the repository (``notebooks/01_toy_example.ipynb``,
``docs/family.md``, ``figures/04_frontier.png``, ``README.zh-CN.md``). In a book each link must
land on a page of that book, a page of the other book (``README.md`` from the Chinese book), or a
file copied beside the page (a figure); a link to a page this build leaves out (the solutions in
a student's copy, a notebook outside ``--only``) keeps its text and loses the link.
"""

from __future__ import annotations

import html
import json
import posixpath
import re
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

__all__ = ["MD_LINK", "Target", "cross_book_link", "markdown_texts", "relative", "resolve", "rewrite_links"]

# [text](target "title") and ![alt](target): one level of nested brackets in the text
MD_LINK = re.compile(r'(!?)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]+)>?(\s+"[^"]*")?\s*\)')
HTML_IMG = re.compile(r'(<img\b[^>]*?\bsrc=")([^"]+)(")', re.IGNORECASE)  # MyST's html_image reads these
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


class Target(NamedTuple):
    """Where a link goes in a book: ``"here"`` (a page or file of this book, ``url`` relative to the
    linking file), ``"other"`` (a page of the other book, ``url`` relative to the linking page's
    HTML), or ``"text"`` (no page: keep the link's text only)."""

    kind: str
    url: str = ""


def markdown_texts(path: Path) -> list[str]:
    """The Markdown of a ``.md`` file, or of each Markdown cell of a notebook (read as JSON)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".ipynb":
        return [text]
    cells = json.loads(text).get("cells", [])
    return [
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in cells
        if c.get("cell_type") == "markdown"
    ]


def resolve(source: str, target: str) -> tuple[str, str] | None:
    """The repository path a link in the file ``source`` points at, and its ``#fragment``; None for
    a link that leaves the repository (a URL, ``mailto:``, an absolute path) or stays on the page."""
    if SCHEME.match(target) or target.startswith(("/", "#")):
        return None
    path, _, fragment = target.partition("#")
    path = path.split("?", 1)[0]
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(source), path))
    if joined.startswith("../") or joined == "..":
        return None
    return joined, fragment


def relative(from_file: str, to_file: str) -> str:
    """The relative URL from one staged file to another (both paths from the book's root)."""
    return posixpath.relpath(to_file, posixpath.dirname(from_file) or ".")


def cross_book_link(text: str, href: str) -> str:
    """A raw HTML link (MyST passes it through): the other book is no page of this Sphinx project."""
    inner = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text, quote=False))
    return f'<a class="dpo-other-book" href="{html.escape(href)}">{inner}</a>'


def rewrite_links(text: str, source: str, target_for: Callable[[str, str, bool], Target | None]) -> str:
    """Rewrite every Markdown link and HTML ``<img src>`` in ``text`` (from the file ``source``).

    ``target_for(repo_path, fragment, is_image)`` answers for each link into the repository with a
    :class:`Target`, or None to leave the link as it is (a file the repository does not have: the
    site's link check reports it).
    """

    def markdown(match: re.Match) -> str:
        bang, label, target, title = match.group(1), match.group(2), match.group(3), match.group(4) or ""
        found = resolve(source, target)
        if found is None:
            return match.group(0)
        new = target_for(found[0], found[1], bool(bang))
        if new is None:
            return match.group(0)
        if new.kind == "text":
            return label
        if new.kind == "other":
            return cross_book_link(label, new.url)
        return f"{bang}[{label}]({new.url}{title})"

    def html_image(match: re.Match) -> str:
        found = resolve(source, match.group(2))
        new = None if found is None else target_for(found[0], found[1], True)
        if new is None or new.kind != "here":  # kept as it is (the site's checks report a broken one)
            return match.group(0)
        return match.group(1) + html.escape(new.url) + match.group(3)

    return HTML_IMG.sub(html_image, MD_LINK.sub(markdown, text))
