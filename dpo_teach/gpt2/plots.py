"""The two figures of ``python -m dpo_teach.finetune``, also used by notebook 05.

``plot_training_curves(history)``
    DPO loss, mean reward margin and reward accuracy per step (TRL's metric names), raw and as a
    running mean over the last ~4 % of the steps, with the step-0 value ln 2 of the loss
    (policy = reference, Eq. 7 of arXiv:2305.18290 at a zero margin) marked.
``plot_rewards(samples)``
    the true reward of held-out samples from the reference and from the DPO policy, as bars side
    by side per reward bin.
``save_run_plots(history, samples, out)``
    both, written to ``out/training_curves.png`` and ``out/reward_before_after.png``.

matplotlib is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import math
from pathlib import Path

__all__ = ["plot_training_curves", "plot_rewards", "save_run_plots"]


def _moving_average(values: list[float], window: int) -> list[float]:
    """Mean of the last ``window`` values at each position (fewer at the start)."""
    out = []
    for i in range(len(values)):
        chunk = values[max(0, i - window + 1) : i + 1]
        out.append(sum(chunk) / len(chunk))
    return out


def plot_training_curves(history, loss_type: str = "sigmoid"):
    """Figure: the loss, mean margin and accuracy per step (TRL's metric names); the step-0 line
    ln 2 only for DPO's sigmoid loss (another member's loss starts elsewhere, e.g. RPO's above it)."""
    import matplotlib.pyplot as plt

    from ..plotting import COLORS, use_style

    use_style()
    steps = [h["step"] for h in history]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    window = max(1, len(history) // 25)  # running mean over ~4 % of the run
    for ax, key in zip(axes, ("loss", "rewards/margins", "rewards/accuracies")):
        values = [h[key] for h in history]
        ax.plot(steps, values, color=COLORS[0], alpha=0.3, lw=1, label="one batch per step")
        smooth = f"running mean over {window} steps" if window > 1 else "(too few steps to smooth)"
        ax.plot(steps, _moving_average(values, window), color=COLORS[0], label=smooth)
        title = f"loss ({loss_type})" if key == "loss" and loss_type != "sigmoid" else key
        ax.set(xlabel="DPO step", title=title)
    if loss_type == "sigmoid":
        axes[0].axhline(math.log(2), color=COLORS[1], ls="--", lw=1.5, label="ln 2 (step 0)")
    # one legend for the three panels, under them: inside, the noisy per-step line runs through it
    fig.legend(*axes[0].get_legend_handles_labels(), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3)
    return fig


def plot_rewards(samples):
    """Figure: histogram of the true reward of held-out samples, reference vs DPO policy; the two
    bars of a bin stand side by side (translucent overlapping bars would mix into a third colour)."""
    import matplotlib.pyplot as plt

    from ..plotting import COLORS, use_style
    from .reviews import INVALID_REWARD

    use_style()
    fig, ax = plt.subplots()
    bins = [b / 4 for b in range(-17, 14)]
    keys, labels = ("reference_reward", "policy_reward"), ("reference (SFT)", "DPO policy")
    ax.hist([[s[k] for s in samples] for k in keys], bins=bins, label=labels, color=[COLORS[0], COLORS[2]])
    ax.set(xlabel=f"true reward of a sample ({INVALID_REWARD:g} = not a valid review)",
           ylabel="samples", title="Held-out samples before and after DPO")  # fmt: skip
    ax.legend()
    return fig


def save_run_plots(history, samples, out: Path, loss_type: str = "sigmoid") -> None:
    """training_curves.png and reward_before_after.png in ``out``; ``samples`` None (no true
    reward: a run on real prompts or a dataset) writes the training curves only; ``loss_type``
    the family member trained (see :func:`plot_training_curves`)."""
    import matplotlib.pyplot as plt

    from ..plotting import write_png

    figures = [(plot_training_curves(history, loss_type), "training_curves.png")]
    if samples is not None:
        figures.append((plot_rewards(samples), "reward_before_after.png"))
    for fig, name in figures:
        write_png(fig, Path(out) / name)  # atomic: a kill leaves the old PNG or none
        plt.close(fig)
