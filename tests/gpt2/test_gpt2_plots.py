"""The run's figures (dpo_teach.gpt2.plots): training curves with a moving average, rewards before
and after."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from dpo_teach.gpt2.plots import plot_rewards, plot_training_curves, save_run_plots  # noqa: E402

KEYS = ("loss", "rewards/margins", "rewards/accuracies")


def history_of(n):
    return [{"step": i, **{k: 1.0 / (i + 1) for k in KEYS}} for i in range(n)]


def test_training_curves_draw_each_metric_and_its_moving_average():
    history = history_of(50)  # window = 50 // 25 = 2
    fig = plot_training_curves(history)
    assert [ax.get_title() for ax in fig.axes] == list(KEYS)
    raw, smooth = fig.axes[0].lines[:2]
    values = [h["loss"] for h in history]
    assert list(raw.get_ydata()) == values
    assert list(smooth.get_xdata()) == list(range(50))
    # mean of the last two values, of one at the start
    assert list(smooth.get_ydata()) == [values[0]] + [(a + b) / 2 for a, b in zip(values, values[1:])]
    assert any(list(line.get_ydata()) == [math.log(2)] * 2 for line in fig.axes[0].lines)  # the ln 2 line
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "running mean over 2 steps" in legend  # says what the smooth line is
    plt.close(fig)


def test_short_history_is_drawn_without_smoothing():
    history = history_of(4)  # window 1: the "moving average" is the values themselves
    fig = plot_training_curves(history)
    raw, smooth = fig.axes[1].lines[:2]
    assert list(smooth.get_ydata()) == list(raw.get_ydata()) == [h["rewards/margins"] for h in history]
    plt.close(fig)


def test_plot_rewards_and_save_run_plots(tmp_path):
    samples = [{"reference_reward": r, "policy_reward": r + 1.5} for r in (-0.5, 0.0)]
    fig = plot_rewards(samples)
    (ax,) = fig.axes
    assert len(ax.containers) == 2  # reference and policy histograms, every sample counted once
    assert [sum(bar.get_height() for bar in c) for c in ax.containers] == [2, 2]
    # side by side, opaque: the two bars of a bin never overlap into a mixed colour
    assert all(a.get_x() + a.get_width() <= b.get_x() + 1e-12 for a, b in zip(*ax.containers))
    assert all(bar.get_alpha() in (None, 1) for c in ax.containers for bar in c)
    plt.close(fig)
    save_run_plots(history_of(50), samples, tmp_path)
    assert (tmp_path / "training_curves.png").stat().st_size > 0
    assert (tmp_path / "reward_before_after.png").stat().st_size > 0


def test_the_ln2_line_is_drawn_only_for_dpo_sigmoid_loss():
    fig = plot_training_curves(history_of(50), "rpo")  # RPO's loss starts above ln 2 by design
    assert not any(list(line.get_ydata()) == [math.log(2)] * 2 for line in fig.axes[0].lines)
    assert fig.axes[0].get_title() == "loss (rpo)"
    plt.close(fig)
