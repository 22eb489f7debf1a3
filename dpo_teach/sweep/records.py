"""The results file of a sweep: ``results/EXPERIMENT.json``, one record per finished run.

Format (docs/architecture.md)::

    {"provenance": {"experiment", "commit", "versions": {...}, "machine": {...}, "created"},
     "runs": [{"experiment", "setting": {...}, "seed", "metrics": {...}, "seconds", "commit",
               "finished"}, ...]}

Each run is added as soon as it finishes, under a lock (several worker processes share the file)
and written atomically (temporary name, then rename), so a killed sweep keeps every finished run
and a re-run skips them (:func:`finished_keys`). A file that is not a sweep's results is never
overwritten: :func:`load` refuses it with the reason.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import platform
import subprocess
import time
from pathlib import Path

from ..files import atomic_write_text

__all__ = ["RecordError", "provenance", "load", "run_key", "finished_keys", "add_run", "runs_by_setting"]


class RecordError(ValueError):
    """The results file cannot be used; the message names the problem and the fix."""


def _commit(repo: Path) -> str | None:
    """HEAD's hash, with ``-dirty`` when the package's tracked files differ from it (the runs then
    came from code no commit holds); None outside a clone."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                             timeout=30)  # fmt: skip
        changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "dpo_teach"],
                                 cwd=repo, capture_output=True, text=True, timeout=30)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    head = out.stdout.strip() if out.returncode == 0 else ""
    return (head + ("-dirty" if changed.stdout.strip() else "")) or None


def provenance(experiment: str) -> dict:
    """What produced the runs: the commit (None outside a clone), package versions, the machine."""
    import numpy
    import torch
    import transformers

    repo = Path(__file__).resolve().parents[2]
    return {
        "experiment": experiment,
        "commit": _commit(repo),
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__, "numpy": numpy.__version__},  # fmt: skip
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def load(path: Path, experiment: str) -> dict:
    """The record at ``path`` (an empty one with today's provenance when there is none)."""
    path = Path(path)
    if not path.exists():
        return {"provenance": provenance(experiment), "runs": []}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise RecordError(f"{path} is not a readable sweep results file ({err}); move it away or pass "
                          "another --results directory") from None  # fmt: skip
    if not (isinstance(record, dict) and isinstance(record.get("runs"), list)
            and isinstance(record.get("provenance"), dict)):  # fmt: skip
        raise RecordError(f"{path} is not a sweep results file (no 'provenance' and 'runs'); move it away or "
                          "pass another --results directory")  # fmt: skip
    if record["provenance"].get("experiment") != experiment:
        raise RecordError(f"{path} holds experiment {record['provenance'].get('experiment')!r}, not "
                          f"{experiment!r}; pass another --results directory")  # fmt: skip
    return record


def run_key(setting: dict, seed: int) -> str:
    """A run's identity: its setting (sorted keys) and seed."""
    return json.dumps({"setting": setting, "seed": seed}, sort_keys=True)


def finished_keys(record: dict) -> set[str]:
    return {run_key(r["setting"], r["seed"]) for r in record["runs"]}


@contextlib.contextmanager
def _locked(path: Path):
    lock = path.with_name(f".{path.name}.lock")
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _finite(obj):
    """JSON without NaN: a non-finite float becomes None (and says so by being null)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def add_run(path: Path, experiment: str, setting: dict, seed: int, metrics: dict, seconds: float) -> None:
    """Add one finished run to ``path`` (locked, atomic); a run already there is left as it is."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        record = load(path, experiment)
        if run_key(setting, seed) in finished_keys(record):
            return
        record["runs"].append(_finite({
            "experiment": experiment, "setting": setting, "seed": seed, "metrics": metrics,
            "seconds": round(seconds, 2), "commit": provenance(experiment)["commit"],
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }))  # fmt: skip
        atomic_write_text(path, json.dumps(record, indent=1, sort_keys=True, allow_nan=False) + "\n")


def runs_by_setting(record: dict, metric: str) -> dict[str, dict[int, float]]:
    """``{setting as JSON: {seed: metric}}``: the input of :func:`~.stats.paired_difference`."""
    out: dict[str, dict[int, float]] = {}
    for r in record["runs"]:
        value = r["metrics"].get(metric)
        if value is not None:
            out.setdefault(json.dumps(r["setting"], sort_keys=True), {})[r["seed"]] = value
    return out
