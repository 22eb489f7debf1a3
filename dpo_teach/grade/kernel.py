"""A submission's Jupyter kernel: one cell at a time, a time limit, an output cap, a restart.

The kernel is started through :mod:`sandbox` (launcher, limits, bubblewrap where available) and
talks to the grader over Unix sockets in a directory of its own (a kernel without network has
no TCP). Interrupts are Jupyter messages, not signals, so that they reach the kernel inside its
sandbox and nothing else.
"""

from __future__ import annotations

import ast
import queue
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from jupyter_client import KernelManager

from .sandbox import Limits, kernel_environment, kernel_prefix


READY_S = 300  # seconds a (re)started kernel may take to answer, on a busy machine
SIGKILL_BIT = 1 << (signal.SIGKILL - 1)  # in the pending-signal masks of /proc/PID/status


def doomed(pid: int | None) -> bool:
    """True if process ``pid`` is gone, a zombie, or has a SIGKILL pending (Linux ``/proc``).

    A cell that runs ``os.kill(os.getppid(), signal.SIGKILL)`` posts the signal before the cell
    returns, but on a busy machine the launcher may take a while to be scheduled and exit (and
    only then is the kernel killed with it): the cell can report "idle" first. The pending bit is
    set by the ``kill`` call itself, so reading it after the cell closes that race.
    """
    if pid is None:
        return False
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:  # gone (or no /proc: not Linux, nothing to read)
        return Path("/proc/self").exists()
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    if fields.get("State", "").strip()[:1] in ("Z", "X"):
        return True
    return any(int(fields.get(k, "0").strip() or "0", 16) & SIGKILL_BIT for k in ("SigPnd", "ShdPnd"))


@dataclass
class Cell:
    status: str  # ok | error | timeout | dead
    stdout: str
    error: str  # "Name: message" of the first error
    value: str = ""  # the user expression asked for (evaluate), as text


class _SandboxedManager(KernelManager):
    prefix: list[str] = []

    def format_kernel_cmd(self, extra_arguments=None):
        return self.prefix + super().format_kernel_cmd(extra_arguments)


class Kernel:
    """A kernel whose working directory is ``workdir``; its sockets live in ``kerneldir``."""

    def __init__(self, workdir: Path, kerneldir: Path, max_output: int, limits: Limits, use_bwrap: bool):
        self.km = _SandboxedManager(kernel_name="python3", transport="ipc", ip=str(kerneldir / "ipc"))
        self.km.connection_file = str(kerneldir / "kernel.json")
        self.km.prefix = kernel_prefix(workdir, kerneldir, limits, use_bwrap)
        env = kernel_environment(workdir)
        self.km.start_kernel(cwd=str(workdir), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=READY_S)
        self.max_output = max_output

    def run(self, code: str, timeout: float) -> Cell:
        """Run ``code``; on time-out interrupt it (status ``timeout``), or report ``dead`` if the
        kernel died or ignored the interrupt (the caller restarts it)."""
        msg_id = self.kc.execute(code, allow_stdin=False, stop_on_error=False)
        out, size, tail, error, deadline = [], 0, "", "", time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.kc.get_iopub_msg(timeout=min(deadline - time.monotonic(), 1.0))
            except queue.Empty:
                if not self.km.is_alive():
                    return Cell("dead", "".join(out), error)
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                text = content.get("text", "")
                if size < self.max_output:  # the start, up to the cap ...
                    out.append(text[: self.max_output - size])
                    size += len(out[-1])
                tail = (tail + text)[-2000:]  # ... and the end
            elif kind == "error" and not error:
                error = f"{content['ename']}: {content['evalue']}"
            elif kind == "status" and content.get("execution_state") == "idle":
                if self.dying():
                    return Cell("dead", "".join(out) + "\n" + tail, error)
                return Cell("error" if error else "ok", "".join(out) + "\n" + tail, error)
        alive = self.interrupt(msg_id)
        return Cell("timeout" if alive else "dead", "".join(out) + "\n" + tail, error)

    def evaluate(self, code: str, expression: str, timeout: float) -> Cell:
        """Run ``code`` silently, then read ``expression`` (a string in the kernel) back as text."""
        msg_id = self.kc.execute(code, silent=True, store_history=False, user_expressions={"r": expression})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.kc.get_shell_msg(timeout=min(deadline - time.monotonic(), 1.0))
            except queue.Empty:
                if not self.km.is_alive():
                    return Cell("dead", "", "")
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            content = msg["content"]
            if self.dying():
                return Cell("dead", "", "")
            if content.get("status") != "ok":
                return Cell("error", "", f"{content.get('ename')}: {content.get('evalue')}")
            result = content.get("user_expressions", {}).get("r", {})
            text = result.get("data", {}).get("text/plain", "") if result.get("status") == "ok" else ""
            try:
                value = ast.literal_eval(text) if text else ""  # the repr of a str: data only
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                value = ""
            return Cell("ok", "", "", value if isinstance(value, str) else "")
        alive = self.interrupt(msg_id)
        return Cell("timeout" if alive else "dead", "", "")

    def interrupt(self, msg_id: str) -> bool:
        """Interrupt the cell ``msg_id``; True if the kernel went idle within 10 s."""
        self.kc.control_channel.send(self.kc.session.msg("interrupt_request", {}))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                msg = self.kc.get_iopub_msg(timeout=1.0)
            except queue.Empty:
                if not self.km.is_alive():
                    return False
                continue
            if (
                msg.get("parent_header", {}).get("msg_id") == msg_id
                and msg["msg_type"] == "status"
                and msg["content"].get("execution_state") == "idle"
            ):
                return True
        return False

    def dying(self) -> bool:
        """True if the launcher (the process the grader started) is dead or being killed; then
        waits up to 10 s for it to go, so that the restart that follows finds it gone."""
        if not doomed(getattr(self.km.provisioner, "pid", None)):
            return False
        deadline = time.monotonic() + 10
        while self.km.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        return True

    def restart(self) -> None:
        self.km.restart_kernel(now=True)
        self.kc.wait_for_ready(timeout=READY_S)

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)
