"""The doctor's two outputs for one log: the text report and the JSON result (``--json``).

JSON: ``{"source", "kind", "tool", "sigmoid_loss", "findings": [{"id", "severity", "first_step",
"evidence", "causes", "fix", "section"}], "checks_not_run": [{"id", "missing", "reason"}],
"notes"}``. The text report puts errors and warnings first, numbered, then the healthy-run
patterns (``info``), then the checks the log did not let run and why.
"""

from __future__ import annotations

from .advice import IDS
from .entries import Log
from .series import Finding

__all__ = ["as_json", "report"]

ORDER = {"error": 0, "warning": 1, "info": 2}


def as_json(log: Log, findings: list[Finding], not_run: list[dict]) -> dict:
    return {
        "source": log.source,
        "kind": log.kind,
        "tool": log.series.tool,
        "sigmoid_loss": log.series.sigmoid_loss,
        "findings": [f.as_dict() for f in findings],
        "checks_not_run": not_run,
        "notes": list(log.notes),
    }


def _steps(log: Log) -> str:
    steps = sorted({int(x) for st, _ in log.series.values.values() for x in st})
    return f"{steps[0]}-{steps[-1]}" if steps else "none"


def report(log: Log, findings: list[Finding], not_run: list[dict] | None = None) -> str:
    """The human-readable report: what was read, each finding by severity, the checks not run."""
    tool = {"trl": "written by TRL / HF Trainer", "unknown": "a hand-written or other trainer"}[
        log.series.tool
    ]
    counted = f"{log.n_train} logged training steps ({_steps(log)})" if log.n_train else "no training entries"
    head = f"{log.source}: {log.kind} ({tool}), {counted}"
    if log.n_eval:
        head += f", {log.n_eval} eval {'entry' if log.n_eval == 1 else 'entries'}"
    lines = [head] + [f"  note: {note}" for note in log.notes]
    serious = sorted((f for f in findings if f.severity != "info"), key=lambda f: ORDER[f.severity])
    info = [f for f in findings if f.severity == "info"]
    if not serious:
        lines.append(
            "no known symptom: no error or warning" + (" (patterns of healthy runs below)" if info else "")
        )
    for n, f in enumerate(serious, start=1):
        lines += _finding(f"{n}. [{f.severity}] ", f)
    if info:
        lines += ["", "for information (patterns healthy runs show too; act only if samples degrade):"]
        for f in info:
            lines += _finding("- [info] ", f)
    if not_run:
        lines += ["", f"checks not run ({len(not_run)} of {len(IDS)}):"]
        lines += [f"  {c['id']}: {c['reason']}" for c in not_run]
    return "\n".join(lines)


def _finding(prefix: str, f: Finding) -> list[str]:
    where = f" from step {f.first_step}" if f.first_step is not None else ""
    lines = [
        "",
        f"{prefix}{f.id}{where}",
        f"   evidence: {f.evidence}",
        "   likely causes, most likely first:",
    ]
    lines += [f"     {chr(ord('a') + i)}) {c}" for i, c in enumerate(f.causes)]
    return lines + [f"   fix: {f.fix}", f"   read: {f.section}"]
