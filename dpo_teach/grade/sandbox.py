"""Where a submission's kernel runs: its own temporary directory, resource limits, and bubblewrap
when it is installed.

With ``bwrap`` (Debian/Ubuntu package ``bubblewrap``) the kernel sees a root of its own: the
system (``/usr``, ``/etc``) and the Python environment read-only, the ``dpo_teach`` package
read-only (it imports the library), its working directory (the submission's copy) writable, an
empty ``/tmp``; no network, its own process ids (it cannot signal anything outside), and nothing
else: not the course's tree (``notebooks/solutions/``, ``tests/``), not the other submissions,
not the teacher's home or the CSV. Without ``bwrap`` the kernel still runs in its temporary
directory, under the limits, in a session of its own behind a launcher, but it can read and write
whatever the teacher's account can: the grader says so in one line before grading.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import dpo_teach

COURSE = Path(dpo_teach.__file__).resolve().parents[1]  # the clone (or site-packages) holding the package
PACKAGE = Path(dpo_teach.__file__).resolve().parent
SYSTEM = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/opt")


@dataclass(frozen=True)
class Limits:
    """Per kernel process (a restarted kernel starts afresh)."""

    cpu_s: int = 900  # CPU seconds over the whole notebook (a looping cell costs its time limit)
    memory_mib: int = 8192  # address space; torch alone maps about 1 GiB
    file_mib: int = 64  # the largest file it may write
    processes: int = 256  # processes and threads beyond those the user already runs


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def environment_paths() -> list[str]:
    """The Python installation and environment to show read-only: prefixes and ``sys.path``
    entries, less any that would show the course's tree (the package is bound on its own)."""
    candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    candidates |= {str(Path(sys.executable).resolve().parents[1])}
    candidates |= {p for p in sys.path if p}
    paths = set()
    for text in candidates:
        path = Path(text).resolve()
        if not path.exists() or _inside(COURSE, path):  # an ancestor would show the whole course
            continue
        if any(_inside(path, Path(s)) for s in SYSTEM):
            continue
        paths.add(str(path))
    return sorted(paths)


def bwrap_arguments(writable: list[Path]) -> list[str]:
    """``bwrap ... --``: the view described above, ``writable`` bound read-write."""
    args = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    for path in SYSTEM:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for path in [*environment_paths(), str(PACKAGE)]:
        args += ["--ro-bind", path, path]
    for path in writable:
        args += ["--bind", str(path), str(path)]
    # no parent poller: inside its own pid namespace the kernel's parent is pid 1
    return [*args, "--setenv", "JPY_PARENT_PID", "1", "--chdir", str(writable[0]), "--"]


@cache
def bwrap_status() -> tuple[bool, str]:
    """(usable, one line saying what protects the submissions), tried once per run."""
    if shutil.which("bwrap") is None:
        return False, (
            "bubblewrap (bwrap) is not installed: submissions run in temporary directories under "
            "resource limits, but can read the course's files (solutions included) and write "
            "wherever you can; install the Debian package bubblewrap to isolate them"
        )
    probe = Path(os.environ.get("TMPDIR", "/tmp")).resolve()
    command = bwrap_arguments([probe]) + [sys.executable, "-c", "import dpo_teach"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as err:
        done = subprocess.CompletedProcess(command, 1, "", str(err))
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return False, f"bubblewrap is installed but cannot start a sandbox here ({why}); grading without it"
    return True, "bubblewrap: each submission runs with no network, no view of the course's files"


def kernel_prefix(workdir: Path, kerneldir: Path, limits: Limits, use_bwrap: bool) -> list[str]:
    """The command that goes before the kernel's own: the launcher, then bwrap if used."""
    launcher = [sys.executable, "-m", "dpo_teach.grade.launch"]
    launcher += [str(limits.cpu_s), str(limits.memory_mib), str(limits.file_mib), str(limits.processes), "--"]
    return launcher + (bwrap_arguments([workdir, kerneldir]) if use_bwrap else [])


KEPT = ("PATH", "LANG", "LANGUAGE", "TZ", "PYTHONPATH", "VIRTUAL_ENV", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def kernel_environment(workdir: Path) -> dict[str, str]:
    """The teacher's environment less its secrets: what a kernel needs, nothing else."""
    env = {k: v for k, v in os.environ.items() if k in KEPT or k.startswith(("LC_", "DPO_TEACH_"))}
    env.setdefault("OMP_NUM_THREADS", "1")  # small checks; several kernels share the cores
    return env | {"HOME": str(workdir), "TMPDIR": str(workdir), "MPLBACKEND": "Agg",
                  "MPLCONFIGDIR": str(workdir / ".matplotlib"), "PYTHONWARNINGS": "ignore"}  # fmt: skip
