r"""Write real TRL training logs for the doctor's tests: ``trainer_state.json`` of TRL's own
``DPOTrainer.train()`` on a tiny GPT-2 built here, offline.

The model, tokenizer and pairs are the clinic's review world
(:func:`dpo_teach.gpt2.lab.clinic.build_world`: a byte-level BPE trained locally, the tiny GPT-2
preset fine-tuned on the review corpus, two samples per prompt labelled by the true reward). TRL
gets the pairs as text rows ``{"prompt", "chosen", "rejected"}`` and tokenises them itself; the
policy and the reference are two copies of the SFT model, so TRL's first logged step (before any
update) has loss ln 2. Two runs, each saved with TRL's own ``TrainerState.save_to_json`` (what
every TRL checkpoint writes as ``trainer_state.json``):

* ``trl_healthy/``: 30 steps of 16 pairs, beta 2, learning rate 5e-4, a log every 3 steps and an
  evaluation (``eval_*`` entries) every 15;
* ``trl_batch1/``: the same with ``per_device_train_batch_size=1`` and a log every step, the
  clinic's "accuracies only 0 or 1" case.

    pip install -e ".[bench]"                 # TRL (benchmark-only; the tests do not need it)
    python benchmarks/make_trl_log.py         # ~1 min on 2 CPU cores
"""

from __future__ import annotations

import argparse
import copy
import os
import tempfile
import time
import warnings
from pathlib import Path

import torch

from dpo_teach.gpt2.lab import clinic

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "doctor"
# run name -> TRL DPOConfig fields that differ between the runs
RUNS = {
    "trl_healthy": dict(per_device_train_batch_size=16, max_steps=30, logging_steps=3, eval_steps=15),
    "trl_batch1": dict(per_device_train_batch_size=1, max_steps=20, logging_steps=1, eval_steps=20),
}


def train_trl(world, rows, eval_rows, scratch: str, **fields):
    """TRL's DPOTrainer on copies of the world's SFT model; returns the trained ``DPOTrainer``."""
    from datasets import Dataset
    from transformers import PrinterCallback
    from trl import DPOConfig, DPOTrainer

    args = DPOConfig(
        output_dir=scratch,  # required; nothing is saved there (save_strategy="no")
        beta=2.0,  # the recipe's beta for the tiny model (dpo_teach.gpt2.recipe.DEFAULT_BETA)
        learning_rate=5e-4,  # the recipe's DPO learning rate for the tiny model
        lr_scheduler_type="constant",
        warmup_steps=0,
        per_device_eval_batch_size=16,
        eval_strategy="steps",
        max_length=None,
        use_cpu=True,
        gradient_checkpointing=False,  # TRL's default is on; pointless for a 135k-parameter model
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
        seed=0,
        **fields,
    )
    trainer = DPOTrainer(
        model=copy.deepcopy(world.ref_model).train(), ref_model=copy.deepcopy(world.ref_model),
        args=args, train_dataset=Dataset.from_list(rows), eval_dataset=Dataset.from_list(eval_rows),
        processing_class=world.tokenizer,
    )  # fmt: skip
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    return trainer


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    try:
        import datasets
        import transformers
        import trl
    except ImportError:
        raise SystemExit('this script runs TRL: pip install -e ".[bench]"') from None
    transformers.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    os.environ["TQDM_DISABLE"] = "1"
    warnings.simplefilter("ignore", FutureWarning)
    torch.set_num_threads(1)
    start = time.perf_counter()
    world = clinic.build_world(n_corpus=2000, sft_steps=600, n_prompts=400, n_eval_prompts=8)
    bos = world.tokenizer.bos_token  # TRL gets BOS as text: it encodes to the same special token
    rows = [{**r, "prompt": bos + r["prompt"]} for r in world.train_rows]
    train_rows, eval_rows = rows[32:], rows[:32]
    print(f"world: {len(rows)} pairs, {time.perf_counter() - start:.0f} s; TRL {trl.__version__}", flush=True)
    for name, fields in RUNS.items():
        t = time.perf_counter()
        with tempfile.TemporaryDirectory() as scratch:
            trainer = train_trl(world, train_rows, eval_rows, scratch, **fields)
        path = args.out / name / "trainer_state.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        trainer.state.save_to_json(str(path))  # what TRL writes into every checkpoint-N/
        print(f"{name}: {trainer.state.global_step} steps, {time.perf_counter() - t:.0f} s -> {path}")


if __name__ == "__main__":
    main()
