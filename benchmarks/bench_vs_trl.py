r"""Our DPO trainer against TRL's ``DPOTrainer``: same GPT-2, same batch, same loss, and speed.

1. **Equality.** One batch of preference pairs, one policy and one reference (the same weights
   on both sides). Ours: :func:`dpo_teach.gpt2.trainer.compute_loss_and_metrics`. TRL: its own
   ``DPOTrainer.compute_loss`` on the batch its own collator builds (TRL is never re-derived
   here). Reported: the largest absolute difference of the loss (Eq. 7 of arXiv:2305.18290),
   of every TRL-named metric and of the policy gradient.
2. **Speed.** N optimizer steps of :meth:`dpo_teach.gpt2.trainer.DPOTrainer.train` and of TRL's
   ``DPOTrainer.train()`` on identical settings (model, pairs per step, sequence length, AdamW,
   learning rate, clipping, precision, device, threads, reference log-probs precomputed or
   not), in the same process, alternating ours/TRL ``--repeats`` times. Every step after the
   untimed warm-up is timed; tokens/s = tokens per step / median step time (the mean too).
   On CUDA: bf16 autocast and fused AdamW on both sides, and an MFU estimate.

Every sequence has exactly ``1 + prompt_len + completion_len`` tokens (random single-token
words of the review tokenizer), so no batch holds padding and both sides push exactly
``2 * batch_size * seq_len`` tokens through the policy per step, whatever order they draw.

    pip install -e ".[bench]"
    python benchmarks/bench_vs_trl.py --device cpu --json
"""

from __future__ import annotations

import argparse
import atexit
import copy
import dataclasses
import functools
import json
import os
import platform
import random
import shutil
import statistics
import tempfile
import time
import warnings

import torch

from dpo_teach.gpt2 import data, logprobs, models, reviews, tokenizer
from dpo_teach.gpt2 import trainer as ours
from dpo_teach.runtime import cpu_threads

H100_BF16_PEAK_FLOPS = 989e12  # dense bf16, H100 SXM: the denominator of the MFU estimate
# dpo_teach.gpt2.trainer builds torch AdamW fused on CUDA and with the default kernel on CPU: give
# TRL the same kernel (its own default is the fused one everywhere)
TRL_OPTIM = {"cuda": "adamw_torch_fused", "cpu": "adamw_torch"}

# model preset + workload; every value can be overridden by a flag. tiny: the fine-tune's DPO
# batch (16 pairs of reviews, ~7 + ~6 tokens, padded to ~20); small: a GPU-sized batch
PRESETS = {
    "tiny": dict(model="tiny", batch_size=16, prompt_len=7, completion_len=12, steps=60, warmup=5),
    "small": dict(model="small", batch_size=16, prompt_len=63, completion_len=192, steps=20, warmup=3),
}


@dataclasses.dataclass
class Settings:
    device: str  # "cpu" or "cuda"
    preset: str  # model preset of dpo_teach.gpt2.models ("tiny" or "small")
    batch_size: int  # preference pairs per step (2x sequences per forward pass)
    prompt_len: int  # prompt tokens after BOS
    completion_len: int  # completion tokens, EOS included
    steps: int  # timed optimizer steps per repeat
    warmup: int  # untimed steps before them
    repeats: int  # ours/TRL alternations; the median is reported
    beta: float  # DPO beta
    learning_rate: float  # constant, AdamW
    max_grad_norm: float  # global-norm clipping, both sides
    ref_logps: str  # "precompute" (once, untimed) or "per-step" (reference forward every step)
    bf16: bool  # bf16 autocast (CUDA only; CPU runs fp32)
    threads: int | None  # torch intra-op threads (None: as dpo_teach.runtime.cpu_threads picks)
    seed: int
    # benchmarks/scaling.py: the preset's shape with more positions or GPT-2's vocabulary (the
    # tokenizer's ~400 ids are the first rows; the rest are never a label but cost the LM head)
    n_positions: int | None = None
    vocab_size: int | None = None
    logps_chunk: int = 0  # ours: the LM head over N scored tokens at a time (0: the full logits)

    @property
    def seq_len(self) -> int:
        return 1 + self.prompt_len + self.completion_len

    @property
    def tokens_per_step(self) -> int:
        return 2 * self.batch_size * self.seq_len  # chosen + rejected rows, no padding


