"""The grades as a table for the terminal and a CSV for the gradebook.

The CSV has one row per submission: its name (its path relative to the submitted folder), one
status column per exercise, the total, the flags, then one ``feedback_k`` column per exercise (the
check's first line of feedback, or what went wrong). A cell that starts with ``= + - @``, a tab
or a carriage return is written with a leading ``'`` so that a spreadsheet shows it as text and
never runs it as a formula (``=HYPERLINK(...).ipynb`` stays a name).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..files import atomic_write_text
from .verdict import CHECKS, Result

MARKS = {"pass": "ok", "fail": "x", "error": "E", "missing": "-"}
HEADER = ["submission", *(f"exercise_{n}" for n in range(1, len(CHECKS) + 1)), "total", "flags"]
HEADER += [f"feedback_{n}" for n in range(1, len(CHECKS) + 1)]


def total(results: dict[int, Result]) -> int:
    return sum(r.status == "pass" for r in results.values())


def table(rows: list[tuple[str, dict[int, Result]]]) -> str:
    """The scores, one line per submission, then one line per exercise that did not pass."""
    width = max([len("submission")] + [len(name) for name, _ in rows])
    head = f"{'submission':<{width}} " + " ".join(f"{n:>2}" for n in range(1, len(CHECKS) + 1)) + "  total"
    lines = [head, "-" * len(head)]
    for name, results in rows:
        cells = " ".join(f"{MARKS[r.status]:>2}" for r in results.values())
        lines.append(f"{name:<{width}} {cells}  {total(results)}/{len(CHECKS)}")
    lines.append("ok = pass, x = wrong answer, E = error (exception, time limit, kernel died), - = missing")
    for name, results in rows:
        details = {(r.status, r.detail) for r in results.values()}
        if len(details) == 1 and next(iter(details))[0] == "error":  # e.g. an unreadable file
            lines.append(f"{name}: {next(iter(details))[1]}"[:300])
            continue
        for n, r in results.items():
            if r.status in {"fail", "error"} or r.flags:
                note = f" [{', '.join(r.flags)}]" if r.flags else ""
                lines.append(f"{name} exercise {n} {r.status}{note}: {r.detail}"[:300])
    return "\n".join(lines)


def spreadsheet_safe(cell):
    """A string cell a spreadsheet will not read as a formula."""
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + cell
    return cell


def csv_text(rows: list[tuple[str, dict[int, Result]]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for name, results in rows:
        flags = "; ".join(f"exercise {n}: {', '.join(r.flags)}" for n, r in results.items() if r.flags)
        row = [name, *(r.status for r in results.values()), total(results), flags]
        row += [r.detail for r in results.values()]
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return buffer.getvalue()


def write_csv(path: Path, rows) -> None:
    atomic_write_text(path, csv_text(rows))


def is_scores_csv(path: Path) -> bool:
    """True if ``path`` starts with the header this grader writes (so it may be replaced)."""
    try:
        with path.open(newline="") as handle:
            first = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    return first[:2] == HEADER[:2]
