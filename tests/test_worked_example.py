"""The 0.6 / 0.4 worked example (dpo_teach.worked_example) and `python -m dpo_teach`, which prints it."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from dpo_teach import numpy_dpo as nd
from dpo_teach.worked_example import BETAS, POLICY, REFERENCE, explain, format_table, worked_example


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
