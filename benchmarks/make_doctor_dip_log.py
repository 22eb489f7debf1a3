r"""Write the real TRL log of a short run whose margins dip at the end: the doctor's divergence
check once called it an error (issue 27).

Notebook 08's world at full size (:func:`dpo_teach.gpt2.lab.clinic.build_world` with the notebook's
sizes: 3000 reviews, 1200 SFT steps, 800 prompts) and its TRL run at the recipe's settings
(:func:`dpo_teach.gpt2.lab.trl_bugs.trl_trainer`: 8 pairs a step, beta 2, learning rate 5e-4
constant, a log every step, seed 0), trained for 60 steps; saved as TRL's own
``TrainerState.save_to_json`` writes it (``trainer_state.json`` in every checkpoint), with the
values rounded to 6 significant digits and one logged entry a line (23 KB instead of 38).

Its first 30 entries are the run notebook 08 section 10.5 once had: ``rewards/margins`` reach
1.09 (mean of 3 entries, steps 21-23), then the last 6 entries average 0.12, and the doctor read
that as ``divergence`` (error). The same run's margins are back to about 1 by step 60: a dip of a
few pairs a step, not a divergence. ``tests/doctor/test_doctor_shapes.py`` reads both lengths.

    pip install -e ".[bench]"                    # TRL (benchmark-only)
    python benchmarks/make_doctor_dip_log.py     # ~1-2 min on 2 CPU cores
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import tempfile
import time
from pathlib import Path

import torch

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "doctor" / "trl_short_dip"
STEPS = 60


def _r(x):
    return float(f"{x:.6g}") if isinstance(x, float) and math.isfinite(x) else x


def _dump(state: dict) -> str:
    """The state as JSON, one logged entry a line, floats to 6 significant digits."""
    head = json.dumps({k: v for k, v in state.items() if k != "log_history"})
    rows = ",\n  ".join(json.dumps({k: _r(v) for k, v in e.items()}, separators=(",", ":"))
                        for e in state["log_history"])  # fmt: skip
    return head[:-1] + ', "log_history": [\n  ' + rows + "\n]}\n"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    try:
        import trl
    except ImportError:
        raise SystemExit('this script runs TRL: pip install -e ".[bench]"') from None
    from dpo_teach.gpt2.lab import clinic, trl_bugs

    torch.set_num_threads(1)  # as notebook 08: the tiny model is fastest on one thread
    start = time.perf_counter()
    world = clinic.build_world(n_corpus=3000, sft_steps=1200, sft_batch_size=32, n_prompts=800,
                               n_eval_prompts=64)  # fmt: skip
    print(f"world: {len(world.train_rows)} pairs, {time.perf_counter() - start:.0f} s; TRL {trl.__version__}")
    policy, reference = clinic.fresh_policy(world.ref_model), copy.deepcopy(world.ref_model)
    tokenizer = trl_bugs.trl_tokenizer(world.tokenizer)  # adds BOS, as notebook 08
    trainer = trl_bugs.trl_trainer(policy, reference, tokenizer, world.train_rows, steps=STEPS)
    trl_bugs.train_quietly(trainer)
    with tempfile.TemporaryDirectory() as scratch:
        trainer.state.save_to_json(f"{scratch}/trainer_state.json")
        state = json.loads(Path(f"{scratch}/trainer_state.json").read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = args.out / "trainer_state.json.tmp"
    tmp.write_text(_dump(state))
    tmp.replace(args.out / "trainer_state.json")
    seconds = time.perf_counter() - start
    print(f"{trainer.state.global_step} steps, {seconds:.0f} s -> {args.out / 'trainer_state.json'}")


if __name__ == "__main__":
    main()
