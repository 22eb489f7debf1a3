"""The figure helper (dpo_teach.plotting): style, the figures folder and save_figure."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from dpo_teach import plotting  # noqa: E402


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


def test_full_mode_saves_into_the_committed_figures_folder(monkeypatch):
    monkeypatch.setenv("DPO_TEACH_FAST", "0")
    monkeypatch.delenv("DPO_TEACH_FIGURES", raising=False)
    folder = plotting.figures_dir()
    assert folder.name == "figures" and (folder / "01_beta_sweep.png").is_file()


def test_use_style_sets_the_okabe_ito_cycle():
    plotting.use_style()
    assert matplotlib.rcParams["axes.prop_cycle"].by_key()["color"] == plotting.COLORS
    assert len(set(plotting.COLORS)) == len(plotting.OKABE_ITO) == 8
