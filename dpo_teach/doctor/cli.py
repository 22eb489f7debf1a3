"""``python -m dpo_teach.doctor LOG [--json]``: read a DPO training log and name what is wrong.

LOG is TRL's ``trainer_state.json`` (its ``log_history``; a checkpoint or output directory holding
one works too), this package's ``metrics.json`` (``python -m dpo_teach.finetune``: its
``train.history``), a JSON list of metric dicts (:meth:`dpo_teach.gpt2.trainer.DPOTrainer.train`'s
history), or JSON Lines with one metric dict per logged step. Both trainers use TRL's names
(``loss``, ``rewards/chosen``, ``rewards/rejected``, ``rewards/accuracies``, ``rewards/margins``,
``logps/chosen``, ``logps/rejected``, ``grad_norm``); a ``train/`` prefix (Weights & Biases) is
dropped, ``eval_`` / ``eval/`` entries are counted but not diagnosed, and a step is read from
``step`` (``global_step``, ``_step``), else from the entry's position (0, 1, ...).

The report lists each symptom found (:mod:`dpo_teach.doctor.detectors`: the evidence, the likely
causes ranked, the fix, the section of notebook 08 to read), or says that no known symptom shows.
``--json`` prints ``{"findings": [{"id", "first_step", "evidence", "causes", "fix", "section"},
...]}``. Exit status 0 whether or not something is found; 2, with one line on stderr naming the
problem and the fix, when LOG cannot be read as a training log.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .detectors import IDS, Finding, run_detectors
from .reader import Log, LogError, parse_log, read_log

__all__ = ["diagnose", "report", "main"]


def diagnose(log) -> list[Finding]:
    """The findings for ``log``: a :class:`Log`, a path, or parsed JSON (a history list, a dict)."""
    if not isinstance(log, Log):
        log = read_log(log) if isinstance(log, (str, Path)) else parse_log(log)
    return run_detectors(log.series)


def report(log: Log, findings: list[Finding]) -> str:
    """The human-readable report: what was read, then each finding, or "no known symptom"."""
    steps = sorted({int(x) for st, _ in log.series.values.values() for x in st})
    head = f"{log.source}: {log.kind}, {log.n_train} logged training steps ({steps[0]}-{steps[-1]})"
    if log.n_eval:
        head += f", {log.n_eval} eval {'entry' if log.n_eval == 1 else 'entries'} (not diagnosed)"
    lines = [head]
    lines += [f"  note: {note}" for note in log.notes]
    if not findings:
        lines.append("no known symptom: none of the doctor's checks fired (" + ", ".join(IDS) + ")")
    for n, f in enumerate(findings, start=1):
        where = f" from step {f.first_step}" if f.first_step is not None else ""
        lines += [
            "",
            f"{n}. {f.id}{where}",
            f"   evidence: {f.evidence}",
            "   likely causes, most likely first:",
        ]
        lines += [f"     {chr(ord('a') + i)}) {c}" for i, c in enumerate(f.causes)]
        lines += [f"   fix: {f.fix}", f"   read: {f.section}"]
    return "\n".join(lines)


def main(argv=None) -> int:
    description = "Read a DPO training log and name the symptoms it shows (exit 0), or say that none shows."
    parser = argparse.ArgumentParser(prog="python -m dpo_teach.doctor", description=description)
    parser.add_argument(
        "log", metavar="LOG", help="trainer_state.json, metrics.json, a JSON list or JSON Lines"
    )
    parser.add_argument("--json", action="store_true", help='print {"findings": [...]} instead of the report')
    args = parser.parse_args(argv)
    try:
        log = read_log(args.log)
    except LogError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    findings = run_detectors(log.series)
    if args.json:
        text = json.dumps({"findings": [f.as_dict() for f in findings]}, indent=2, allow_nan=False)
    else:
        text = report(log, findings)
    try:
        print(text, flush=True)
    except BrokenPipeError:  # `... | head` stopped reading: not an error of the log
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0

