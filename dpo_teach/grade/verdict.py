"""The verdict on one exercise, computed by the grader: the original check, called here on the
answers the student's kernel recorded.

The answers come back as data (:mod:`codec`); a function answer stays in the kernel and is called
there through a :class:`RemoteFunction`, which returns its result as data. The check itself runs
in the grader's process, which never runs the student's code: redefining ``check_*``, printing
``Correct!``, or patching ``numpy`` or the checks in the kernel changes nothing here.
"""

from __future__ import annotations

import builtins
import json
import sys
import threading
import time
from dataclasses import dataclass, field

from .. import exercises
from ..exercises.language import PASS_MARKS
from .codec import decode, encode
from .kernel import Kernel

CHECKS = tuple(name for name in exercises.__all__ if name.startswith("check_"))
MAX_REPLY = 64 << 20  # characters of one reply read back from a kernel


@dataclass
class Result:
    """One exercise of one submission."""

    status: str = "missing"  # pass | fail | error | missing
    detail: str = ""  # the check's first line of feedback, or what went wrong
    flags: list[str] = field(default_factory=list)  # e.g. "uses dpo_teach"


class Stopped(BaseException):
    """The kernel ran past the time limit or died during a check (not the student's exception:
    a BaseException, so the checks do not turn it into feedback)."""

    def __init__(self, status: str):
        super().__init__(status)
        self.status = status  # timeout | dead


def _rebuilt(data: dict) -> BaseException:
    """The exception the student's function raised, as the checks need it: same type name and
    message (a builtin type where it was one, so ``except TypeError`` still matches)."""
    name, message = str(data.get("raised", "Exception")), str(data.get("message", ""))
    if name == "SystemExit":
        return SystemExit(decode(data["code"]) if data.get("code") else None)
    base = getattr(builtins, name, None) if data.get("builtin") else None
    if not (isinstance(base, type) and issubclass(base, Exception)):
        base = Exception
    return type(name, (base,), {"__str__": lambda self: message, "__module__": "builtins"})()


class RemoteFunction:
    """Calls the student's function ``index`` in ``kernel``, within the exercise's ``deadline``."""

    def __init__(self, kernel: Kernel, index: int, name: str, deadline: float):
        self.kernel, self.index, self.__name__, self.deadline = kernel, index, name, deadline
        self.calls, self.first_raised = 0, ""

    def __call__(self, *args):
        payload = encode(args)
        code = f"__dpo_grade__.call({self.index}, {payload!r})"
        ran = self.kernel.evaluate(code, "__dpo_grade__.reply", max(self.deadline - time.monotonic(), 0.1))
        if ran.status in ("timeout", "dead"):
            raise Stopped(ran.status)
        if ran.status != "ok" or not ran.value or len(ran.value) > MAX_REPLY:
            raise RuntimeError(f"the kernel gave no result ({ran.error or 'the grader hook was removed'})")
        data = json.loads(ran.value)
        self.calls += 1
        if "raised" in data:
            self.first_raised = self.first_raised or (str(data["raised"]) if self.calls == 1 else "-")
            raise _rebuilt(data)
        self.first_raised = self.first_raised or "-"
        return decode(data["ok"])


_local = threading.local()


class _ThreadStdout:
    """sys.stdout for the checks: each grading thread reads what its own check printed."""

    def __init__(self, original):
        self.original = original

    def write(self, text):
        buffer = getattr(_local, "buffer", None)
        return buffer.append(text) or len(text) if buffer is not None else self.original.write(text)

    def flush(self):
        self.original.flush()


def _printed(call):
    """``call()``'s return value and what it printed (from this thread)."""
    if not isinstance(sys.stdout, _ThreadStdout):
        sys.stdout = _ThreadStdout(sys.stdout)
    _local.buffer = []
    try:
        return call(), "".join(_local.buffer)
    finally:
        _local.buffer = None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def verdict(kernel: Kernel, number: int, timeout: float) -> Result:
    """Exercise ``number``'s result from the answers its check cell recorded in ``kernel``."""
    deadline = time.monotonic() + timeout
    ran = kernel.evaluate(f"__dpo_grade__.answer({number})", "__dpo_grade__.reply", timeout)
    if ran.status in ("timeout", "dead"):
        raise Stopped(ran.status)
    if ran.status != "ok" or not ran.value:
        return Result("error")  # the answers never reached the check: the caller says why
    functions: list[RemoteFunction] = []

    def remote(index, name):
        functions.append(RemoteFunction(kernel, index, name, deadline))
        return functions[-1]

    try:
        data = json.loads(ran.value)
        args, kwargs = decode(data["value"], remote)
        kwargs = {str(k): v for k, v in kwargs}
        flags = [f"calls {name}" for name in data.get("library", [])][:3]
    except (ValueError, TypeError, KeyError, RecursionError) as err:  # text the student's kernel altered
        return Result("error", f"the answers could not be read back from the kernel ({type(err).__name__})")
    answers = [*args, *kwargs.values()]
    if any(a is Ellipsis for a in answers):
        return Result("missing", "the answer is still the placeholder `...`", flags)
    check = getattr(exercises, CHECKS[number - 1])
    try:
        _, printed = _printed(lambda: check(*args, **kwargs))
    except AssertionError as err:
        if any(f.first_raised == "NotImplementedError" for f in functions):
            return Result("missing", "the function still raises NotImplementedError (the placeholder)", flags)
        return Result("fail", _first_line(str(err)), flags)
    except Stopped:
        raise
    except Exception as err:  # noqa: BLE001 - e.g. a check called with the wrong number of answers
        return Result("error", f"{type(err).__name__}: {err}", flags)
    mark = next((m for m in PASS_MARKS if m in printed), None)  # "Correct!", or its Chinese
    verdict_line = printed[printed.rfind(mark) :] if mark else printed
    return Result("pass", _first_line(verdict_line), flags)
