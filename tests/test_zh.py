"""The Chinese entry to the course: ``README.zh-CN.md`` and ``notebooks/zh/``, kept in sync with the English.

Each notebook in ``notebooks/zh/`` (and ``notebooks/zh/solutions/``) has the code cells of the
English notebook of the same name, character for character and in order (only the markdown is
Chinese), so a code change made in one language fails here until it is made in the other. The one
exception: a notebook that calls the checks (09's exercises, the practice questions of 01-06) opens
with one more code cell, ``LANGUAGE_CELL``, which makes the checks' feedback Chinese. ``pytest`` runs
both languages' notebooks under
nbval (``testpaths`` holds ``notebooks/``, which includes ``notebooks/zh/``). The zh notebooks
follow the English structure rules in Chinese: a "你将学到" list at the top, a five-line "## 小结" at
the end, and every number their prose states also stands in the English notebook, where it is
computed and asserted.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

import nbformat
import pytest

from dpo_teach import figures

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
ZH = NOTEBOOKS / "zh"
ZH_PATHS = sorted(ZH.glob("*.ipynb")) + sorted((ZH / "solutions").glob("*.ipynb"))
LANGUAGE_CELL = 'from dpo_teach.exercises import set_language\n\nset_language("zh")  # 检查的反馈用中文（默认是英文）'
README, README_ZH = ROOT / "README.md", ROOT / "README.zh-CN.md"

WHAT_YOU_LEARN = "**你将学到**"  # the English notebooks' "What you will learn"
SUMMARY = "## 小结"  # their "## Summary"
BETA_DIRECTION = "$\\beta$ 越大，策略越贴近参考模型"  # "A larger beta keeps the policy closer ..."
CJK = re.compile(r"[\u4e00-\u9fff]")
NUMBER = re.compile(r"\d+(?:\.\d+)?")
LINK = re.compile(r"\]\(([^)\s]+)\)")
NOTEBOOK_REFERENCE = re.compile(r"\]\([^)\s]+\)|notebook \d\d")  # a cross-reference, not a claimed number


def read(path: Path):
    return nbformat.read(path, as_version=4)


def english_of(path: Path) -> Path:
    return NOTEBOOKS / path.relative_to(ZH)


def calls_checks(nb) -> bool:
    return any(c.cell_type == "code" and re.search(r"^check_\w+\(", c.source, flags=re.M) for c in nb.cells)


def markdown_of(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def sync_problems(english: Path, chinese: Path) -> list[str]:
    """Where the code cells of ``chinese`` differ from those of ``english``: their number, then each
    cell (source and cell tags, which steer nbval) in order. Empty when they agree."""
    en = [c for c in read(english).cells if c.cell_type == "code"]
    zh = [c for c in read(chinese).cells if c.cell_type == "code"]
    problems = []
    if zh and zh[0].source == LANGUAGE_CELL and calls_checks(read(english)):
        zh = zh[1:]  # the exercises' language switch, the one cell the English does not have
    if len(en) != len(zh):
        problems.append(f"{len(zh)} code cells, the English notebook has {len(en)}")
    for i, (a, b) in enumerate(zip(en, zh), start=1):
        if a.source != b.source:
            lines_a, lines_b = a.source.splitlines(), b.source.splitlines()
            same = (k for k, (x, y) in enumerate(zip(lines_a, lines_b)) if x != y)
            n = next(same, min(len(lines_a), len(lines_b)))  # the first line that differs
            english_line = lines_a[n] if n < len(lines_a) else "<no line>"
            chinese_line = lines_b[n] if n < len(lines_b) else "<no line>"
            problems.append(
                f"code cell {i}, line {n + 1}: English {english_line!r}, Chinese {chinese_line!r}"
            )
        tags_en, tags_zh = a.metadata.get("tags", []), b.metadata.get("tags", [])
        if tags_en != tags_zh:
            problems.append(f"code cell {i}: tags {tags_zh} vs English {tags_en}")
    return problems


@pytest.fixture(params=ZH_PATHS, ids=lambda p: f"zh/{p.name}")
def zh_notebook(request):
    return request.param, read(request.param)


def test_the_chinese_notebooks_are_found_and_each_has_an_english_twin():
    assert [p.relative_to(ZH).as_posix() for p in ZH_PATHS] == [
        "01_toy_example.ipynb",
        "02_derivation.ipynb",
        "03_gradient.ipynb",
        "07_failure_modes.ipynb",
        "09_exercises.ipynb",
        "solutions/09_exercises_solutions.ipynb",
    ]
    assert all(english_of(p).is_file() for p in ZH_PATHS)


@pytest.mark.parametrize("chinese", ZH_PATHS, ids=lambda p: f"zh/{p.name}")
def test_code_cells_equal_the_english_notebooks(chinese):
    problems = sync_problems(english_of(chinese), chinese)
    assert not problems, (
        f"notebooks/zh/{chinese.name} and notebooks/{chinese.name} must have the same code cells "
        "(make a code change in both languages): " + "; ".join(problems)
    )


def shared_code(nb):
    """The code cells a zh notebook shares with the English: all but its language switch."""
    return [c for c in nb.cells if c.cell_type == "code" and c.source != LANGUAGE_CELL]


def test_the_sync_check_fails_on_one_changed_cell(tmp_path):
    english, chinese = english_of(ZH_PATHS[0]), ZH_PATHS[0]
    code = shared_code(read(chinese))

    def problems_after(change) -> list[str]:
        copy = read(chinese)
        change(copy)
        path = tmp_path / chinese.name
        nbformat.write(copy, path)
        return sync_problems(english, path)

    def edit_code(k, old, new):
        def change(copy):
            cell = shared_code(copy)[k]
            assert old in cell.source
            cell.source = cell.source.replace(old, new, 1)

        return change

    # one number in one cell: exactly one problem, naming the cell and its line
    found = problems_after(edit_code(1, "math.log(0.6)", "math.log(0.7)"))
    assert len(found) == 1 and found[0].startswith("code cell 2, line 2:") and "0.7" in found[0]
    # a comment or a blank is a change too: the cells are compared character for character
    assert problems_after(edit_code(0, "# the formulas in NumPy", "# 用 NumPy 写的公式"))
    # a dropped cell, two cells swapped, a changed tag
    assert problems_after(lambda copy: copy.cells.remove(shared_code(copy)[0]))
    assert len(problems_after(lambda copy: copy.cells.reverse())) >= 2

    def tag(copy):
        shared_code(copy)[0].metadata["tags"] = ["raises-exception"]

    assert problems_after(tag) == ["code cell 1: tags ['raises-exception'] vs English []"]
    # markdown is free to differ; the untouched copy agrees
    assert problems_after(lambda copy: setattr(copy.cells[0], "source", "# 01 · 别的标题")) == []
    assert len(code) >= 10 and sync_problems(english, shutil.copy(chinese, tmp_path / "same.ipynb")) == []


def test_the_exercises_open_with_the_language_cell_and_only_they_may(tmp_path):
    """The zh notebooks that call the checks (09's exercises, 01-06's practice questions) switch the
    feedback to Chinese in their first code cell; the sync check forgives that one cell, exactly,
    first, and only in a notebook that calls the checks."""
    calling = [p for p in ZH_PATHS if calls_checks(read(english_of(p)))]
    names = {p.name for p in calling}
    assert {"01_toy_example.ipynb", "09_exercises.ipynb", "09_exercises_solutions.ipynb"} <= names
    for path in calling:
        first = next(c for c in read(path).cells if c.cell_type == "code")
        assert first.source == LANGUAGE_CELL, path.name
    english, chinese = english_of(ZH / "09_exercises.ipynb"), ZH / "09_exercises.ipynb"

    def problems_after(change, english=english) -> list[str]:
        copy = read(chinese)
        change(copy)
        nbformat.write(copy, tmp_path / "zh.ipynb")
        return sync_problems(english, tmp_path / "zh.ipynb")

    def code(copy):
        return [c for c in copy.cells if c.cell_type == "code"]

    assert problems_after(lambda copy: None) == []
    assert problems_after(lambda copy: setattr(code(copy)[0], "source", LANGUAGE_CELL.replace("zh", "en")))
    assert problems_after(lambda copy: copy.cells.insert(3, copy.cells.pop(1)))  # moved after the imports
    # a notebook without checks gets no such exception (a pair made here: every English notebook
    # of the zh set but 07 calls the checks now, and 07 is to gain them too)
    def pair(*sources, switch):
        en = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
        zh = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
        if switch:
            zh.cells.insert(0, nbformat.v4.new_code_cell(LANGUAGE_CELL))
        nbformat.write(en, tmp_path / "en.ipynb")
        nbformat.write(zh, tmp_path / "zh_pair.ipynb")
        return sync_problems(tmp_path / "en.ipynb", tmp_path / "zh_pair.ipynb")

    assert pair("x = 1", "check_x(x)", switch=True) == [] == pair("x = 1", switch=False)
    assert pair("x = 1", switch=True)[0] == "2 code cells, the English notebook has 1"
    assert pair("x = 1", "# check_x(x)", switch=True)  # a comment is no call


def test_committed_clean_with_python3_kernel(zh_notebook):
    path, nb = zh_notebook
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"zh/{path.name}: clear the outputs"


def test_opens_with_what_you_learn_and_closes_with_five_line_summary_in_chinese(zh_notebook):
    path, nb = zh_notebook
    first, last = nb.cells[0], nb.cells[-1]
    assert first.cell_type == "markdown" and first.source.startswith(f"# {path.name[:2]} · ")
    assert CJK.search(first.source.splitlines()[0]), f"zh/{path.name}: the title is in Chinese"
    assert WHAT_YOU_LEARN in first.source, path.name
    assert last.cell_type == "markdown" and last.source.startswith(SUMMARY), path.name
    assert len(re.findall(r"^\d\. ", last.source, flags=re.M)) == 5, f"zh/{path.name}: five summary lines"
    english_summary = read(english_of(path)).cells[-1].source  # the rule the Chinese one mirrors
    assert english_summary.startswith("## Summary")
    assert len(re.findall(r"^\d\. ", english_summary, flags=re.M)) == 5


def test_every_markdown_cell_is_chinese_and_links_back_to_the_english(zh_notebook):
    path, nb = zh_notebook
    english_cells = [c for c in nb.cells if c.cell_type == "markdown" and not CJK.search(c.source)]
    assert not english_cells, f"zh/{path.name}: untranslated markdown: {english_cells[0].source[:80]!r}"
    link = os.path.relpath(english_of(path), path.parent).replace(os.sep, "/")
    assert f"]({link})" in nb.cells[0].source, f"zh/{path.name}: link the English notebook"


def test_links_in_the_chinese_notebooks_resolve(zh_notebook):
    path, nb = zh_notebook
    for target in LINK.findall(markdown_of(nb)):
        if not target.startswith(("http://", "https://", "#")):
            assert (path.parent / target.split("#")[0]).exists(), f"zh/{path.name}: broken link {target}"


def test_every_number_in_the_chinese_prose_is_one_the_english_notebook_computes(zh_notebook):
    """The code cells are the English notebook's, so a number the Chinese prose states must stand
    in the English notebook too (its prose or its code), where an ``assert`` checks it."""
    path, nb = zh_notebook
    english = read(english_of(path))
    known = set(NUMBER.findall("\n".join(c.source for c in english.cells)))
    prose = NOTEBOOK_REFERENCE.sub("", markdown_of(nb))
    new = sorted(set(NUMBER.findall(prose)) - known, key=float)
    assert not new, f"zh/{path.name} states numbers the English notebook never computes: {new}"


def test_the_direction_of_beta_is_stated_once_and_right():
    text = {p.name: markdown_of(read(p)) for p in ZH_PATHS}
    assert text["01_toy_example.ipynb"].count(BETA_DIRECTION) == 1
    for name, source in text.items():
        assert "越小，策略越贴近" not in source and "越大，策略越远离" not in source, name


def test_figures_come_from_the_english_notebooks_only():
    """The zh notebooks run the same code, so they draw the same figures (English labels) under the
    same names into the ignored figures/_out or _fast; the committed figures/ are made from the
    English notebooks only."""
    assert all(p.parent == NOTEBOOKS for p in figures.figure_notebooks(ROOT))
    for path in ZH_PATHS:
        assert figures.figure_names(path) == figures.figure_names(english_of(path))


def test_pytest_runs_the_chinese_notebooks_too():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "notebooks" in config["testpaths"] and "--nbval-lax" in config["addopts"]
    assert not any(fnmatch("zh", pattern) for pattern in config.get("norecursedirs", []))


def test_the_readmes_link_each_other():
    assert "[中文](README.zh-CN.md)" in README.read_text(encoding="utf-8").splitlines()[0]
    zh = README_ZH.read_text(encoding="utf-8")
    assert "[English](README.md)" in zh.splitlines()[0]
    for target in LINK.findall(zh):
        if not target.startswith(("http://", "https://", "#")):
            assert (ROOT / target.split("#")[0]).exists(), f"README.zh-CN.md: broken link {target}"
    for path in ZH_PATHS:
        name = path.relative_to(ZH).as_posix()
        assert f"(notebooks/zh/{name})" in zh, f"README.zh-CN.md: map notebooks/zh/{name}"


CHINA = "## 在中国大陆安装"  # the set-up section only the Chinese README has
CHINA_COMMANDS = (  # its commands: a PyPI mirror, a Hugging Face mirror (both https)
    "pip config set global.index-url https://pypi.tuna.tsinghua.edu.cn/simple",
    "export HF_ENDPOINT=https://hf-mirror.com",
)


def test_the_mainland_china_section_covers_the_set_up():
    zh = README_ZH.read_text(encoding="utf-8")
    assert zh.count(CHINA) == 1 and "(#在中国大陆安装)" in zh  # linked from step 3
    section = zh.split(CHINA, 1)[1].split("\n## ", 1)[0]
    for needed in ("pip config set global.index-url", "whl/cpu", "离线", "HF_ENDPOINT", "Colab"):
        assert needed in section, needed
    commands = [c.strip() for c in re.findall(r"```bash\n(.*?)```", section, flags=re.S)]
    assert commands == list(CHINA_COMMANDS)
    assert all("https://" in c and "http://" not in c for c in CHINA_COMMANDS)


def test_the_chinese_readme_fixes_of_the_review():
    zh = README_ZH.read_text(encoding="utf-8")
    assert "损失即似然" not in zh and "负对数似然" in zh
    assert "DPO(Direct Preference Optimization)算法解释：中英双语" in zh and "2024 年 12 月 26 日" in zh
    assert "whl/cpu" in zh and "`.ci/run`" in zh and "CUDA 版" in zh
    assert "拒绝奖励" not in zh
    rows = re.findall(r"^\| \[(\d\d) ", zh, flags=re.M)
    assert rows == [f"{n:02d}" for n in range(10)], rows  # the map lists 00-09
    exercises_row = next(line for line in zh.splitlines() if line.startswith("| [09 "))
    assert "IPO" in exercises_row


def test_the_chinese_readme_commands_are_the_english_readmes():
    """Commands drift too: every command line of the Chinese README (its comment aside) is one the
    English README runs, and the formula check runs as printed; the mainland-China section's own
    commands are checked above."""
    zh, en = README_ZH.read_text(encoding="utf-8"), README.read_text(encoding="utf-8")
    head, rest = zh.split(CHINA, 1)
    zh = head + "\n## " + rest.split("\n## ", 1)[1]  # without the mainland-China section
    blocks = re.findall(r"```(bash|python)\n(.*?)```", zh, flags=re.S)
    assert [kind for kind, _ in blocks].count("python") == 1
    for kind, block in blocks:
        if kind == "python":
            assert block in en
            subprocess.run([sys.executable, "-c", block], check=True, cwd=ROOT)
            continue
        for line in block.splitlines():
            command = line.split("  #")[0].strip()
            assert command and command in en, f"README.zh-CN.md runs {command!r}, which README.md does not"
