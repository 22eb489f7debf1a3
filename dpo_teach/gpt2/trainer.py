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

import contextlib
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..runtime import autocast
from .checkpoint import CHECKPOINT_KEYS, CHECKPOINT_NAME, restore_trainer, save_state_file, trainer_state  # noqa: F401
from .config import REFERENCE_FREE, SEED_STRIDE, DPOConfig
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
from .heldout import HeldOut, keep_best, load_best
from .logprobs import check_pair_lengths, collate_pairs, concatenated_logps, max_positions, score_pairs
from .logprobs import micro_batch  # noqa: I001  (the layout helper of grad_accum)
from .losses import compute_loss_and_metrics  # the loss of a batch; exported here too (notebook 05)
from .models import disable_dropout
from .probe import ProbeSet
from .schedule import lr_factor

__all__ = ["DPOConfig", "DPOTrainer", "compute_loss_and_metrics", "precompute_ref_logps", "METRIC_NAMES"]

METRIC_NAMES = ("loss", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins",
                "logps/chosen", "logps/rejected", "grad_norm")  # fmt: skip
RUNNING_MEAN_STEPS = 20  # the progress bar's loss and margin: mean over the last 20 steps


def precompute_ref_logps(ref_model, pairs, pad_token_id, batch_size=64, bf16=True, chunk=0, ld_alpha=None):
    """The frozen reference's ``(ref_chosen_logps, ref_rejected_logps)`` for every pair, (N,) each."""
    return score_pairs(ref_model, pairs, pad_token_id, batch_size, bf16, chunk, ld_alpha)


