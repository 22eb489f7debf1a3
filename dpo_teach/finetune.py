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
import time
from pathlib import Path

from .gpt2.recipe import DEFAULT_BETA, sizes_for

SUMMARY_KEYS = (
    ("reward_accuracy", "held-out implicit-reward accuracy"),
    ("win_rate_vs_reference", "win rate vs reference (true reward)"),
    ("true_reward_reference", "true reward, reference samples"),
    ("true_reward_policy", "true reward, policy samples"),
    ("kl_to_reference", "KL(policy || reference), nats"),
    ("valid_rate_reference", "valid samples, reference"),
    ("valid_rate_policy", "valid samples, policy"),
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
    out.mkdir(parents=True, exist_ok=True)
    _check_same_run(out, {"preset": preset, "model": model_name, "seed": seed, "fast": fast})
    torch.manual_seed(seed)
    timings: dict[str, float] = {}

    t = time.perf_counter()
    ref_model, tokenizer, sft_losses = _sft_stage(out, preset, model_name, device, sizes, seed, threads,
                                                  progress, log)  # fmt: skip
    timings["sft_seconds"] = time.perf_counter() - t

    t = time.perf_counter()
    train_prompts, eval_prompts = data.split_prompts(sizes.n_train_prompts, sizes.n_eval_prompts, seed)
    train_pairs, eval_pairs = _pairs_stage(out, ref_model, tokenizer, train_prompts, eval_prompts, seed, log)
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
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    save_run_plots(history, samples, out)
    return metrics


def _sft_stage(out, preset, model_name, device, sizes, seed, threads, progress, log):
    """Stages 1-2: tokenizer + model, then SFT -> the reference (kept in out/sft: a re-run reuses it)."""
    from .gpt2 import reviews
    from .gpt2.models import build_model, load_pretrained
    from .gpt2.sft import sft_train
    from .gpt2.tokenizer import train_tokenizer

    sft_dir = out / "sft"
    texts = reviews.corpus(sizes.n_corpus, seed)
    if (sft_dir / "config.json").exists():
        log(f"[1/5] reusing the SFT model in {sft_dir}")
        ref_model, tokenizer = load_pretrained(str(sft_dir))
        _set_threads(threads, ref_model, device)
        sft_losses = json.loads((sft_dir / "sft_losses.json").read_text())
    else:
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
        ref_model.save_pretrained(sft_dir)
        tokenizer.save_pretrained(sft_dir)
        (sft_dir / "sft_losses.json").write_text(json.dumps(sft_losses))
    ref_model.to(device).eval()
    return ref_model, tokenizer, sft_losses


def _pairs_stage(out, ref_model, tokenizer, train_prompts, eval_prompts, seed, log):
    """Stage 3: pairs sampled from the reference, labelled by the true reward, via JSON Lines."""
    from .gpt2 import data

    paths = {s: out / f"preferences_{s}.jsonl" for s in ("train", "eval")}
    if not all(p.exists() for p in paths.values()):
        log("[3/5] sampling two completions per prompt from the reference; labelling by true reward")
        for split, prompts, s in (("train", train_prompts, 1), ("eval", eval_prompts, 2)):
            rows = data.sample_preference_pairs(ref_model, tokenizer, prompts, seed=1000 * seed + 10 * s)
            data.write_preference_jsonl(rows, paths[split])
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


def _check_same_run(out: Path, settings: dict) -> None:
    """Refuse to mix stages of different runs in one output dir."""
    path = out / "run_settings.json"
    if path.exists():
        old = json.loads(path.read_text())
        if old != settings:
            raise ValueError(f"{out} holds a run with settings {old}, not {settings}; "
                             "pass a new --output-dir (or delete that one)")  # fmt: skip
    path.write_text(json.dumps(settings))


def summary_table(metrics: dict) -> str:
    """A short plain-text table of the headline numbers."""
    e = metrics["eval"]
    lines = [f"{'metric':<40} value", f"{'-' * 40} -----"]
    lines += [f"{label:<40} {e[key]:.3f}" for key, label in SUMMARY_KEYS]
    lines.append(f"{'DPO tokens / s':<40} {metrics['throughput']['dpo_tokens_per_second']:.0f}")
    lines.append(f"{'wall time, s':<40} {metrics['timings']['wall_seconds']:.1f}")
    return "\n".join(lines)


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
        type=float,
        default=DEFAULT_BETA,
        help="KL strength: larger keeps the policy closer to the reference",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fast", action="store_true", help="a much smaller run (tests, smoke)")
    parser.add_argument(
        "--output-dir",
        default=None,
        help="where metrics.json, plots and resumable state go (default runs/finetune-<preset>-seed<N>)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: 1 for models < 2M parameters on CPU, else torch's)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    args = parser.parse_args(argv)
    if args.beta <= 0:
        parser.error(f"--beta must be > 0, got {args.beta}")
    fast = args.fast or fast_mode()
    name = "model" if args.model else args.preset
    output_dir = args.output_dir or f"runs/finetune-{name}-seed{args.seed}{'-fast' if fast else ''}"
    try:
        metrics = run(args.preset, args.model, args.device, args.beta, args.seed, fast, output_dir,
                      progress=not args.no_progress, threads=args.threads)  # fmt: skip
    except ValueError as err:
        parser.exit(2, f"error: {err}\n")
    print(summary_table(metrics))
    print(f"wrote {output_dir}/metrics.json, training_curves.png, reward_before_after.png")
    return metrics


if __name__ == "__main__":
    main()
