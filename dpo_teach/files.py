"""Files that can be trusted: written whole or not at all, read with errors that name them.

Every state file of the package (run settings, stage records, preference data, grades) is
written to a temporary name in the same directory and renamed into place, so a crash or a full
disk never leaves a half-written file that a later run would trust.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "atomic_write_text", "atomic_replace_dir", "read_json", "umask", "is_leftover"]

# the temporary names atomic_write and atomic_replace_dir use: "." + name + "." + 8 random
# characters (tempfile's alphabet) + ".tmp"; a killed run leaves these, and only these, behind
_LEFTOVER = re.compile(r"\.(.+)\.[a-z0-9_]{8}\.tmp")


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


def atomic_replace_dir(path, build, ours=None) -> Path:
    """Build the directory ``path`` under a temporary name beside it with ``build(tmp_dir)``, then
    rename it into place: a crash leaves no half-built ``path``; on an error the temporary directory
    is removed and the error propagates. An existing ``path`` is replaced only if it is empty or
    ``ours(path)`` says this program wrote it; anything else is refused (a ValueError) before
    ``build`` runs, so no file the program did not create is ever deleted."""
    import shutil

    path = Path(path)
    if path.exists() and not (path.is_dir() and (not any(path.iterdir()) or (ours and ours(path)))):
        raise ValueError(f"{path} already exists and was not written by dpo_teach; move it away or "
                         "choose another path (it is never deleted)")  # fmt: skip
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


def is_leftover(name: str) -> bool:
    """True if ``name`` has the shape of a temporary name of :func:`atomic_write` /
    :func:`atomic_replace_dir` (what a killed run leaves half-written)."""
    return _LEFTOVER.fullmatch(name) is not None


def read_json(path, what: str, fix: str = "delete it or pass a new --output-dir"):
    """Parse the JSON file ``path``; a missing, unreadable or corrupt file raises a ValueError
    that names it, says what it holds (``what``) and what to do (``fix``)."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise ValueError(f"{path} ({what}) cannot be read: {type(err).__name__}: {err}; {fix}") from None
