"""The fine-tune's stages, each resumable from a run directory (:class:`~.rundir.RunDir`).

``python -m dpo_teach.finetune`` calls them in order: tokenizer + model and SFT (the reference),
preference pairs sampled from it and labelled by the true reward, then the DPO trainer. (With
``--rounds N`` the CLI runs :func:`dpo_teach.gpt2.lab.online.online_stage` instead of the DPO
stage.) A stage whose recorded
files are intact is reused; otherwise it (and every later one) is done again.
"""

from __future__ import annotations

import copy
import json

from ..files import read_json

__all__ = ["sft_stage", "pairs_stage", "dpo_stage", "set_threads"]


def sft_stage(run_dir, preset, model_name, device, sizes, seed, threads, progress, log, texts=None,
              sft_steps=None, env=None):  # fmt: skip
    """Stages 1-2: tokenizer + model, then SFT -> the reference, kept in DIR/sft (built under a
    temporary name, recorded when complete, reused only if it is unchanged). ``texts``: the SFT
    texts (default: the review corpus); ``sft_steps``: None = ``sizes.sft_steps``, 0 = none (the
    reference is the model as loaded); ``env``: a :class:`~.distributed.DistEnv` (SFT through DDP)."""
    from ..runtime import quiet_transformers
    from . import reviews
    from .hub.hf_checkpoint import load_causal_lm
    from .models import build_model, load_pretrained
    from .sft import sft_train
    from .tokenizer import train_tokenizer

    sft_dir = run_dir.path / "sft"
    what = "neutral reviews" if texts is None else "texts of the prompt source"
    texts = reviews.corpus(sizes.n_corpus, seed) if texts is None else texts
    steps = sizes.sft_steps if sft_steps is None else sft_steps
    if run_dir.is_done("sft"):
        log(f"[1-2/5] reusing the SFT model and its tokenizer in {sft_dir}")
        ref_model, tokenizer = load_pretrained(str(sft_dir))
        set_threads(threads, ref_model, device)
        sft_losses = read_json(sft_dir / "sft_losses.json", "the SFT losses")
    else:
        run_dir.start("sft")
        if model_name:
            log(f"[1/5] loading {model_name}")
            ref_model, tokenizer = load_causal_lm(model_name, "train")
        else:
            log(f"[1/5] training a byte-level BPE tokenizer, building the {preset} GPT-2")
            tokenizer = train_tokenizer(texts)
            ref_model = build_model(preset, tokenizer, seed)
        ref_model.to(device)
        set_threads(threads, ref_model, device)
        if steps:
            log(f"[2/5] SFT: {steps} steps on {len(texts)} {what}")
            batch, lr = sizes.sft_batch_size, sizes.sft_learning_rate
            sft_losses = sft_train(ref_model, tokenizer, texts, steps, batch, lr, seed=seed,
                                   progress=progress, dist_env=env)  # fmt: skip
        else:
            log("[2/5] SFT: skipped (--sft-steps 0): the reference is the model as loaded")
            sft_losses = []

        def save(tmp):
            with quiet_transformers():
                ref_model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            (tmp / "sft_losses.json").write_text(json.dumps(sft_losses))

        run_dir.finish("sft", sorted(run_dir.replace_dir("sft", save).rglob("*")))
    ref_model.to(device).eval()
    return ref_model, tokenizer, sft_losses


def pairs_stage(run_dir, ref_model, tokenizer, train_prompts, eval_prompts, seed, log, label=None,
                max_length=None):  # fmt: skip
    """Stage 3: pairs sampled from the reference, labelled by the true reward, via JSON Lines.
    ``label(prompts, seed)``: rows labelled another way (a judge, K completions; see
    :func:`~.real_world.pair_rows`), read back with ``max_length`` (:mod:`.preference_data`)."""
    from . import data
    from .checkpoint import CHECKPOINT_NAME
    from .hub.preference_data import tokenize_preferences

    paths = {s: run_dir.path / f"preferences_{s}.jsonl" for s in ("train", "eval")}
    if run_dir.is_done("pairs"):
        log(f"[3/5] reusing the preference pairs in {paths['train'].name} and {paths['eval'].name}")
    else:
        run_dir.start("pairs")
        # a DPO checkpoint trained on other pairs (or another reference) must not be resumed
        if run_dir.writes:
            (run_dir.path / CHECKPOINT_NAME).unlink(missing_ok=True)
        how = "two completions per prompt from the reference; labelling by true reward" if label is None \
            else "completions from the reference; labelling them by the judge"  # fmt: skip
        log(f"[3/5] sampling {how}")
        for split, prompts, s in (("train", train_prompts, 1), ("eval", eval_prompts, 2)):
            if label is None:
                rows = data.sample_preference_pairs(ref_model, tokenizer, prompts, seed=1000 * seed + 10 * s)
            else:
                rows = label(prompts, 1000 * seed + 10 * s)
            if run_dir.writes:  # rank 0 (every rank sampled the same rows)
                data.write_preference_jsonl(rows, paths[split])
        run_dir.finish("pairs", paths.values())
    if label is not None:
        return tuple(tokenize_preferences(data.load_preference_jsonl(paths[s]), tokenizer, max_length).pairs
                     for s in ("train", "eval"))  # fmt: skip
    return tuple(
        data.tokenize_pairs(data.load_preference_jsonl(paths[s]), tokenizer) for s in ("train", "eval")
    )


