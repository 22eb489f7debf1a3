"""The doctor's log reader: a path -> one :class:`~.entries.Log` of per-step series.

A path is a log file (one JSON document, or JSON Lines with one metric dict per line) or a
directory: a TRL checkpoint (``trainer_state.json``), a ``python -m dpo_teach.finetune`` output
(``metrics.json``), a TRL ``output_dir`` that holds only ``checkpoint-N/`` folders (the latest is
read, and named in the notes), or one with HF's ``all_results.json`` / ``eval_results.json``. Only
JSON is read: ``training_args.bin`` is a pickle and is never opened. Anything that is not a
training log raises :class:`~.entries.LogError` naming the problem and the fix.
"""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path

from .entries import FORMATS, Log, LogError, parse_log

__all__ = ["read_log", "find_log"]

IN_A_DIRECTORY = ("trainer_state.json", "metrics.json", "all_results.json", "eval_results.json")


def _stat_error(path: Path) -> LogError | None:
    """A :class:`LogError` for a path that cannot be followed (missing, a symlink loop), else None."""
    try:
        os.stat(path)
    except OSError as err:
        if err.errno == errno.ELOOP:
            return LogError(f"{path}: a symlink loop (a link that points back to itself); pass the real file")
        if err.errno == errno.ENOENT and os.path.islink(path):
            return LogError(
                f"{path}: a symlink to {os.readlink(path)}, which does not exist; pass the real file"
            )
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            return LogError(f"{path}: no such file; pass the path of {FORMATS}")
        return LogError(f"{path}: cannot be read ({err.strerror or err}); check its permissions")
    return None


def find_log(path: Path) -> tuple[Path, list[str]]:
    """``(the log file, notes)`` for ``path``, a file or a directory."""
    error = _stat_error(path)
    if error:
        raise error
    if not path.is_dir():
        return path, []
    for name in IN_A_DIRECTORY:
        if (path / name).is_file():
            return path / name, []
    numbered = []
    for child in path.iterdir():
        match = re.fullmatch(r"checkpoint-(\d+)", child.name)
        if match and child.is_dir() and (child / "trainer_state.json").is_file():
            numbered.append((int(match.group(1)), child))
    if numbered:
        step, latest = max(numbered)
        note = f"read the latest checkpoint, {latest.name} (of {len(numbered)} in {path})"
        return latest / "trainer_state.json", [note]
    raise LogError(f"{path} is a directory without trainer_state.json, metrics.json, all_results.json or "
                   f"checkpoint-N/trainer_state.json; pass the log file itself ({FORMATS})")  # fmt: skip


def _json(text: str, where: str):
    try:
        return json.loads(text)
    except RecursionError:
        raise LogError(f"{where}: JSON nested too deeply to be a training log; pass {FORMATS}") from None


def read_log(path, loss_type: str | None = None) -> Log:
    """Read LOG from ``path`` (a file or a directory, see the module's docstring)."""
    path, notes = find_log(Path(path))
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as err:
        raise LogError(f"{path}: cannot be read ({err.strerror or err}); check its permissions") from None
    except UnicodeDecodeError:
        raise LogError(f"{path} is not a text file (not UTF-8); pass {FORMATS}") from None
    if not text.strip():
        raise LogError(f"{path} is empty; pass the log written after training ({FORMATS})")
    try:
        data, kind = _json(text, str(path)), None
    except json.JSONDecodeError:  # not one JSON document: JSON Lines?
        data, kind = [], "JSON Lines"
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data.append(_json(line, f"{path}, line {lineno}"))
            except json.JSONDecodeError as err:
                raise LogError(f"{path}, line {lineno}: not JSON ({err.msg}); pass {FORMATS}") from None
    log = parse_log(data, str(path), kind=kind, loss_type=loss_type)
    log.notes[:0] = notes
    return log
