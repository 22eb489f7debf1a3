"""``python -m dpo_teach.finetune``: DPO on a small GPT-2, end to end, from the command line.

    python -m dpo_teach.finetune [--preset tiny|small] [--model NAME_OR_PATH]
        [--device auto|cpu|cuda] [--beta B] [--seed N] [--fast] [--output-dir DIR]
        [--loss NAME] [--label-smoothing E] [--rpo-alpha A] [--dpop-lambda L] [--simpo-gamma G]
        [--orpo-lambda L]

The paper's controlled-sentiment experiment (Sec. 6.1 of arXiv:2305.18290) in miniature, one
call per stage of :mod:`dpo_teach.gpt2`: tokenizer + model, SFT (the reference), preference
pairs sampled from the reference and labelled by the true reward (JSON Lines), DPO, held-out
evaluation; ``metrics.json`` and two plots in DIR. Each stage's result is kept in DIR
(``sft/``, ``preferences_*.jsonl``, the DPO checkpoint), so a re-run with the same DIR resumes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from pathlib import Path

from .gpt2.config import add_loss_arguments, loss_from_args, loss_settings
from .gpt2.recipe import DEFAULT_BETA, sizes_for
from .gpt2.rundir import RunDir, atomic_write_text

CPU_SECONDS_PER_SMALL_STEP = 15  # the small preset on a 2-core CPU, measured (SFT, batch 64)
MAX_SEED = 2**32 - 1  # torch, numpy and random all take it; the trainer adds epoch offsets below 2**63

# (metrics key, what it is in one phrase, target as (">=" or "<", value) or None)
SUMMARY_ROWS = (
    ("reward_accuracy", "held-out pairs the implicit reward orders right", (">=", 0.8)),
    ("win_rate_vs_reference", "win rate vs the reference, by true reward", (">=", 0.7)),
    ("true_reward_reference", "mean true reward, reference samples (-4: invalid)", None),
    ("true_reward_policy", "mean true reward, policy samples (-4: invalid)", None),
    ("kl_to_reference", "KL(policy || reference): drift, nats", ("<", 10.0)),
    ("valid_rate_reference", "share of reference samples that are reviews", None),
    ("valid_rate_policy", "share of policy samples that are reviews", (">=", 0.9)),
)


def run(preset="tiny", model_name=None, device="auto", beta=None, seed=0, fast=False,
        output_dir="runs/finetune", progress=True, log=print, threads=None,
        allow_slow=False, loss=None) -> dict:  # fmt: skip
    """The whole pipeline; returns the metrics written to ``output_dir/metrics.json``.

    ``beta``: None = ``DEFAULT_BETA``. ``threads``: ``torch.set_num_threads`` for this process
    (None: :func:`dpo_teach.runtime.cpu_threads`). ``allow_slow``: run the ``small`` preset on a
    CPU anyway (refused otherwise: hours, not minutes). ``loss``: ``{"loss_type": NAME, option:
    value}`` (DPOConfig fields, see :func:`loss_settings`); None = DPO (``sigmoid``)."""
    import torch

    from .gpt2 import data, evaluate, stages
    from .gpt2.models import count_parameters
    from .gpt2.plots import save_run_plots
    from .runtime import default_device

    t_start = time.perf_counter()
    beta = DEFAULT_BETA if beta is None else beta
    device = default_device(device)
    sizes = sizes_for(preset, fast)
    if preset == "small" and device == "cpu" and not allow_slow and not model_name:
        hours = (sizes.sft_steps + sizes.dpo_steps) * CPU_SECONDS_PER_SMALL_STEP / 3600
        raise ValueError(
            f"--preset small on a CPU takes ~{CPU_SECONDS_PER_SMALL_STEP} s a step, about {hours:.0f} hours "
            f"for {sizes.sft_steps} SFT + {sizes.dpo_steps} DPO steps; use a GPU (--device cuda), the "
            "tiny preset, or pass --allow-slow to run it anyway"
        )
    out = Path(output_dir)
    settings = {"preset": preset, "model": model_name, "seed": seed, "fast": fast}
    run_dir = RunDir(out, settings, stages=("sft", "pairs"))
    torch.manual_seed(seed)
    timings: dict[str, float] = {}

    t = time.perf_counter()
    ref_model, tokenizer, sft_losses = stages.sft_stage(
        run_dir, preset, model_name, device, sizes, seed, threads, progress, log
    )
    timings["sft_seconds"] = time.perf_counter() - t

    t = time.perf_counter()
    train_prompts, eval_prompts = data.split_prompts(sizes.n_train_prompts, sizes.n_eval_prompts, seed)
    train_pairs, eval_pairs = stages.pairs_stage(
        run_dir, ref_model, tokenizer, train_prompts, eval_prompts, seed, log
    )
    timings["preference_data_seconds"] = time.perf_counter() - t

    policy, trainer = stages.dpo_stage(out, ref_model, tokenizer, train_pairs, sizes, beta, seed, progress,
                                       loss)  # fmt: skip
    resumed = trainer.load_checkpoint()  # resume, if a checkpoint is there: count only this process's work
    what = f"resuming at step {trainer.step} of {sizes.dpo_steps}" if resumed else f"{sizes.dpo_steps} steps"
    loss_type = trainer.config.loss_type
    log(f"[4/5] DPO: {what} ({sizes.dpo_batch_size} pairs a step, beta={beta}, loss {loss_type})")
    t, steps_before, tokens_before = time.perf_counter(), trainer.step, int(trainer.tokens_seen)
    seconds_before = trainer.train_seconds
    history = trainer.train()
    timings["dpo_seconds"] = time.perf_counter() - t  # this process only, so <= wall_seconds
    if trainer.step > steps_before:
        speed = (int(trainer.tokens_seen) - tokens_before) / (trainer.train_seconds - seconds_before)
    else:  # every step was done by an earlier run: no speed was measured now
        speed = None

    t = time.perf_counter()
    log(f"[5/5] evaluating on {len(eval_prompts)} held-out prompts and {len(eval_pairs)} pairs")
    metrics_eval = evaluate.reward_accuracy(policy, ref_model, eval_pairs, beta, tokenizer.pad_token_id)
    sample_metrics, samples = evaluate.evaluate_samples(policy, ref_model, tokenizer, eval_prompts,
                                                        seed=10_000 + seed)  # fmt: skip
    metrics_eval.update(sample_metrics)
    timings["eval_seconds"] = time.perf_counter() - t
    timings["wall_seconds"] = time.perf_counter() - t_start

    metrics = {
        "device": device,
        "torch_threads": torch.get_num_threads(),
        "preset": preset if not model_name else None,
        "model": model_name,
        "n_params": count_parameters(policy),
        "beta": beta,
        "loss": loss_settings(trainer.config),
        "seed": seed,
        "fast": fast,
        "sizes": dataclasses.asdict(sizes),
        "data": {"n_train_pairs": len(train_pairs), "n_eval_pairs": len(eval_pairs)},
        "eval": metrics_eval,
        "train": {"history": history, "sft_loss_first": sft_losses[0], "sft_loss_last": sft_losses[-1]},
        "throughput": {"dpo_tokens_per_second": speed, "dpo_steps_this_run": trainer.step - steps_before},
        "timings": timings,
        "samples": samples[:20],
    }
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2))
    save_run_plots(history, samples, out)
    return metrics


def summary_table(metrics: dict) -> str:
    """The headline numbers, each beside its target (the tiny preset's, measured on seeds 0-4)
    and a verdict, plus the DPO loss at step 0 and at the end (running means)."""
    e, fast = metrics["eval"], metrics["fast"]
    lines = [f"{'what':<50} {'value':>7}  target", "-" * 74]
    for key, label, target in SUMMARY_ROWS:
        row = f"{label:<50} {e[key]:>7.3f}"
        if target:
            op, bound = target
            ok = e[key] >= bound if op == ">=" else e[key] < bound
            row += f"  {op} {bound:g}" + ("" if fast else "  ok" if ok else "  MISSED")
        lines.append(row)
    history = metrics["train"]["history"]
    tail = [h["loss"] for h in history[-max(1, len(history) // 10) :]]
    dpo = metrics.get("loss", {}).get("loss_type", "sigmoid") == "sigmoid"
    ln2 = "  (ln 2 = 0.693 at step 0)" if dpo else ""
    lines.append(
        f"{'DPO loss, running mean: step 0 -> last 10 %':<50} {history[0]['loss']:>7.3f} -> "
        f"{sum(tail) / len(tail):.3f}{ln2}"
    )
    speed = metrics["throughput"]["dpo_tokens_per_second"]
    speed = f"{speed:>7.0f}" if speed is not None else "    n/a  (resumed: every DPO step ran earlier)"
    lines.append(f"{'training speed, tokens / s (DPO stage)':<50} {speed}")
    lines.append(f"{'wall time, s':<50} {metrics['timings']['wall_seconds']:>7.1f}")
    if fast:
        lines.append(
            "--fast: a smoke run; its numbers only show that the pipeline runs (targets: full size)."
        )
    return "\n".join(lines)


def _number(kind, what: str, ok):
    """An argparse type: a finite ``kind`` for which ``ok(value)`` holds, else ``what`` is said."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not math.isfinite(value) or not ok(value):
            raise argparse.ArgumentTypeError(f"{text} is out of range: expected {what}")
        return value

    return parse


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Every flag's help shows its default, except where there is none to show."""

    def _get_help_string(self, action):
        return action.help if action.default in (None, False) else super()._get_help_string(action)


def main(argv=None) -> dict:
    from .runtime import fast_mode

    parser = argparse.ArgumentParser(
        prog="python -m dpo_teach.finetune",
        description=__doc__.split("\n")[0],
        formatter_class=_Help,
    )
    parser.add_argument(
        "--preset",
        choices=("tiny", "small"),
        default="tiny",
        help="model size: tiny (CPU, seconds) or small (GPT-2 124M shape, GPU)",
    )
    parser.add_argument(
        "--model",
        default=None,
        metavar="NAME_OR_PATH",
        help="start from a checkpoint (from_pretrained) instead of a preset",
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="auto: cuda when torch sees a GPU, else cpu")  # fmt: skip
    parser.add_argument(
        "--beta",
        type=_number(float, "a finite number > 0 (e.g. 2.0)", lambda b: b > 0),
        default=DEFAULT_BETA,
        help="KL strength: larger keeps the policy closer to the reference",
    )
    seed_type = _number(int, f"an integer in [0, {MAX_SEED}]", lambda n: 0 <= n <= MAX_SEED)
    parser.add_argument("--seed", type=seed_type, default=0,
                        help="one seed for data, initialisation, sampling and batch order")  # fmt: skip
    parser.add_argument("--fast", action="store_true", help="a much smaller run (tests, smoke)")
    parser.add_argument(
        "--output-dir",
        default=None,
        help="where metrics.json, plots and resumable state go (default runs/finetune-<preset>-seed<N>)",
    )
    parser.add_argument(
        "--threads",
        type=_number(int, "an integer >= 1", lambda n: n >= 1),
        default=None,
        help="torch CPU threads (default: 1 for models < 2M parameters on CPU, else torch's)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    parser.add_argument("--allow-slow", action="store_true",
                        help="run --preset small on a CPU anyway (about 15 s a step: hours)")  # fmt: skip
    add_loss_arguments(parser, _number(float, "a finite number >= 0", lambda x: x >= 0))
    args = parser.parse_args(argv)
    loss = loss_from_args(parser, args)
    fast = args.fast or fast_mode()
    name = "model" if args.model else args.preset
    output_dir = args.output_dir or f"runs/finetune-{name}-seed{args.seed}{'-fast' if fast else ''}"
    try:
        metrics = run(args.preset, args.model, args.device, args.beta, args.seed, fast, output_dir,
                      progress=not args.no_progress, threads=args.threads,
                      allow_slow=args.allow_slow, loss=loss)  # fmt: skip
    except (ValueError, OSError) as err:  # bad input or a file problem: one line, argparse style
        parser.exit(2, f"error: {err}\n")
    print(summary_table(metrics))
    print(f"wrote {output_dir}/metrics.json, training_curves.png, reward_before_after.png")
    return metrics


if __name__ == "__main__":
    main()