def dpo_stage(out, ref_model, tokenizer, train_pairs, sizes, beta, seed, progress, loss=None, env=None,
              knobs=None, eval_pairs=None, log=print):  # fmt: skip
    """Stage 4: a policy copied from the reference and its trainer (resumes from out/); returns
    ``(policy, trainer, reference)``. ``loss``: DPOConfig fields ``{"loss_type": ..., options...}``;
    None = DPO (``sigmoid``). ``env``: a :class:`~.distributed.DistEnv` (data-parallel under torchrun).
    ``knobs`` (issue 28): further DPOConfig fields (``grad_accum``, ``lr_scheduler``, ``eval_every``,
    ``save_best``, ``gradient_checkpointing``, ``logps_chunk``), and ``lora`` (``{"r", "alpha",
    "targets"}``: the policy is ``ref_model`` with adapters, the reference the same with them off),
    ``ref_model`` (another loaded reference), ``allow_big`` (train past the memory estimate).
    ``eval_pairs``: held-out pairs for ``eval_every``. The estimated peak memory is logged first."""
    from .config import REFERENCE_FREE
    from .memory import GIB, describe, device_memory_bytes, estimate_peak
    from .trainer import DPOConfig, DPOTrainer

    knobs = dict(knobs or {})
    lora, reference, allow_big = knobs.pop("lora", None), knobs.pop("ref_model", None), knobs.pop("allow_big", False)
    reference = ref_model if reference is None else reference
    if lora:  # no copy: adapters on the SFT model, whose weights stay frozen
        from .lora import AdaptersOff, lora_policy

        policy = lora_policy(ref_model, lora["r"], lora["alpha"], lora["targets"])
        reference = AdaptersOff(policy)
    else:
        policy = copy.deepcopy(ref_model)
    config = DPOConfig(beta=beta, learning_rate=sizes.dpo_learning_rate, batch_size=sizes.dpo_batch_size,
                       max_steps=sizes.dpo_steps, warmup_steps=sizes.dpo_warmup_steps,
                       output_dir=str(out), seed=seed, progress=progress, **knobs, **(loss or {}))  # fmt: skip
    longest = max(len(p["prompt_ids"]) + max(len(p["chosen_ids"]), len(p["rejected_ids"])) for p in train_pairs)
    held = [ref_model] if not lora else []  # the SFT model stays in memory for the evaluation
    held += [reference] if reference is not ref_model and not lora else []
    scored = config.precompute_ref_logps and config.loss_type not in REFERENCE_FREE
    estimate = estimate_peak(policy, config, 2 * config.batch_size // (env.world_size if env else 1), longest,
                             held[0] if held else None, scored)  # fmt: skip
    if len(held) > 1:
        estimate["weights"] += 4 * sum(p.numel() for p in held[1].parameters())
        estimate["total"] += 4 * sum(p.numel() for p in held[1].parameters())
    device = next(policy.parameters()).device
    available = device_memory_bytes(str(device))
    log(f"      estimated peak memory {describe(estimate)}; the device has "
        f"{'?' if available is None else f'{available / GIB:.1f} GiB'}")  # fmt: skip
    if available is not None and estimate["total"] > available and not allow_big:
        raise ValueError(f"this DPO run needs an estimated {estimate['total'] / GIB:.1f} GiB but the device has "
                         f"{available / GIB:.1f} GiB; use --grad-accum, --logps-chunk, --gradient-checkpointing, "
                         "--lora or a smaller --batch-size / --max-length, or pass --allow-big to try anyway")  # fmt: skip
    trainer = DPOTrainer(policy, reference, train_pairs, config, tokenizer.pad_token_id, dist_env=env,
                         eval_pairs=eval_pairs)  # fmt: skip
    trainer.memory_estimate = estimate
    return policy, trainer, reference


def set_threads(threads, model, device) -> None:
    """``torch.set_num_threads``: ``threads``, or :func:`dpo_teach.runtime.cpu_threads`'s choice."""
    import torch

    from ..runtime import cpu_threads
    from .models import count_parameters

    threads = threads or cpu_threads(count_parameters(model), device)
    if threads:
        torch.set_num_threads(threads)
