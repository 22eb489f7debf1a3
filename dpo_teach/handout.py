"""``python -m dpo_teach.handout DIR [--lang zh]``: the exercise notebook for students, without solutions.

Writes ``DIR/09_exercises.ipynb`` (outputs cleared) and ``DIR/README.md`` (how to install, check
your work, what the grader runs, how to hand in; the number of exercises is counted from the
notebook, the install line names ``--repo`` or the clone's ``origin`` remote). Nothing from ``notebooks/solutions/`` is copied. Existing files are not overwritten
unless ``--force`` is given. Needs a clone of the repository (the notebooks live beside the
package, not inside it). ``--lang zh`` writes the Chinese notebook (``notebooks/zh/``, whose first
cell sets the feedback to Chinese) and a Chinese README (``handout_zh``).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .files import atomic_write_text

__all__ = ["EXERCISES", "EXERCISES_ZH", "count_exercises", "write_handout", "main"]

EXERCISES = Path(__file__).resolve().parents[1] / "notebooks" / "09_exercises.ipynb"
EXERCISES_ZH = EXERCISES.parent / "zh" / EXERCISES.name  # same code cells, Chinese prose

STUDENT_README = """# DPO exercises

{count} exercises on Direct Preference Optimization (Rafailov et al. 2023, arXiv:2305.18290), from
a number you compute by hand to a numerically stable batched loss. Each one ends with a check
that answers at once: `Correct!` or what is wrong, on which input, and a hint.

## Set up (once)

You need Python 3.10 or newer and the course's library, `dpo_teach`:

```bash
python3 -m venv .venv && . .venv/bin/activate
pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu  # torch, CPU build
pip install "dpo_teach[notebooks] @ git+{repo}"  # or, in a clone: pip install -e ".[notebooks]"
jupyter lab 09_exercises.ipynb
```

## Work, and check your work

Replace each `...` or `raise NotImplementedError` with your answer and run the check cell below
it (`check_...(your answer)`). A failed check is normal while you work: read its message, fix,
run it again. When every check prints `Correct!`, do "Restart kernel and run all" once: that is
what the grader does, and a notebook that only works in the order you happened to run it fails
there. Write the formulas yourself: importing the library's own function makes a check pass, but
the grader shows the teacher which answers use `dpo_teach` (in any cell, under any name).

## What the grader runs

Your notebook alone, in a fresh kernel, every code cell from the top, with a time limit per cell
(60 s unless your teacher says otherwise), without network access. Your check cells do not score
you: the grader keeps the answers you pass to each `check_...(...)` call and runs the same check
on them itself, so what the notebook prints does not count, only your answers. An exercise whose
answer is still `...` (or still raises `NotImplementedError`) is `missing`; an error in one cell
costs the exercises that need it, not the rest.

## Hand in

Save the notebook (keep the file name) and hand in `09_exercises.ipynb`.
"""


_CHECK_CALL = re.compile(r"^(check_\w+)\s*\(", flags=re.M)  # a check called at a cell's top level


def count_exercises(nb) -> int:
    """The exercises of the notebook: the distinct ``check_*`` functions its code cells call at the
    top level (the feedback demo inside a ``try`` block does not count)."""
    return len({m for c in nb.cells if c.cell_type == "code" for m in _CHECK_CALL.findall(c.source)})


PLACEHOLDER_REPO = "<the course's repository URL>"


def origin_url() -> str | None:
    """The clone's ``origin`` remote, if it has one (the default for ``--repo``)."""
    import subprocess

    try:
        done = subprocess.run(
            ["git", "-C", str(EXERCISES.parents[1]), "remote", "get-url", "origin"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def write_handout(
    directory, force: bool = False, repo: str = PLACEHOLDER_REPO, lang: str = "en"
) -> list[Path]:
    """Write the student notebook and README into ``directory`` (in Chinese with ``lang="zh"``);
    returns the paths written."""
    import nbformat

    from .handout_zh import STUDENT_README_ZH

    if lang not in ("en", "zh"):
        raise ValueError(f"--lang {lang!r} is not a language of the hand-out; use --lang en or --lang zh")
    source = EXERCISES_ZH if lang == "zh" else EXERCISES
    if not source.is_file():
        raise ValueError(
            f"{source} not found: the hand-out is built from a clone of the repository "
            "(pip install -e . inside it), not from an installed wheel"
        )
    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file; pass a directory for the hand-out")
    targets = [out / EXERCISES.name, out / "README.md"]
    existing = [str(t) for t in targets if t.exists()]
    if existing and not force:
        raise ValueError(
            f"{', '.join(existing)} already exist; pass --force to overwrite, or a new directory"
        )
    nb = nbformat.read(source, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(targets[0], nbformat.writes(nb) + "\n")
    template = STUDENT_README_ZH if lang == "zh" else STUDENT_README
    readme = template.replace("{repo}", repo).replace("{count}", str(count_exercises(nb)))
    atomic_write_text(targets[1], readme)
    return targets


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(
        prog="python -m dpo_teach.handout",
        description="Write the exercise notebook and a README for students into DIR (no solutions).",
    )
    parser.add_argument("directory", metavar="DIR")
    parser.add_argument("--force", action="store_true", help="overwrite files already in DIR")
    parser.add_argument("--repo", help="git URL students install from (default: this clone's origin remote)")
    parser.add_argument("--lang", default="en", help="en (English, the default) or zh (Chinese)")
    args = parser.parse_args(argv)
    repo = args.repo or origin_url()
    try:
        written = write_handout(args.directory, args.force, repo or PLACEHOLDER_REPO, args.lang)
    except (ValueError, OSError) as err:
        parser.exit(2, f"error: {err}\n")
    if repo is None:
        print(f"note: this clone has no origin remote; the README says {PLACEHOLDER_REPO}: pass --repo URL", file=sys.stderr)
    for path in written:
        print(f"wrote {path}")
    return written


if __name__ == "__main__":
    main()
