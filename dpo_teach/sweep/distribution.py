"""A recipe judged on seeds it was never tuned on: each printed target's distribution over seeds.

``distribution_table(record, setting)`` is the markdown table the README shows for the default
recipe (``python -m dpo_teach.sweep default_recipe --table``): per metric its target, min /
median / max over the seeds and how many seeds met it, then how many met every target. The README
holds exactly this text (tests/sweep/test_sweep.py), so its numbers follow from the record.
"""

from __future__ import annotations

import statistics

from .experiments import TARGETS, meets_targets

__all__ = ["distribution_table", "runs_of"]

LABELS = {"reward_accuracy": "held-out reward accuracy", "win_rate_vs_reference": "win rate vs the reference",
          "valid_rate_policy": "valid samples (policy)"}  # fmt: skip
EXTRA = {"kl_to_reference": "KL to the reference, nats", "true_reward_policy": "true reward (policy)"}


def runs_of(record: dict, setting: dict) -> dict[int, dict]:
    """seed -> metrics of the runs of ``setting`` (exactly that setting) in ``record``."""
    return {r["seed"]: r["metrics"] for r in record["runs"] if r["setting"] == setting}


def distribution_table(record: dict, setting: dict) -> str:
    """Markdown: one row per target metric (then KL and true reward, no target), and the count of
    seeds that met every target. Needs at least one run of ``setting``."""
    runs = runs_of(record, setting)
    if not runs:
        raise ValueError(f"the record holds no run of {setting}; run the sweep first")
    seeds = sorted(runs)
    contiguous = seeds == list(range(seeds[0], seeds[-1] + 1))
    span = f"{seeds[0]}-{seeds[-1]}" if contiguous else ", ".join(map(str, seeds))
    rows = [f"| metric (seeds {span}) | target | min | median | max | seeds meeting it |",
            "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for key, label in {**LABELS, **EXTRA}.items():
        values = [runs[s][key] for s in seeds]
        target, met = (f">= {TARGETS[key]}", f"{sum(v >= TARGETS[key] for v in values)} / {len(seeds)}") \
            if key in TARGETS else ("", "")  # fmt: skip
        rows.append(f"| {label} | {target} | {min(values):.3f} | {statistics.median(values):.3f} | "
                    f"{max(values):.3f} | {met} |")  # fmt: skip
    every = sum(meets_targets(runs[s]) for s in seeds)
    missed = [s for s in seeds if not meets_targets(runs[s])]
    tail = f" (missed: seed{'s' if len(missed) > 1 else ''} {', '.join(map(str, missed))})" if missed else ""
    rows.append(f"| **every target** | | | | | **{every} / {len(seeds)}**{tail} |")
    return "\n".join(rows)
