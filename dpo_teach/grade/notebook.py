"""What the grader reads from a submission's source: which cells belong to which exercise, the
check cells rewritten to record their answers, library use, and the names each cell defines.

An exercise is the answer cells since the previous check and its own ``check_*(...)`` cell (see
``notebooks/09_exercises.ipynb``); a check called at the top level of a cell counts, not the demo
inside a ``try`` block.
"""

from __future__ import annotations

import ast
import re

from .verdict import CHECKS

_CHECK_CALL = re.compile(r"^(" + "|".join(CHECKS) + r")\s*\(", flags=re.M)
LIBRARY_USE = re.compile(r"\bdpo_teach\b(?!\.exercises)")  # the checks themselves are fine
_UNDEFINED = re.compile(r"name '(\w+)' is not defined")


def exercises(cells) -> dict[int, tuple[list[int], int]]:
    """Exercise number -> (answer cell indices, check cell index), from the code cells' sources."""
    found, since = {}, []
    for i, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        match = _CHECK_CALL.search(cell.source)
        if match:
            number = CHECKS.index(match.group(1)) + 1
            answers = found[number][0] + since if number in found else since  # the last call counts
            found[number] = (answers, i)
            since = []
        else:
            since.append(i)
    return found


def record_answers(source: str) -> str:
    """The check cell with each top-level ``check_x(...)`` turned into ``__dpo_grade__(k, ...)``,
    which keeps the answers for the grader and runs no check; other statements are unchanged."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source  # the kernel reports the syntax error as this exercise's
    changed = False
    for statement in tree.body:
        call = statement.value if isinstance(statement, ast.Expr) else None
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in CHECKS:
            number = ast.Constant(CHECKS.index(call.func.id) + 1)
            call.func, call.args, changed = ast.Name("__dpo_grade__", ast.Load()), [number, *call.args], True
    return ast.unparse(ast.fix_missing_locations(tree)) if changed else source


def uses_library(sources) -> bool:
    """True if any source names ``dpo_teach`` beyond ``dpo_teach.exercises``."""
    return any(LIBRARY_USE.search(s) for s in sources)


def defined_names(source: str) -> set[str]:
    """Names a cell binds at its top level (imports, assignments, definitions, loop targets)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        else:
            targets = [t for t in ast.walk(node) if isinstance(t, ast.Name) and isinstance(t.ctx, ast.Store)]
            names |= {t.id for t in targets}
    return names


def with_cause(problem: str, failed: list[tuple[int, str, set[str]]]) -> tuple[str, bool]:
    """``problem``, followed by the earlier failed cell that should have defined the missing name
    (``failed``: cell index, what went wrong, names it defines); True if one was found."""
    match = _UNDEFINED.search(problem)
    if not match:
        return problem, False
    for index, what, names in reversed(failed):
        if match.group(1) in names:
            return f"{problem}: cell {index + 1}, which defines it, {what}", True
    return problem, False
