r"""A plain, readable torch DPO training loop for causal LMs (Eq. 7 of arXiv:2305.18290).

.. math:: \mathcal{L}_\mathrm{DPO} = -\log\sigma\Big(\beta\log\frac{\pi_\theta(y_w\mid x)}
    {\pi_\mathrm{ref}(y_w\mid x)} - \beta\log\frac{\pi_\theta(y_l\mid x)}{\pi_\mathrm{ref}(y_l\mid x)}\Big)

:class:`DPOTrainer` takes tokenised pairs (see :mod:`dpo_teach.gpt2.logprobs` for the pair and
batch formats), precomputes the frozen reference's log-probs once, and takes AdamW steps on the
mean loss; chosen and rejected go through the policy in one forward pass. Metrics carry TRL's
names, measured before each update, so step 0 with policy = reference has loss ln 2 and margin 0
(dropout is off in both models for exactly this). A run with ``output_dir`` checkpoints and
resumes. ``DPOConfig.loss_type`` picks another member of the DPO family (:mod:`.losses`); the
reference-free ones (``simpo``, ``orpo``) never run the reference, so ``ref_model`` may be None.
``DPOConfig.probe_every`` with ``probe_pairs`` logs a held-out probe set every N steps (:mod:`.probe`).
Under ``torchrun`` (``dist_env``, :mod:`.distributed`) each rank trains on its slice of every global
batch through DDP, the reference is scored once in shards and gathered, metrics are averaged across
ranks and rank 0 alone writes the checkpoint: the same run as one process with the same batch.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..runtime import autocast
from .checkpoint import CHECKPOINT_NAME, check_state_fits, read_state_file, save_state_file
from .config import LOSS_OPTIONS, REFERENCE_FREE, SEED_STRIDE, DPOConfig
from .distributed import (
    DistEnv,
    all_reduce_mean,
    barrier,
    check_batch_divides,
    gather_shards,
    local_slice,
    shard_range,
    wrap_ddp,
)
from .logprobs import check_pair_lengths, collate_pairs, concatenated_logps, max_positions, score_pairs
from .losses import compute_loss_and_metrics  # the loss of a batch; exported here too (notebook 05)
from .models import disable_dropout
from .probe import ProbeSet

__all__ = ["DPOConfig", "DPOTrainer", "compute_loss_and_metrics", "precompute_ref_logps", "METRIC_NAMES"]

METRIC_NAMES = ("loss", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins",
                "logps/chosen", "logps/rejected", "grad_norm")  # fmt: skip
RUNNING_MEAN_STEPS = 20  # the progress bar's loss and margin: mean over the last 20 steps


def precompute_ref_logps(ref_model, pairs, pad_token_id, batch_size=64, bf16=True):
    """The frozen reference's ``(ref_chosen_logps, ref_rejected_logps)`` for every pair, (N,) each."""
    return score_pairs(ref_model, pairs, pad_token_id, batch_size, bf16)


