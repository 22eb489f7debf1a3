"""The package's shape, read from its source (AST, nothing imported): private names stay private,
the GPT-2 files depend on each other in pipeline order, the pipeline never imports ``gpt2/lab`` or
``gpt2/hub`` (only the stage orchestration calls ``hub``), those two rooms never import each other,
the CLIs are leaves, each folder's docstring lists its files, and files stay short
(docs/architecture.md, "Import rules")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dpo_teach"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_LINES = 300


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_in(source: str, package: str) -> list[tuple[int, str, str | None]]:
    """Every import in ``source`` (also inside functions) as ``(line, module, name)``: ``name`` is
    the imported name of ``from module import name``, None for ``import module``. Relative imports
    are resolved against ``package``, the package the source lives in."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            found += [(node.lineno, module, alias.name) for alias in node.names]
    return found


def imports(path: Path) -> list[tuple[int, str, str | None]]:
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    return imports_in(path.read_text(), package)


def private_imports(found) -> list[str]:
    """``from x import _name`` reaches into another module's internals; only the shared
    ``_checks`` module may be imported (``from .. import _checks``)."""
    bad = []
    for line, module, name in found:
        private_parts = [p for p in module.split(".") if p.startswith("_") and not p.startswith("__")]
        if name is not None and name.startswith("_") and not name.startswith("__") and name != "_checks":
            bad.append(f"line {line}: from {module} import {name}")
        elif any(p != "_checks" for p in private_parts):
            bad.append(f"line {line}: {module}")
    return bad


def imported_modules(path: Path) -> set[str]:
    """Modules the file imports, counting ``from pkg import sub`` as an import of ``pkg.sub``."""
    out = set()
    for _, module, name in imports(path):
        out.add(module)
        if name is not None:
            out.add(f"{module}.{name}")
    return out


