"""Files that can be trusted: written whole or not at all, read with errors that name them.

Every state file of the package (run settings, stage records, preference data, grades) is
written to a temporary name in the same directory and renamed into place, so a crash or a full
disk never leaves a half-written file that a later run would trust.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "atomic_write_text", "atomic_replace_dir", "read_json", "umask"]


def umask() -> int:
    """The process umask (read without changing it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path, write) -> Path:
    """Call ``write(tmp_path)`` on a temporary name beside ``path``, then rename it over ``path``:
    ``path`` holds its old content or all of the new one, never a part; on an error (or an
    interrupt) the temporary file is removed and the error propagates."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~umask())  # the permissions a plain open() would give
    try:
        write(Path(tmp))
        with open(tmp, "rb") as f:  # on disk before the rename, so a power cut cannot swap in junk
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` with :func:`atomic_write`."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_replace_dir(path, build) -> Path:
    """Build the directory ``path`` under a temporary name beside it with ``build(tmp_dir)``, then
    rename it into place (an old ``path`` is removed first): a crash leaves no half-built ``path``;
    on an error the temporary directory is removed and the error propagates."""
    import shutil

    path = Path(path)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    os.chmod(tmp, 0o777 & ~umask())  # the permissions a plain mkdir would give
    try:
        build(tmp)
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def read_json(path, what: str, fix: str = "delete it or pass a new --output-dir"):
    """Parse the JSON file ``path``; a missing, unreadable or corrupt file raises a ValueError
    that names it, says what it holds (``what``) and what to do (``fix``)."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise ValueError(f"{path} ({what}) cannot be read: {type(err).__name__}: {err}; {fix}") from None
