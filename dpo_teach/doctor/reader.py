"""The doctor's log reader: any DPO training log -> one :class:`Log` of per-step series.

Reads TRL's ``trainer_state.json`` (its ``log_history``; a checkpoint or output directory holding
one works too), this package's ``metrics.json`` (``python -m dpo_teach.finetune``: its
``train.history``), a JSON list of metric dicts (:meth:`dpo_teach.gpt2.trainer.DPOTrainer.train`'s
history), or JSON Lines with one metric dict per logged step. Both trainers use TRL's names; a
``train/`` prefix (Weights & Biases) is dropped, ``eval_`` / ``eval/`` entries are counted, and a
step is read from ``step`` (``global_step``, ``_step``), else from the entry's position. A file that
is not a training log raises :class:`LogError` naming the problem and the formats it takes.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np

from .detectors import Series

__all__ = ["METRICS", "Log", "LogError", "read_log", "parse_log"]

# the metrics the detectors read, by TRL's names (this package's trainer logs the same names)
METRICS = ("loss", "grad_norm", "rewards/chosen", "rewards/rejected", "rewards/accuracies",
           "rewards/margins", "logps/chosen", "logps/rejected")  # fmt: skip
STEP_KEYS = ("step", "global_step", "_step")  # where an entry says which optimizer step it is
FORMATS = ("a TRL trainer_state.json, a metrics.json of python -m dpo_teach.finetune, a JSON list of "
           "metric dicts, or JSON Lines with one metric dict per line")  # fmt: skip


class LogError(ValueError):
    """LOG is not a readable training log; the message names the problem and the fix."""


@dataclasses.dataclass
class Log:
    source: str  # where it was read from
    kind: str  # "TRL trainer_state.json", "metrics.json", "JSON list", "JSON Lines"
    series: Series  # the training entries, by metric
    n_train: int  # training entries with at least one known metric
    n_eval: int  # eval entries (eval_ prefix), not diagnosed
    notes: list[str]  # what the reader could not check, for the report


def _number(value):
    """A JSON number as a float (NaN and inf kept), or None for anything else (bools included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def parse_log(data, source: str = "<log>", kind: str | None = None, logging_steps=None) -> Log:
    """A :class:`Log` from already-parsed JSON: a trainer_state dict, a metrics.json dict, a dict
    with a ``history`` list, or a list of metric dicts. Raises :class:`LogError`."""
    if isinstance(data, dict) and isinstance(data.get("log_history"), list):
        kind, entries, logging_steps = (
            "TRL trainer_state.json",
            data["log_history"],
            data.get("logging_steps"),
        )
    elif isinstance(data, dict) and isinstance(data.get("train"), dict) and "history" in data["train"]:
        kind, entries = "metrics.json", data["train"]["history"]
    elif isinstance(data, dict) and isinstance(data.get("history"), list):
        kind, entries = kind or "history", data["history"]
    elif isinstance(data, dict) and any(_canonical(k)[0] in METRICS for k in data):
        kind, entries = kind or "one metric dict", [data]
    elif isinstance(data, list):
        kind, entries = kind or "JSON list", data
    else:
        keys = ", ".join(list(data)[:6]) if isinstance(data, dict) else type(data).__name__
        raise LogError(f"{source} holds no training log (found {keys}); pass {FORMATS}")
    if not entries:
        raise LogError(f"{source}: the log is empty (no logged steps); train for at least one logging "
                       "step (TRL: logging_steps) and pass the file written after it")  # fmt: skip
    bad = next((i for i, e in enumerate(entries) if not isinstance(e, dict)), None)
    if bad is not None:
        raise LogError(f"{source}: entry {bad} is a {type(entries[bad]).__name__}, not a dict of metrics; "
                       f"pass {FORMATS}")  # fmt: skip
    columns: dict[str, tuple[list, list]] = {}
    n_train = n_eval = 0
    for position, entry in enumerate(entries):
        if "train_runtime" in entry:  # TRL's end-of-training summary (train_loss over the run)
            continue
        step = next((_number(entry[k]) for k in STEP_KEYS if _number(entry.get(k)) is not None), None)
        step = position if step is None or not math.isfinite(step) else int(step)
        found = eval_found = False
        for key, value in entry.items():
            name, is_eval = _canonical(key)
            number = _number(value)
            if name not in METRICS or number is None:
                continue
            if is_eval:
                eval_found = True
                continue
            found = True
            columns.setdefault(name, ([], []))[0].append(step)
            columns[name][1].append(number)
        n_train += found
        n_eval += eval_found and not found
    if not n_train:
        keys = sorted({k for e in entries for k in e})
        shown = ", ".join(keys[:8]) + (", ..." if len(keys) > 8 else "")
        what = (
            "only evaluation metrics" if n_eval else f"none of the metrics the doctor reads (keys: {shown})"
        )
        raise LogError(f"{source}: {len(entries)} entries but {what}; the doctor needs the training "
                       f"metrics {', '.join(METRICS[:3])}, ... as TRL's DPOTrainer logs them")  # fmt: skip
    values = {}
    for name, (steps, vals) in columns.items():  # in step order (a merged or resumed log may not be)
        order = np.argsort(np.asarray(steps, dtype=np.int64), kind="stable")
        values[name] = (np.asarray(steps, dtype=np.int64)[order], np.asarray(vals, dtype=np.float64)[order])
    first = min(int(s[0]) for s, _ in values.values())
    notes = []
    pre_update = first == 0 or (first == 1 and logging_steps == 1)  # TRL counts steps from 1
    if not pre_update:
        why = f"averages steps 1-{first}" if logging_steps and first == logging_steps else f"is step {first}"
        notes.append(f"step-0 check skipped: the first logged entry {why}, not the policy before its first "
                     "update (log from step 0, or logging_steps=1, to get it)")  # fmt: skip
    return Log(source, kind, Series(values, pre_update), n_train, n_eval, notes)


def _canonical(key: str) -> tuple[str, bool]:
    """``(TRL's name, is it an eval metric)`` of a logged key: ``train/loss`` -> ``loss``,
    ``eval_rewards/chosen`` -> (``rewards/chosen``, True)."""
    for prefix in ("eval_", "eval/"):
        if key.startswith(prefix):
            return key[len(prefix) :], True
    return key.removeprefix("train/"), False


def read_log(path) -> Log:
    """Read LOG from ``path`` (a file, or a directory holding trainer_state.json or metrics.json)."""
    path = Path(path)
    if path.is_dir():
        inside = [path / n for n in ("trainer_state.json", "metrics.json") if (path / n).is_file()]
        if not inside:
            raise LogError(f"{path} is a directory without trainer_state.json or metrics.json; pass "
                           f"the log file itself ({FORMATS})")  # fmt: skip
        path = inside[0]
    if not path.exists():
        raise LogError(f"{path}: no such file; pass the path of {FORMATS}")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as err:
        raise LogError(f"{path}: cannot be read ({err.strerror or err}); check its permissions") from None
    except UnicodeDecodeError:
        raise LogError(f"{path} is not a text file (not UTF-8); pass {FORMATS}") from None
    if not text.strip():
        raise LogError(f"{path} is empty; pass the log written after training ({FORMATS})")
    try:
        return parse_log(json.loads(text), str(path))
    except json.JSONDecodeError:  # not one JSON document: JSON Lines?
        rows = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise LogError(f"{path}, line {lineno}: not JSON ({err.msg}); pass {FORMATS}") from None
        return parse_log(rows, str(path), kind="JSON Lines")
    except RecursionError:
        raise LogError(f"{path}: JSON nested too deeply to be a training log; pass {FORMATS}") from None
