"""The fast-mode switch, the device choice, the figure helper and `python -m dpo_teach`."""

from __future__ import annotations

import math
import subprocess
import sys

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from dpo_teach import plotting, runtime  # noqa: E402
from dpo_teach.__main__ import worked_example  # noqa: E402


def test_fast_mode_switch(monkeypatch):
    for value, expected in [("1", True), ("true", True), ("0", False), ("", False)]:
        monkeypatch.setenv("DPO_TEACH_FAST", value)
        assert runtime.fast_mode() is expected
        assert runtime.pick(full=2000, fast=50) == (50 if expected else 2000)


def test_default_device():
    assert runtime.default_device("cpu") == "cpu"
    assert runtime.default_device("auto") in {"cpu", "cuda"}
    with pytest.raises(ValueError, match="'auto', 'cpu' or 'cuda'"):
        runtime.default_device("gpu")


def test_cuda_request_without_gpu_is_an_error(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="no GPU"):
        runtime.default_device("cuda")


def test_save_figure_goes_to_ignored_folder_in_fast_mode(monkeypatch, tmp_path):
    monkeypatch.setenv("DPO_TEACH_FAST", "1")
    monkeypatch.delenv("DPO_TEACH_FIGURES", raising=False)
    assert plotting.figures_dir().name == "_fast"
    monkeypatch.setenv("DPO_TEACH_FIGURES", str(tmp_path))
    plotting.use_style()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    path = plotting.save_figure(fig, "test_figure")
    plt.close(fig)
    assert path == tmp_path / "test_figure.png" and path.stat().st_size > 1000
    for bad in ["", "a/b", "x.png"]:
        with pytest.raises(ValueError, match="bare stem"):
            plotting.save_figure(fig, bad)


def test_worked_example_rows():
    rows = {r["beta"]: r for r in worked_example()}
    assert rows[1.0]["p_w_over_l"] == pytest.approx(0.6, abs=1e-15)
    assert rows[1.0]["loss"] == pytest.approx(-math.log(0.6), abs=1e-15)
    assert rows[1.0]["grad_weight"] == pytest.approx(0.4, abs=1e-15)
    # larger beta: same policy, larger margin, smaller loss
    betas = sorted(rows)
    assert all(rows[a]["margin"] < rows[b]["margin"] for a, b in zip(betas, betas[1:]))


def test_main_prints_the_table():
    out = subprocess.run(
        [sys.executable, "-m", "dpo_teach"], capture_output=True, text=True, check=True
    ).stdout
    assert "P(y_w>y_l)" in out and "0.6000" in out and "Eq. 7" in out