class DPOTrainer:
    """Train ``policy`` with DPO (or ``config.loss_type``) against the frozen ``ref_model`` on
    tokenised ``pairs``; ``ref_model`` may be None for the reference-free ``simpo`` and ``orpo``.
    ``ref_logps``: the reference's ``(chosen, rejected)`` log-probs of ``pairs`` from
    :func:`precompute_ref_logps`, to share one pass between several runs (None: computed here)."""

    def __init__(self, policy, ref_model, pairs: Sequence[dict], config: DPOConfig, pad_token_id: int,
                 probe_pairs: Sequence[dict] | None = None, dist_env: DistEnv | None = None,
                 ref_logps=None):  # fmt: skip
        if len(pairs) == 0:
            raise ValueError("no preference pairs to train on")
        config.validate()  # beta: the same error as dpo_loss gives (also NaN and inf)
        self.env = dist_env or DistEnv()  # one process unless torchrun started several
        check_batch_divides(config.batch_size, self.env)
        if (probe_pairs is None) != (config.probe_every == 0):
            got = f"probe_every={config.probe_every}, probe_pairs {'None' if probe_pairs is None else 'set'}"
            raise ValueError(f"probe logging needs DPOConfig.probe_every > 0 and probe_pairs; got {got}: "
                             "pass both or neither")  # fmt: skip
        self.config, self.pairs = config, list(pairs)
        self.reference_free = config.loss_type in REFERENCE_FREE
        if ref_model is None and not self.reference_free:
            raise ValueError(f"loss_type={config.loss_type!r} compares with a reference: pass ref_model "
                             f"(only {' and '.join(REFERENCE_FREE)} train without one)")  # fmt: skip
        ref_model = None if self.reference_free else ref_model  # never run, so never touched
        for model in (
            (policy, ref_model) if ref_model is not None else (policy,)
        ):  # a longer row has no position embedding (IndexError)
            check_pair_lengths(self.pairs, max_positions(model))
        self.policy, self.ref_model = policy, ref_model
        self.device = next(policy.parameters()).device
        # 1. models: dropout off, reference frozen (eval mode, no gradients)
        if config.disable_dropout:
            disable_dropout(policy)
        if ref_model is not None:
            disable_dropout(ref_model)
            ref_model.eval().requires_grad_(False)
        trainable = [p for p in policy.parameters() if p.requires_grad]
        if not trainable:
            raise ValueError(
                "the policy has no trainable parameters; was it copied from a frozen reference? "
                "call policy.requires_grad_(True) first"
            )
        # 2. optimizer and a linear warmup
        self.optimizer = torch.optim.AdamW(
            trainable,
            lr=config.learning_rate,
            weight_decay=config.weight_decay,
            fused=self.device.type == "cuda",  # one kernel for all parameters on GPU
        )
        warmup = max(config.warmup_steps, 0)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: min(1.0, (s + 1) / warmup) if warmup else 1.0
        )
        # 3. data: every pair collated once (CPU); rows i and i + N are pair i's chosen and rejected
        self.collated = collate_pairs(self.pairs, pad_token_id)
        self.row_lengths = self.collated["attention_mask"].sum(1)  # (2N,) non-padding tokens
        self.perm_epoch, self.perm = -1, None  # the current epoch's order of the pairs
        self.ref_chosen_logps = self.ref_rejected_logps = None
        if ref_logps is not None:  # precomputed by the caller (one pass shared by several runs)
            if ref_model is None or any(tuple(x.shape) != (len(self.pairs),) for x in ref_logps):
                raise ValueError(f"ref_logps must be (chosen, rejected) reference log-probs of shape "
                                 f"({len(self.pairs)},) each, with a ref_model")  # fmt: skip
            self.ref_chosen_logps, self.ref_rejected_logps = ref_logps
        elif config.precompute_ref_logps and ref_model is not None:  # each rank its block, then all to all
            n, block = len(self.pairs), shard_range(len(self.pairs), self.env)
            local = precompute_ref_logps(ref_model, self.pairs[block.start : block.stop], pad_token_id,
                                         4 * config.batch_size, config.bf16)  # fmt: skip
            self.ref_chosen_logps, self.ref_rejected_logps = (gather_shards(x, n, self.env) for x in local)
        self.ddp = wrap_ddp(policy, self.env)  # the policy itself in one process
        # 4. the held-out probe set (scored with the frozen reference once, here)
        self.probe = None
        if probe_pairs is not None:
            check_pair_lengths(probe_pairs, max_positions(policy))
            self.probe = ProbeSet(probe_pairs, ref_model, pad_token_id, config.beta, 4 * config.batch_size,
                                  config.bf16)  # fmt: skip
        # 5. progress
        self.step, self.history, self.tokens_seen, self.train_seconds = 0, [], 0, 0.0

    # -- data -------------------------------------------------------------------------------
    def batch_at(self, step: int) -> dict[str, torch.Tensor]:
        """The batch of ``step``, a function of (seed, step) only: epoch e visits the pairs in a
        permutation seeded by (seed, e); the batch is cut to its longest row."""
        n, b = len(self.pairs), self.config.batch_size
        idx = []
        for pos in range(step * b, (step + 1) * b):
            idx.append(int(self._permutation(pos // n)[pos % n]))
        if self.env.enabled:  # every rank knows the global batch: its token count needs no collective
            self.global_tokens = self.row_lengths[idx + [i + n for i in idx]].sum()
        index = torch.tensor(local_slice(idx, self.env))  # this rank's share (all of it in one process)
        rows = torch.cat([index, index + n])  # chosen rows, then rejected rows
        width = int(self.row_lengths[rows].max())  # as collate_pairs would pad these pairs
        batch = {k: v[rows, :width].to(self.device, non_blocking=True) for k, v in self.collated.items()}
        if self.ref_chosen_logps is not None:
            index = index.to(self.device)
            batch["ref_chosen_logps"] = self.ref_chosen_logps[index]
            batch["ref_rejected_logps"] = self.ref_rejected_logps[index]
        return batch

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self.perm_epoch:  # keep only the current epoch's order
            gen = torch.Generator().manual_seed(self.config.seed * SEED_STRIDE + epoch)
            self.perm_epoch, self.perm = epoch, torch.randperm(len(self.pairs), generator=gen)
        return self.perm

    # -- one step ---------------------------------------------------------------------------
    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Forward (chosen + rejected at once), backward, clip, AdamW step. Metrics are measured
        before the update. Returns detached 0-d tensors; nothing is copied to the host."""
        cfg = self.config
        if "ref_chosen_logps" in batch:
            ref_chosen, ref_rejected = batch["ref_chosen_logps"], batch["ref_rejected_logps"]
        elif self.reference_free:
            ref_chosen = ref_rejected = None
        else:
            with torch.no_grad(), autocast(self.device, cfg.bf16):
                ref_chosen, ref_rejected = concatenated_logps(self.ref_model, batch)
        self.policy.train()
        with autocast(self.device, cfg.bf16):
            loss, metrics = compute_loss_and_metrics(
                self.ddp, batch, ref_chosen, ref_rejected, cfg.beta, cfg.fixed_weight, cfg
            )
        loss.backward()
        max_norm = cfg.max_grad_norm if cfg.max_grad_norm is not None else float("inf")
        metrics["grad_norm"] = torch.nn.utils.clip_grad_norm_(self.policy.parameters(), max_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        # a device tensor: no host sync here (all ranks' tokens under torchrun)
        self.tokens_seen += self.global_tokens if self.env.enabled else batch["attention_mask"].sum()
        self.step += 1
        return metrics

    # -- the loop ---------------------------------------------------------------------------
    def train(self, until: int | None = None) -> list[dict]:
        """Run up to ``config.max_steps`` (resuming from ``output_dir``); returns the history.
        ``until``: stop after that many steps in all (<= max_steps); a later call continues, and the
        steps are the same as in one call (checkpoints to evaluate along a run)."""
        cfg = self.config
        stop = cfg.max_steps if until is None else until
        if not isinstance(until, (int, type(None))) or not 0 <= stop <= cfg.max_steps:
            raise ValueError(f"until must be an integer in [0, max_steps={cfg.max_steps}], got {until!r}")
        self.load_checkpoint()
        pending: list[tuple[int, float, dict, dict]] = []
        show = cfg.progress and self.env.is_main  # one bar, rank 0's
        bar = tqdm(total=cfg.max_steps, initial=self.step, desc="DPO", disable=not show)
        start = time.perf_counter()
        while self.step < stop:
            step, lr = self.step, self.scheduler.get_last_lr()[0]
            # the probe, measured before the update like every metric (step 0: policy = reference)
            probe = self.probe.measure(self.policy) if self.probe and step % cfg.probe_every == 0 else {}
            pending.append((step, lr, self.train_step(self.batch_at(step)), probe))
            bar.update(1)
            last = self.step == stop
            save = bool(cfg.output_dir and cfg.save_every) and (self.step % cfg.save_every == 0 or last)
            if len(pending) >= cfg.log_every or save or last:  # the one flush point
                self._flush(pending, bar)
            if save:  # the one checkpoint point
                self.train_seconds += time.perf_counter() - start
                start = time.perf_counter()
                self.save_checkpoint()
        bar.close()
        self.train_seconds += time.perf_counter() - start
        return self.history

    def _flush(self, pending, bar) -> None:
        """Copy the pending steps' metrics to the host in one transfer and append them."""
        table = torch.stack([torch.stack([m[k].float() for k in METRIC_NAMES]) for _, _, m, _ in pending])
        table = all_reduce_mean(table, self.env)  # the global batch's means (itself in one process)
        for (step, lr, _, probe), row in zip(pending, table.cpu().tolist()):
            self.history.append({"step": step, **dict(zip(METRIC_NAMES, row)), "learning_rate": lr, **probe})
        pending.clear()
        recent = self.history[-RUNNING_MEAN_STEPS:]  # one batch is noisy: show a running mean
        mean = {k: sum(h[k] for h in recent) / len(recent) for k in ("loss", "rewards/margins")}
        bar.set_postfix_str(f"running mean of {len(recent)} steps: loss {mean['loss']:.4f}, "
                            f"margin {mean['rewards/margins']:.3f}")  # fmt: skip

    @property
    def tokens_per_second(self) -> float:
        """Non-padding tokens (chosen + rejected) through the policy per second of training."""
        return int(self.tokens_seen) / self.train_seconds if self.train_seconds > 0 else float("nan")

    # -- checkpoint / resume ----------------------------------------------------------------
    def save_checkpoint(self) -> Path:
        path = Path(self.config.output_dir) / CHECKPOINT_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "step": self.step,
            "policy": self.policy.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "history": self.history,
            "tokens_seen": int(self.tokens_seen),
            "train_seconds": self.train_seconds,
            "config": dataclasses.asdict(self.config),
        }
        if self.env.is_main:  # atomic: a crash never leaves a half-written checkpoint
            save_state_file(state, path)
        barrier(self.env)  # the other ranks go on once it is written
        return path

    def load_checkpoint(self) -> bool:
        """Resume from ``output_dir/dpo_checkpoint.pt`` if it exists (read safely, checked to fit)."""
        if not self.config.output_dir:
            return False
        path = Path(self.config.output_dir) / CHECKPOINT_NAME
        if not path.exists() or self.step > 0:
            return False
        state = read_state_file(path, CHECKPOINT_KEYS, "DPO checkpoint", self.device)  # weights_only
        fix = f"use a new output dir, or delete {path} to train from step 0"
        defaults = {f.name: f.default for f in dataclasses.fields(DPOConfig)}  # of older checkpoints
        for key in ("beta", "learning_rate", "batch_size", "seed", "loss_type",
                    *LOSS_OPTIONS.get(self.config.loss_type, ())):  # fmt: skip
            saved = state["config"].get(key, defaults[key])
            if saved != getattr(self.config, key):
                raise ValueError(
                    f"{path} was written with {key}={saved!r} but this run has "
                    f"{key}={getattr(self.config, key)!r}; use a new output dir or the same settings"
                )
        check_state_fits(self.policy, state["policy"], path, fix)
        try:  # the optimizer first: if its state does not fit, the policy is still untouched
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
        except (RuntimeError, ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{path}: its optimizer state does not fit this model ({err}); {fix}") from None
        self.policy.load_state_dict(state["policy"])
        self.step, self.history = state["step"], state["history"]
        self.tokens_seen, self.train_seconds = state["tokens_seen"], state["train_seconds"]
        return True


# what save_checkpoint writes (key -> type), checked on resume by checkpoint.read_state_file
CHECKPOINT_KEYS = {"step": int, "policy": dict, "optimizer": dict, "scheduler": dict, "history": list,
                   "tokens_seen": int, "train_seconds": (int, float), "config": dict}  # fmt: skip
