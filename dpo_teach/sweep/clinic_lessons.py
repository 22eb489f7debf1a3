r"""Notebook 08's one comparison that is a measurement rather than a signature, over seeds.

Most of the clinic's bugs show an exact signature whatever the seed: a loss of exactly
:math:`\ln 2` when the margin cannot move, NaN from fp16 ``log(softmax)``, accuracies of only 0 or
1 with one pair a batch, the collator's labels. Section 5's is a measurement: at six times the
recipe's learning rate the loss still falls while the samples fall apart. ``clinic_lr`` runs it
over seeds: the package's trainer at :data:`CLINIC_RATES` (the recipe's 5e-4, 2x and 6x) for
:data:`CLINIC_STEPS` steps of 16 pairs at :math:`\beta = 2`, on the clinic's world of each seed
(:func:`~dpo_teach.gpt2.lab.clinic.build_world` at notebook 08's sizes), judged on its held-out
prompts, with the training log's tail and what ``python -m dpo_teach.doctor`` finds in the log. Seed 0 is
the notebook's own run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["CLINIC_RATES", "CLINIC_STEPS", "CLINIC_WORLD", "clinic_lr_settings", "run_clinic_lr", "doctor_ids"]

CLINIC_RATES = (5e-4, 1e-3, 3e-3)  # the recipe's learning rate, twice it and six times it
CLINIC_STEPS, CLINIC_BATCH, CLINIC_BETA = 150, 16, 2.0
# notebook 08's world at full size (and in fast mode)
CLINIC_WORLD = {False: dict(n_corpus=3000, sft_steps=1200, sft_batch_size=32, n_prompts=800, n_eval_prompts=64),
                True: dict(n_corpus=400, sft_steps=100, sft_batch_size=16, n_prompts=160, n_eval_prompts=16)}  # fmt: skip
_WORLDS: dict = {}  # (seed, fast) -> the clinic world, built once per worker process


def clinic_lr_settings(fast: bool) -> list[dict]:
    return [{"learning_rate": lr} for lr in CLINIC_RATES]


def run_clinic_lr(setting: dict, seed: int, fast: bool, world=None) -> dict:
    """One run of notebook 08 §5 on seed ``seed``'s clinic world: the tail of its log (``loss``,
    ``rewards/accuracies``), its samples' metrics (:func:`~dpo_teach.gpt2.evaluate.evaluate_samples`,
    sampling seed ``1 + 1000 * seed``) and ``doctor`` (the ids the doctor reports on its log)."""
    from ..gpt2 import evaluate
    from ..gpt2.lab import clinic
    from ..gpt2.trainer import DPOConfig, DPOTrainer

    if (seed, fast) not in _WORLDS:
        _WORLDS[(seed, fast)] = clinic.build_world(seed=seed, **CLINIC_WORLD[fast])
    w = _WORLDS[(seed, fast)]
    config = DPOConfig(beta=CLINIC_BETA, learning_rate=setting["learning_rate"], batch_size=CLINIC_BATCH,
                       max_steps=20 if fast else CLINIC_STEPS, seed=seed, progress=False)  # fmt: skip
    policy = clinic.fresh_policy(w.ref_model)
    history = DPOTrainer(policy, w.ref_model, w.train_pairs, config, w.tokenizer.pad_token_id).train()
    metrics, _ = evaluate.evaluate_samples(policy, w.ref_model, w.tokenizer, w.eval_prompts, seed=1 + 1000 * seed)
    return {
        **metrics,
        "tail_loss": clinic.tail_mean(history, "loss"),
        "tail_accuracy": clinic.tail_mean(history, "rewards/accuracies"),
        "doctor": doctor_ids(history),
    }


def doctor_ids(history: list[dict]) -> list[str]:
    """The ids ``python -m dpo_teach.doctor LOG --json`` reports on ``history`` (one JSON object a
    line, as a user would hand it over; the doctor is a command, not a library the sweep imports)."""
    with tempfile.TemporaryDirectory(prefix="dpo_teach_clinic_") as tmp:
        log = Path(tmp) / "log.jsonl"
        log.write_text("".join(json.dumps(entry) + "\n" for entry in history), encoding="utf-8")
        done = subprocess.run([sys.executable, "-m", "dpo_teach.doctor", str(log), "--json"], capture_output=True,
                              text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the doctor failed on a clinic log: {done.stderr.strip()[-500:]}")
    return [finding["id"] for finding in json.loads(done.stdout)["findings"]]