# -- the shared world: tokenizer, weights, pairs ------------------------------------------------
@dataclasses.dataclass
class World:
    tokenizer: object  # GPT2TokenizerFast trained on the review corpus
    ref_model: torch.nn.Module  # pi_ref (CPU template; never trained)
    policy_model: torch.nn.Module  # pi_theta at step 0 (CPU template; never trained)
    pairs: list[dict]  # ours: {"prompt_ids", "chosen_ids", "rejected_ids"}
    trl_rows: list[dict]  # TRL: {"prompt", "chosen", "rejected"} text of the same pairs

    def fresh_models(self, device: str):
        """New (policy, reference) copies on ``device``: every run starts from equal weights."""
        return copy.deepcopy(self.policy_model).to(device), copy.deepcopy(self.ref_model).to(device)


def build_world(s: Settings) -> World:
    """Tokenizer, reference, policy (reference + small noise) and the pairs, from ``s.seed``."""
    tok = tokenizer.train_tokenizer(reviews.corpus(2000, seed=s.seed))
    ref = models.build_model(s.preset, tok, seed=s.seed)
    if s.n_positions or s.vocab_size:  # the same preset, resized; fresh weights from the same seed
        config = copy.deepcopy(ref.config)
        config.n_positions = s.n_positions or config.n_positions
        config.vocab_size = max(s.vocab_size or 0, config.vocab_size)
        torch.manual_seed(s.seed)
        ref = type(ref)(config)
        ref.loss_type = "ForCausalLM"  # as models.build_model sets it
    if s.seq_len > ref.config.n_positions:
        raise ValueError(f"seq_len {s.seq_len} > the preset's n_positions {ref.config.n_positions}")
    policy = copy.deepcopy(ref)  # a policy a few "steps" away from the reference, so that
    gen = torch.Generator().manual_seed(s.seed + 1)  # rewards and margins are not all zero
    with torch.no_grad():
        for p in policy.parameters():
            p.add_(0.05 * p.std().nan_to_num(0.02) * torch.randn(p.shape, generator=gen))
    # words that are exactly one token with their leading space, e.g. " plot" -> [id]
    words = sorted(
        w[1:] for w, i in tok.get_vocab().items() if w.startswith("Ġ") and w[1:].isalpha()
        and tok.encode(" " + w[1:]) == [i]
    )
    rng = random.Random(s.seed)

    def text(n):  # n single-token words, each with its leading space
        return "".join(" " + rng.choice(words) for _ in range(n))

    rows = [
        {"prompt": text(s.prompt_len), "chosen": text(s.completion_len - 1),
         "rejected": text(s.completion_len - 1)}
        for _ in range(s.batch_size * (s.warmup + s.steps))
    ]
    pairs = data.tokenize_pairs(rows, tok)  # ours: BOS + prompt, completion + EOS
    for p in pairs:
        assert len(p["prompt_ids"]) + len(p["chosen_ids"]) == s.seq_len == (
            len(p["prompt_ids"]) + len(p["rejected_ids"])), "a word split into two tokens"
    # TRL gets the same text; BOS written as text encodes to the same special token id
    trl_rows = [{**r, "prompt": tok.bos_token + r["prompt"]} for r in rows]
    return World(tok, ref, policy, pairs, trl_rows)


@functools.cache
def _scratch_dir() -> str:
    path = tempfile.mkdtemp(prefix="bench_vs_trl_")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


# -- TRL side -----------------------------------------------------------------------------------
def trl_trainer(world: World, s: Settings, max_steps: int, precompute: bool, callbacks=(), **config):
    """TRL's DPOTrainer on our weights, pairs and settings, with logging/saving/reporting off.

    ``config``: further ``DPOConfig`` fields, e.g. ``loss_type=["ipo"]`` (default ``["sigmoid"]``)
    or ``label_smoothing`` (benchmarks/trl_parity.py builds one trainer per loss type this way).
    """
    from datasets import Dataset
    from transformers import PrinterCallback
    from trl import DPOConfig, DPOTrainer

    policy, ref = world.fresh_models(s.device)
    config = {"loss_type": ["sigmoid"], **config}
    args = DPOConfig(
        output_dir=_scratch_dir(),  # required by TRL; nothing is saved there
        per_device_train_batch_size=s.batch_size,
        max_steps=max_steps,
        learning_rate=s.learning_rate,
        lr_scheduler_type="constant",
        warmup_steps=0,
        weight_decay=0.0,
        max_grad_norm=s.max_grad_norm,
        optim=TRL_OPTIM[s.device],  # the AdamW kernel ours uses (checked in time_ours)
        beta=s.beta,
        precompute_ref_log_probs=precompute,
        max_length=None,
        bf16=s.bf16 and s.device == "cuda",
        use_cpu=s.device == "cpu",
        gradient_checkpointing=False,  # TRL's default is True; ours has none
        disable_dropout=True,
        report_to="none",
        logging_strategy="no",
        save_strategy="no",
        disable_tqdm=True,
        dataloader_num_workers=0,
        seed=s.seed,
        **config,
    )
    dataset = Dataset.from_list(world.trl_rows)
    trainer = DPOTrainer(model=policy, ref_model=ref, args=args, train_dataset=dataset,
                         processing_class=world.tokenizer, callbacks=list(callbacks))
    trainer.remove_callback(PrinterCallback)  # only prints the final summary; keeps output clean
    return trainer


