"""Run experiments' settings over seeds, resumably, in ``jobs`` worker processes.

:func:`plan` splits the work into tasks, largest first, so that two workers finish together:

- settings trained on a seed's world (``needs_world``) run in one task per seed, which builds the
  world once and runs every unfinished setting of every experiment on it; the seeds left over once
  the seeds divide evenly among the workers (the fifth of five with two) are split into ``jobs``
  tasks, each building the world again, so no worker waits alone at the end;
- a setting without a world (a ``python -m dpo_teach.finetune`` run) is a task of its own, unless
  its experiment keeps a world of its own per process (``own_world``: then one task per seed).

Each run is added to ``results_dir/NAME.json`` as it finishes (:func:`~.records.add_run`). A re-run
skips what is recorded, so a killed sweep loses at most the runs in flight.
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from . import records
from .experiments import DROP, EXPERIMENTS

__all__ = ["pending", "plan", "run_seed", "run_sweep", "run_shared"]


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


def run_seed(names: list[str], seed: int, lists: list[list[dict]], results: str, fast: bool,
             threads: int = 1) -> int:  # fmt: skip
    """One task: each experiment of ``names`` runs its settings (``lists``, one list each) on ``seed``,
    sharing one world; each run goes to ``results/NAME.json``. Returns how many runs it recorded."""
    import torch

    from ..gpt2.recipe import sizes_for
    from ..runtime import quiet_transformers

    torch.set_num_threads(threads)
    world = None
    if any(EXPERIMENTS[n].needs_world for n in names):
        from ..gpt2.lab.world import build_world

        with quiet_transformers():
            world = build_world(seed, sizes_for("tiny", fast), threads)
    for n, todo in zip(names, lists):
        experiment = EXPERIMENTS[n]
        path = Path(results) / f"{n}.json"
        for setting in todo:
            start = time.perf_counter()
            metrics = experiment.run(setting, seed, fast, world if experiment.needs_world else None)
            metrics = {k: v for k, v in metrics.items() if k not in DROP}  # the record keeps metrics only
            records.add_run(path, n, setting, seed, metrics, time.perf_counter() - start)
            print(f"{n} seed {seed} {setting}: done in {time.perf_counter() - start:.1f} s", flush=True)
    return sum(len(t) for t in lists)


def _split(task: dict[str, list[dict]], parts: int) -> list[dict[str, list[dict]]]:
    """``{experiment: settings}`` dealt round-robin into ``parts`` non-empty shares (neighbouring
    settings, often alike in cost, go to different shares)."""
    flat = [(n, s) for n, settings in task.items() for s in settings]
    shares = []
    for i in range(min(parts, len(flat))):
        share: dict[str, list[dict]] = {}
        for n, s in flat[i::parts]:
            share.setdefault(n, []).append(s)
        shares.append(share)
    return shares


def plan(todo: dict[str, dict[int, list[dict]]], results_dir, jobs: int, fast: bool) -> list[tuple]:
    """``run_seed`` arguments for ``todo`` (``{experiment: {seed: unfinished settings}}``), largest
    first: whole world seeds, the leftover world seeds split ``jobs`` ways, then the world-free tasks."""
    worlds: dict[int, dict[str, list[dict]]] = {}
    free: list[tuple[str, int, list[dict]]] = []
    for n, by_seed in todo.items():
        for seed, settings in by_seed.items():
            if EXPERIMENTS[n].needs_world:
                worlds.setdefault(seed, {})[n] = settings
            elif EXPERIMENTS[n].own_world:
                free.append((n, seed, settings))
            else:
                free += [(n, seed, [s]) for s in settings]
    seeds = sorted(worlds)
    whole = len(seeds) - len(seeds) % jobs  # (jobs 1: every seed whole)
    tasks = [(seed, worlds[seed]) for seed in seeds[:whole]]
    tasks += [(seed, share) for seed in seeds[whole:] for share in _split(worlds[seed], jobs)]
    tasks += [(seed, {n: settings}) for n, seed, settings in free]
    return [(list(task), seed, list(task.values()), str(results_dir), fast) for seed, task in tasks]


def _dispatch(args: list[tuple], jobs: int) -> None:
    """``run_seed(*a)`` for each of ``args``, in order: in this process, or over ``jobs`` spawned
    workers, each taking the next task when it is free (``chunksize=1`` keeps the order)."""
    if jobs <= 1 or len(args) <= 1:
        for a in args:
            run_seed(*a)
    else:
        with multiprocessing.get_context("spawn").Pool(min(jobs, len(args))) as pool:
            pool.starmap(run_seed, args, chunksize=1)


def run_shared(names: list[str], seeds, results_dir: Path, jobs: int = 1, fast: bool = False,
               log=print) -> None:  # fmt: skip
    """Several experiments, each on ``seeds`` (None: each on its own default seeds), each seed's
    world built once for all of them where it can be (each recorded in ``results_dir/NAME.json``)."""
    todo = {n: pending(n, EXPERIMENTS[n].seeds if seeds is None else seeds, Path(results_dir) / f"{n}.json",
                       fast) for n in names}  # fmt: skip
    args = plan(todo, results_dir, jobs, fast)
    runs = sum(len(v) for by_seed in todo.values() for v in by_seed.values())
    log(f"{', '.join(names)}: {runs} runs to do in {len(args)} tasks on {jobs} worker(s) -> {results_dir}")
    _dispatch(args, jobs)


def run_sweep(name: str, seeds, results_dir: Path, jobs: int = 1, fast: bool = False, log=print) -> Path:
    """Run ``name`` on ``seeds`` into ``results_dir/name.json`` with ``jobs`` processes."""
    results = Path(results_dir) / f"{name}.json"
    todo = pending(name, seeds, results, fast)
    n = sum(len(v) for v in todo.values())
    log(f"{name}: {n} runs to do over {len(todo)} seeds ({len(list(seeds)) - len(todo)} seeds already "
        f"complete) -> {results}")  # fmt: skip
    _dispatch(plan({name: todo}, results_dir, jobs, fast), jobs)
    return results
