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
from .experiments import DROP, EXPERIMENTS

__all__ = ["pending", "run_seed", "run_sweep", "run_shared"]


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


def run_seed(name, seed: int, settings, results: str, fast: bool, threads: int = 1) -> int:
    """One worker's share: ``settings`` on ``seed``; returns how many runs it recorded. With several
    experiments, ``name`` and ``settings`` are lists (one entry each) and they share one world."""
    import torch

    from ..gpt2.recipe import sizes_for
    from ..runtime import quiet_transformers

    torch.set_num_threads(threads)
    names, lists = ([name], [settings]) if isinstance(name, str) else (name, settings)
    world = None
    if any(EXPERIMENTS[n].needs_world for n in names):
        from ..gpt2.lab.world import build_world

        with quiet_transformers():
            world = build_world(seed, sizes_for("tiny", fast), threads)
    for n, todo in zip(names, lists):
        experiment = EXPERIMENTS[n]
        path = Path(results) if isinstance(name, str) else Path(results) / f"{n}.json"
        for setting in todo:
            start = time.perf_counter()
            metrics = experiment.run(setting, seed, fast, world if experiment.needs_world else None)
            metrics = {k: v for k, v in metrics.items() if k not in DROP}  # the record keeps metrics only
            records.add_run(path, n, setting, seed, metrics, time.perf_counter() - start)
            print(f"{n} seed {seed} {setting}: done in {time.perf_counter() - start:.1f} s", flush=True)
    return sum(len(t) for t in lists)


def _dispatch(args: list[tuple], jobs: int) -> None:
    """``run_seed(*a)`` for each of ``args``: in this process, or over ``jobs`` spawned workers."""
    if jobs <= 1 or len(args) <= 1:
        for a in args:
            run_seed(*a)
    else:
        with multiprocessing.get_context("spawn").Pool(min(jobs, len(args))) as pool:
            pool.starmap(run_seed, args)


def run_shared(names: list[str], seeds, results_dir: Path, jobs: int = 1, fast: bool = False,
               log=print) -> None:  # fmt: skip
    """Several experiments on ``seeds``, each seed's world built once for all of them (each still
    recorded in its own ``results_dir/NAME.json``)."""
    todo = {n: pending(n, seeds, Path(results_dir) / f"{n}.json", fast) for n in names}
    args = []
    for seed in seeds:
        mine = [n for n in names if seed in todo[n]]
        if mine:
            args.append((mine, seed, [todo[n][seed] for n in mine], str(results_dir), fast))
    log(f"{', '.join(names)}: {sum(len(a[2][i]) for a in args for i in range(len(a[0])))} runs to do over "
        f"{len(args)} seeds, one world per seed -> {results_dir}")  # fmt: skip
    _dispatch(args, jobs)


def run_sweep(name: str, seeds, results_dir: Path, jobs: int = 1, fast: bool = False, log=print) -> Path:
    """Run ``name`` on ``seeds`` into ``results_dir/name.json`` with ``jobs`` processes."""
    results = Path(results_dir) / f"{name}.json"
    todo = pending(name, seeds, results, fast)
    n = sum(len(v) for v in todo.values())
    log(f"{name}: {n} runs to do over {len(todo)} seeds ({len(list(seeds)) - len(todo)} seeds already "
        f"complete) -> {results}")  # fmt: skip
    args = [(name, seed, settings, str(results), fast) for seed, settings in todo.items()]
    _dispatch(args, jobs)
    return results
