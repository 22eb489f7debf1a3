"""Regenerate the committed figures: ``python -m dpo_teach.figures``.

Running a notebook never touches ``figures/*.png`` (``save_figure`` writes to the ignored
``figures/_out/``, or ``figures/_fast/`` in fast mode), so ``git status`` stays clean after a
course run. This command is the one way the committed figures change, on purpose: it executes
every notebook that saves a figure (found by its save_figure calls) at full size, with
``$DPO_TEACH_FIGURES`` pointing ``save_figure`` at ``figures/``. The executed copies live in
memory only; the notebooks on disk keep no outputs.

    python -m dpo_teach.figures              # all of them (a few minutes on a laptop CPU)
    python -m dpo_teach.figures --only 04    # one notebook (or several: --only 04 05)

It needs a clone of the repository (the notebooks are not part of the installed package) and
the notebook extras (``nbclient``, ``ipykernel``; ``pip install -e ".[notebooks]"``).
``--fast`` and ``--out DIR`` exist for the test of this command: a fast run's figures must not
be committed.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

from .plotting import FIGURES_ENV, repo_root

__all__ = ["figure_names", "figure_notebooks", "main", "regenerate"]

SAVE_FIGURE = re.compile(r'save_figure\(\s*\w+\s*,\s*"([^"]+)"\s*\)')
CELL_TIMEOUT_S = 3600  # per cell; a full-size cell takes a minute or two on a laptop CPU


class FiguresError(RuntimeError):
    """Why the figures could not be regenerated (printed without a traceback by ``main``)."""


def _require_repo() -> Path:
    repo = repo_root()
    if repo is None:
        raise FiguresError(
            "python -m dpo_teach.figures regenerates the committed figures of a clone of the "
            f"repository, but {Path(__file__).resolve().parents[1]} has no notebooks/ and figures/. "
            'Clone the repository and install it editable (pip install -e ".[notebooks]"), then '
            "run the command from there."
        )
    return repo


def figure_names(notebook: Path) -> list[str]:
    """The figure stems a notebook saves, in order: ``save_figure(fig, "04_frontier")``."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    return [n for c in nb.cells if c.cell_type == "code" for n in SAVE_FIGURE.findall(c.source)]


def figure_notebooks(repo: Path, only: list[str] | None = None) -> list[Path]:
    """The course notebooks that save figures (``notebooks/NN_*.ipynb``), or those numbered ``only``."""
    paths = [p for p in sorted((repo / "notebooks").glob("[0-9][0-9]_*.ipynb")) if figure_names(p)]
    if not only:
        return paths
    by_number = {p.name[:2]: p for p in paths}
    unknown = [n for n in only if n.zfill(2) not in by_number]
    if unknown:
        raise FiguresError(
            f"--only {' '.join(unknown)}: no such notebook saves a figure; "
            f"choose from {' '.join(sorted(by_number))}"
        )
    return [by_number[n] for n in sorted({n.zfill(2) for n in only})]


def _current_python_kernels():
    """A kernel spec manager whose ``python3`` is this interpreter (like nbval's --nbval-current-env),
    so the notebooks import the same dpo_teach as this command."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

    class CurrentPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
            return KernelSpec(argv=argv, display_name="Python 3 (dpo_teach.figures)", language="python")

    return CurrentPython()


def _execute(notebook: Path, env: dict[str, str]) -> None:
    """Run every cell of ``notebook`` in a fresh kernel with ``env``; outputs stay in memory."""
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(notebook, as_version=4)
    km = KernelManager(kernel_name="python3", kernel_spec_manager=_current_python_kernels())
    cwd = {"metadata": {"path": str(notebook.parent)}}  # the kernel starts in notebooks/, as in Jupyter
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT_S, resources=cwd)
    try:
        client.execute(env=env)
    except CellExecutionError as err:
        raise FiguresError(f"{notebook.name} failed, no figure of it is trustworthy:\n{err}") from None
    finally:
        if km.has_kernel:  # a kernel manager we pass in is ours to shut down
            km.shutdown_kernel(now=True)


def regenerate(only: list[str] | None = None, out: Path | None = None, fast: bool = False) -> list[Path]:
    """Execute the figure notebooks with ``save_figure`` pointed at ``out`` (default: the committed
    ``figures/``); return the figures written. Full size unless ``fast``."""
    repo = _require_repo()
    if fast and out is None:
        raise FiguresError("--fast figures must not replace the committed ones: add --out DIR")
    out = Path(out) if out is not None else repo / "figures"
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, **{FIGURES_ENV: str(out.resolve()), "DPO_TEACH_FAST": "1" if fast else "0",
                              "MPLBACKEND": "Agg"})  # fmt: skip
    written = []
    for notebook in figure_notebooks(repo, only):
        names = figure_names(notebook)
        print(f"{notebook.name}: running ({'fast' if fast else 'full size'}) ...", flush=True)
        start = time.time()
        _execute(notebook, env)
        pngs = [out / f"{n}.png" for n in names]
        stale = [p.name for p in pngs if not p.is_file() or p.stat().st_mtime < start]
        if stale:
            raise FiguresError(f"{notebook.name} ran but did not write {', '.join(stale)} to {out}")
        written += pngs
        print(f"  {time.time() - start:.0f} s, wrote {', '.join(names)}", flush=True)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dpo_teach.figures",
        description="Regenerate the committed figures/: run the notebooks that make them, at full size.",
    )
    parser.add_argument("--only", nargs="+", metavar="NN", help="notebook numbers, e.g. --only 04 05")
    parser.add_argument("--out", type=Path, help="write here instead of the committed figures/ (for tests)")
    parser.add_argument("--fast", action="store_true", help="fast (test) size; never commit what it writes")
    args = parser.parse_args(argv)
    try:
        written = regenerate(args.only, args.out, args.fast)
    except FiguresError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{len(written)} figures written to {written[0].parent if written else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
