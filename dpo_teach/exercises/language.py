"""The language of the exercises' feedback: English (the default) or Chinese.

``set_language("zh")`` (the first cell of every notebook in ``notebooks/zh/`` that asks checked
questions: 01, 02, 03, 09) sets the environment
variable ``DPO_TEACH_LANG=zh``; every message is then worded in Chinese, and the grader's table too
(``python -m dpo_teach.grade --lang zh``). The variable is read each time a message is made, so a
language set in a shell (``DPO_TEACH_LANG=zh jupyter lab``) works as well.

Every message is written once in English, as a template with ``{named}`` fields, and passed through
:func:`tr`, which looks it up in the Chinese catalogue (``zh_feedback``, ``zh_numbers``,
``zh_functions``, ``zh_derivation``, ``zh_practice``, ``zh_practice_models``) when the language
is Chinese. Hints stored in the mistake
catalogues stay English until they are shown (:func:`tr` without fields, called by the message
that shows them). A test parses every ``tr(...)`` call and every stored hint, and fails when one has
no translation or a translation with other fields.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

__all__ = [
    "LANGUAGES",
    "ENV",
    "PASS_MARKS",
    "set_language",
    "get_language",
    "using_language",
    "tr",
    "catalogue",
]

LANGUAGES = ("en", "zh")  # English, Chinese (simplified)
ENV = "DPO_TEACH_LANG"
PASS_MARKS = ("Correct!", "正确！")  # how a right answer's line starts, per language
_ALIASES = {"zh-cn": "zh", "zh_cn": "zh", "zh-hans": "zh", "cn": "zh", "chinese": "zh", "english": "en"}


def _normal(lang) -> str | None:
    text = str(lang).strip().lower()
    text = _ALIASES.get(text, text)
    return text if text in LANGUAGES else None


def set_language(lang: str) -> str:
    """Word the exercises' feedback in ``lang``: ``"en"`` (English) or ``"zh"`` (Chinese).

    Sets ``DPO_TEACH_LANG`` for this process (and the processes it starts); returns the language."""
    found = _normal(lang) if isinstance(lang, str) else None
    if found is None:
        raise ValueError(
            f"set_language: {lang!r} is not a language of the feedback; use set_language('zh') for "
            "Chinese or set_language('en') for English"
        )
    os.environ[ENV] = found
    return found


def get_language() -> str:
    """The language of the feedback now: ``DPO_TEACH_LANG`` if it names one, else English."""
    return _normal(os.environ.get(ENV, "en")) or "en"


@contextmanager
def using_language(lang: str):
    """``set_language(lang)`` inside the block, and the language before it afterwards (the grader:
    one run in Chinese leaves the process as it found it)."""
    before = os.environ.get(ENV)
    set_language(lang)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = before


_CATALOGUE: dict[str, str] | None = None


def catalogue() -> dict[str, str]:
    """English template -> Chinese template, every message of the exercises and the grader."""
    global _CATALOGUE
    if _CATALOGUE is None:
        from . import zh_derivation, zh_feedback, zh_functions, zh_numbers, zh_practice, zh_practice_models

        merged: dict[str, str] = {}
        for part in (zh_feedback, zh_numbers, zh_functions, zh_derivation, zh_practice, zh_practice_models):
            merged.update(part.ZH)
        _CATALOGUE = merged
    return _CATALOGUE


def tr(text: str, /, **values) -> str:
    """``text`` in the feedback's language. With ``values``, ``text`` is a template whose
    ``{name}`` fields are filled in (literal braces doubled); without, it is used as it is (a hint
    that is shown, whatever braces it holds). Text with no translation is shown in English."""
    if get_language() == "zh":
        text = catalogue().get(text, text)
    return text.format(**values) if values else text
