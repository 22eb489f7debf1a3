"""The fine-tune's training flags (issue 28): learning rate, steps or epochs, batch and gradient
accumulation, schedule and warm-up, held-out evaluation and the best policy, gradient checkpointing,
another reference, LoRA, the LM head in chunks, and the memory guard. Each bad value is one
``error:`` line and exit 2 (``parser.error``), before anything runs.

Left unset, a flag keeps the preset's value (:func:`dpo_teach.gpt2.recipe.sizes_for`), so the
default run is the one it always was.
"""

from __future__ import annotations

from ..gpt2.config import LR_SCHEDULERS
from ..gpt2.lora import LORA_DEFAULTS
from ..gpt2.recipe import sizes_for

__all__ = ["add_training_arguments", "training_from_args", "sizes_with", "trainer_knobs", "knobs_summary",
           "AUTO_CHUNK", "AUTO_CHUNK_MIN_VOCAB"]

AUTO_CHUNK = 1024  # --logps-chunk auto: scored tokens per LM-head chunk ...
AUTO_CHUNK_MIN_VOCAB = 4096  # ... for vocabularies at least this wide (the review world's ~400: full logits)


def _preset_values(field: str) -> str:
    values = {p: getattr(sizes_for(p, False), field) for p in ("tiny", "base", "small")}
    return ", ".join(f"{p} {v:g}" for p, v in values.items()) + f"; --fast {getattr(sizes_for('tiny', True), field):g}"


def add_training_arguments(parser, number_type) -> None:
    """The flags above; ``number_type(kind, what, ok)`` is :func:`.args.number_type`."""
    g = parser.add_argument_group("training (issue 28; unset: the preset's value)")
    positive = number_type(float, "a finite number > 0 (e.g. 5e-7)", lambda x: x > 0)
    count = number_type(int, "an integer >= 1", lambda n: n >= 1)
    g.add_argument("--learning-rate", type=positive, metavar="LR",
                   help=f"DPO peak learning rate (AdamW); preset: {_preset_values('dpo_learning_rate')}")  # fmt: skip
    g.add_argument("--max-steps", type=count, metavar="N",
                   help=f"DPO optimizer steps; preset: {_preset_values('dpo_steps')}")  # fmt: skip
    g.add_argument("--epochs", type=positive, metavar="E",
                   help="DPO steps as passes over the training pairs: ceil(E x pairs / batch size) "
                        "(instead of --max-steps)")  # fmt: skip
    g.add_argument("--batch-size", type=count, metavar="N",
                   help=f"preference pairs per optimizer step; preset: {_preset_values('dpo_batch_size')}")  # fmt: skip
    g.add_argument("--grad-accum", type=count, default=1, metavar="K",
                   help="micro-batches per optimizer step (the batch size must divide by K): the same "
                        "loss and metrics as one batch, 1/K of the activation memory")  # fmt: skip
    g.add_argument("--lr-scheduler", choices=LR_SCHEDULERS, default="constant",
                   help="the learning rate after the warm-up: constant, or linear / cosine decay to 0")  # fmt: skip
    g.add_argument("--warmup-steps", type=number_type(int, "an integer >= 0", lambda n: n >= 0), metavar="N",
                   help=f"linear warm-up steps; preset: {_preset_values('dpo_warmup_steps')}")  # fmt: skip
    g.add_argument("--warmup-ratio", type=number_type(float, "a number in [0, 1)", lambda x: 0 <= x < 1),
                   metavar="R", help="warm-up as a share of the steps: ceil(R x steps) (instead of "
                                     "--warmup-steps)")  # fmt: skip
    g.add_argument("--eval-every", type=count, metavar="N",
                   help="every N steps and at the end: loss and implicit-reward accuracy on the held-out "
                        "pairs (train.eval_history in metrics.json)")  # fmt: skip
    g.add_argument("--save-best", action="store_true",
                   help="end with the policy of the lowest held-out loss (needs --eval-every)")  # fmt: skip
    g.add_argument("--gradient-checkpointing", action="store_true",
                   help="recompute activations in backward: far less memory, about a third more time")  # fmt: skip
    g.add_argument("--ref-model", metavar="PATH",
                   help="the DPO reference, if not the starting policy (a save_pretrained directory or "
                        "hub name with the same vocabulary)")  # fmt: skip
    g.add_argument("--lora", action="store_true",
                   help="train LoRA adapters only (peft); the reference is the model with adapters off")  # fmt: skip
    g.add_argument("--lora-r", type=count, metavar="R", help=f"LoRA rank (default {LORA_DEFAULTS['r']})")
    g.add_argument("--lora-alpha", type=positive, metavar="A",
                   help=f"LoRA scale numerator: adapters scaled by A / R (default {LORA_DEFAULTS['alpha']:g})")  # fmt: skip
    g.add_argument("--lora-targets", metavar="NAMES",
                   help="comma-separated module names to adapt, e.g. c_attn,c_proj (default: peft's "
                        "choice for the architecture)")  # fmt: skip
    g.add_argument("--logps-chunk", type=number_type(int, "an integer >= 0", lambda n: n >= 0), metavar="N",
                   help=f"LM head over N scored tokens at a time, never the full logits; 0 = full logits "
                        f"(default: {AUTO_CHUNK} for vocabularies >= {AUTO_CHUNK_MIN_VOCAB} tokens, else 0)")  # fmt: skip
    g.add_argument("--allow-big", action="store_true",
                   help="train even when the estimated peak memory exceeds the device's")  # fmt: skip


