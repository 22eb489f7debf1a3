"""``python -m dpo_teach.handout DIR``: the exercise notebook for students, without solutions.

Writes ``DIR/09_exercises.ipynb`` (outputs cleared) and ``DIR/README.md`` (how to install, work
and hand in). Nothing from ``notebooks/solutions/`` is copied. Existing files are not overwritten
unless ``--force`` is given. Needs a clone of the repository (the notebooks live beside the
package, not inside it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .files import atomic_write_text

__all__ = ["EXERCISES", "write_handout", "main"]

EXERCISES = Path(__file__).resolve().parents[1] / "notebooks" / "09_exercises.ipynb"

STUDENT_README = """# DPO exercises

Eleven exercises on Direct Preference Optimization (Rafailov et al. 2023, arXiv:2305.18290), from a
number you compute by hand to a numerically stable batched loss. Each one ends with a check that
answers at once: `Correct!` or what is wrong, on which input, and a hint.

## Set up (once)

You need Python 3.10 or newer and the course's library, `dpo_teach`:

```bash
python3 -m venv .venv && . .venv/bin/activate
pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu  # torch, CPU build
pip install "dpo_teach[notebooks] @ git+{repo}"  # or, in a clone: pip install -e ".[notebooks]"
jupyter lab 09_exercises.ipynb
```

## Work

Replace each `...` or `raise NotImplementedError` with your answer and run the check below it.
A failed check is normal while you work: read its message, fix, run it again. Write the formulas
yourself: importing the library's own function makes a check pass, but the grader shows the
teacher which answers import it.

## Hand in

Save the notebook (keep the file name) and hand in `09_exercises.ipynb`. Your teacher runs every
cell from the top, so make sure "Restart kernel and run all" works: an error in one exercise costs
that exercise only.
"""


def write_handout(directory, force: bool = False, repo: str = "<the course's repository URL>") -> list[Path]:
    """Write the student notebook and README into ``directory``; returns the paths written."""
    import nbformat

    if not EXERCISES.is_file():
        raise ValueError(
            f"{EXERCISES} not found: the hand-out is built from a clone of the repository "
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
    nb = nbformat.read(EXERCISES, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(targets[0], nbformat.writes(nb) + "\n")
    atomic_write_text(targets[1], STUDENT_README.replace("{repo}", repo))
    return targets


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(
        prog="python -m dpo_teach.handout",
        description="Write the exercise notebook and a README for students into DIR (no solutions).",
    )
    parser.add_argument("directory", metavar="DIR")
    parser.add_argument("--force", action="store_true", help="overwrite files already in DIR")
    parser.add_argument("--repo", default="<the course's repository URL>", help="git URL for the README")
    args = parser.parse_args(argv)
    try:
        written = write_handout(args.directory, args.force, args.repo)
    except (ValueError, OSError) as err:
        parser.exit(2, f"error: {err}\n")
    for path in written:
        print(f"wrote {path}")
    return written


if __name__ == "__main__":
    main()
