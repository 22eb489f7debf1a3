r"""Write the doctor's fixtures from this package's trainers: one training log per clinic case.

Every case of notebook 08 runs once on the tiny GPT-2 of the review world (a tokenizer and an SFT
reference built by :func:`dpo_teach.gpt2.lab.clinic.build_world`, pairs sampled from it and labelled
by the true reward), either with the package's :class:`~dpo_teach.gpt2.trainer.DPOTrainer` or with
the hand-written loop :func:`dpo_teach.gpt2.lab.clinic.homemade_dpo` and its bug switch. The logs go to
``tests/fixtures/doctor/`` in the three formats the doctor reads (a ``metrics.json``, a JSON list
of entries, JSON Lines), keeping every ``--keep-every``-th step (so a fixture is a few KB), values
rounded to 6 significant digits. ``tests/fixtures/doctor/README.md`` lists what each one is.

    python benchmarks/make_clinic_logs.py              # all cases, ~2 min on 2 CPU cores
    python benchmarks/make_clinic_logs.py --only lr_too_high batch1 --raw /tmp/raw
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch

from dpo_teach.gpt2.lab import clinic
from dpo_teach.gpt2.trainer import DPOConfig, DPOTrainer

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "doctor"
BETA, LR, BATCH = 2.0, 5e-4, 16  # the recipe's tiny-model settings (dpo_teach.gpt2.recipe)
HIGH_LR = 3e-3  # six times the recipe's: every sample collapses into gibberish (measured: 0 % valid)
FEW = 32  # pairs in the over-optimisation case: 300 steps of 16 are 150 epochs over them


def package_run(world, steps, pairs=None, **config) -> list[dict]:
    """The package's DPOTrainer from the reference, recipe settings unless ``config`` says otherwise."""
    settings = dict(beta=BETA, learning_rate=LR, batch_size=BATCH, max_steps=steps, progress=False) | config
    policy = clinic.fresh_policy(world.ref_model)
    trainer = DPOTrainer(policy, world.ref_model, pairs or world.train_pairs, DPOConfig(**settings),
                         world.tokenizer.pad_token_id)  # fmt: skip
    return trainer.train()


def homemade_run(world, steps, ref=None, **bug) -> list[dict]:
    """The hand-written loop from the reference with one bug switched on (``bug``); ``ref="policy"``:
    the policy is its own reference; ``ref="stale"``: the optimizer steps another copy."""
    settings = dict(beta=BETA, learning_rate=LR, batch_size=BATCH) | bug
    return clinic.run_homemade(world, steps, same_object=ref == "policy", stale_optimizer=ref == "stale",
                               **settings)[2]  # fmt: skip


# name -> (file written, how it is made, steps); the file's suffix picks the format
CASES = {
    "healthy": ("healthy_metrics.json", lambda w, n: package_run(w, n), 300),
    "stuck_beta0": ("stuck_beta0.jsonl", lambda w, n: homemade_run(w, n, beta=0.0), 60),
    "stuck_same_object": ("stuck_same_object.json", lambda w, n: homemade_run(w, n, ref="policy"), 60),
    "stuck_stale_optimizer": ("stuck_stale_optimizer.json", lambda w, n: homemade_run(w, n, ref="stale"), 60),
    "fp16_nan": ("fp16_nan.jsonl", lambda w, n: homemade_run(w, n, logps="fp16", learning_rate=HIGH_LR), 200),
    "batch1": ("batch1.json", lambda w, n: package_run(w, n, batch_size=1), 200),
    "lr_too_high": ("lr_too_high.json", lambda w, n: package_run(w, n, learning_rate=HIGH_LR), 300),
    "overfit_few_pairs": (
        "overfit_few_pairs.json",
        lambda w, n: package_run(w, n, pairs=w.train_pairs[:FEW]),
        300,
    ),
    "ref_dropout": ("ref_dropout.json", lambda w, n: homemade_run(w, n, dropout=0.1), 60),
    "ref_trainable": ("ref_trainable.json", lambda w, n: homemade_run(w, n, ref_trainable=True), 100),
    "mean_logps": ("mean_logps.json", lambda w, n: homemade_run(w, n, logps="mean"), 100),
    "no_shift": ("no_shift.json", lambda w, n: homemade_run(w, n, logps="no_shift"), 100),
    "first_token_masked": (
        "first_token_masked.json",
        lambda w, n: homemade_run(w, n, logps="first_token_masked"),
        100,
    ),  # fmt: skip
}


def rounded(entry: dict) -> dict:
    """Values to 6 significant digits (NaN and inf kept: the doctor must see them)."""
    return {
        k: (float(f"{v:.6g}") if isinstance(v, float) and math.isfinite(v) else v) for k, v in entry.items()
    }


def write_log(history: list[dict], path: Path, keep_every: int) -> None:
    """Every ``keep_every``-th entry (and the last) as a metrics.json, a JSON list or JSON Lines."""
    kept = [rounded(h) for i, h in enumerate(history) if i % keep_every == 0 or i == len(history) - 1]
    if path.suffix == ".jsonl":
        text = "".join(json.dumps(h) + "\n" for h in kept)
    elif path.name.endswith("metrics.json"):  # the shape python -m dpo_teach.finetune writes
        text = json.dumps({"beta": BETA, "train": {"history": kept}}, indent=1) + "\n"
    else:
        text = json.dumps(kept, indent=0) + "\n"
    path.write_text(text)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="+", choices=sorted(CASES), help="these cases only")
    ap.add_argument("--keep-every", type=int, default=10, help="keep every N-th logged step")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--raw", type=Path, help="also write every step of every run here (JSON)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # the tiny model is fastest on one thread (dpo_teach.runtime.cpu_threads)
    start = time.perf_counter()
    world = clinic.build_world()
    print(f"world: {len(world.train_pairs)} pairs, {time.perf_counter() - start:.0f} s", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.only or CASES:
        file, make, steps = CASES[name]
        torch.manual_seed(0)
        t = time.perf_counter()
        history = make(world, steps)
        keep = 5 if steps <= 100 else args.keep_every
        write_log(history, args.out / file, keep)
        if args.raw:
            args.raw.mkdir(parents=True, exist_ok=True)
            (args.raw / f"{name}.json").write_text(json.dumps(history))
        print(f"{name}: {steps} steps, {time.perf_counter() - t:.0f} s -> {file}", flush=True)


if __name__ == "__main__":
    main()