# -- 1. equality --------------------------------------------------------------------------------
def check_equality(world: World, s: Settings) -> dict:
    """Loss, TRL-named metrics and gradient of one batch: ours vs TRL's compute_loss."""
    tok, pairs = world.tokenizer, world.pairs
    s = dataclasses.replace(s, bf16=False)  # fp32 on both sides: this checks maths, not bf16
    trl = trl_trainer(world, s, max_steps=1, precompute=False)
    trl_batch = trl.data_collator([trl.train_dataset[i] for i in range(s.batch_size)])
    trl_batch = {k: v.to(s.device) for k, v in trl_batch.items()}
    batch = logprobs.collate_pairs(pairs[: s.batch_size], tok.pad_token_id, s.device)
    trl_labels = trl_batch["input_ids"].masked_fill(trl_batch["completion_mask"] == 0, -100)
    if not (torch.equal(batch["input_ids"], trl_batch["input_ids"])
            and torch.equal(batch["labels"], trl_labels)):
        raise RuntimeError("TRL tokenised the pairs differently from dpo_teach; not the same batch")

    trl.model.train()  # TRL's "train" mode (its dropout is off), as in a training step
    trl._metrics["train"].clear()
    with trl.compute_loss_context_manager():
        trl_loss = trl.compute_loss(trl.model, trl_batch)
    trl_loss.backward()
    # TRL keeps a step's metrics in `_metrics` until its log() averages them; read them there
    trl_metrics = {k: v[-1] for k, v in trl._metrics["train"].items()}
    trl_metrics["loss"] = trl_loss.item()

    policy, ref = world.fresh_models(s.device)
    models.disable_dropout(policy)
    models.disable_dropout(ref)
    ref.eval()
    policy.train()
    with torch.no_grad():
        ref_chosen, ref_rejected = logprobs.concatenated_logps(ref, batch)
    loss, metrics = ours.compute_loss_and_metrics(policy, batch, ref_chosen, ref_rejected, s.beta)
    loss.backward()
    diffs = {k: abs(float(v) - trl_metrics[k]) for k, v in metrics.items()}
    trl_grads = dict(trl.model.named_parameters())
    grad_diff = max(
        (p.grad - trl_grads[n].grad).abs().max().item() for n, p in policy.named_parameters()
    )
    return {
        "max_abs_loss_diff": diffs["loss"],
        "max_abs_metric_diff": max(diffs.values()),
        "max_abs_grad_diff": grad_diff,
        "metric_diffs": diffs,
        "ours_metrics": {k: float(v) for k, v in metrics.items()},
        "trl_metrics": {k: trl_metrics[k] for k in metrics},
    }


# -- 2. speed -----------------------------------------------------------------------------------
class StepClock:
    """Marks step boundaries: perf_counter on CPU, CUDA events on GPU (no sync until read)."""

    def __init__(self, device: str):
        self.cuda, self.marks = device == "cuda", []

    def mark(self) -> None:
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            self.marks.append(event)
        else:
            self.marks.append(time.perf_counter())

    def seconds(self) -> list[float]:
        """Durations between consecutive marks."""
        if self.cuda:
            torch.cuda.synchronize()
            return [a.elapsed_time(b) / 1e3 for a, b in zip(self.marks, self.marks[1:])]
        return [b - a for a, b in zip(self.marks, self.marks[1:])]


