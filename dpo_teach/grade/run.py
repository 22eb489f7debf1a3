"""Grade one submission: its notebook copied alone into a temporary directory, run cell by cell
in a sandboxed kernel, each exercise scored by :func:`verdict.verdict` right after its check cell.

- ``pass`` / ``fail``: the grader's own call of the check on the recorded answers;
- ``error``: an answer cell raised and the answers never reached the check, a cell ran past the
  time limit (the kernel is interrupted), or the kernel died (it is restarted and the cells that
  ran before are replayed, so the next exercises still count); a missing name is traced to the
  earlier cell that failed to define it (an import cell that timed out, say);
- ``missing``: no check cell, or the answer is still the placeholder.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from . import notebook as nbsource
from .helper import install_code
from .kernel import Kernel
from .sandbox import Limits, bwrap_status
from .verdict import CHECKS, Result, Stopped, verdict

__all__ = ["grade_notebook", "read_notebook"]


def read_notebook(path):
    import nbformat

    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as err:  # noqa: BLE001 - any unreadable file is one clear line
        raise ValueError(f"{path}: not a readable notebook ({type(err).__name__}: {err})") from None


def _problem(status: str, error: str, timeout: float) -> str:
    return {
        "timeout": f"ran longer than {timeout:g} s and was interrupted",
        "dead": "killed the kernel (os._exit, exit(), a signal or a crash); it was restarted",
    }.get(status, error)


def grade_notebook(path, timeout: float = 60.0, max_output: int = 20_000, limits: Limits = Limits()) -> dict[int, Result]:
    """Run the notebook at ``path`` cell by cell; return exercise number -> :class:`Result`."""
    cells = read_notebook(path).cells
    found = nbsource.exercises(cells)
    role = {c: n for n, (answers, check) in found.items() for c in [*answers, check]}
    results = {n: Result(detail="no check cell for this exercise") for n in range(1, len(CHECKS) + 1)}
    for n, (answers, check) in found.items():
        results[n].detail = ""
        if nbsource.uses_library(cells[i].source for i in [*answers, check]):
            results[n].flags.append("uses dpo_teach")
    root = Path(tempfile.mkdtemp(prefix="dpo_grade_"))
    workdir, kerneldir = root / "work", root / "kernel"
    workdir.mkdir()
    kerneldir.mkdir()
    shutil.copyfile(path, workdir / Path(path).name)  # the submission alone
    try:
        kernel = Kernel(workdir, kerneldir, max_output, limits, bwrap_status()[0])
        try:
            _run_cells(kernel, cells, found, role, results, timeout)
        except Exception as err:  # noqa: BLE001 - the exercises graded so far keep their results
            for n, (_, check) in found.items():
                if results[n].status == "missing" and not results[n].detail:  # not reached yet
                    results[n].status, results[n].detail = "error", f"grading stopped: {type(err).__name__}: {err}"
        finally:
            kernel.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)  # the directory this run made
    return results


def _run_cells(kernel, cells, found, role, results, timeout) -> None:
    answer_error: dict[int, str] = {}
    failed: list[tuple[int, str, set[str]]] = []  # earlier cells that failed: index, what, names
    replay = [install_code()]  # what a restarted kernel runs again before going on
    setup = max(timeout, 300.0)  # the library's import, on a busy machine

    def restart():
        """A fresh kernel, with the cells that ran before replayed; a replayed cell that kills
        the kernel again (a delayed kill, say) is dropped and the replay starts over."""
        for _ in range(len(replay) + 1):
            kernel.restart()
            for k, source in enumerate(replay):
                if kernel.run(source, setup if k == 0 else timeout).status == "dead":
                    if k == 0:
                        raise RuntimeError("a restarted kernel could not load dpo_teach")
                    del replay[k]
                    break
            else:
                return

    ready = kernel.run(replay[0], setup)
    if ready.status != "ok":
        raise RuntimeError(f"the kernel could not load dpo_teach ({ready.error or ready.status})")

    for i, cell in enumerate(cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        n = role.get(i)
        is_check = n is not None and i == found[n][1]
        source = nbsource.record_answers(cell.source) if is_check else cell.source
        ran = kernel.run(source, timeout)
        if ran.status == "dead":
            restart()
        else:
            replay.append(source)
        problem = _problem(ran.status, ran.error, timeout)
        if ran.status != "ok":
            what = problem if ran.status != "error" else f"raised {problem}"
            failed.append((i, what, nbsource.defined_names(cell.source)))
        if n is None:
            continue
        if not is_check:
            if ran.status != "ok":
                answer_error.setdefault(n, f"cell {i + 1} {failed[-1][1]}")
            continue
        if ran.status in ("timeout", "dead"):
            result = Result("error", f"the check cell {problem}")
        else:
            try:
                result = verdict(kernel, n, timeout)
            except Stopped as stop:
                if stop.status == "dead":
                    restart()
                result = Result("error", f"the check {_problem(stop.status, '', timeout)}")
        if result.status == "error" and not result.detail:  # the answers never reached the check
            result.detail = problem if ran.status == "error" else "the check cell did not call the check"
        if result.status in ("error", "fail") and n in answer_error:
            result.status, result.detail = "error", answer_error[n]
        if result.status in ("error", "fail"):
            result.detail, caused = nbsource.with_cause(result.detail, failed)
            result.status = "error" if caused else result.status
        results[n].status, results[n].detail = result.status, result.detail
        results[n].flags += [f for f in result.flags if f not in results[n].flags]
