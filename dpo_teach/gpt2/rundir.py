"""A run directory that can be trusted on resume: settings, stage records, atomic writes.

``python -m dpo_teach.finetune`` keeps each stage's result in its output directory so that a
re-run resumes instead of starting over. A resume must never trust a half-written file, so:

1. every file is written to a temporary name in the same directory and renamed into place
   (:func:`atomic_write_text`; a directory is built under a temporary name the same way);
2. when a stage has finished, its files are recorded in ``stages.json`` with their size and
   SHA-256 (the record is the last thing the stage writes);
3. on resume a stage is reused only if its record exists and every file still matches it; a
   stage that does not match is done again, and so is every stage after it.

``run_settings.json`` holds the settings that the stages depend on, with a content hash of
every input file or folder (:func:`input_fingerprints`); a directory written with other settings
or other input contents is refused, naming each difference, rather than mixed.

The directory is marked as a run directory (``.dpo_teach_run``) when it is first used: a folder
that is not empty and not marked is refused, so the fine-tune never deletes or replaces a file it
did not create, and of the leftovers of a killed run it removes only its own temporary names.

Under ``torchrun`` (several processes), :func:`open_run_dir` gives every rank a
:class:`SharedRunDir`: rank 0 alone reads and writes the directory; the other ranks are told
rank 0's decisions and wait at :meth:`SharedRunDir.finish` until its files are written.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from ..files import atomic_replace_dir, atomic_write_text, is_leftover, read_json

__all__ = ["RunDir", "SharedRunDir", "open_run_dir", "atomic_write_text", "read_json", "input_fingerprints",
           "MARKER_NAME"]  # fmt: skip

SETTINGS_NAME = "run_settings.json"
STAGES_NAME = "stages.json"
MARKER_NAME = ".dpo_teach_run"  # this folder was made by the fine-tune: its files are the fine-tune's


def _fingerprint(path: Path) -> dict:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


class RunDir:
    """The output directory of one run; ``stages`` lists the stage names in pipeline order."""

    writes = True  # this process writes the files (see SharedRunDir)

    def __init__(self, path, settings: dict, stages: tuple[str, ...]):
        self.path, self.stages = Path(path).absolute(), stages  # files are recorded relative to it
        try:  # create it and prove it is writable now, not after a minute of SFT
            self.path.mkdir(parents=True, exist_ok=True)
            self._claim()
            fd, probe = tempfile.mkstemp(dir=self.path, prefix=".write_test.", suffix=".tmp")
            os.close(fd)
            os.unlink(probe)
        except OSError as err:
            raise ValueError(
                f"cannot write to the output directory {self.path}: {err.strerror or err}; "
                "pass a writable directory with --output-dir"
            ) from None
        for leftover in self.path.iterdir():  # half-written by a run that was killed: our names only
            if is_leftover(leftover.name):
                is_dir = leftover.is_dir() and not leftover.is_symlink()
                shutil.rmtree(leftover) if is_dir else leftover.unlink()
        settings_path = self.path / SETTINGS_NAME
        if settings_path.exists():
            old = read_json(settings_path, "the settings of the run in this directory")
            if old != settings:
                raise ValueError(f"{self.path} holds a run with other inputs "
                                 f"({_differences(old, settings)}); pass a new --output-dir, or the same "
                                 "inputs to resume it")  # fmt: skip
        else:
            atomic_write_text(settings_path, json.dumps(settings))
        stages_path = self.path / STAGES_NAME
        self.records = {}
        if stages_path.exists():
            fix = "delete it (every stage is then done again) or pass a new --output-dir"
            self.records = read_json(stages_path, "the record of finished stages", fix)
        if not isinstance(self.records, dict):
            raise ValueError(f"{stages_path} is not a JSON object; delete it or pass a new --output-dir")

    def _claim(self) -> None:
        """Mark the folder as a run directory; refuse one that holds files and is not one."""
        if (self.path / MARKER_NAME).is_file():
            return
        entries = sorted(p.name for p in self.path.iterdir())
        if entries and SETTINGS_NAME not in entries:  # (a run of an older version has no marker)
            shown = ", ".join(entries[:3]) + (f" and {len(entries) - 3} more" if len(entries) > 3 else "")
            raise ValueError(
                f"--output-dir {self.path} is not empty ({shown}) and is not a run directory of "
                f"dpo_teach (no {MARKER_NAME}); its files would be overwritten, so nothing was "
                "touched: pass a new or empty --output-dir"
            )
        atomic_write_text(self.path / MARKER_NAME, '{"written_by": "python -m dpo_teach.finetune"}\n')

    def is_done(self, stage: str) -> bool:
        """True if ``stage`` and every stage before it finished and their files are unchanged."""
        for name in self.stages[: self.stages.index(stage) + 1]:
            record = self.records.get(name)
            if not isinstance(record, dict) or not record:
                return False
            for rel, expected in record.items():
                file = self.path / rel
                if not file.is_file() or _fingerprint(file) != expected:
                    return False
        return True

    def start(self, stage: str) -> None:
        """Forget ``stage`` and every later one (their files will be written again)."""
        for name in self.stages[self.stages.index(stage) :]:
            self.records.pop(name, None)
        atomic_write_text(self.path / STAGES_NAME, json.dumps(self.records, indent=1))

    def finish(self, stage: str, files) -> None:
        """Record ``stage`` as done with its ``files`` (paths inside the run directory)."""
        record = {}
        for file in files:
            file = Path(file)
            rel = file.relative_to(self.path) if file.is_absolute() else file
            record[str(rel)] = _fingerprint(self.path / rel)
        self.records[stage] = record
        atomic_write_text(self.path / STAGES_NAME, json.dumps(self.records, indent=1))

    def replace_dir(self, name: str, build) -> Path:
        """Build the directory ``name`` under a temporary name with ``build(tmp_dir)`` and rename
        it into place (an old one, this run directory's, is removed first): a crash leaves no
        half-built ``name``."""
        return atomic_replace_dir(self.path / name, build, ours=lambda path: True)


def _differences(old, new) -> str:
    """What differs between two settings dicts, one phrase per key (nested dicts: per inner key)."""
    if not isinstance(old, dict):
        return f"{SETTINGS_NAME} holds {str(old)[:80]}, not a JSON object"
    out = []
    for key in sorted(set(old) | set(new), key=str):
        was, now = old.get(key), new.get(key)
        if was == now:
            continue
        if key == "files" and isinstance(was, dict) and isinstance(now, dict):
            for flag in sorted(set(was) | set(now)):
                a, b = (d.get(flag) if isinstance(d.get(flag), dict) else {} for d in (was, now))
                if a != b:
                    old_hash, new_hash = str(a.get("sha256"))[:12], str(b.get("sha256"))[:12]
                    out.append(f"the content of {flag} {b.get('path', a.get('path', ''))} changed (sha256 "
                               f"{old_hash} in that run, {new_hash} now)")  # fmt: skip
        elif isinstance(was, dict) and isinstance(now, dict):
            out += [f"{key}.{k}: {was.get(k)!r} in that run, {now.get(k)!r} now"
                    for k in sorted(set(was) | set(now)) if was.get(k) != now.get(k)]  # fmt: skip
        else:
            out.append(f"{key}: {was!r} in that run, {now!r} now")
    return "; ".join(out)


def input_fingerprints(named_paths: dict) -> dict:
    """``{flag: {"path", "sha256"}}`` for each local file or folder in ``named_paths`` (``{flag: path or
    name}``; hub names and None are skipped): a folder's hash covers every file's relative path
    and content (symbolic links by their target), so an edited input is noticed on resume."""
    found = {}
    for flag, value in named_paths.items():
        path = Path(str(value)).expanduser() if value is not None else None
        if path is None or not path.exists():
            continue
        digest = hashlib.sha256()
        inside = (p for p in path.rglob("*") if p.is_file() or p.is_symlink())
        files = [path] if path.is_file() else sorted(inside)
        for file in files:
            digest.update(str(file.relative_to(path) if file != path else file.name).encode() + b"\0")
            if file.is_symlink():
                digest.update(os.readlink(file).encode())
            else:
                digest.update(_fingerprint(file)["sha256"].encode())
        found[flag] = {"path": str(value), "sha256": digest.hexdigest()}
    return found


class SharedRunDir:
    """One :class:`RunDir` for all ranks of a data-parallel run: rank 0 owns it; :meth:`is_done` is
    rank 0's answer on every rank, :meth:`start` and :meth:`replace_dir` act on rank 0 only, and
    :meth:`finish` returns on every rank once rank 0 has recorded the stage (so its files can be read)."""

    def __init__(self, path, settings: dict, stages: tuple[str, ...], env):
        from .distributed import barrier

        self.env, self.path, self.stages = env, Path(path).absolute(), stages
        self.owner = RunDir(path, settings, stages) if env.is_main else None
        self.writes = env.is_main
        barrier(env)  # the directory exists (and was checked) before any rank goes on

    def _claim(self) -> None:
        """Mark the folder as a run directory; refuse one that holds files and is not one."""
        if (self.path / MARKER_NAME).is_file():
            return
        entries = sorted(p.name for p in self.path.iterdir())
        if entries and SETTINGS_NAME not in entries:  # (a run of an older version has no marker)
            shown = ", ".join(entries[:3]) + (f" and {len(entries) - 3} more" if len(entries) > 3 else "")
            raise ValueError(
                f"--output-dir {self.path} is not empty ({shown}) and is not a run directory of "
                f"dpo_teach (no {MARKER_NAME}); its files would be overwritten, so nothing was "
                "touched: pass a new or empty --output-dir"
            )
        atomic_write_text(self.path / MARKER_NAME, '{"written_by": "python -m dpo_teach.finetune"}\n')

    def is_done(self, stage: str) -> bool:
        from .distributed import broadcast_object

        return broadcast_object(self.owner.is_done(stage) if self.owner else None, self.env)

    def start(self, stage: str) -> None:
        if self.owner:
            self.owner.start(stage)

    def finish(self, stage: str, files) -> None:
        from .distributed import barrier

        if self.owner:
            self.owner.finish(stage, files)
        barrier(self.env)

    def replace_dir(self, name: str, build) -> Path:
        return self.owner.replace_dir(name, build) if self.owner else self.path / name


def open_run_dir(path, settings: dict, stages: tuple[str, ...], env=None):
    """A :class:`RunDir` in one process (``env`` None or a single process), else a :class:`SharedRunDir`."""
    if env is None or not env.enabled:
        return RunDir(path, settings, stages)
    return SharedRunDir(path, settings, stages, env)