def time_ours(world: World, s: Settings) -> list[float]:
    """Seconds of each timed step of our ``DPOTrainer.train()`` (the warm-up steps excluded).

    A mark at the start of every ``train_step`` call and one after ``train()`` returns: each
    interval is one whole step of the loop (batch, step, and its share of metric flushes).
    """
    tok, pairs = world.tokenizer, world.pairs
    policy, ref = world.fresh_models(s.device)
    cfg = ours.DPOConfig(
        beta=s.beta, learning_rate=s.learning_rate, batch_size=s.batch_size,
        max_steps=s.warmup + s.steps, warmup_steps=0, weight_decay=0.0,
        max_grad_norm=s.max_grad_norm, precompute_ref_logps=s.ref_logps == "precompute",
        bf16=s.bf16, progress=False, seed=s.seed, logps_chunk=s.logps_chunk,
    )
    trainer = ours.DPOTrainer(policy, ref, pairs, cfg, tok.pad_token_id)
    fused = bool(trainer.optimizer.defaults.get("fused"))
    assert fused == (TRL_OPTIM[s.device] == "adamw_torch_fused"), "update TRL_OPTIM to match"
    clock, train_step = StepClock(s.device), trainer.train_step

    def timed_train_step(batch):
        if trainer.step >= s.warmup:
            clock.mark()
        return train_step(batch)

    trainer.train_step = timed_train_step  # the loop itself is untouched
    trainer.train()  # ends with a host copy of the last metrics (a sync)
    clock.mark()
    assert trainer.tokens_seen == (s.warmup + s.steps) * s.tokens_per_step  # no padding
    return clock.seconds()


