"""The 0.6 / 0.4 worked example (dpo_teach.worked_example) and `python -m dpo_teach [--lang zh]`,
which prints it."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys

import pytest

from dpo_teach import numpy_dpo as nd
from dpo_teach.worked_example import (
    BETAS,
    POLICY,
    REFERENCE,
    display_width,
    explain,
    format_table,
    worked_example,
)  # fmt: skip

UTF8 = dict(os.environ, PYTHONIOENCODING="utf-8")  # the Chinese printout, whatever the locale


def run_main(*args, **env):
    return subprocess.run(
        [sys.executable, "-m", "dpo_teach", *args], capture_output=True, encoding="utf-8",
        env=dict(UTF8, **env),
    )  # fmt: skip


def test_worked_example_rows():
    rows = {r["beta"]: r for r in worked_example()}
    assert sorted(rows) == sorted(BETAS)
    assert rows[1.0]["p_w_over_l"] == pytest.approx(0.6, abs=1e-15)
    assert rows[1.0]["loss"] == pytest.approx(-math.log(0.6), abs=1e-15)
    assert rows[1.0]["grad_weight"] == pytest.approx(0.4, abs=1e-15)
    # larger beta: same policy, larger margin, smaller loss
    betas = sorted(rows)
    assert all(rows[a]["margin"] < rows[b]["margin"] for a, b in zip(betas, betas[1:]))
    assert all(rows[a]["loss"] > rows[b]["loss"] for a, b in zip(betas, betas[1:]))


def test_rows_agree_with_the_formula_core():
    logs = [math.log(p) for p in (*POLICY, *REFERENCE)]
    for row in worked_example((0.3, 3.0)):
        beta = row["beta"]
        assert row["margin"] == pytest.approx(float(nd.margin(*logs, beta)), rel=1e-14)
        assert row["r_hat_w"] == pytest.approx(beta * math.log(POLICY[0] / REFERENCE[0]), rel=1e-14)
        assert row["r_hat_l"] == pytest.approx(beta * math.log(POLICY[1] / REFERENCE[1]), rel=1e-14)
        assert row["grad_weight"] == pytest.approx(1 - row["p_w_over_l"], rel=1e-14)


def test_table_has_one_line_per_beta():
    rows = worked_example()
    lines = format_table(rows).splitlines()
    assert len(lines) == 2 + len(rows) and "P(y_w>y_l)" in lines[0]
    assert lines[2].split()[0] == f"{BETAS[0]:.2f}"


def test_main_prints_the_explanation():
    out = subprocess.run(
        [sys.executable, "-m", "dpo_teach"], capture_output=True, text=True, check=True
    ).stdout
    assert out == explain() + "\n"
    assert "P(y_w>y_l)" in out and "0.6000" in out and "Eq. 7" in out


def test_main_help_names_the_finetune_command():
    proc = subprocess.run([sys.executable, "-m", "dpo_teach", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "python -m dpo_teach.finetune" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "dpo_teach", "--nope"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unrecognized arguments" in bad.stderr


def test_chinese_table_has_the_same_numbers_and_aligned_chinese_headings():
    rows = worked_example()
    en, zh = format_table(rows).splitlines(), format_table(rows, lang="zh").splitlines()
    assert zh[1:] == en  # the same numbers under the same code names, one Chinese line on top
    assert zh[0].split() == ["选中奖励", "落选奖励", "奖励差", "偏好概率", "损失", "权重"]  # 落选, as everywhere
    # each Chinese heading ends in the terminal column where its column ends (wide characters count 2)
    ends_en = [m.end() for m in re.finditer(r"\S+", en[0])]
    ends_zh = [display_width(zh[0][: m.end()]) for m in re.finditer(r"\S+", zh[0])]
    assert ends_zh == ends_en[1:] and display_width(zh[0]) == len(en[0])
    assert display_width("选中 w") == 6


def test_explain_in_chinese_says_the_same_facts():
    zh = explain("zh")
    assert format_table(worked_example(), lang="zh") in zh
    assert "DPO 损失，式 7" in zh and "隐式奖励" in zh and "beta 越大，策略越贴近参考模型" in zh
    assert "拒绝" not in zh and "落选奖励" in zh  # the term of README.zh-CN.md: 落选回答 (rejected)
    assert "损失也就更小" in zh and "偏离参考模型更少" in zh  # beta's direction, every step of the reason
    assert "0.6 / (0.6 + 0.4) = 0.6" in zh and "0.6 / (0.6 + 0.4) = 0.6" in explain("en")


@pytest.mark.parametrize("lang", ["fr", "ZH", "", "en-US"])
def test_unknown_language_is_refused_by_the_functions(lang):
    with pytest.raises(ValueError, match="lang must be one of 'en', 'zh'"):
        explain(lang)
    with pytest.raises(ValueError, match="lang must be one of"):
        format_table(worked_example(), lang=lang)


def test_main_lang_zh_prints_the_chinese_explanation_and_en_is_the_default():
    zh = run_main("--lang", "zh")
    assert zh.returncode == 0 and zh.stdout == explain("zh") + "\n" and zh.stderr == ""
    assert "选中奖励" in zh.stdout and "0.6000" in zh.stdout
    en = run_main("--lang", "en")
    assert en.returncode == 0 and en.stdout == explain() + "\n" == run_main().stdout


def test_main_refuses_an_unknown_language_in_one_line():
    bad = run_main("--lang", "fr")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1, bad.stderr  # one line, no usage block
    assert "--lang 'fr'" in bad.stderr and "--lang en" in bad.stderr and "--lang zh" in bad.stderr
    assert "--lang LANG" in run_main("--help").stdout


def test_main_says_how_to_fix_an_output_that_cannot_show_chinese():
    proc = run_main("--lang", "zh", PYTHONIOENCODING="ascii")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "PYTHONIOENCODING=utf-8" in proc.stderr
    assert run_main(PYTHONIOENCODING="ascii").returncode == 0  # the English printout is ASCII
