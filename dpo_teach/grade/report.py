"""The grades as a table for the terminal and a CSV for the gradebook.

The CSV has one row per submission: its name (its path relative to the submitted folder), one
status column per exercise, the total, the flags, then one ``feedback_k`` column per exercise (the
check's first line of feedback, or what went wrong). A cell that starts with ``= + - @``, a tab
or a carriage return is written with a leading ``'`` so that a spreadsheet shows it as text and
never runs it as a formula (``=HYPERLINK(...).ipynb`` stays a name).

``lang="zh"`` (``--lang zh``) prints the table in Chinese and words the grader's own details in
Chinese too (the checks' feedback is Chinese already, see ``dpo_teach.exercises.set_language``);
the CSV's header stays English, the column names a gradebook reads.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from ..files import atomic_write_text
from .verdict import CHECKS, Result

MARKS = {"pass": "ok", "fail": "x", "error": "E", "missing": "-"}
HEADER = ["submission", *(f"exercise_{n}" for n in range(1, len(CHECKS) + 1)), "total", "flags"]
HEADER += [f"feedback_{n}" for n in range(1, len(CHECKS) + 1)]


# The grader's own details (run, verdict, cli) in Chinese: (pattern, replacement), applied in order.
ZH_DETAILS = [
    (r"^no check cell for this exercise$", "这道练习没有检查单元格"),
    (r"the answer is still the placeholder `\.\.\.`", "答案还是占位符 `...`"),
    (
        r"the function still raises NotImplementedError \(the placeholder\)",
        "函数仍然抛出 NotImplementedError（占位符）",
    ),
    (r"^the answers could not be read back from the kernel \((\w+)\)$", r"无法从内核读回答案（\1）"),
    (r"^the check cell did not call the check$", "检查单元格没有调用检查函数"),
    (r"^the check cell ", "检查单元格"),
    (r"^the check ", "检查"),
    (r"^cell (\d+) ", r"第 \1 个单元格"),
    (r": cell (\d+), which defines it, ", r"：定义它的第 \1 个单元格"),
    (r"ran longer than (\S+) s and was interrupted", r"运行超过 \1 秒，已被中断"),
    (
        r"killed the kernel \(os\._exit, exit\(\), a signal or a crash\); it was restarted",
        "杀死了内核（os._exit、exit()、信号或崩溃）；内核已重启",
    ),
    (r"(^|个单元格)raised ", r"\1抛出了 "),
    (r"^grading failed: ", "批改失败："),
    (r"the kernel could not load dpo_teach \((.*)\)$", r"内核无法加载 dpo_teach（\1）"),
    (r": not a readable notebook \(", "：不是可读的 notebook（"),
    (r"^uses dpo_teach$", "用了 dpo_teach"),
    (r"^calls (\S+)$", r"调用了 \1"),
]
ZH_TABLE = {
    "submission": "提交",
    "total": "总分",
    "legend": "ok = 通过，x = 答案错误，E = 出错（异常、超时、内核崩溃），- = 缺失",
    "exercise": "练习",
    "pass": "通过",
    "fail": "错误",
    "error": "出错",
    "missing": "缺失",
}


def in_language(text: str, lang: str) -> str:
    """One of the grader's details or flags, in ``lang`` (the checks' own feedback passes unchanged)."""
    if lang != "zh":
        return text
    for pattern, replacement in ZH_DETAILS:
        text = re.sub(pattern, replacement, text)
    return text


def total(results: dict[int, Result]) -> int:
    return sum(r.status == "pass" for r in results.values())


def table(rows: list[tuple[str, dict[int, Result]]], lang: str = "en") -> str:
    """The scores, one line per submission, then one line per exercise that did not pass; in
    Chinese with ``lang="zh"``."""
    word = (lambda key: ZH_TABLE.get(key, key)) if lang == "zh" else (lambda key: key)  # noqa: E731
    first = word("submission")
    width = max([_width(first)] + [len(name) for name, _ in rows])
    head = (
        _pad(first, width)
        + " "
        + " ".join(f"{n:>2}" for n in range(1, len(CHECKS) + 1))
        + "  "
        + word("total")
    )
    lines = [head, "-" * _width(head)]
    for name, results in rows:
        cells = " ".join(f"{MARKS[r.status]:>2}" for r in results.values())
        lines.append(f"{name:<{width}} {cells}  {total(results)}/{len(CHECKS)}")
    lines.append(
        ZH_TABLE["legend"]
        if lang == "zh"
        else "ok = pass, x = wrong answer, E = error (exception, time limit, kernel died), - = missing"
    )
    for name, results in rows:
        details = {(r.status, r.detail) for r in results.values()}
        if len(details) == 1 and next(iter(details))[0] == "error":  # e.g. an unreadable file
            lines.append(f"{name}: {in_language(next(iter(details))[1], lang)}"[:300])
            continue
        for n, r in results.items():
            if r.status in {"fail", "error"} or r.flags:
                note = f" [{', '.join(in_language(f, lang) for f in r.flags)}]" if r.flags else ""
                detail = in_language(r.detail, lang)
                lines.append(f"{name} {word('exercise')} {n} {word(r.status)}{note}: {detail}"[:300])
    return "\n".join(lines)


def _width(text: str) -> int:
    """Terminal columns: a Chinese character takes two."""
    return sum(2 if "\u2e80" <= ch <= "\uffef" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def spreadsheet_safe(cell):
    """A string cell a spreadsheet will not read as a formula."""
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + cell
    return cell


def csv_text(rows: list[tuple[str, dict[int, Result]]], lang: str = "en") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for name, results in rows:
        flags = "; ".join(f"exercise {n}: {', '.join(r.flags)}" for n, r in results.items() if r.flags)
        row = [name, *(r.status for r in results.values()), total(results), flags]
        row += [in_language(r.detail, lang) for r in results.values()]
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return buffer.getvalue()


def write_csv(path: Path, rows, lang: str = "en") -> None:
    atomic_write_text(path, csv_text(rows, lang))


def is_scores_csv(path: Path) -> bool:
    """True if ``path`` starts with the header this grader writes (so it may be replaced)."""
    try:
        with path.open(newline="") as handle:
            first = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    return first[:2] == HEADER[:2]
