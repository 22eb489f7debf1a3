"""``python -m dpo_teach.grade SUBMISSIONS... [--csv scores.csv] [--jobs N]``: the command line.

SUBMISSIONS are notebooks or folders of them (searched recursively, ``.ipynb_checkpoints``
skipped). A notebook inside a folder is named by its path relative to that folder
(``alice/09_exercises.ipynb``), a notebook passed on its own by its file name; two submissions
with the same name are refused before anything runs. The ``--csv`` path is checked before grading
too: its folder must be writable, and it may not be a submission or a file the grader did not
write. Bad input is one ``error:`` line and exit status 2. ``--lang zh`` (default: ``DPO_TEACH_LANG``,
else English) prints the table and the feedback in Chinese.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..exercises.language import LANGUAGES, get_language, using_language
from .report import is_scores_csv, table, write_csv
from .run import grade_notebook
from .sandbox import Limits, bwrap_status
from .verdict import CHECKS, Result


class InputError(ValueError):
    """A problem with the command line, reported as one ``error:`` line."""


def submissions(paths: list[str]) -> list[tuple[str, Path]]:
    """(row name, path) of every submitted notebook, in the order given; duplicates refused."""
    found: list[tuple[str, Path]] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            if not inside:
                raise InputError(f"{path}: no .ipynb files in this folder")
            found += [(p.relative_to(path).as_posix(), p) for p in inside]
        elif path.is_file():
            found.append((path.name, path))
        else:
            raise InputError(f"{path}: no such file or folder; pass the submitted .ipynb files or their folder")
    names: dict[str, Path] = {}
    for name, path in found:
        if name in names:
            raise InputError(
                f"two submissions are named {name} ({names[name]} and {path}); pass their folder "
                "(python -m dpo_teach.grade submissions/) so that each row is named by its path"
            )
        names[name] = path
    return found


def check_csv_path(csv_path: Path, found: list[tuple[str, Path]]) -> None:
    """Refuse, before grading, a CSV path that cannot be written or would replace a submission or
    a file the grader did not write."""
    if csv_path.is_dir():
        raise InputError(f"--csv {csv_path} is a folder; pass a file name such as scores.csv")
    if csv_path.suffix == ".ipynb" or any(csv_path.exists() and csv_path.samefile(p) for _, p in found):
        raise InputError(f"--csv {csv_path} is a submission; pass a new file name such as scores.csv")
    if csv_path.exists() and not is_scores_csv(csv_path):
        raise InputError(f"--csv {csv_path} exists and is not a CSV this grader wrote; pass a new file name")
    folder = csv_path.parent
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".dpo_grade_probe_"):
            pass
    except OSError as err:
        raise InputError(f"--csv {csv_path}: cannot write in {folder} ({err.strerror}); pass a writable path") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dpo_teach.grade",
        description="Score submitted exercise notebooks per exercise (pass / fail / error / missing).",
    )
    parser.add_argument("submissions", nargs="+", metavar="SUBMISSION", help=".ipynb files or folders of them")
    parser.add_argument("--csv", metavar="PATH", help="also write one row per submission to PATH")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per cell and per check (default: 60)")
    parser.add_argument("--max-output", type=int, default=20_000, help="characters kept per cell")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="submissions graded at once (default: cores)")
    parser.add_argument("--cpu", type=int, default=Limits.cpu_s, help="CPU seconds per kernel (default: %(default)s)")
    parser.add_argument("--memory", type=int, default=Limits.memory_mib, help="MiB of address space per kernel")
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        default=get_language(),
        help="language of the table and the feedback: en or zh (Chinese); default: DPO_TEACH_LANG, else en",
    )
    return parser


def _grade_one(name: str, path: Path, args, limits: Limits) -> dict[int, Result]:
    try:
        results = grade_notebook(path, args.timeout, args.max_output, limits)
    except ValueError as err:  # an unreadable file scores 0 and the others are still graded
        results = {n: Result("error", str(err)) for n in range(1, len(CHECKS) + 1)}
    except Exception as err:  # noqa: BLE001 - one broken submission never ends the run
        results = {n: Result("error", f"grading failed: {type(err).__name__}: {err}") for n in range(1, len(CHECKS) + 1)}
    print(f"graded {name}", file=sys.stderr)
    return results


def main(argv=None) -> list:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.timeout > 0 or args.max_output < 100 or args.jobs < 1 or args.cpu < 1 or args.memory < 256:
        parser.exit(2, "error: --timeout must be > 0, --max-output >= 100, --jobs >= 1, --cpu >= 1, --memory >= 256\n")
    try:
        found = submissions(args.submissions)
        if args.csv:
            check_csv_path(Path(args.csv), found)
    except InputError as err:
        parser.exit(2, f"error: {err}\n")
    limits = Limits(cpu_s=args.cpu, memory_mib=args.memory)
    isolated, how = bwrap_status()
    print(f"isolation: {how}" if isolated else f"warning: {how}", file=sys.stderr)
    with warnings.catch_warnings(), using_language(args.lang):  # the checks word their feedback in it
        warnings.simplefilter("ignore")  # the checks silence overflow warnings themselves
        with ThreadPoolExecutor(max_workers=min(args.jobs, len(found))) as pool:
            futures = [pool.submit(_grade_one, name, path, args, limits) for name, path in found]
            rows = [(name, future.result()) for (name, _), future in zip(found, futures)]
    print(table(rows, args.lang))
    if args.csv:
        try:
            write_csv(Path(args.csv), rows, args.lang)
        except OSError as err:
            parser.exit(2, f"error: --csv {args.csv}: {err.strerror or err}; the table above has the grades\n")
        print(f"wrote {args.csv}")
    return rows