class DPOTrainer:
    """Train ``policy`` with DPO (or ``config.loss_type``) against the frozen ``ref_model`` on
    tokenised ``pairs``; ``ref_model`` may be None for the reference-free ``simpo`` and ``orpo``.
    ``ref_logps``: the reference's ``(chosen, rejected)`` log-probs of ``pairs`` from
    :func:`precompute_ref_logps`, to share one pass between several runs (None: computed here).
    ``eval_pairs``: held-out pairs scored every ``config.eval_every`` steps (:mod:`.heldout`)."""

    def __init__(self, policy, ref_model, pairs: Sequence[dict], config: DPOConfig, pad_token_id: int,
                 probe_pairs: Sequence[dict] | None = None, dist_env: DistEnv | None = None,
                 ref_logps=None, eval_pairs: Sequence[dict] | None = None):  # fmt: skip
        if len(pairs) == 0:
            raise ValueError("no preference pairs to train on")
        config.validate()  # beta: the same error as dpo_loss gives (also NaN and inf)
        self.env = dist_env or DistEnv()  # one process unless torchrun started several
        check_batch_divides(config.batch_size // config.grad_accum, self.env)  # each micro-batch
        for what, name, held in (("probe logging", "probe", probe_pairs), ("evaluation", "eval", eval_pairs)):
            if (held is None) != ((every := getattr(config, f"{name}_every")) == 0):
                got = f"{name}_every={every}, {name}_pairs {'None' if held is None else 'set'}"
                raise ValueError(f"{what} needs DPOConfig.{name}_every > 0 and {name}_pairs; got {got}: "
                                 "pass both or neither")  # fmt: skip
        self.config, self.pairs = config, list(pairs)
        self.reference_free = config.loss_type in REFERENCE_FREE
        if ref_model is None and not self.reference_free:
            raise ValueError(f"loss_type={config.loss_type!r} compares with a reference: pass ref_model "
                             f"(only {' and '.join(REFERENCE_FREE)} train without one)")  # fmt: skip
        ref_model = None if self.reference_free else ref_model  # never run, so never touched
        for model in (policy, ref_model) if ref_model is not None else (policy,):  # a longer row has no
            check_pair_lengths(self.pairs, max_positions(model))  # position embedding (IndexError)
        self.policy, self.ref_model = policy, ref_model
        self.device = next(policy.parameters()).device
        # 1. models: dropout off, reference frozen (eval mode, no gradients)
        if config.disable_dropout:
            disable_dropout(policy)
        if ref_model is not None:
            disable_dropout(ref_model)
            ref_model.eval().requires_grad_(False)
        if config.gradient_checkpointing:  # recompute each block in backward (transformers' switch)
            policy.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        trainable = [p for p in policy.parameters() if p.requires_grad]
        if not trainable:
            raise ValueError(
                "the policy has no trainable parameters; was it copied from a frozen reference? "
                "call policy.requires_grad_(True) first"
            )
        # 2. optimizer; a linear warmup, then constant, linear or cosine (.schedule)
        self.optimizer = torch.optim.AdamW(
            trainable,
            lr=config.learning_rate,
            weight_decay=config.weight_decay,
            fused=self.device.type == "cuda",  # one kernel for all parameters on GPU
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lr_factor(config.lr_scheduler, config.warmup_steps, config.max_steps)
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
            if config.ld_alpha is not None:  # plain sums or LD-DPO's? they cannot tell: score them here
                raise ValueError("DPOConfig.ld_alpha weighs the reference's sums too: pass ref_logps=None")
            self.ref_chosen_logps, self.ref_rejected_logps = ref_logps
        elif config.precompute_ref_logps and ref_model is not None:  # each rank its block, then all to all
            n, block = len(self.pairs), shard_range(len(self.pairs), self.env)
            local = precompute_ref_logps(ref_model, self.pairs[block.start : block.stop], pad_token_id,
                                         4 * config.batch_size, config.bf16, config.logps_chunk,
                                         config.ld_alpha)  # fmt: skip
            self.ref_chosen_logps, self.ref_rejected_logps = (gather_shards(x, n, self.env) for x in local)
        self.ddp = wrap_ddp(policy, self.env)  # the policy itself in one process
        # 4. the held-out probe set (scored with the frozen reference once, here)
        self.probe = None
        if probe_pairs is not None:
            check_pair_lengths(probe_pairs, max_positions(policy))
            self.probe = ProbeSet(probe_pairs, ref_model, pad_token_id, config.beta, 4 * config.batch_size,
                                  config.bf16)  # fmt: skip
        # 5. held-out evaluation (reference scored once, here) and the best policy so far
        self.heldout = None if eval_pairs is None else HeldOut(eval_pairs, ref_model, pad_token_id, config,
                                                               4 * config.batch_size)  # fmt: skip
        self.eval_history, self.best, self.best_state = [], None, None
        # 6. progress
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
        before the update. Returns detached 0-d tensors; nothing is copied to the host. With
        ``grad_accum`` k the batch goes through in k equal micro-batches, each loss divided by k:
        the gradient and the metrics (means of equal parts) are the whole batch's."""
        cfg, k = self.config, self.config.grad_accum
        self.policy.train()
        metrics = {}
        for i, part in enumerate([micro_batch(batch, i, k) for i in range(k)] if k > 1 else [batch]):
            skip_sync = self.env.enabled and i < k - 1  # DDP: all-reduce the gradients once, at the last
            with self.ddp.no_sync() if skip_sync else contextlib.nullcontext():
                loss, part = self._loss(part)
                (loss / k if k > 1 else loss).backward()
            metrics = {n: m / k + metrics.get(n, 0) for n, m in part.items()} if k > 1 else part
        max_norm = cfg.max_grad_norm if cfg.max_grad_norm is not None else float("inf")
        metrics["grad_norm"] = torch.nn.utils.clip_grad_norm_(self.policy.parameters(), max_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        # a device tensor: no host sync here (all ranks' tokens under torchrun)
        self.tokens_seen += self.global_tokens if self.env.enabled else batch["attention_mask"].sum()
        self.step += 1
        return metrics

    def _loss(self, batch):
        """``(loss, metrics)`` of one (micro-)batch: the reference's log-probs, then the policy's."""
        cfg = self.config
        if "ref_chosen_logps" in batch:
            ref_chosen, ref_rejected = batch["ref_chosen_logps"], batch["ref_rejected_logps"]
        elif self.reference_free:
            ref_chosen = ref_rejected = None
        else:
            with torch.no_grad(), autocast(self.device, cfg.bf16):
                ref_chosen, ref_rejected = concatenated_logps(self.ref_model, batch, cfg.logps_chunk,
                                                              cfg.ld_alpha)  # fmt: skip
        with autocast(self.device, cfg.bf16):
            return compute_loss_and_metrics(self.ddp, batch, ref_chosen, ref_rejected, cfg.beta,
                                            cfg.fixed_weight, cfg)  # fmt: skip

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
            if self.heldout is not None and (self.step % cfg.eval_every == 0 or self.step == cfg.max_steps):
                self.evaluate()  # after the step's update (TRL's evaluation_strategy="steps")
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

    def evaluate(self) -> dict:
        """Held-out metrics of the policy now (after ``self.step`` steps), appended to
        ``eval_history``; with ``save_best``, the policy is kept when its ``eval_loss`` is the lowest."""
        row = {"step": self.step, **self.heldout.measure(self.policy)}
        self.eval_history.append(row)
        if self.config.save_best and (self.best is None or row["eval_loss"] < self.best["eval_loss"]):
            self.best = {"step": self.step, "eval_loss": row["eval_loss"]}
            self.best_state = keep_best(self.policy, self.best, self.config.output_dir, self.env.is_main)
        return row

    def load_best(self) -> dict | None:
        """Put the best policy (lowest held-out loss) back into ``self.policy``; its step and loss."""
        if self.best is not None:
            load_best(self.policy, self.best_state, self.config.output_dir, self.device)
        return self.best

    @property
    def tokens_per_second(self) -> float:
        """Non-padding tokens (chosen + rejected) through the policy per second of training."""
        return int(self.tokens_seen) / self.train_seconds if self.train_seconds > 0 else float("nan")

    # -- checkpoint / resume ----------------------------------------------------------------
    def save_checkpoint(self) -> Path:
        path = Path(self.config.output_dir) / CHECKPOINT_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.env.is_main:  # atomic: a crash never leaves a half-written checkpoint
            save_state_file(trainer_state(self), path)
        barrier(self.env)  # the other ranks go on once it is written
        return path

    def load_checkpoint(self) -> bool:
        """Resume from ``output_dir/dpo_checkpoint.pt`` if it exists (read safely, checked to fit)."""
        if not self.config.output_dir:
            return False
        path = Path(self.config.output_dir) / CHECKPOINT_NAME
        if not path.exists() or self.step > 0:
            return False
        restore_trainer(self, path)
        return True

