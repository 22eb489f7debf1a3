"""Notebook 08's figure: the metric signature of training runs, as small multiples.

``plot_signature(runs, keys)`` draws one panel per metric (TRL's names: ``loss``,
``rewards/margins``, ``grad_norm``, ...) and one line per run, so a broken run and its fix sit
side by side on the same axes. The loss panel marks ln 2, the loss of Eq. 7 (arXiv:2305.18290) at
a zero margin. matplotlib is imported inside the function, so importing this module stays cheap.
"""

from __future__ import annotations

import math

__all__ = ["plot_signature"]

LINESTYLES = ("-", "--", ":", "-.")  # runs that coincide (three losses stuck at ln 2) stay visible


DEFAULT_KEYS = ("loss", "rewards/margins", "rewards/accuracies", "grad_norm")


def plot_signature(runs: dict[str, list[dict]], keys=DEFAULT_KEYS, title: str | None = None, smooth: int = 1):
    """Figure: one panel per ``key``, one line per run (``{name: history}``, entries with ``step``).

    A key a run did not log is left out of that run's panel; a non-finite value leaves a gap.
    ``smooth`` > 1 draws the running mean of the last ``smooth`` logged values instead (one batch
    is noisy), and says so in the title.
    """
    import matplotlib.pyplot as plt

    from ...plotting import COLORS, use_style

    use_style()
    fig, axes = plt.subplots(1, len(keys), figsize=(3.1 * len(keys), 2.9), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for i, (name, history) in enumerate(runs.items()):
            points = [(h["step"], h[key]) for h in history if key in h]
            if not points:
                continue
            steps, values = zip(*points)
            values = [v if math.isfinite(v) else float("nan") for v in values]
            if smooth > 1:
                values = [_mean(values[max(0, j - smooth + 1) : j + 1]) for j in range(len(values))]
            ax.plot(steps, values, color=COLORS[i % len(COLORS)], ls=LINESTYLES[i % len(LINESTYLES)],
                    lw=1.4, label=name)  # fmt: skip
        if key == "loss":
            ax.axhline(math.log(2), color="0.4", lw=0.8, ls=(0, (1, 2)), label="ln 2")
        ax.set(title=key, xlabel="step")
    handles, labels = {}, {}
    for ax in axes[0]:  # one legend for all panels, under them
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
            labels[lab] = lab
    fig.legend(list(handles.values()), list(labels), loc="upper center", bbox_to_anchor=(0.5, 0.02),
               ncol=min(len(labels), 5))  # fmt: skip
    if title or smooth > 1:
        note = f"running mean of {smooth} steps" if smooth > 1 else ""
        fig.suptitle(f"{title} ({note})" if title and note else title or note, y=1.02)
    fig.tight_layout()
    return fig


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)
