r"""Tables and figures of the sweep records, as notebooks 06-07 show them.

- :func:`interval_table`: named settings of one record, each metric as mean [95 % interval] over
  its seeds (:func:`~.stats.mean_interval`).
- :func:`grid_means` and :func:`grid_heatmaps`: the :math:`\beta` x learning-rate grid
  (``results/beta_lr.json``), each cell's mean over seeds, drawn as heat maps.
- :func:`selection_rules`: which grid cell each rule picks on each seed from measurable signals
  only (held-out accuracy, held-out DPO loss, either within a KL budget), and its regret in true
  reward against the oracle's pick (:mod:`.tuning`).
- :func:`stopping_rules`: which checkpoint of a run each stopping signal keeps (07 §2).
"""

from __future__ import annotations

import math
import statistics

from .distribution import runs_of
from .stats import mean_interval
from .tuning import ACCURACY, HELDOUT_LOSS, TRUE_REWARD, candidates, kl_budget, pick, picked_values, regret

__all__ = [
    "interval_table",
    "grid_means",
    "grid_heatmaps",
    "selection_rules",
    "GRID_METRICS",
    "STOPPING_RULES",
    "stopping_rules",
]

GRID_METRICS = {
    "true_reward_policy": "true reward of samples",
    "valid_rate_policy": "valid samples",
    "kl_to_reference": "KL to the reference (nats)",
}


def _fmt(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.3f} (1 seed)" if values else "-"
    iv = mean_interval(values)
    return f"{iv.mean:.3f} [{iv.low:.3f}, {iv.high:.3f}]"


def interval_table(record: dict, rows: list[tuple[str, dict]], metrics: dict[str, str]) -> str:
    """A text table: one row per ``(name, setting)``, one column per ``{metric: heading}``, each cell
    the mean [95 % t-interval] over the setting's seeds; the last column counts the seeds."""
    width = max(len(name) for name, _ in rows) + 2
    lines = [f"{'':<{width}}" + "".join(f"{h:>26}" for h in metrics.values()) + f"{'seeds':>7}"]
    for name, setting in rows:
        runs = runs_of(record, setting)
        if not runs:
            raise ValueError(f"the record holds no run of {setting} ({name}); run the sweep first")
        cells = [_fmt([m[k] for m in runs.values() if m.get(k) is not None]) for k in metrics]
        lines.append(f"{name:<{width}}" + "".join(f"{c:>26}" for c in cells) + f"{len(runs):>7}")
    return "\n".join(lines)


def _cells(record: dict) -> dict[tuple[float, float], dict[int, dict]]:
    return candidates(record, lambda s: (s["beta"], s["learning_rate"]))


def grid_means(record: dict, metric: str) -> tuple[list[float], list[float], list[list[float]]]:
    """``(betas, learning_rates, means)``: ``means[i][j]`` is the mean over seeds of ``metric`` at
    ``betas[i]`` and ``learning_rates[j]`` (NaN where the record has no run of that cell)."""
    cells = _cells(record)
    betas, rates = sorted({b for b, _ in cells}), sorted({lr for _, lr in cells})

    def mean(b, lr):
        return statistics.fmean(m[metric] for m in cells[(b, lr)].values()) if (b, lr) in cells else math.nan

    return betas, rates, [[mean(b, lr) for lr in rates] for b in betas]


def grid_heatmaps(record: dict, metrics: dict[str, str] = GRID_METRICS):
    """One heat map per metric over the grid (rows beta, columns learning rate), each cell's mean
    over seeds written in it; returns the figure."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, len(metrics), figsize=(4.4 * len(metrics), 3.6))
    for ax, (metric, title) in zip(axes, metrics.items()):
        betas, rates, means = grid_means(record, metric)
        image = ax.imshow(means, cmap="viridis", aspect="auto", origin="lower")
        for i, row in enumerate(means):
            for j, v in enumerate(row):
                ax.text(
                    j,
                    i,
                    f"{v:.2f}",
                    ha="center",
                    va="center",
                    fontsize=9,
                    color="white" if v < (np.nanmin(means) + np.nanmax(means)) / 2 else "black",
                )
        ax.set_xticks(range(len(rates)), [f"{lr:g}" for lr in rates])
        ax.set_yticks(range(len(betas)), [f"{b:g}" for b in betas])
        ax.set(xlabel="learning rate", ylabel=r"$\beta$", title=title)
        ax.grid(False)
        fig.colorbar(image, ax=ax, shrink=0.8)
    n = len({r["seed"] for r in record["runs"]})
    fig.suptitle(f"DPO over a $\\beta$ x learning-rate grid: mean over {n} seeds", y=1.02)
    fig.tight_layout()
    return fig


def selection_rules(record: dict, budgets=(1.0, 2.0)) -> dict[str, dict]:
    """For each rule, ``{"picks": {seed: (beta, lr)}, "true_reward": {seed: value}, "regret": {seed: value},
    "oracle_hits": n}``: rules ``"held-out accuracy"``, ``"held-out loss"``, ``"accuracy, KL <= K"``
    for each budget K, and ``"true reward (oracle)"``."""
    cells = _cells(record)
    rules = {"held-out accuracy": pick(cells, ACCURACY), "held-out loss": pick(cells, HELDOUT_LOSS)}
    for k in budgets:
        rules[f"accuracy, KL <= {k:g}"] = pick(cells, ACCURACY, kl_budget(k))
    rules["true reward (oracle)"] = oracle = pick(cells, TRUE_REWARD)
    return {
        name: {
            "picks": picks,
            "true_reward": picked_values(cells, picks, "true_reward_policy"),
            "valid": picked_values(cells, picks, "valid_rate_policy"),
            "regret": regret(cells, picks),
            "oracle_hits": sum(picks[s] == oracle[s] for s in picks),
        }
        for name, picks in rules.items()
    }


STOPPING_RULES = {
    "last step": None,
    "held-out accuracy": lambda c: c["reward_accuracy"],
    "held-out eval_loss": lambda c: -c["eval_loss"],
    "true reward (oracle)": lambda c: c["true_reward_policy"],
}


def stopping_rules(record: dict, setting: dict) -> dict[str, dict[int, dict]]:
    """``{rule: {seed: the checkpoint it keeps}}`` for the runs of ``setting`` in an ``overopt``
    record: the last checkpoint, the best held-out implicit-reward accuracy, the lowest held-out
    ``eval_loss`` (the two signals a TRL user has), and the best true reward (the oracle). Ties go
    to the earlier checkpoint (stop as soon as the signal peaks)."""
    runs = runs_of(record, setting)
    if not runs:
        raise ValueError(f"the record holds no run of {setting}; run the sweep first")
    out: dict[str, dict[int, dict]] = {}
    for rule, signal in STOPPING_RULES.items():
        out[rule] = {}
        for seed, metrics in runs.items():
            points = metrics["checkpoints"]
            out[rule][seed] = points[-1] if signal is None else max(points, key=signal)
    return out
