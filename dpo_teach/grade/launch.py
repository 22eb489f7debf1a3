"""``python -m dpo_teach.grade.launch CPU MEMORY FILE PROCESSES -- COMMAND...``: start a kernel under
resource limits, one process away from the grader.

Sets the limits (CPU seconds, address space in MiB, largest file in MiB, processes beyond those
the user already runs), then runs COMMAND as its child and waits for it. The grader starts this
launcher in a session of its own, so the kernel cannot signal the grader through its process
group, and ``os.kill(os.getppid(), ...)`` reaches this launcher, not the grader: if the launcher
dies, the kernel is killed with it (``PR_SET_PDEATHSIG``) and the grader restarts both. Interrupts
reach the kernel as Jupyter messages, so the launcher ignores SIGINT.

Imports only the standard library (it starts once per kernel).
"""

import ctypes
import os
import resource
import signal
import sys

MIB = 1 << 20


def _user_tasks() -> int:
    """Processes and threads the current user runs now (what RLIMIT_NPROC counts)."""
    uid, count = os.getuid(), 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.stat(f"/proc/{pid}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{pid}/task"))
            except OSError:
                continue
    return count


def set_limits(cpu_s: int, memory_mib: int, file_mib: int, processes: int) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))  # SIGXCPU, then SIGKILL
    resource.setrlimit(resource.RLIMIT_AS, (memory_mib * MIB, memory_mib * MIB))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_mib * MIB, file_mib * MIB))
    if os.getuid() != 0:  # root is exempt from RLIMIT_NPROC anyway
        tasks = _user_tasks() + processes
        resource.setrlimit(resource.RLIMIT_NPROC, (tasks, tasks))


def _die_with_parent() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 6 or argv[4] != "--":
        print("usage: python -m dpo_teach.grade.launch CPU MEMORY FILE PROCESSES -- COMMAND...", file=sys.stderr)
        return 2
    set_limits(*(int(a) for a in argv[:4]))
    child = os.fork()
    if child == 0:
        _die_with_parent()
        try:
            os.execvp(argv[5], argv[5:])
        finally:
            os._exit(127)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: os.kill(child, signal.SIGKILL))
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status) & 0xFF


if __name__ == "__main__":
    sys.exit(main())
