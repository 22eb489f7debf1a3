"""What the grader puts into each student's kernel: ``__dpo_grade__``, a recorder for the answers.

The grader rewrites each check cell's top-level ``check_x(answer, ...)`` into
``__dpo_grade__(k, answer, ...)``: the kernel runs no check, it keeps exercise k's answers. The
grader then asks for them (``answer(k)``) as :mod:`codec` text, and calls each function answer
through ``call(index, payload)``: the student's function runs here, in its own kernel, and only
its result (or the name and message of what it raised) goes back as data. Whatever the student's
code does to this object or to the kernel can change only the data the grader receives, never the
check that scores it: the checks run in the grader.

``SOURCE`` is the code the grader executes in the kernel (the codec, then this file's ``KERNEL``
part), in a namespace of its own so that the student's namespace gains one name only.
"""

from __future__ import annotations

from pathlib import Path

KERNEL = r'''
import builtins as _builtins
import contextlib as _contextlib


class _Null:
    def write(self, text):
        return len(text)

    def flush(self):
        pass


def _library_names(fn):
    """The dpo_teach objects ``fn`` reaches through its globals or closure (not the checks):
    ``module.name``, with `` as alias`` where the student named it differently."""
    found, seen, stack = [], set(), [getattr(fn, "__code__", None)]
    owner = getattr(fn, "__module__", None) or ""
    if owner.startswith("dpo_teach") and not owner.startswith("dpo_teach.exercises"):
        found.append(f"{owner}.{getattr(fn, '__qualname__', '?')} as {getattr(fn, '__name__', '?')}")
    names = {}
    for cell in getattr(fn, "__closure__", None) or ():
        with _contextlib.suppress(ValueError):
            names[f"<closure {id(cell)}>"] = cell.cell_contents
    while stack:
        code = stack.pop()
        if code is None or id(code) in seen:
            continue
        seen.add(id(code))
        globs = getattr(fn, "__globals__", {})
        names.update({n: globs[n] for n in code.co_names if n in globs})
        stack += [c for c in code.co_consts if hasattr(c, "co_names")]
    for alias, obj in names.items():
        module = getattr(obj, "__name__", "") if type(obj).__name__ == "module" else getattr(obj, "__module__", "")
        if isinstance(module, str) and module.startswith("dpo_teach") and not module.startswith("dpo_teach.exercises"):
            own = getattr(obj, "__name__", module)
            found.append(f"{module}.{own}" if own != module else module)
            if alias != own and not alias.startswith("<"):
                found[-1] += f" as {alias}"
    return sorted(set(found))


class _DpoGrade:
    def __init__(self):
        self.answers, self.functions, self.reply = {}, [], ""

    def __call__(self, number, *args, **kwargs):
        self.answers[number] = (args, kwargs)

    def answer(self, number):
        self.functions, self.reply = [], ""
        if number not in self.answers:
            return
        args, kwargs = self.answers[number]
        value = encode([list(args), [[k, v] for k, v in kwargs.items()]], self.functions)
        library = sorted({n for f in self.functions for n in _library_names(f)})
        self.reply = json.dumps({"value": value, "library": library})

    def call(self, index, payload):
        self.reply = ""
        fn, args = self.functions[index], decode(payload)
        try:
            with _contextlib.redirect_stdout(_Null()), _contextlib.redirect_stderr(_Null()):
                result = fn(*args)
            self.reply = json.dumps({"ok": encode(result)})
        except BaseException as err:  # whatever the student's function raised, as data
            kind = type(err)
            code = encode(err.code) if isinstance(err, SystemExit) else None
            self.reply = json.dumps({"raised": kind.__name__, "builtin": kind.__module__ == "builtins",
                                     "message": str(err)[:2000], "code": code})


_builtins.__dpo_grade__ = _DpoGrade()
'''

SOURCE = (Path(__file__).with_name("codec.py").read_text() + KERNEL).replace("\r\n", "\n")


def install_code() -> str:
    """The cell that installs ``__dpo_grade__`` in a kernel (in its own namespace) and loads the
    course's library (numpy, torch, the checks) into ``sys.modules``, so that the notebook's own
    import cell is quick and a slow import on a busy machine does not count against a cell's time
    limit; the student's namespace gets none of these names."""
    return f"exec({SOURCE!r}, {{'__name__': '__dpo_grade__'}})\nimport dpo_teach.exercises as _dpo_grade_preload\ndel _dpo_grade_preload"
