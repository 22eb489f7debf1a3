"""``python -m dpo_teach.doctor LOG [--json] [--loss-type T]``: name what is wrong in a DPO training log.

LOG is TRL's ``trainer_state.json`` (or the output or checkpoint directory holding it: the latest
``checkpoint-N`` is read), this package's ``metrics.json``, HF's ``all_results.json``, a JSON list of
metric dicts or JSON Lines (Weights & Biases exports included); :mod:`.entries` says how each is
read. The report lists each finding with its severity (error, warning, or info for patterns that
healthy runs show too), the evidence, the likely causes ranked and worded for the tool that wrote
the log, the fix and the section of notebook 08 to read, then the checks the log did not let run
and why. ``--json`` prints the same as one object (:mod:`.report`). ``--loss-type`` names the loss
(TRL's ``loss_type``; the doctor otherwise reads from the log whether it is DPO's sigmoid loss).
Exit status 0 whether or not something is found; 2, with one ``error:`` line on stderr naming the
problem and the fix, when LOG cannot be read as a training log.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .checks import run_detectors
from .entries import Log, LogError, parse_log
from .loss_kind import LOSS_TYPES
from .reader import read_log
from .report import as_json, report
from .series import Finding

__all__ = ["diagnose", "examine", "main"]


def _log(log, loss_type=None) -> Log:
    if isinstance(log, Log):
        return log
    return read_log(log, loss_type) if isinstance(log, (str, Path)) else parse_log(log, loss_type=loss_type)


def diagnose(log, loss_type: str | None = None) -> list[Finding]:
    """The findings for ``log``: a :class:`Log`, a path, or parsed JSON (a history list, a dict)."""
    return run_detectors(_log(log, loss_type).series)[0]


def examine(log, loss_type: str | None = None) -> dict:
    """The ``--json`` result for ``log`` (a :class:`Log`, a path or parsed JSON)."""
    log = _log(log, loss_type)
    return as_json(log, *run_detectors(log.series))


def _loss_type(text: str) -> str:
    names = [t.strip() for t in text.split(",")]
    bad = [n for n in names if n not in LOSS_TYPES]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"unknown loss type {', '.join(bad) or repr(text)}; TRL's are "
                                         f"{', '.join(LOSS_TYPES)} (RPO: sigmoid,sft)")  # fmt: skip
    return ",".join(names)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints the usage too)
        self.exit(2, f"error: {message}; see python -m dpo_teach.doctor --help\n")


def main(argv=None) -> int:
    description = "Read a DPO training log and name the symptoms it shows (exit 0), or say that none shows."
    parser = _Parser(prog="python -m dpo_teach.doctor", description=description)
    parser.add_argument("log", metavar="LOG", help="trainer_state.json or its directory, metrics.json, "
                        "all_results.json, a JSON list or JSON Lines")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    parser.add_argument("--loss-type", type=_loss_type, default=None, metavar="T",
                        help="the loss (TRL's loss_type, e.g. sigmoid, ipo, or sigmoid,sft for RPO); "
                        "default: read from the log")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        log = read_log(args.log, args.loss_type)
    except LogError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    findings, not_run = run_detectors(log.series)
    if args.json:
        text = json.dumps(as_json(log, findings, not_run), indent=2, allow_nan=False)
    else:
        text = report(log, findings, not_run)
    try:
        print(text, flush=True)
    except BrokenPipeError:  # `... | head` stopped reading: not an error of the log
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