def time_trl(world: World, s: Settings) -> list[float]:
    """Seconds of each timed step of TRL's ``DPOTrainer.train()``: from the end of one
    optimizer step to the end of the next, after the warm-up steps."""
    from transformers import TrainerCallback

    clock = StepClock(s.device)

    class Marks(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step >= s.warmup:
                clock.mark()

    trl = trl_trainer(world, s, s.warmup + s.steps, s.ref_logps == "precompute", [Marks()])
    trl.train()
    assert trl.state.global_step == s.warmup + s.steps
    return clock.seconds()


def mfu(tokens_per_s: float, n_params: int, s: Settings) -> float | None:
    """(6 N tokens for the policy + 2 N tokens for a per-step reference) / time / H100 peak."""
    if s.device != "cuda":
        return None  # no meaningful peak for a shared CPU
    flops_per_token = 6 * n_params + (2 * n_params if s.ref_logps == "per-step" else 0)
    return tokens_per_s * flops_per_token / H100_BF16_PEAK_FLOPS


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


# -- main ---------------------------------------------------------------------------------------
def parse_args(argv=None) -> Settings:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    ap.add_argument("--batch-size", type=int, help="preference pairs per step")
    ap.add_argument("--prompt-len", type=int, help="prompt tokens (BOS not counted)")
    ap.add_argument("--completion-len", type=int, help="completion tokens (EOS counted)")
    ap.add_argument("--steps", type=int, help="timed steps per repeat")
    ap.add_argument("--warmup", type=int, help="untimed steps first (>= 1)")
    ap.add_argument("--repeats", type=int, default=3, help="ours/TRL alternations")
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--lr", type=float, default=1.5e-5)
    ap.add_argument("--max-grad-norm", type=float, default=1.0)
    ap.add_argument("--ref-logps", choices=["precompute", "per-step"], default="precompute",
                    help="the same on both sides: reference log-probs once before training "
                    "(our trainer's default; untimed) or a reference forward inside every step")
    ap.add_argument("--no-bf16", action="store_true", help="fp32 on CUDA too")
    ap.add_argument("--threads", type=int, help="torch threads (default: what "
                    "`python -m dpo_teach.finetune` uses: 1 for the tiny preset on CPU)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print one JSON line at the end")
    a = ap.parse_args(argv)
    p = PRESETS[a.preset]
    pick = lambda v, k: p[k] if v is None else v  # noqa: E731
    s = Settings(
        device=a.device, preset=p["model"], batch_size=pick(a.batch_size, "batch_size"),
        prompt_len=pick(a.prompt_len, "prompt_len"),
        completion_len=pick(a.completion_len, "completion_len"), steps=pick(a.steps, "steps"),
        warmup=pick(a.warmup, "warmup"), repeats=a.repeats, beta=a.beta, learning_rate=a.lr,
        max_grad_norm=a.max_grad_norm, ref_logps=a.ref_logps, bf16=not a.no_bf16,
        threads=a.threads, seed=a.seed,
    )
    if s.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda but torch.cuda.is_available() is False")
    if min(s.batch_size, s.prompt_len, s.completion_len, s.steps, s.warmup, s.repeats) < 1:
        ap.error("sizes, --steps, --warmup and --repeats must be >= 1")
    return s, a.json


def main(argv=None) -> dict:
    s, as_json = parse_args(argv)
    try:
        import trl
    except ImportError:
        raise SystemExit('TRL is the peer of this benchmark: pip install -e ".[bench]"') from None
    import datasets
    import transformers

    verbosity, threads, tqdm_env = (transformers.logging.get_verbosity(),
                                    torch.get_num_threads(), os.environ.get("TQDM_DISABLE"))
    transformers.logging.set_verbosity_error()  # TRL's and transformers' advice, not results
    datasets.disable_progress_bars()
    os.environ["TQDM_DISABLE"] = "1"  # TRL's reference-precompute bar
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return _run(s, as_json, trl.__version__, transformers.__version__)
    finally:  # leave the process as it was (the smoke test calls main in-process)
        transformers.logging.set_verbosity(verbosity)
        datasets.enable_progress_bars()
        torch.set_num_threads(threads)
        if tqdm_env is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = tqdm_env


def _run(s: Settings, as_json: bool, trl_version: str, transformers_version: str) -> dict:
    world = build_world(s)
    n_params = models.count_parameters(world.ref_model)
    if s.threads is None:  # the thread policy of python -m dpo_teach.finetune, for both sides
        s.threads = cpu_threads(n_params, s.device) or torch.get_num_threads()
    torch.set_num_threads(s.threads)
    print(f"preset {s.preset} ({n_params:,} parameters), {s.batch_size} pairs x {s.seq_len} "
          f"tokens, {s.device}, {s.threads} threads, reference log-probs {s.ref_logps}")

    eq = check_equality(world, s)
    print(f"equality: max |loss diff| {eq['max_abs_loss_diff']:.2e}, max |metric diff| "
          f"{eq['max_abs_metric_diff']:.2e}, max |grad diff| {eq['max_abs_grad_diff']:.2e}")

    ours_steps, trl_steps, ratios = [], [], []
    for r in range(s.repeats):  # alternate the order so drifting load hits both sides alike
        for side in (("ours", "trl") if r % 2 == 0 else ("trl", "ours")):
            if side == "ours":
                ours_steps.append(time_ours(world, s))
            else:
                trl_steps.append(time_trl(world, s))
        o_r, t_r = (s.tokens_per_step / statistics.median(x[-1]) for x in (ours_steps, trl_steps))
        ratios.append(o_r / t_r)
        print(f"repeat {r}: ours {o_r:,.0f} tok/s, TRL {t_r:,.0f} tok/s, ratio {o_r / t_r:.2f}")
    # tokens per step / median step time over every timed step of every repeat: robust to the
    # bursts of a shared machine; the plain mean (total tokens / total time) is reported too
    pooled = [sum(x, []) for x in (ours_steps, trl_steps)]
    o, t = (s.tokens_per_step / statistics.median(x) for x in pooled)
    o_mean, t_mean = (s.tokens_per_step * len(x) / sum(x) for x in pooled)
    result = {
        "speedup_vs_trl": round(o / t, 3),
        "max_abs_loss_diff": eq["max_abs_loss_diff"],
        "max_abs_metric_diff": eq["max_abs_metric_diff"],
        "max_abs_grad_diff": eq["max_abs_grad_diff"],
        "ours_tokens_per_s": round(o, 1),
        "trl_tokens_per_s": round(t, 1),
        "speedup_vs_trl_mean": round(o_mean / t_mean, 3),
        "ours_tokens_per_s_mean": round(o_mean, 1),
        "trl_tokens_per_s_mean": round(t_mean, 1),
        "ratio_per_repeat": [round(x, 3) for x in ratios],
        "ours_mfu": mfu(o, n_params, s),
        "trl_mfu": mfu(t, n_params, s),
        "device": s.device,
        "device_name": torch.cuda.get_device_name() if s.device == "cuda" else _cpu_name(),
        "cpu_count": os.cpu_count(),
        "n_params": n_params,
        "seq_len": s.seq_len,
        "tokens_per_step": s.tokens_per_step,
        **dataclasses.asdict(s),
        "precision": "bf16 autocast" if s.device == "cuda" and s.bf16 else "fp32",
        "optimizer": f"AdamW, kernel {TRL_OPTIM[s.device]!r} on both sides",
        "versions": {"torch": torch.__version__, "transformers": transformers_version,
                     "trl": trl_version},
    }
    print(f"ours {o:,.0f} tok/s vs TRL {t:,.0f} tok/s (median step, {s.repeats} x {s.steps} "
          f"steps each): speedup {o / t:.2f}x (mean-based {o_mean / t_mean:.2f}x)")
    if as_json:
        print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
