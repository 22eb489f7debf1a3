"""The Sphinx extension that makes the Chinese book's search work under Sphinx 9.0.

Sphinx 9.0 writes ``window.Stemmer = ChineseStemmer;`` into ``_static/language_data.js`` for a
Chinese book, but ships only the English stemmer it means to use, so every page of the book logs
``ReferenceError: ChineseStemmer is not defined`` and the search finds nothing (sphinx-doc/sphinx
issue 14229, fixed upstream in a release that needs Python 3.12). After the build this points the
line at ``EnglishStemmer``, as the upstream fix does; a Sphinx without the bug is left alone.
Chinese words themselves are split by jieba (the ``site`` extra installs it).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["BROKEN", "FIXED", "fix_language_data", "setup"]

BROKEN = "window.Stemmer = ChineseStemmer;"
FIXED = "window.Stemmer = EnglishStemmer;"


def fix_language_data(path: Path) -> bool:
    """Point ``path``'s stemmer at the English one if it names the missing ``ChineseStemmer``."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if BROKEN not in text or "var EnglishStemmer" not in text:
        return False
    path.write_text(text.replace(BROKEN, FIXED), encoding="utf-8")
    return True


def _after_build(app, exception):
    if exception is None and app.builder.format == "html" and (app.config.language or "").startswith("zh"):
        fix_language_data(Path(app.outdir) / "_static" / "language_data.js")


def setup(app):
    app.connect("build-finished", _after_build)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
