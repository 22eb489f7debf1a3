"""``python -m dpo_teach.finetune``: DPO on a small GPT-2, end to end, from the command line.

    python -m dpo_teach.finetune [--preset tiny|small] [--model NAME_OR_PATH]
        [--device auto|cpu|cuda] [--beta B] [--seed N] [--fast] [--output-dir DIR]
        [--loss NAME] [--label-smoothing E] [--rpo-alpha A] [--dpop-lambda L] [--simpo-gamma G]
        [--orpo-lambda L] [--rounds N]

The paper's controlled-sentiment experiment (Sec. 6.1 of arXiv:2305.18290) in miniature, one
call per stage of :mod:`dpo_teach.gpt2`: tokenizer + model, SFT (the reference), preference
pairs sampled from the reference and labelled by the true reward (JSON Lines), DPO, held-out
evaluation; ``metrics.json`` and two plots in DIR. Each stage's result is kept in DIR
(``sft/``, ``preferences_*.jsonl``, the DPO checkpoint), so a re-run with the same DIR resumes.
``--rounds N`` (N > 1) runs online DPO instead (:mod:`dpo_teach.gpt2.online`): N rounds of sampling
from the current policy, labelling and DPO, within the offline run's budget of prompts and steps;
its per-round numbers go to ``metrics.json`` under ``online`` (the rounds are redone on a re-run;
the SFT model and the held-out pairs are reused).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from .cli_args import MAX_SEED, build_parser, check_rounds_fit  # noqa: F401  (MAX_SEED: public)
from .gpt2.config import loss_from_args, loss_settings
from .gpt2.recipe import DEFAULT_BETA, sizes_for
from .gpt2.rundir import RunDir, atomic_write_text

CPU_SECONDS_PER_SMALL_STEP = 15  # the small preset on a 2-core CPU, measured (SFT, batch 64)

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
        allow_slow=False, loss=None, rounds=1) -> dict:  # fmt: skip
    """The whole pipeline; returns the metrics written to ``output_dir/metrics.json``.

    ``beta``: None = ``DEFAULT_BETA``. ``threads``: ``torch.set_num_threads`` for this process
    (None: :func:`dpo_teach.runtime.cpu_threads`). ``allow_slow``: run the ``small`` preset on a
    CPU anyway (refused otherwise: hours, not minutes). ``loss``: ``{"loss_type": NAME, option:
    value}`` (DPOConfig fields, see :func:`loss_settings`); None = DPO (``sigmoid``). ``rounds`` > 1:
    online DPO in that many rounds (:func:`dpo_teach.gpt2.online.online_dpo`) instead of offline."""
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

    t, online = time.perf_counter(), None
    if rounds > 1:  # online DPO: sample, label and train in rounds (the reference stays the SFT model)
        policy, config, history, online = stages.online_stage(ref_model, tokenizer, train_prompts,
                                                              eval_prompts, eval_pairs, sizes, beta, seed,
                                                              rounds, loss, log)  # fmt: skip
        speed, steps_this_run = None, sizes.dpo_steps
    else:
        policy, config, history, speed, steps_this_run = _offline_dpo(
            out, ref_model, tokenizer, train_pairs, sizes, beta, seed, progress, loss, log
        )
    timings["dpo_seconds"] = time.perf_counter() - t  # this process only, so <= wall_seconds

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
        "loss": loss_settings(config),
        "seed": seed,
        "fast": fast,
        "sizes": dataclasses.asdict(sizes),
        "data": {"n_train_pairs": len(train_pairs), "n_eval_pairs": len(eval_pairs)},
        "eval": metrics_eval,
        "train": {"history": history, "sft_loss_first": sft_losses[0], "sft_loss_last": sft_losses[-1]},
        "throughput": {"dpo_tokens_per_second": speed, "dpo_steps_this_run": steps_this_run},
        "timings": timings,
        "samples": samples[:20],
    }
    if online is not None:
        metrics["online"] = online
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2))
    save_run_plots(history, samples, out)
    return metrics


def _offline_dpo(out, ref_model, tokenizer, train_pairs, sizes, beta, seed, progress, loss, log):
    """Stage 4, offline: DPO on the pairs of stage 3, resumed from ``out`` if it holds a checkpoint.
    Returns ``(policy, config, history, tokens_per_second or None, steps_this_run)``."""
    from .gpt2 import stages

    policy, trainer = stages.dpo_stage(out, ref_model, tokenizer, train_pairs, sizes, beta, seed, progress,
                                       loss)  # fmt: skip
    resumed = trainer.load_checkpoint()  # resume, if a checkpoint is there: count only this process's work
    what = f"resuming at step {trainer.step} of {sizes.dpo_steps}" if resumed else f"{sizes.dpo_steps} steps"
    loss_type = trainer.config.loss_type
    log(f"[4/5] DPO: {what} ({sizes.dpo_batch_size} pairs a step, beta={beta}, loss {loss_type})")
    steps_before, tokens_before = trainer.step, int(trainer.tokens_seen)
    seconds_before = trainer.train_seconds
    history = trainer.train()
    if trainer.step > steps_before:
        speed = (int(trainer.tokens_seen) - tokens_before) / (trainer.train_seconds - seconds_before)
    else:  # every step was done by an earlier run: no speed was measured now
        speed = None
    return policy, trainer.config, history, speed, trainer.step - steps_before


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
    if "online" in metrics:
        lines += format_rounds(metrics["online"])
    else:
        speed = f"{speed:>7.0f}" if speed is not None else "    n/a  (resumed: every DPO step ran earlier)"
        lines.append(f"{'training speed, tokens / s (DPO stage)':<50} {speed}")
    lines.append(f"{'wall time, s':<50} {metrics['timings']['wall_seconds']:>7.1f}")
    if fast:
        lines.append(
            "--fast: a smoke run; its numbers only show that the pipeline runs (targets: full size)."
        )
    return "\n".join(lines)


def format_rounds(online: dict) -> list[str]:
    """The online run's rounds as table lines: data, then true reward, KL, validity, win rate."""
    lines = [f"online DPO, {len(online['rounds'])} rounds (reference: {online['reference']}); per round:",
             f"{'round':>5} {'pairs':>6} {'steps':>6} {'true reward':>12} {'KL':>7} {'valid':>7} "
             f"{'win rate':>9}"]  # fmt: skip
    for r in online["rounds"]:
        lines.append(f"{r['round']:>5} {r['n_pairs']:>6} {r['steps']:>6} {r['true_reward_policy']:>+12.3f} "
                     f"{r['kl_to_reference']:>7.3f} {r['valid_rate_policy']:>7.1%} "
                     f"{r['win_rate_vs_reference']:>9.3f}")  # fmt: skip
    return lines


def main(argv=None) -> dict:
    from .runtime import fast_mode

    parser = build_parser(__doc__.split("\n")[0])
    args = parser.parse_args(argv)
    loss = loss_from_args(parser, args)
    fast = args.fast or fast_mode()
    check_rounds_fit(parser, args.rounds, sizes_for(args.preset, fast))
    name = "model" if args.model else args.preset
    rounds = f"-rounds{args.rounds}" if args.rounds > 1 else ""
    output_dir = args.output_dir or f"runs/finetune-{name}-seed{args.seed}{rounds}{'-fast' if fast else ''}"
    try:
        metrics = run(args.preset, args.model, args.device, args.beta, args.seed, fast, output_dir,
                      progress=not args.no_progress, threads=args.threads,
                      allow_slow=args.allow_slow, loss=loss, rounds=args.rounds)  # fmt: skip
    except (ValueError, OSError) as err:  # bad input or a file problem: one line, argparse style
        parser.exit(2, f"error: {err}\n")
    print(summary_table(metrics))
    print(f"wrote {output_dir}/metrics.json, training_curves.png, reward_before_after.png")
    return metrics


if __name__ == "__main__":
    main()
