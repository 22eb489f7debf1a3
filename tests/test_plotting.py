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


def test_notebook_runs_at_any_size_leave_the_committed_figures_alone(monkeypatch):
    """Without $DPO_TEACH_FIGURES (only `python -m dpo_teach.figures` sets it) figures go to an
    ignored folder: figures/_out at full size, figures/_fast in fast mode."""
    monkeypatch.delenv("DPO_TEACH_FIGURES", raising=False)
    repo = plotting.repo_root()
    assert repo is not None and (repo / "figures" / "01_beta_sweep.png").is_file()
    for fast, folder in (("0", "_out"), ("1", "_fast")):
        monkeypatch.setenv("DPO_TEACH_FAST", fast)
        assert plotting.figures_dir() == repo / "figures" / folder
    ignored = (repo / ".gitignore").read_text().splitlines()
    assert "figures/_out/" in ignored and "figures/_fast/" in ignored


def test_use_style_sets_the_okabe_ito_cycle():
    plotting.use_style()
    assert matplotlib.rcParams["axes.prop_cycle"].by_key()["color"] == plotting.COLORS
    assert len(set(plotting.COLORS)) == len(plotting.OKABE_ITO) == 8


def test_label_points_keeps_labels_off_the_lines_and_each_other():
    from matplotlib.path import Path
    from matplotlib.text import Text

    plotting.use_style()
    fig, ax = plt.subplots()
    xs, ys = [0.3, 1, 1.8, 3, 20], [0.65, 0.7, 1.0, 1.0, -1.1]  # notebook 05's frontier, roughly
    ax.plot(xs, ys, "o-")
    ax.axhline(0.0, ls="--")
    ax.set_xscale("log")
    ax.margins(x=0.15, y=0.25)
    labels = plotting.label_points(ax, xs, ys, [f"β={b}\n90% valid" for b in (4, 2, 1, 0.5, 0.25)])
    renderer = fig.canvas.get_renderer()
    for label in labels:
        label.update_positions(renderer)
    boxes = [Text.get_window_extent(label, renderer) for label in labels]  # without leaders
    for line in ax.lines:
        path = Path(line.get_transform().transform_path(line.get_path()).vertices)
        assert not any(path.intersects_bbox(box, filled=False) for box in boxes)
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    plt.close(fig)


def _killed_mid_write(original):
    """A Figure.savefig that writes part of the PNG, then is killed (as SIGKILL would stop it)."""

    def savefig(self, fname, **kwargs):
        original(self, fname, **kwargs)
        with open(fname, "r+b") as f:
            f.truncate(100)  # half a PNG on disk ...
        raise KeyboardInterrupt  # ... and the process stops here

    return savefig


def test_pngs_are_written_atomically_a_kill_leaves_no_truncated_png(monkeypatch, tmp_path):
    """Issue 23: save_figure and the fine-tune's plots wrote PNGs in place; a kill left a
    truncated PNG under the final name. Now the old file (or none) survives, and no temporary."""
    from matplotlib.figure import Figure

    from dpo_teach.gpt2.plots import save_run_plots

    monkeypatch.setenv("DPO_TEACH_FIGURES", str(tmp_path))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    old = plotting.save_figure(fig, "curve").read_bytes()
    assert old.startswith(b"\x89PNG") and len(old) > 1000
    monkeypatch.setattr(Figure, "savefig", _killed_mid_write(Figure.savefig))
    with pytest.raises(KeyboardInterrupt):
        plotting.save_figure(fig, "curve")
    with pytest.raises(KeyboardInterrupt):
        plotting.save_figure(fig, "new_curve")
    plt.close(fig)
    assert (tmp_path / "curve.png").read_bytes() == old  # the old PNG, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curve.png"]  # no truncated new_curve.png
    history = [{"step": s, "loss": 0.69, "rewards/margins": 0.1 * s, "rewards/accuracies": 1.0} for s in range(5)]
    (tmp_path / "run").mkdir()
    with pytest.raises(KeyboardInterrupt):
        save_run_plots(history, None, tmp_path / "run")
    assert list((tmp_path / "run").iterdir()) == []  # no truncated training_curves.png
