"""``python -m dpo_teach.finetune``: DPO on a small GPT-2, end to end, from the command line.

    python -m dpo_teach.finetune [--preset tiny|small] [--model NAME_OR_PATH]
        [--device auto|cpu|cuda] [--beta B] [--seed N] [--fast] [--output-dir DIR]

The paper's controlled-sentiment experiment (Sec. 6.1 of arXiv:2305.18290) in miniature, one
call per stage of :mod:`dpo_teach.gpt2`: tokenizer + model, SFT (the reference), preference
pairs sampled from the reference and labelled by the true reward (JSON Lines), DPO, held-out
evaluation; ``metrics.json`` and two plots in DIR. Each stage's result is kept in DIR
(``sft/``, ``preferences_*.jsonl``, the DPO checkpoint), so a re-run with the same DIR resumes.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import time
from pathlib import Path

from .gpt2.recipe import DEFAULT_BETA, sizes_for
from .gpt2.rundir import RunDir, atomic_write_text, read_json

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
        output_dir="runs/finetune", progress=True, log=print, threads=None) -> dict:  # fmt: skip
    """The whole pipeline; returns the metrics written to ``output_dir/metrics.json``.

    ``beta``: None = ``DEFAULT_BETA``. ``threads``: ``torch.set_num_threads`` for this process
    (None: :func:`dpo_teach.runtime.cpu_threads`)."""
    import torch

    from .gpt2 import data, evaluate
    from .gpt2.models import count_parameters
    from .gpt2.plots import save_run_plots
    from .runtime import default_device

    t_start = time.perf_counter()
    beta = DEFAULT_BETA if beta is None else beta
    device = default_device(device)
    sizes = sizes_for(preset, fast)
    out = Path(output_dir)
    settings = {"preset": preset, "model": model_name, "seed": seed, "fast": fast}
    run_dir = RunDir(out, settings, stages=("sft", "pairs"))
    torch.manual_seed(seed)
    timings: dict[str, float] = {}

    t = time.perf_counter()
    ref_model, tokenizer, sft_losses = _sft_stage(run_dir, preset, model_name, device, sizes, seed, threads,
                                                  progress, log)  # fmt: skip
    timings["sft_seconds"] = time.perf_counter() - t

    t = time.perf_counter()
    train_prompts, eval_prompts = data.split_prompts(sizes.n_train_prompts, sizes.n_eval_prompts, seed)
    train_pairs, eval_pairs = _pairs_stage(
        run_dir, ref_model, tokenizer, train_prompts, eval_prompts, seed, log
    )
    timings["preference_data_seconds"] = time.perf_counter() - t

    log(f"[4/5] DPO: {sizes.dpo_steps} steps of {sizes.dpo_batch_size} pairs, beta={beta}")
    policy, trainer = _dpo_stage(out, ref_model, tokenizer, train_pairs, sizes, beta, seed, progress)
    history = trainer.train()
    timings["dpo_seconds"] = trainer.train_seconds

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
        "seed": seed,
        "fast": fast,
        "sizes": dataclasses.asdict(sizes),
        "data": {"n_train_pairs": len(train_pairs), "n_eval_pairs": len(eval_pairs)},
        "eval": metrics_eval,
        "train": {"history": history, "sft_loss_first": sft_losses[0], "sft_loss_last": sft_losses[-1]},
        "throughput": {"dpo_tokens_per_second": trainer.tokens_per_second},
        "timings": timings,
        "samples": samples[:20],
    }
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2))
    save_run_plots(history, samples, out)
    return metrics


def _sft_stage(run_dir, preset, model_name, device, sizes, seed, threads, progress, log):
    """Stages 1-2: tokenizer + model, then SFT -> the reference, kept in DIR/sft (built under a
    temporary name, recorded when complete, reused only if it is unchanged)."""
    from .gpt2 import reviews
    from .gpt2.models import build_model, load_pretrained
    from .gpt2.sft import sft_train
    from .gpt2.tokenizer import train_tokenizer

    sft_dir = run_dir.path / "sft"
    texts = reviews.corpus(sizes.n_corpus, seed)
    if run_dir.is_done("sft"):
        log(f"[1-2/5] reusing the SFT model and its tokenizer in {sft_dir}")
        ref_model, tokenizer = load_pretrained(str(sft_dir))
        _set_threads(threads, ref_model, device)
        sft_losses = read_json(sft_dir / "sft_losses.json", "the SFT losses")
    else:
        run_dir.start("sft")
        if model_name:
            log(f"[1/5] loading {model_name}")
            ref_model, tokenizer = load_pretrained(model_name)
        else:
            log(f"[1/5] training a byte-level BPE tokenizer, building the {preset} GPT-2")
            tokenizer = train_tokenizer(texts)
            ref_model = build_model(preset, tokenizer, seed)
        ref_model.to(device)
        _set_threads(threads, ref_model, device)
        log(f"[2/5] SFT: {sizes.sft_steps} steps on {len(texts)} neutral reviews")
        sft_losses = sft_train(ref_model, tokenizer, texts, sizes.sft_steps, sizes.sft_batch_size,
                               sizes.sft_learning_rate, seed=seed, progress=progress)  # fmt: skip

        def save(tmp):
            ref_model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            (tmp / "sft_losses.json").write_text(json.dumps(sft_losses))

        run_dir.finish("sft", sorted(run_dir.replace_dir("sft", save).rglob("*")))
    ref_model.to(device).eval()
    return ref_model, tokenizer, sft_losses


def _pairs_stage(run_dir, ref_model, tokenizer, train_prompts, eval_prompts, seed, log):
    """Stage 3: pairs sampled from the reference, labelled by the true reward, via JSON Lines."""
    from .gpt2 import data
    from .gpt2.checkpoint import CHECKPOINT_NAME

    paths = {s: run_dir.path / f"preferences_{s}.jsonl" for s in ("train", "eval")}
    if run_dir.is_done("pairs"):
        log(f"[3/5] reusing the preference pairs in {paths['train'].name} and {paths['eval'].name}")
    else:
        run_dir.start("pairs")
        # a DPO checkpoint trained on other pairs (or another reference) must not be resumed
        (run_dir.path / CHECKPOINT_NAME).unlink(missing_ok=True)
        log("[3/5] sampling two completions per prompt from the reference; labelling by true reward")
        for split, prompts, s in (("train", train_prompts, 1), ("eval", eval_prompts, 2)):
            rows = data.sample_preference_pairs(ref_model, tokenizer, prompts, seed=1000 * seed + 10 * s)
            data.write_preference_jsonl(rows, paths[split])
        run_dir.finish("pairs", paths.values())
    return tuple(
        data.tokenize_pairs(data.load_preference_jsonl(paths[s]), tokenizer) for s in ("train", "eval")
    )


def _dpo_stage(out, ref_model, tokenizer, train_pairs, sizes, beta, seed, progress):
    """Stage 4: a policy copied from the reference and its trainer (resumes from out/)."""
    from .gpt2.trainer import DPOConfig, DPOTrainer

    policy = copy.deepcopy(ref_model)
    config = DPOConfig(beta=beta, learning_rate=sizes.dpo_learning_rate, batch_size=sizes.dpo_batch_size,
                       max_steps=sizes.dpo_steps, warmup_steps=sizes.dpo_warmup_steps,
                       output_dir=str(out), seed=seed, progress=progress)  # fmt: skip
    return policy, DPOTrainer(policy, ref_model, train_pairs, config, tokenizer.pad_token_id)


def _set_threads(threads, model, device) -> None:
    import torch

    from .gpt2.models import count_parameters
    from .runtime import cpu_threads

    threads = threads or cpu_threads(count_parameters(model), device)
    if threads:
        torch.set_num_threads(threads)


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
    lines.append(
        f"{'DPO loss, running mean: step 0 -> last 10 %':<50} {history[0]['loss']:>7.3f} -> "
        f"{sum(tail) / len(tail):.3f}  (ln 2 = 0.693 at step 0)"
    )
    speed = metrics["throughput"]["dpo_tokens_per_second"]
    lines.append(f"{'training speed, tokens / s (DPO stage)':<50} {speed:>7.0f}")
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


def main(argv=None) -> dict:
    from .runtime import fast_mode

    parser = argparse.ArgumentParser(prog="python -m dpo_teach.finetune", description=__doc__.split("\n")[0])
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
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument(
        "--beta",
        type=_number(float, "a finite number > 0 (e.g. 2.0)", lambda b: b > 0),
        default=DEFAULT_BETA,
        help="KL strength: larger keeps the policy closer to the reference",
    )
    parser.add_argument(
        "--seed", type=_number(int, f"an integer in [0, {MAX_SEED}]", lambda n: 0 <= n <= MAX_SEED), default=0
    )
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
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")  # fmt: skip
    args = parser.parse_args(argv)
    fast = args.fast or fast_mode()
    name = "model" if args.model else args.preset
    output_dir = args.output_dir or f"runs/finetune-{name}-seed{args.seed}{'-fast' if fast else ''}"
    try:
        metrics = run(args.preset, args.model, args.device, args.beta, args.seed, fast, output_dir,
                      progress=not args.no_progress, threads=args.threads)  # fmt: skip
    except (ValueError, OSError) as err:  # bad input or a file problem: one line, argparse style
        parser.exit(2, f"error: {err}\n")
    print(summary_table(metrics))
    print(f"wrote {output_dir}/metrics.json, training_curves.png, reward_before_after.png")
    return metrics


if __name__ == "__main__":
    main()
