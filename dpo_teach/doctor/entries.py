"""Parsed JSON -> one :class:`Log`: the logged entries of a run as per-step series, checked.

Takes TRL's ``trainer_state.json`` (its ``log_history``), this package's ``metrics.json``
(``train.history``), HF's ``all_results.json`` / ``eval_results.json`` (one summary entry), a JSON
list of metric dicts or JSON Lines, Weights & Biases exports included: ``train/`` is dropped,
``eval_`` / ``eval/`` entries form the evaluation series, and the step is ``step``,
``global_step`` or ``train/global_step`` (W&B's ``_step`` counts log calls, not optimizer steps:
used only when nothing else says the step, and then no entry counts as "before any update").
It also decides whether the loss is DPO's sigmoid loss (:func:`.loss_kind.sigmoid_loss`).
A value that is not a number where one belongs, or a step that is no optimizer step, raises
:class:`LogError`; what can be read around (numbers written as strings, a step logged twice)
is read and said in the notes.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .loss_kind import sigmoid_loss
from .series import Series

__all__ = ["METRICS", "FORMATS", "Log", "LogError", "parse_log"]

# the metrics the checks read, by TRL's names (this package's trainer logs the same names)
METRICS = ("loss", "grad_norm", "learning_rate", "rewards/chosen", "rewards/rejected", "rewards/accuracies",
           "rewards/margins", "logps/chosen", "logps/rejected", "aux_loss", "probe/kl", "probe/kl_se",
           "probe/eos_rate", "probe/length", "probe/chosen_logps", "probe/rejected_logps",
           "probe/win_rate")  # fmt: skip
STEP_KEYS = ("step", "global_step", "train/global_step")  # an entry's optimizer step
WANDB_STEP = "_step"  # W&B's counter of log calls
SUMMARY = ("train_runtime", "train_loss")  # HF's end-of-training summary (not a logged step)
OTHER_METRICS = ("mean_token_accuracy",)  # TRL 1.x's next-token accuracy: known, not a DPO metric
FORMATS = ("a TRL trainer_state.json (or its output or checkpoint directory), a metrics.json of python -m "
           "dpo_teach.finetune, HF's all_results.json, a JSON list of metric dicts, or JSON Lines with one "
           "metric dict per line")  # fmt: skip
MAX_STEP = 2**53  # steps are whole numbers below this (a float holds them exactly)


class LogError(ValueError):
    """LOG is not a readable training log; the message names the problem and the fix."""


@dataclasses.dataclass
class Log:
    source: str  # where it was read from
    kind: str  # "TRL trainer_state.json", "metrics.json", "JSON list", "JSON Lines", ...
    series: Series  # the training entries by metric (for an eval-only log: the eval entries)
    n_train: int  # training entries with at least one known metric
    n_eval: int  # eval entries
    notes: list[str]  # what the reader noticed or could not check, for the report


def _entries(data, source: str, kind: str | None):
    """``(kind, entries, logging_steps)`` of any of the formats."""
    if isinstance(data, dict) and "log_history" in data:
        return (
            "TRL trainer_state.json",
            _list(data["log_history"], "log_history", source),
            data.get("logging_steps"),
        )
    if isinstance(data, dict) and isinstance(data.get("train"), dict) and "history" in data["train"]:
        return "metrics.json", _list(data["train"]["history"], "train.history", source), None
    if isinstance(data, dict) and "history" in data:
        return kind or "history", _list(data["history"], "history", source), None
    if isinstance(data, dict) and any(_canonical(k)[0] in METRICS or k in SUMMARY for k in data):
        summary = any(k in SUMMARY for k in data) or all(_canonical(k)[1] for k in data if k != "epoch")
        return kind or ("HF all_results.json (a summary)" if summary else "one metric dict"), [data], None
    if isinstance(data, list):
        return kind or "JSON list", data, None
    keys = ", ".join(list(data)[:6]) if isinstance(data, dict) else type(data).__name__
    raise LogError(f"{source} holds no training log (found {keys}); pass {FORMATS}")


def _list(value, where: str, source: str) -> list:
    if not isinstance(value, list):
        raise LogError(f"{source}: {where} is a {type(value).__name__}, not a list of logged steps; pass "
                       f"the file the trainer wrote ({FORMATS})")  # fmt: skip
    return value


def _canonical(key: str) -> tuple[str, bool]:
    """``(TRL's name, is it an eval metric)``: ``train/loss`` -> ``loss``, ``eval_rewards/chosen`` ->
    (``rewards/chosen``, True)."""
    for prefix in ("eval_", "eval/"):
        if key.startswith(prefix):
            return key[len(prefix) :], True
    return key.removeprefix("train/"), False


def _number(value, what: str, strings: list):
    """A JSON number as a float (NaN and inf kept); a numeric string read as one (and noted);
    None for null. Anything else raises :class:`LogError` naming ``what``."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            strings.append(what)
            return number
    raise LogError(f"{what} is {json_repr(value)}, not a number; write the metric as a JSON number")


def json_repr(value) -> str:
    text = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _step(entry: dict, position: int, where: str, strings: list) -> tuple[int, bool]:
    """``(step, from a step key)``; W&B's _step or the position otherwise."""
    key = next((k for k in STEP_KEYS if entry.get(k) is not None), None)
    found = key is not None
    key = key or (WANDB_STEP if entry.get(WANDB_STEP) is not None else None)
    if key is None:
        return position, False
    step = _number(entry[key], f"{where}: {key}", strings)
    if not (math.isfinite(step) and step == int(step) and abs(step) < MAX_STEP):
        raise LogError(f"{where}: {key} {entry[key]!r} is not an optimizer step (a whole number from 0 to "
                       "2^53); fix or drop that entry")  # fmt: skip
    if step < 0:
        raise LogError(f"{where}: {key} {int(step)} is negative; optimizer steps count from 0 (fix or drop "
                       "that entry)")  # fmt: skip
    return int(step), found


def parse_log(data, source: str = "<log>", kind: str | None = None, logging_steps=None,
              loss_type: str | None = None) -> Log:  # fmt: skip
    """A :class:`Log` from already-parsed JSON (any of the formats). Raises :class:`LogError`."""
    kind, entries, logged_every = _entries(data, source, kind)
    logging_steps = logging_steps or logged_every
    named = data.get("loss") if kind == "metrics.json" else None  # this package's run names its loss
    if loss_type is None and isinstance(named, dict) and isinstance(named.get("loss_type"), str):
        loss_type = named["loss_type"]
    if not entries:
        raise LogError(f"{source}: the log is empty (no logged steps); train for at least one logging "
                       "step (TRL: logging_steps) and pass the file written after it")  # fmt: skip
    bad = next((i for i, e in enumerate(entries) if not isinstance(e, dict)), None)
    if bad is not None:
        raise LogError(f"{source}: entry {bad} is a {type(entries[bad]).__name__}, not a dict of metrics; "
                       f"pass {FORMATS}")  # fmt: skip
    columns = {False: {}, True: {}}  # is_eval -> name -> {step: value} (a later entry replaces one)
    counts, strings, repeated, unknown = {False: 0, True: 0}, [], set(), set()
    wandb_steps = trl_keys = False
    for position, entry in enumerate(entries):
        if "train_runtime" in entry and len(entries) > 1:  # TRL's end-of-training summary line
            continue
        where = f"{source}, entry {position}"
        step, found = _step(entry, position, where, strings)
        wandb_steps |= not found and WANDB_STEP in entry
        trl_keys |= any(k in entry for k in ("epoch", "train/global_step", "logits/chosen", "num_tokens"))
        seen = {False: False, True: False}
        for key, value in entry.items():
            name, is_eval = _canonical(key)
            if name not in METRICS:
                if key not in SUMMARY and name not in OTHER_METRICS and any(
                    w in key for w in ("reward", "logp", "loss", "grad", "margin", "accurac")
                ):
                    unknown.add(key)  # looks like a metric the checks read, under another name
                continue
            number = _number(value, f"{where}: {key}", strings)
            if number is None:
                continue
            column = columns[is_eval].setdefault(name, {})
            if step in column:
                repeated.add((is_eval, step))
            column[step] = number
            seen[is_eval] = True
        for is_eval in seen:
            counts[is_eval] += seen[is_eval]
    if not counts[False] and not counts[True]:
        shown = ", ".join(sorted(unknown)[:8]) + (", ..." if len(unknown) > 8 else "")
        raise LogError(
            f"{source}: {len(entries)} entries but none of the metrics the doctor reads (keys: "
            f"{shown or 'none'}); it needs TRL's DPOTrainer metrics: {', '.join(METRICS[:4])}, ..."
        )
    notes = []
    if strings:
        notes.append(f"{len(strings)} values were strings, read as numbers (first: {strings[0]}); a trainer "
                     "writes numbers")  # fmt: skip
    if repeated:
        shown = ", ".join(str(s) for _, s in sorted(repeated)[:5]) + (", ..." if len(repeated) > 5 else "")
        notes.append(f"{len(repeated)} step(s) logged more than once ({shown}): a resumed run's log? the "
                     "later entry of each is used")  # fmt: skip
    if wandb_steps:
        notes.append("steps are W&B's _step (a count of log calls, not optimizer steps): export "
                     "train/global_step to place entries on the optimizer's steps")  # fmt: skip
    series = {is_eval: _series(cols) for is_eval, cols in columns.items()}
    eval_only = not counts[False]
    train = series[True] if eval_only else series[False]
    if eval_only and len(entries) == 1:
        notes.append("one summary entry (no per-step series): only its values are checked")
    elif eval_only:
        notes.append(f"no training entries: the checks read the {counts[True]} evaluation entries")
    first = min(int(st[0]) for st, _ in train.values()) if train else 0
    trl = trl_keys or kind.startswith("TRL")
    # before any update: step 0 (the package's trainer), or TRL's step 1 (the first step's batches
    # are scored before its optimizer step); never from W&B's counter or a summary
    pre_update = (
        not eval_only and not wandb_steps and (first == 0 or (first == 1 and (trl or logging_steps == 1)))
    )
    if not pre_update and not eval_only and train:
        why = f"averages steps 1-{first}" if logging_steps and first == logging_steps else f"is step {first}"
        notes.append(
            f"step-0 check skipped: the first logged entry {why}, not the policy before its first "
            "update (TRL: logging_first_step=True or logging_steps=1 logs step 1 before it)"
        )
    s = Series(train, pre_update, tool="trl" if trl else "unknown",
               eval=None if eval_only else Series(series[True], False))  # fmt: skip
    s.sigmoid_loss, loss_note = sigmoid_loss(s, loss_type)
    if loss_note:
        notes.append(loss_note)
    if unknown:
        notes.append("keys the doctor does not know: " + ", ".join(sorted(unknown)[:10]) + " (renamed "
                     "metrics? the checks read TRL's names: see checks not run)")  # fmt: skip
    return Log(source, kind, s, counts[False], counts[True], notes)


def _series(columns: dict) -> dict:
    """name -> ``(steps, values)`` in step order."""
    out = {}
    for name, by_step in columns.items():
        steps = np.array(sorted(by_step), dtype=np.int64)
        out[name] = steps, np.array([by_step[int(s)] for s in steps], dtype=np.float64)
    return out
