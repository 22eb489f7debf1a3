"""``python -m dpo_teach.sweep EXPERIMENT [MORE ...] [--seeds 0-4] [--jobs 2] [--results DIR] [--fast]``.

Runs EXPERIMENT (``default_recipe``, ``family``, ``beta_lr``, ``noise``, ...; ``all``: every one)
on the seeds (default: each experiment's own), resumably, recording each run in
``DIR/EXPERIMENT.json`` (default ``results/``) as it finishes. With MORE experiments, each seed's
world is built once and shared by all of them and the workers share one queue of tasks
(:func:`~.runner.plan`). ``--summary`` prints each setting's mean and 95 % interval over seeds
instead of running; ``--table`` (default_recipe) the README's table of the recipe over its seeds.
Bad input: one ``error:`` line, exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

from . import records
from .experiments import EXPERIMENTS, TARGETS
from .stats import mean_interval

__all__ = ["parse_seeds", "summary", "main"]

MAX_SEEDS = 1000


def parse_seeds(text: str) -> list[int]:
    """``"0-4"``, ``"100-119"``, ``"0,3,7"`` or a mix (``"0-2,9"``) -> sorted distinct seeds."""
    seeds = set()
    for part in text.split(","):
        lo, dash, hi = part.strip().partition("-")
        if not (lo.isdigit() and (not dash or hi.isdigit())):
            raise argparse.ArgumentTypeError(f"seeds are 'A-B' or 'A,B,C' of integers >= 0, got {text!r}")
        lo_i, hi_i = int(lo), int(hi) if dash else int(lo)
        if hi_i < lo_i or hi_i - lo_i >= MAX_SEEDS:
            raise argparse.ArgumentTypeError(f"seed range {part!r} is empty or longer than {MAX_SEEDS}")
        seeds.update(range(lo_i, hi_i + 1))
    if len(seeds) > MAX_SEEDS or max(seeds) >= 2**32:
        raise argparse.ArgumentTypeError(f"at most {MAX_SEEDS} seeds, each < 2**32, got {text!r}")
    return sorted(seeds)


def summary(record: dict, metrics=("reward_accuracy", "true_reward_policy", "win_rate_vs_reference",
                                   "valid_rate_policy", "kl_to_reference")) -> str:  # fmt: skip
    """One line per setting and metric: mean [95 % interval] over its seeds (min-max for n < 2)."""
    by_setting: dict[str, list[dict]] = {}
    for r in record["runs"]:
        by_setting.setdefault(json.dumps(r["setting"], sort_keys=True), []).append(r)
    lines = []
    for setting, runs in by_setting.items():
        lines.append(f"{setting}: {len(runs)} seeds")
        for m in metrics:
            values = [r["metrics"][m] for r in runs if r["metrics"].get(m) is not None]
            if len(values) >= 2:
                iv = mean_interval(values)
                lines.append(f"  {m:<24} {iv}  min {min(values):.3f} median {statistics.median(values):.3f} "
                             f"max {max(values):.3f}")  # fmt: skip
            elif values:
                lines.append(f"  {m:<24} {values[0]:.3f} (one seed)")
        met = [r["metrics"].get("meets_targets") for r in runs if "meets_targets" in r["metrics"]]
        if met:
            lines.append(f"  all targets met ({', '.join(f'{k} >= {v}' for k, v in TARGETS.items())}): "
                         f"{sum(met)}/{len(met)} seeds")  # fmt: skip
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dpo_teach.sweep", description=__doc__.split("\n")[0])
    parser.add_argument("experiment", choices=["all", *sorted(EXPERIMENTS)])
    parser.add_argument("more", nargs="*", metavar="MORE",
                        help="more experiments, on --seeds or each on its own seeds (a seed's world built once)")  # fmt: skip
    parser.add_argument("--seeds", type=parse_seeds, default=None,
                        help="e.g. 0-4 or 100-119 or 0,3,7 (default: the experiment's own)")  # fmt: skip
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (one task each at a time)")
    parser.add_argument("--results", type=Path, default=Path("results"), help="directory of EXPERIMENT.json")
    parser.add_argument("--fast", action="store_true", help="smoke sizes (what the tests run)")
    parser.add_argument("--summary", action="store_true", help="print the recorded intervals; run nothing")
    parser.add_argument("--table", action="store_true", help="default_recipe: print the README's table of "
                        "the recipe over its seeds (min / median / max per target); run nothing")  # fmt: skip
    args = parser.parse_args(argv)
    if args.experiment == "all":
        if args.more or args.table:
            parser.error("'all' names every experiment: give it alone (--table goes with default_recipe)")
        args.experiment, *args.more = EXPERIMENTS
    unknown = [name for name in args.more if name not in EXPERIMENTS]
    if unknown:  # (choices= on a '*' argument rejects the empty list on Python 3.11)
        parser.error(f"unknown experiment {unknown[0]!r}; choose from {', '.join(sorted(EXPERIMENTS))}")
    if not 1 <= args.jobs <= (os.cpu_count() or 1) * 4:
        parser.error(f"--jobs must be between 1 and {(os.cpu_count() or 1) * 4}, got {args.jobs}")
    seeds = args.seeds or list(EXPERIMENTS[args.experiment].seeds)
    path = args.results / f"{args.experiment}.json"
    if args.table and args.experiment != "default_recipe":
        parser.error("--table is the default recipe's README table: use it with default_recipe")
    try:
        if args.table:
            from .distribution import distribution_table

            (setting,) = EXPERIMENTS["default_recipe"].settings(False)
            print(distribution_table(records.load(path, args.experiment), setting))
            return 0
        if args.more and not args.summary:
            from .runner import run_shared

            run_shared([args.experiment, *args.more], args.seeds, args.results, args.jobs, args.fast)
        elif not args.summary:
            from .runner import run_sweep

            run_sweep(args.experiment, seeds, args.results, args.jobs, args.fast)
        for name in [args.experiment, *args.more]:
            print(summary(records.load(args.results / f"{name}.json", name)))
    except (records.RecordError, ValueError) as err:  # ValueError: --table on a record without the recipe
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
