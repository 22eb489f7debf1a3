"""Run an experiment's settings over seeds, resumably, in ``jobs`` worker processes.

The work is split by seed: one worker takes one seed, builds that seed's world once (when the
experiment needs one) and runs every unfinished setting on it, adding each run to the results
file as it finishes (:func:`~.records.add_run`). A re-run skips what is recorded, so a killed
sweep loses at most the runs in flight.
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from . import records
from .experiments import EXPERIMENTS

__all__ = ["pending", "run_seed", "run_sweep"]


def pending(name: str, seeds, results: Path, fast: bool) -> dict[int, list[dict]]:
    """``{seed: [settings not yet recorded]}`` (seeds with nothing left are left out)."""
    experiment = EXPERIMENTS[name]
    done = records.finished_keys(records.load(results, name))
    todo = {}
    for seed in seeds:
        left = [s for s in experiment.settings(fast) if records.run_key(s, seed) not in done]
        if left:
            todo[seed] = left
    return todo


def run_seed(name: str, seed: int, settings: list[dict], results: str, fast: bool, threads: int = 1) -> int:
    """One worker's share: ``settings`` on ``seed``; returns how many runs it recorded."""
    import torch

    from ..gpt2.recipe import sizes_for
    from ..runtime import quiet_transformers

    torch.set_num_threads(threads)
    experiment = EXPERIMENTS[name]
    world = None
    if experiment.needs_world:
        from ..gpt2.lab.world import build_world

        with quiet_transformers():
            world = build_world(seed, sizes_for("tiny", fast), threads)
    for setting in settings:
        start = time.perf_counter()
        metrics = experiment.run(setting, seed, fast, world)
        records.add_run(Path(results), name, setting, seed, metrics, time.perf_counter() - start)
        print(f"{name} seed {seed} {setting}: done in {time.perf_counter() - start:.1f} s", flush=True)
    return len(settings)


def run_sweep(name: str, seeds, results_dir: Path, jobs: int = 1, fast: bool = False, log=print) -> Path:
    """Run ``name`` on ``seeds`` into ``results_dir/name.json`` with ``jobs`` processes."""
    results = Path(results_dir) / f"{name}.json"
    todo = pending(name, seeds, results, fast)
    n = sum(len(v) for v in todo.values())
    log(f"{name}: {n} runs to do over {len(todo)} seeds ({len(list(seeds)) - len(todo)} seeds already "
        f"complete) -> {results}")  # fmt: skip
    args = [(name, seed, settings, str(results), fast) for seed, settings in todo.items()]
    if jobs <= 1 or len(args) <= 1:
        for a in args:
            run_seed(*a)
    else:
        with multiprocessing.get_context("spawn").Pool(min(jobs, len(args))) as pool:
            pool.starmap(run_seed, args)
    return results
