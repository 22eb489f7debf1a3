"""``python -m dpo_teach.finetune``: DPO on a small GPT-2, end to end, from the command line.

    python -m dpo_teach.finetune [--preset tiny|base|small] [--model NAME_OR_PATH]
        [--device auto|cpu|cuda] [--beta B] [--seed N] [--fast] [--output-dir DIR]
        [--loss NAME] [--label-smoothing E] [--rpo-alpha A] [--dpop-lambda L] [--simpo-gamma G]
        [--orpo-lambda L] [--rounds N] [--sft-steps N]
        [--prompts SOURCE [--prompt-column C] [--prompt-tokens N|LO-HI] --reward-model NAME_OR_PATH]
        [--completions-per-prompt K] [--pairs all|best-worst] [--labeling better|bt]
        [--dataset NAME_OR_PATH [--dataset-split S] [--dataset-config C] [--max-length N]]

The paper's controlled-sentiment experiment (Sec. 6.1 of arXiv:2305.18290) in miniature, one
call per stage of :mod:`dpo_teach.gpt2`: tokenizer + model, SFT (the reference), preference
pairs sampled from the reference and labelled by the true reward (JSON Lines), DPO, held-out
evaluation; ``metrics.json`` and two plots in DIR. Each stage's result is kept in DIR
(``sft/``, ``preferences_*.jsonl``, the DPO checkpoint), so a re-run with the same DIR resumes.
``--rounds N`` (N > 1) runs online DPO instead (:mod:`dpo_teach.gpt2.lab.online`): N rounds of sampling
from the current policy, labelling and DPO, within the offline run's budget of prompts and steps;
its per-round numbers go to ``metrics.json`` under ``online`` (the rounds are redone on a re-run;
the SFT model and the held-out pairs are reused). ``--prompts`` / ``--reward-model`` / ``--dataset``
run the real experiment instead (:mod:`dpo_teach.gpt2.hub.real_world`, docs/practitioners.md: "The paper's
experiment, for real"); the final policy goes to ``DIR/policy`` (``save_pretrained``). Under
``torchrun`` / ``accelerate launch`` the same command runs data-parallel (rank 0 writes).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from ..gpt2.config import loss_from_args, loss_settings
from ..gpt2.distributed import destroy_distributed
from ..gpt2.hub.real_world import inputs_from_args
from ..gpt2.recipe import DEFAULT_BETA, sizes_for
from ..gpt2.rundir import atomic_write_text
from .args import MAX_SEED, build_parser, check_rounds_fit  # noqa: F401  (MAX_SEED: public)
from .report import SUMMARY_ROWS, format_rounds, summary_table  # noqa: F401  (public here too)
from .train_args import knobs_summary, sizes_with, trainer_knobs, training_from_args

CPU_SECONDS_PER_SMALL_STEP = 15  # the small preset on a 2-core CPU, measured (SFT, batch 64)


def run(preset="tiny", model_name=None, device="auto", beta=None, seed=0, fast=False,
        output_dir="runs/finetune", progress=True, log=print, threads=None,
        allow_slow=False, loss=None, rounds=1, inputs=None, training=None) -> dict:  # fmt: skip
    """The whole pipeline; returns the metrics written to ``output_dir/metrics.json``.

    ``beta``: None = ``DEFAULT_BETA``. ``threads``: ``torch.set_num_threads`` for this process
    (None: :func:`dpo_teach.runtime.cpu_threads`). ``allow_slow``: run the ``small`` preset on a
    CPU anyway (refused otherwise: hours, not minutes). ``loss``: ``{"loss_type": NAME, option:
    value}`` (DPOConfig fields, see :func:`loss_settings`); None = DPO (``sigmoid``). ``rounds`` > 1:
    online DPO in that many rounds (:func:`dpo_teach.gpt2.lab.online.online_dpo`) instead of offline.
    ``inputs``: prompts, judge or dataset (:class:`dpo_teach.gpt2.hub.real_world.Inputs`; None: the
    review world). ``training``: the training flags (:func:`.train_args.training_from_args`; None:
    the preset's). Under ``torchrun`` every rank runs it (DDP); rank 0 alone logs and writes files,
    and returns the metrics (the other ranks return None)."""
    import torch

    from ..gpt2 import distributed as dist
    from ..gpt2 import real_stages, stages
    from ..gpt2.hub.hf_checkpoint import save_policy
    from ..gpt2.hub.real_world import Inputs
    from ..gpt2.lab.online import online_stage
    from ..gpt2.lora import merged
    from ..gpt2.models import count_parameters
    from ..gpt2.plots import save_run_plots
    from ..gpt2.rundir import input_fingerprints, open_run_dir
    from ..runtime import default_device

    t_start = time.perf_counter()
    beta = DEFAULT_BETA if beta is None else beta
    inputs = inputs or Inputs()
    inputs.check()
    device = default_device(device)
    env = dist.init_distributed(device)  # one process unless torchrun / accelerate started several
    device, log, progress = dist.device_for(env, device), dist.main_only(env, log), progress and env.is_main
    sizes = sizes_with(sizes_for(preset, fast), training)  # --learning-rate, --batch-size, ... (issue 28)
    if preset == "small" and device == "cpu" and not allow_slow and not model_name:
        hours = (sizes.sft_steps + sizes.dpo_steps) * CPU_SECONDS_PER_SMALL_STEP / 3600
        raise ValueError(
            f"--preset small on a CPU takes ~{CPU_SECONDS_PER_SMALL_STEP} s a step, about {hours:.0f} hours "
            f"for {sizes.sft_steps} SFT + {sizes.dpo_steps} DPO steps; use a GPU (--device cuda), the "
            "tiny preset, or pass --allow-slow to run it anyway"
        )
    if rounds > 1 and (env.enabled or not inputs.exact_reward):
        raise ValueError("--rounds (online DPO) runs in one process on the review world, labelled by "
                         "the true reward; drop --rounds, or torchrun / --prompts / --reward-model / "
                         "--dataset")  # fmt: skip
    out = Path(output_dir)
    settings = {"preset": preset, "model": model_name, "seed": seed, "fast": fast}
    if inputs.changed():  # the offline run's settings stay as they were
        settings["inputs"] = inputs.changed()
    files = input_fingerprints({"--model": model_name, "--dataset": inputs.dataset, "--reward-model":
                                inputs.reward_model, "--prompts": inputs.prompts if inputs.prompts != "reviews"
                                else None})  # fmt: skip
    if files:  # a resume with an input file's content changed is refused (rundir: "files")
        settings["files"] = files
    run_dir = open_run_dir(out, settings, ("sft", "pairs"), env)
    torch.manual_seed(seed)
    timings: dict[str, float] = {}

    t = time.perf_counter()
    source = real_stages.prompt_source(inputs)
    sft_steps = inputs.sft_steps
    if sft_steps is None and inputs.dataset and model_name:
        sft_steps = 0  # a preference dataset on a pretrained model: no SFT unless asked
    texts = real_stages.sft_texts(source, sizes, seed)
    ref_model, tokenizer, sft_losses = stages.sft_stage(run_dir, preset, model_name, device, sizes, seed,
                                                        threads, progress, log, texts, sft_steps,
                                                        env)  # fmt: skip
    timings["sft_seconds"] = time.perf_counter() - t

    t = time.perf_counter()
    stage = real_stages.data_stage(run_dir, inputs, source, ref_model, tokenizer, sizes, seed, log, device)
    timings["preference_data_seconds"] = time.perf_counter() - t
    sizes = sizes_with(sizes, training, len(stage.train_pairs))  # --epochs, --warmup-ratio

    t, online = time.perf_counter(), None
    if rounds > 1:  # online DPO: sample, label and train in rounds (the reference stays the SFT model)
        prompts = (stage.train_prompts, stage.eval_prompts, stage.eval_pairs)
        policy, config, history, online = online_stage(ref_model, tokenizer, *prompts, sizes, beta,
                                                              seed, rounds, loss, log)  # fmt: skip
        speed, steps_this_run = None, sizes.dpo_steps
    else:
        knobs = trainer_knobs(training, ref_model, tokenizer, device)
        eval_pairs = stage.eval_pairs if knobs["eval_every"] else None
        policy, config, history, speed, steps_this_run, trainer = _offline_dpo(
            out, ref_model, tokenizer, stage.train_pairs, sizes, beta, seed, progress, loss, log, env, knobs, eval_pairs
        )
        ref_model = trainer.reference  # the DPO reference: --ref-model, or with --lora the adapters off
    timings["dpo_seconds"] = time.perf_counter() - t  # this process only, so <= wall_seconds
    if not env.is_main:  # rank 0 evaluates and writes; the others are done
        return None

    t = time.perf_counter()
    models = (policy, ref_model, tokenizer)
    metrics_eval, samples = real_stages.evaluate_stage(inputs, stage, *models, beta, seed, log)
    timings["eval_seconds"] = time.perf_counter() - t
    save_policy(merged(policy), tokenizer, out / "policy")  # save_pretrained (LoRA folded in)
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
        "data": {"n_train_pairs": len(stage.train_pairs), "n_eval_pairs": len(stage.eval_pairs)},
        "eval": metrics_eval,
        "train": {
            "history": history,
            "sft_loss_first": sft_losses[0] if sft_losses else None,
            "sft_loss_last": sft_losses[-1] if sft_losses else None,
        },
        "throughput": {"dpo_tokens_per_second": speed, "dpo_steps_this_run": steps_this_run},
        "timings": timings,
        "samples": samples[:20],
    }
    if online is not None:
        metrics["online"] = online
    else:  # issue 28: the training settings, the held-out curve, the best step, the memory estimate
        metrics["training"] = {**knobs_summary(knobs, sizes), "memory_estimate": trainer.memory_estimate}
        metrics["train"].update(eval_history=trainer.eval_history, best=trainer.best)
    if inputs.changed() or env.enabled:
        metrics.update(inputs=inputs.changed(), judge=inputs.reward_model or "the true reward",
                       processes=env.world_size)  # fmt: skip
    metrics["policy_dir"] = str(out / "policy")
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2))
    samples = samples if "true_reward_policy" in metrics_eval else None
    save_run_plots(history, samples, out, metrics["loss"]["loss_type"])
    return metrics


def _offline_dpo(out, ref_model, tokenizer, train_pairs, sizes, beta, seed, progress, loss, log, env=None,
                 knobs=None, eval_pairs=None):  # fmt: skip
    """Stage 4, offline: DPO on the pairs of stage 3, resumed from ``out`` if it holds a checkpoint.
    Returns ``(policy, config, history, tokens_per_second or None, steps_this_run, trainer)``."""
    from ..gpt2 import stages

    policy, trainer, reference = stages.dpo_stage(out, ref_model, tokenizer, train_pairs, sizes, beta, seed,
                                                  progress, loss, env, knobs, eval_pairs, log)  # fmt: skip
    trainer.reference = reference
    resumed = trainer.load_checkpoint()  # resume, if a checkpoint is there: count only this process's work
    what = f"resuming at step {trainer.step} of {sizes.dpo_steps}" if resumed else f"{sizes.dpo_steps} steps"
    loss_type = trainer.config.loss_type
    log(f"[4/5] DPO: {what} ({sizes.dpo_batch_size} pairs a step, beta={beta}, loss {loss_type})")
    tokens = sum(len(p["prompt_ids"]) * 2 + len(p["chosen_ids"]) + len(p["rejected_ids"]) for p in train_pairs)
    epochs = sizes.dpo_steps * sizes.dpo_batch_size / len(train_pairs)
    log(f"      {sizes.dpo_steps} steps x {sizes.dpo_batch_size} pairs = {epochs:.2f} epochs of {len(train_pairs)} "
        f"pairs, ~{tokens * epochs:,.0f} tokens through the policy; lr {sizes.dpo_learning_rate:g} "
        f"({trainer.config.lr_scheduler}, {sizes.dpo_warmup_steps} warm-up steps)")  # fmt: skip
    steps_before, tokens_before = trainer.step, int(trainer.tokens_seen)
    seconds_before = trainer.train_seconds
    history = trainer.train()
    if trainer.best is not None:  # --save-best: evaluate and save the policy of the lowest held-out loss
        trainer.load_best()
        log(f"      best held-out loss {trainer.best['eval_loss']:.4f} at step {trainer.best['step']}: kept")
    if trainer.step > steps_before:
        speed = (int(trainer.tokens_seen) - tokens_before) / (trainer.train_seconds - seconds_before)
    else:  # every step was done by an earlier run: no speed was measured now
        speed = None
    return policy, trainer.config, history, speed, trainer.step - steps_before, trainer


def main(argv=None) -> dict:
    from ..runtime import fast_mode

    parser = build_parser(__doc__.split("\n")[0])
    args = parser.parse_args(argv)
    loss = loss_from_args(parser, args)
    fast = args.fast or fast_mode()
    training = training_from_args(parser, args)
    sizes = sizes_with(sizes_for(args.preset, fast), training)
    if sizes.dpo_batch_size % args.grad_accum:
        parser.error(f"--grad-accum {args.grad_accum} does not divide the batch of {sizes.dpo_batch_size} pairs "
                     "into equal micro-batches; pick a --batch-size that is a multiple of it")  # fmt: skip
    check_rounds_fit(parser, args.rounds, sizes)
    inputs = inputs_from_args(parser, args)
    name = "model" if args.model else args.preset
    rounds = f"-rounds{args.rounds}" if args.rounds > 1 else ""
    output_dir = args.output_dir or f"runs/finetune-{name}-seed{args.seed}{rounds}{'-fast' if fast else ''}"
    try:
        metrics = run(args.preset, args.model, args.device, args.beta, args.seed, fast, output_dir,
                      progress=not args.no_progress, threads=args.threads,
                      allow_slow=args.allow_slow, loss=loss, rounds=args.rounds, inputs=inputs,
                      training=training)  # fmt: skip
    except (ValueError, OSError) as err:  # bad input or a file problem: one line, argparse style
        parser.exit(2, f"error: {err}\n")
    finally:
        destroy_distributed()
    if metrics is None:  # a rank other than 0 under torchrun: rank 0 reports
        return None
    print(summary_table(metrics))
    exact = "true_reward_policy" in metrics["eval"]
    plots = "training_curves.png" + (", reward_before_after.png" if exact else "")
    print(f"wrote {output_dir}/metrics.json, {plots}, policy/ (save_pretrained)")
    return metrics