def rel(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


def test_the_scan_sees_every_part_of_the_package():
    names = {module_name(p) for p in MODULES}
    assert {"dpo_teach", "dpo_teach.numpy_dpo", "dpo_teach.bandit.rlhf", "dpo_teach.gpt2.trainer",
            "dpo_teach.exercises.mistakes", "dpo_teach.finetune"} <= names  # fmt: skip
    assert len(names) == len(MODULES) >= 25


def test_the_scan_resolves_imports_and_finds_private_ones():
    source = """
from __future__ import annotations
import numpy as np
from .. import _checks
from .. import torch_dpo as td
from .logprobs import score_pairs
from ._tabular import check_pairs
def f():
    from ..bandit.checks import _private
    import dpo_teach._feedback
"""
    found = imports_in(source, "dpo_teach.gpt2")
    assert (4, "dpo_teach", "_checks") in found and (6, "dpo_teach.gpt2.logprobs", "score_pairs") in found
    assert (9, "dpo_teach.bandit.checks", "_private") in found  # inside a function too
    assert private_imports(found) == [
        "line 7: dpo_teach.gpt2._tabular",
        "line 9: from dpo_teach.bandit.checks import _private",
        "line 10: dpo_teach._feedback",
    ]
    assert imports_in("from . import trainer", "dpo_teach.gpt2") == [(1, "dpo_teach.gpt2", "trainer")]
    assert imports_in("from .. import finetune", "dpo_teach.exercises") == [(1, "dpo_teach", "finetune")]


@pytest.mark.parametrize("path", MODULES, ids=rel)
def test_no_private_name_is_imported_from_another_module(path):
    bad = private_imports(imports(path))
    assert not bad, f"{rel(path)} imports private names: {bad}"


@pytest.mark.parametrize("name", ["sft", "sampling", "evaluate"])
def test_gpt2_files_before_the_trainer_do_not_import_it(name):
    modules = imported_modules(PACKAGE / "gpt2" / f"{name}.py")
    assert "dpo_teach.gpt2.trainer" not in modules, f"dpo_teach/gpt2/{name}.py imports the trainer"


@pytest.mark.parametrize("path", MODULES, ids=rel)
def test_no_module_imports_the_clis(path):
    """``finetune``, ``doctor`` and ``grade`` are leaves: only their own files import them."""
    for cli in ("dpo_teach.finetune", "dpo_teach.doctor", "dpo_teach.grade"):
        if module_name(path) == cli or module_name(path).startswith(cli + "."):
            continue
        bad = [m for m in imported_modules(path) if m == cli or m.startswith(cli + ".")]
        assert not bad, f"{rel(path)} imports the CLI {cli}: {bad}"


# The rooms of part 3 and who may import whom (docs/architecture.md).
LAB, HUB = "dpo_teach.gpt2.lab", "dpo_teach.gpt2.hub"
ORCHESTRATION = {"dpo_teach.gpt2.stages", "dpo_teach.gpt2.real_stages"}


def room(module: str) -> str | None:
    """``"lab"``, ``"hub"``, ``"pipeline"`` for a module of ``dpo_teach.gpt2``; None outside it."""
    for name, prefix in (("lab", LAB), ("hub", HUB)):
        if module == prefix or module.startswith(prefix + "."):
            return name
    return "pipeline" if module == "dpo_teach.gpt2" or module.startswith("dpo_teach.gpt2.") else None


def room_violations(module: str, imported: set[str]) -> list[str]:
    """The imports of ``module`` that break the rooms' rules: the pipeline imports neither ``lab``
    nor ``hub`` (the stage orchestration may import ``hub``); ``lab`` and ``hub`` never import
    each other."""
    here = room(module)
    if here is None:
        return []
    allowed = {"pipeline": {"pipeline"} | ({"hub"} if module in ORCHESTRATION else set()),
               "lab": {"pipeline", "lab"}, "hub": {"pipeline", "hub"}}[here]  # fmt: skip
    return sorted(m for m in imported if room(m) not in (None, *allowed))


@pytest.mark.parametrize("path", MODULES, ids=rel)
def test_the_pipeline_and_the_two_rooms_keep_their_import_rules(path):
    bad = room_violations(module_name(path), imported_modules(path))
    assert not bad, f"{rel(path)} breaks the import rules of gpt2/, lab/ and hub/: imports {bad}"


@pytest.mark.parametrize(
    ("module", "package", "source"),
    [
        ("dpo_teach.gpt2.trainer", "dpo_teach.gpt2", "from .lab.online import online_dpo"),
        ("dpo_teach.gpt2.evaluate", "dpo_teach.gpt2", "from .hub import judge"),
        ("dpo_teach.gpt2.stages", "dpo_teach.gpt2", "from .lab import family_runs"),
        ("dpo_teach.gpt2.lab.clinic", "dpo_teach.gpt2.lab", "from ..hub.judge import true_reward"),
        ("dpo_teach.gpt2.hub.judge", "dpo_teach.gpt2.hub", "import dpo_teach.gpt2.lab.labels"),
    ],
)
def test_the_room_rule_catches_a_planted_import(module, package, source):
    """A check that can fail: each planted import breaks exactly one rule and is reported."""
    found = imports_in(source, package)
    imported = {m for _, m, _ in found} | {f"{m}.{n}" for _, m, n in found if n}
    assert room_violations(module, imported), f"{source!r} in {module} was not caught"


def test_the_room_rule_allows_what_the_rules_allow():
    assert not room_violations("dpo_teach.gpt2.real_stages", {"dpo_teach.gpt2.hub.judged_eval"})
    assert not room_violations("dpo_teach.gpt2.lab.online", {"dpo_teach.gpt2.trainer", "dpo_teach.bandit"})
    assert not room_violations("dpo_teach.finetune.runner", {LAB + ".online", HUB + ".real_world"})


FOLDERS = sorted({p.parent for p in MODULES if p.name == "__init__.py"} - {PACKAGE})


@pytest.mark.parametrize("folder", FOLDERS, ids=rel)
def test_each_folder_docstring_lists_its_files(folder):
    """A reader opening a folder sees what it is and its files, in reading order, in ``__init__``."""
    doc = ast.get_docstring(ast.parse((folder / "__init__.py").read_text())) or ""
    files = [p.stem for p in sorted(folder.glob("*.py")) if p.stem not in ("__init__", "__main__")]
    files += [p.name + "/" for p in sorted(folder.iterdir()) if (p / "__init__.py").exists()]
    missing = [f for f in files if f"``{f}``" not in doc and f"``{f.rstrip('/')}``" not in doc]
    assert not missing, f"{rel(folder)}/__init__.py's docstring does not list {missing}"


@pytest.mark.parametrize("path", MODULES, ids=rel)
def test_every_module_is_under_300_lines(path):
    n = len(path.read_text().splitlines())
    assert n < MAX_LINES, f"{rel(path)} has {n} lines; split it"