def training_from_args(parser, args) -> dict:
    """The training flags as one dict (unset ones None), their combinations checked."""
    if args.max_steps is not None and args.epochs is not None:
        parser.error("--max-steps and --epochs both set the number of steps; pass one of them")
    if args.warmup_steps is not None and args.warmup_ratio is not None:
        parser.error("--warmup-steps and --warmup-ratio both set the warm-up; pass one of them")
    if args.save_best and args.eval_every is None:
        parser.error("--save-best keeps the policy of the lowest held-out loss: add --eval-every N")
    lora_flags = [f for f in ("lora_r", "lora_alpha", "lora_targets") if getattr(args, f) is not None]
    if lora_flags and not args.lora:
        parser.error(f"--{lora_flags[0].replace('_', '-')} sets up LoRA: add --lora")
    if args.lora and args.ref_model:
        parser.error("--lora uses the model with its adapters off as the reference; drop --ref-model or --lora")
    if args.rounds > 1 and any(getattr(args, f) not in (None, False, 1, "constant") for f in
                               ("epochs", "grad_accum", "eval_every", "lora", "ref_model", "lr_scheduler")):
        parser.error("--rounds (online DPO) takes --learning-rate, --max-steps, --batch-size and --warmup-steps "
                     "only; drop the other training flags")  # fmt: skip
    targets = None
    if args.lora_targets is not None:
        targets = [t.strip() for t in args.lora_targets.split(",") if t.strip()]
        if not targets:
            parser.error(f"--lora-targets {args.lora_targets!r} names no module; pass e.g. c_attn,c_proj")
    keys = ("learning_rate", "max_steps", "epochs", "batch_size", "grad_accum", "lr_scheduler", "warmup_steps",
            "warmup_ratio", "eval_every", "save_best", "gradient_checkpointing", "ref_model", "logps_chunk",
            "allow_big")  # fmt: skip
    training = {k: getattr(args, k) for k in keys}
    if args.lora:
        training["lora"] = {"r": args.lora_r or LORA_DEFAULTS["r"], "alpha": args.lora_alpha or LORA_DEFAULTS["alpha"],
                            "targets": targets}  # fmt: skip
    return training


def sizes_with(sizes, training: dict | None, n_pairs: int | None = None):
    """``sizes`` with the training flags that set them (learning rate, batch, steps, warm-up); with
    ``n_pairs`` (known after the data stage) also ``--epochs`` and ``--warmup-ratio``."""
    import dataclasses
    import math

    from ..gpt2.schedule import warmup_steps_for

    t = training or {}
    new = {"dpo_learning_rate": t.get("learning_rate"), "dpo_batch_size": t.get("batch_size"),
           "dpo_steps": t.get("max_steps"), "dpo_warmup_steps": t.get("warmup_steps")}  # fmt: skip
    sizes = dataclasses.replace(sizes, **{k: v for k, v in new.items() if v is not None})
    if n_pairs is not None and t.get("epochs") is not None:
        sizes = dataclasses.replace(sizes, dpo_steps=max(1, math.ceil(t["epochs"] * n_pairs / sizes.dpo_batch_size)))
    if t.get("warmup_ratio") is not None:
        sizes = dataclasses.replace(sizes, dpo_warmup_steps=warmup_steps_for(t["warmup_ratio"], sizes.dpo_steps))
    return sizes


def trainer_knobs(training: dict | None, policy, tokenizer, device) -> dict:
    """The DPO stage's ``knobs`` (:func:`dpo_teach.gpt2.stages.dpo_stage`) from the training flags:
    DPOConfig fields, ``lora``, ``allow_big`` and the loaded ``--ref-model``."""
    t = training or {}
    vocab = getattr(policy.config, "vocab_size", 0) or 0
    chunk = t.get("logps_chunk")
    knobs = {"grad_accum": t.get("grad_accum") or 1, "lr_scheduler": t.get("lr_scheduler") or "constant",
             "eval_every": t.get("eval_every") or 0, "save_best": bool(t.get("save_best")),
             "gradient_checkpointing": bool(t.get("gradient_checkpointing")),
             "logps_chunk": (AUTO_CHUNK if vocab >= AUTO_CHUNK_MIN_VOCAB else 0) if chunk is None else chunk,
             "lora": t.get("lora"), "allow_big": bool(t.get("allow_big"))}  # fmt: skip
    if t.get("ref_model"):
        from ..gpt2.hub.hf_checkpoint import load_causal_lm

        ref, ref_tokenizer = load_causal_lm(t["ref_model"], "score")
        if getattr(ref.config, "vocab_size", None) != vocab or len(ref_tokenizer) != len(tokenizer):
            raise ValueError(f"--ref-model {t['ref_model']} has another vocabulary ({len(ref_tokenizer)} tokens, "
                             f"{getattr(ref.config, 'vocab_size', '?')} logits) than the policy ({len(tokenizer)}, "
                             f"{vocab}); use a reference with the policy's tokenizer")  # fmt: skip
        knobs["ref_model"] = ref.to(device).eval()
    return knobs


def knobs_summary(knobs: dict, sizes) -> dict:
    """What metrics.json records of the training settings (plain data)."""
    plain = {k: v for k, v in knobs.items() if k not in ("ref_model", "allow_big")}
    return {**plain, "learning_rate": sizes.dpo_learning_rate, "batch_size": sizes.dpo_batch_size,
            "max_steps": sizes.dpo_steps, "warmup_steps": sizes.dpo_warmup_steps}  # fmt: skip
