"""A run directory that can be trusted on resume: settings, stage records, atomic writes.

``python -m dpo_teach.finetune`` keeps each stage's result in its output directory so that a
re-run resumes instead of starting over. A resume must never trust a half-written file, so:

1. every file is written to a temporary name in the same directory and renamed into place
   (:func:`atomic_write_text`; a directory is built under a temporary name the same way);
2. when a stage has finished, its files are recorded in ``stages.json`` with their size and
   SHA-256 (the record is the last thing the stage writes);
3. on resume a stage is reused only if its record exists and every file still matches it; a
   stage that does not match is done again, and so is every stage after it.

``run_settings.json`` holds the settings that the stages depend on; a directory written with
other settings is refused rather than mixed.

Under ``torchrun`` (several processes), :func:`open_run_dir` gives every rank a
:class:`SharedRunDir`: rank 0 alone reads and writes the directory; the other ranks are told
rank 0's decisions and wait at :meth:`SharedRunDir.finish` until its files are written.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from ..files import atomic_replace_dir, atomic_write_text, read_json

__all__ = ["RunDir", "SharedRunDir", "open_run_dir", "atomic_write_text", "read_json"]

SETTINGS_NAME = "run_settings.json"
STAGES_NAME = "stages.json"


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
            probe = atomic_write_text(self.path / ".write_test", "")
            probe.unlink()
        except OSError as err:
            raise ValueError(
                f"cannot write to the output directory {self.path}: {err.strerror or err}; "
                "pass a writable directory with --output-dir"
            ) from None
        for leftover in self.path.glob(".*.tmp"):  # half-written by a run that was killed
            shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
        settings_path = self.path / SETTINGS_NAME
        if settings_path.exists():
            old = read_json(settings_path, "the settings of the run in this directory")
            if old != settings:
                raise ValueError(
                    f"{self.path} holds a run with settings {old}, not {settings}; "
                    "pass a new --output-dir (or delete that one)"
                )
        else:
            atomic_write_text(settings_path, json.dumps(settings))
        stages_path = self.path / STAGES_NAME
        self.records = {}
        if stages_path.exists():
            fix = "delete it (every stage is then done again) or pass a new --output-dir"
            self.records = read_json(stages_path, "the record of finished stages", fix)
        if not isinstance(self.records, dict):
            raise ValueError(f"{stages_path} is not a JSON object; delete it or pass a new --output-dir")

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
        it into place (an old one is removed first): a crash leaves no half-built ``name``."""
        return atomic_replace_dir(self.path / name, build)


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
