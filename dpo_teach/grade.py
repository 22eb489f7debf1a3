"""``python -m dpo_teach.grade SUBMISSION.ipynb... [--csv scores.csv]``: score exercise notebooks.

Each submission runs in a fresh Jupyter kernel, one cell at a time, in order. An exercise is the
answer cells since the previous check and its own ``check_*(...)`` cell (see
``notebooks/09_exercises.ipynb``); its score comes from that check cell alone:

- ``pass``: the check printed ``Correct!``;
- ``fail``: the check raised ``AssertionError`` (its first line is the feedback);
- ``error``: anything else: an answer or check cell raised another error, ran past the time
  limit (the kernel is interrupted), or killed the kernel (it is restarted and the cells that ran
  before are replayed, so the next exercises still count);
- ``missing``: no check cell for that exercise in the notebook.

A cell's output is kept up to ``--max-output`` characters, so a function that prints megabytes
costs nothing but its own exercise. Answer cells that import from ``dpo_teach`` the function the
exercise asks for (e.g. ``from dpo_teach.numpy_dpo import dpo_loss``) pass the checks; they are
flagged ``uses dpo_teach`` in the table and the CSV so that a teacher can look.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import queue
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import exercises
from .files import atomic_write_text

__all__ = ["CHECKS", "Result", "grade_notebook", "main"]

# The checks of notebooks/09_exercises.ipynb, in exercise order (exercise k = CHECKS[k - 1]).
CHECKS = tuple(name for name in exercises.__all__ if name.startswith("check_"))
# a check called at the top level of a cell (not the demo inside a try block)
_CHECK_CALL = re.compile(r"^(" + "|".join(CHECKS) + r")\s*\(", flags=re.M)
_LIBRARY_USE = re.compile(r"\bdpo_teach\b(?!\.exercises)")  # the checks themselves are fine


@dataclass
class Result:
    """One exercise of one submission."""

    status: str = "missing"  # pass | fail | error | missing
    detail: str = ""  # the check's first line of feedback, or what went wrong
    flags: list[str] = field(default_factory=list)  # e.g. "uses dpo_teach"


@dataclass
class _Cell:
    status: str  # ok | error | timeout | dead
    stdout: str
    error: str  # "Name: message" of the first error


class _Kernel:
    """A Jupyter kernel that runs one cell at a time with a time limit and an output cap."""

    def __init__(self, cwd: Path, max_output: int):
        from jupyter_client import KernelManager

        env = dict(os.environ, MPLBACKEND="Agg", PYTHONWARNINGS="ignore")
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=str(cwd), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)
        self.max_output = max_output

    def run(self, code: str, timeout: float) -> _Cell:
        """Run ``code``; on time-out interrupt it (status ``timeout``), or report ``dead`` if the
        kernel died or ignored the interrupt (the caller restarts it)."""
        msg_id = self.kc.execute(code, allow_stdin=False, stop_on_error=False)
        out, size, tail, error, deadline = [], 0, "", "", time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.kc.get_iopub_msg(timeout=min(deadline - time.monotonic(), 1.0))
            except queue.Empty:
                if not self.km.is_alive():
                    return _Cell("dead", "".join(out), error)
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                text = content.get("text", "")
                if size < self.max_output:  # the start, up to the cap ...
                    out.append(text[: self.max_output - size])
                    size += len(out[-1])
                tail = (tail + text)[-2000:]  # ... and the end, where a check prints its verdict
            elif kind == "error" and not error:
                error = f"{content['ename']}: {content['evalue']}"
            elif kind == "status" and content.get("execution_state") == "idle":
                return _Cell("error" if error else "ok", "".join(out) + "\n" + tail, error)
        self.km.interrupt_kernel()
        alive = self._wait_idle(msg_id, time.monotonic() + 10)  # give the interrupt 10 s to land
        return _Cell("timeout" if alive else "dead", "".join(out) + "\n" + tail, error)

    def _wait_idle(self, msg_id: str, deadline: float) -> bool:
        while time.monotonic() < deadline:
            try:
                msg = self.kc.get_iopub_msg(timeout=1.0)
            except queue.Empty:
                if not self.km.is_alive():
                    return False
                continue
            if (
                msg.get("parent_header", {}).get("msg_id") == msg_id
                and msg["msg_type"] == "status"
                and msg["content"].get("execution_state") == "idle"
            ):
                return True
        return False

    def restart(self) -> None:
        self.km.restart_kernel(now=True)
        self.kc.wait_for_ready(timeout=120)

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def _exercises(cells) -> dict[int, tuple[list[int], int]]:
    """Exercise number -> (answer cell indices, check cell index), from the code cells' sources."""
    found, since = {}, []
    for i, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        match = _CHECK_CALL.search(cell.source)
        if match:
            number = CHECKS.index(match.group(1)) + 1
            answers = found[number][0] + since if number in found else since  # the last call counts
            found[number] = (answers, i)
            since = []
        else:
            since.append(i)
    return found


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def grade_notebook(path, timeout: float = 60.0, max_output: int = 20_000) -> dict[int, Result]:
    """Run the notebook at ``path`` cell by cell; return exercise number -> :class:`Result`."""
    import nbformat

    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as err:  # noqa: BLE001 - any unreadable file is one clear line
        raise ValueError(f"{path}: not a readable notebook ({type(err).__name__}: {err})") from None
    cells = nb.cells
    exercises = _exercises(cells)
    role = {c: n for n, (answers, check) in exercises.items() for c in [*answers, check]}
    results = {n: Result() for n in range(1, len(CHECKS) + 1)}
    for n, (answers, _) in exercises.items():
        if any(_LIBRARY_USE.search(cells[i].source) for i in answers):
            results[n].flags.append("uses dpo_teach")
    answer_error: dict[int, str] = {}
    replay: list[str] = []  # cells that ran without killing the kernel (replayed after a restart)
    kernel = _Kernel(Path(path).resolve().parent, max_output)
    try:
        for i, cell in enumerate(cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            ran = kernel.run(cell.source, timeout)
            if ran.status == "dead":
                kernel.restart()
                for source in replay:
                    kernel.run(source, timeout)
            else:
                replay.append(cell.source)
            n = role.get(i)
            if n is None:
                continue
            problem = {
                "timeout": f"a cell ran longer than {timeout:g} s and was interrupted",
                "dead": "a cell killed the kernel (os._exit, exit() or a crash); it was restarted",
            }.get(ran.status, ran.error)
            if i != exercises[n][1]:  # an answer cell
                if ran.status != "ok":
                    answer_error.setdefault(n, problem)
                continue
            if ran.status == "ok" and "Correct!" in ran.stdout:
                verdict = ran.stdout[ran.stdout.rindex("Correct!") :]
                results[n].status, results[n].detail = "pass", _first_line(verdict)
            elif ran.status == "error" and ran.error.startswith("AssertionError"):
                results[n].status = "fail"
                results[n].detail = _first_line(ran.error.removeprefix("AssertionError: "))
            else:
                results[n].status = "error"
                results[n].detail = answer_error.get(n) or problem or "the check printed no verdict"
    finally:
        kernel.close()
    return results


def _table(rows: list[tuple[str, dict[int, Result]]]) -> str:
    mark = {"pass": "ok", "fail": "x", "error": "E", "missing": "-"}
    width = max([len("submission")] + [len(name) for name, _ in rows])
    head = f"{'submission':<{width}} " + " ".join(f"{n:>2}" for n in range(1, len(CHECKS) + 1)) + "  total"
    lines = [head, "-" * len(head)]
    for name, results in rows:
        cells = " ".join(f"{mark[r.status]:>2}" for r in results.values())
        passed = sum(r.status == "pass" for r in results.values())
        lines.append(f"{name:<{width}} {cells}  {passed}/{len(CHECKS)}")
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


def _write_csv(path: Path, rows) -> None:
    columns = [f"exercise_{n}" for n in range(1, len(CHECKS) + 1)]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["submission", *columns, "total", "flags"])
    for name, results in rows:
        flags = "; ".join(f"exercise {n}: {', '.join(r.flags)}" for n, r in results.items() if r.flags)
        passed = sum(r.status == "pass" for r in results.values())
        writer.writerow([name, *(r.status for r in results.values()), passed, flags])
    atomic_write_text(path, buffer.getvalue())


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(
        prog="python -m dpo_teach.grade",
        description="Score submitted exercise notebooks per exercise (pass / fail / error / missing).",
    )
    parser.add_argument("submissions", nargs="+", metavar="SUBMISSION.ipynb")
    parser.add_argument("--csv", metavar="PATH", help="also write one row per submission to PATH")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per cell (default: 60)")
    parser.add_argument("--max-output", type=int, default=20_000, help="characters kept per cell")
    args = parser.parse_args(argv)
    if not args.timeout > 0 or args.max_output < 100:
        parser.error("--timeout must be > 0 and --max-output >= 100")
    rows = []
    for name in args.submissions:
        path = Path(name)
        if not path.is_file():
            parser.exit(2, f"error: {path}: no such file; pass the submitted .ipynb files\n")
        try:
            rows.append((path.name, grade_notebook(path, args.timeout, args.max_output)))
        except ValueError as err:  # an unreadable file scores 0 and the others are still graded
            rows.append((path.name, {n: Result("error", str(err)) for n in range(1, len(CHECKS) + 1)}))
        print(f"graded {path}", file=sys.stderr)
    print(_table(rows))
    if args.csv:
        _write_csv(Path(args.csv), rows)
        print(f"wrote {args.csv}")
    return rows


if __name__ == "__main__":
    main()
