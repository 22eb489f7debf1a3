"""``DPOConfig``: the DPO trainer's hyper-parameters, each default commented, every value checked.

Checked when built and again when training starts: a bad value is a ``ValueError`` naming the
field and the fix, not an obscure error many steps later.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os

from .. import _checks, numpy_variants
from .recipe import default_loss

__all__ = ["DPOConfig", "SEED_STRIDE", "LOSS_TYPES", "LR_SCHEDULERS", "LOSS_OPTIONS", "REFERENCE_FREE", "add_loss_arguments",
           "loss_from_args", "loss_settings"]  # fmt: skip

SEED_STRIDE = 1_000_003  # epoch e of seed s draws its order from torch.Generator seed s * SEED_STRIDE + e
LOSS_TYPES = tuple(numpy_variants.LOSSES)  # the DPO family (docs/family.md); the torch twin has the same keys
LR_SCHEDULERS = ("constant", "linear", "cosine")  # the learning rate after the warmup (.schedule)
REFERENCE_FREE = ("simpo", "orpo")  # members that never look at pi_ref (no precompute, ref_model may be None)
# loss_type -> the DPOConfig fields it reads (besides beta; orpo does not read beta)
LOSS_OPTIONS = {"cdpo": ("label_smoothing",), "robust": ("label_smoothing",), "dpop": ("dpop_lambda",),
                "rpo": ("rpo_alpha",), "simpo": ("simpo_gamma",), "orpo": ("orpo_lambda",)}  # fmt: skip


@dataclasses.dataclass
class DPOConfig:
    beta: float = 0.1  # KL strength; larger keeps pi_theta closer to pi_ref (paper: 0.1-0.5)
    learning_rate: float = 1.5e-5  # constant after warmup (the CLI's 130k-param tiny model: 5e-4)
    batch_size: int = 16  # preference pairs per step (2x sequences per forward pass)
    max_steps: int = 200  # optimizer steps in total (a resumed run continues up to this)
    warmup_steps: int = 0  # linear learning-rate warmup from 0
    weight_decay: float = 0.0  # AdamW decoupled weight decay
    max_grad_norm: float | None = 1.0  # clip the global gradient norm; None = no clipping
    precompute_ref_logps: bool = True  # run the frozen reference once over the data, not per step
    disable_dropout: bool = True  # dropout off in the policy too, so step 0 has loss = ln 2
    bf16: bool = True  # bf16 autocast on CUDA (ignored on CPU, which runs fp32)
    log_every: int = 10  # metrics go to the host every N steps (one sync); each step is logged
    save_every: int = 100  # checkpoint every N steps (and at the end) when output_dir is set
    output_dir: str | None = None  # where dpo_checkpoint.pt lives; a re-run resumes from it
    seed: int = 0  # data order: a fresh permutation of the pairs every epoch
    progress: bool = True  # tqdm progress bar
    # None: DPO, whose gradient weights each pair by w = sigma(r_hat_l - r_hat_w) (Sec. 4). A number c:
    # the loss -c * margin per pair, whose gradient is DPO's with w fixed at c (the unweighted ablation)
    fixed_weight: float | None = None
    # the loss: a name of torch_variants.LOSSES. "sigmoid" is DPO (Eq. 7). "ipo" uses the paper's
    # summed log-ratios (Eq. 17 of arXiv:2310.12036, its reference code), not TRL's per-token form
    loss_type: str = "sigmoid"
    label_smoothing: float = 0.0  # cdpo / robust: label-flip rate e in [0, 0.5] (robust: < 0.5); TRL's 0
    rpo_alpha: float = 1.0  # rpo: weight of the chosen NLL term (arXiv:2404.19733 and TRL use 1.0)
    dpop_lambda: float = 50.0  # dpop: penalty weight (the Smaug paper, arXiv:2402.13228, uses 50)
    simpo_gamma: float = 0.5  # simpo: target margin gamma (TRL CPOConfig's 0.5; the paper tunes 0.3-1.6)
    orpo_lambda: float = 0.1  # orpo: odds-ratio weight lambda (arXiv:2403.07691 and TRL use 0.1)
    # every N steps, score the trainer's held-out probe pairs (no grad, eval mode) and log the mean
    # summed log-probs probe/chosen_logps and probe/rejected_logps; 0 = off (pass probe_pairs too)
    probe_every: int = 0
    # issue 28, the knobs of a real run (defaults: the behaviour before them)
    grad_accum: int = 1  # micro-batches per optimizer step, batch_size pairs in all: same loss and metrics
    lr_scheduler: str = "constant"  # after the warmup: constant, linear or cosine (both to 0 at max_steps)
    eval_every: int = 0  # every N steps (and at the end) held-out loss and accuracy on eval_pairs; 0 = off
    save_best: bool = False  # keep the policy of the lowest held-out loss (needs eval_every > 0)
    gradient_checkpointing: bool = False  # recompute activations in backward: less memory, more time
    logps_chunk: int = 0  # LM head over N scored tokens at a time (.chunked_logps); 0 = the full logits
    # issue 26, the two length methods (trainer options, not family members; docs/family.md)
    # R-DPO (arXiv:2403.19159, Eq. 9): sigmoid's margin plus alpha * (|y_w| - |y_l|) completion tokens;
    # 0 = DPO. Only with loss_type "sigmoid" and no fixed_weight (torch_variants.rdpo_loss)
    rdpo_alpha: float = 0.0
    # LD-DPO (arXiv:2409.06411; TRL's DPOConfig.ld_alpha): each summed log-prob, policy's and reference's,
    # counts a pair's first L = min(|y_w|, |y_l|) completion tokens fully, the rest times ld_alpha in
    # [0, 1]; None = off (plain sums, no extra work), 1 = DPO's sums, 0 = the first L tokens only
    ld_alpha: float | None = None

    _POSITIVE = ("learning_rate", "batch_size", "max_steps", "log_every", "max_grad_norm", "grad_accum")

    def __post_init__(self):
        self.validate()

    @classmethod
    def from_sizes(cls, sizes, seed: int, **overrides) -> DPOConfig:
        """A preset's DPO stage (:class:`~dpo_teach.gpt2.recipe.Sizes`: learning rate, batch size,
        steps, warmup) on ``seed``, without a progress bar; ``overrides`` set the rest (``beta``, the
        loss) or replace a size."""
        stage = dict(learning_rate=sizes.dpo_learning_rate, batch_size=sizes.dpo_batch_size,
                     max_steps=sizes.dpo_steps, warmup_steps=sizes.dpo_warmup_steps, seed=seed, progress=False)  # fmt: skip
        return cls(**(stage | overrides))

    def validate(self) -> None:
        """Check every field's type and range (ValueError naming it and the fix); also on training."""
        self.beta = _checks.check_beta(self.beta)  # the same error as dpo_loss gives
        for field in dataclasses.fields(self):  # field.type: "int", "float | None", ... (a string)
            name, value, kind = field.name, getattr(self, field.name), field.type.split(" |")[0]
            if name not in ("beta", "loss_type", "lr_scheduler") and not (value is None and "None" in field.type):
                setattr(self, name, _check_field(name, value, kind, name in self._POSITIVE, field.default))
        self._check_loss()
        self._check_schedule()
        max_seed = (2**64 - self.max_steps * self.batch_size) // SEED_STRIDE  # epoch e < max_steps * batch
        if self.seed > max_seed:
            raise ValueError(f"DPOConfig.seed must be <= {max_seed} (epoch e is seeded with seed * "
                             f"{SEED_STRIDE} + e < 2**64), got {self.seed}; pick a smaller seed")  # fmt: skip

    def _check_schedule(self) -> None:
        """The scheduler is known; micro-batches divide the batch; the best policy needs evaluations."""
        if self.lr_scheduler not in LR_SCHEDULERS:
            raise ValueError(f"DPOConfig.lr_scheduler must be one of {', '.join(LR_SCHEDULERS)}, got "
                             f"{self.lr_scheduler!r}; pass e.g. lr_scheduler='cosine'")  # fmt: skip
        if self.batch_size % self.grad_accum:
            raise ValueError(f"DPOConfig.batch_size {self.batch_size} does not divide into grad_accum="
                             f"{self.grad_accum} equal micro-batches; pick a batch size that is a multiple "
                             "of grad_accum")  # fmt: skip
        if self.save_best and not self.eval_every:
            raise ValueError("DPOConfig.save_best keeps the policy of the lowest held-out loss: it needs "
                             "eval_every > 0 (and eval_pairs)")  # fmt: skip

    def _check_loss(self) -> None:
        """``loss_type`` is a family member; its options are in range; fixed_weight only with DPO."""
        if not isinstance(self.loss_type, str) or self.loss_type not in LOSS_TYPES:
            raise ValueError(f"DPOConfig.loss_type must be one of {', '.join(LOSS_TYPES)}, got "
                             f"{self.loss_type!r}; pass e.g. loss_type='sigmoid' (DPO)")  # fmt: skip
        robust = self.loss_type == "robust"
        if self.label_smoothing > 0.5 or (robust and self.label_smoothing == 0.5):
            raise ValueError(f"DPOConfig.label_smoothing must be <= 0.5 (< 0.5 for robust: it divides "
                             f"by 1 - 2e), got {self.label_smoothing!r}; pass e.g. 0.1")  # fmt: skip
        if self.fixed_weight is not None and self.loss_type != "sigmoid":
            raise ValueError(f"DPOConfig.fixed_weight replaces DPO's weight: it needs loss_type="
                             f"'sigmoid', got {self.loss_type!r}; pass fixed_weight=None")  # fmt: skip
        if self.rdpo_alpha and (self.loss_type != "sigmoid" or self.fixed_weight is not None):
            got = f"loss_type={self.loss_type!r}" if self.loss_type != "sigmoid" else "fixed_weight set"
            raise ValueError(f"DPOConfig.rdpo_alpha (R-DPO's length term) is added to DPO's margin: it needs "
                             f"loss_type='sigmoid' and fixed_weight=None, got {got}; pass rdpo_alpha=0.0 "
                             "or loss_type='sigmoid'")  # fmt: skip
        if self.ld_alpha is not None and self.ld_alpha > 1:
            raise ValueError(f"DPOConfig.ld_alpha (LD-DPO's weight of the tokens past the shorter "
                             f"completion) must be in [0, 1] or None, got {self.ld_alpha!r}; pass e.g. "
                             "ld_alpha=0.5, or None for plain sums")  # fmt: skip


def _check_field(name: str, value, kind: str, positive: bool, default):
    """``value`` as a plain bool / int / float (finite; > 0 if ``positive``, else >= 0) / str path."""
    if kind == "bool":
        ok, want = isinstance(value, bool), "True or False"
    elif kind == "str":  # a str, not a Path: the checkpoint stores the config as plain data
        value = os.fspath(value) if isinstance(value, (str, os.PathLike)) else value
        ok, want = isinstance(value, str) and value != "", "None or a directory path"
    else:
        number = isinstance(value, numbers.Integral if kind == "int" else numbers.Real)
        number = number and not isinstance(value, bool) and (kind == "int" or math.isfinite(value))
        ok = number and (value > 0 or (not positive and value == 0))
        want = f"{'an integer' if kind == 'int' else 'a finite number'} {'> 0' if positive else '>= 0'}"
    if not ok:
        raise ValueError(f"DPOConfig.{name} must be {want}, got {type(value).__name__} {value!r}; "
                         f"pass e.g. {name}={default!r} (the default)")  # fmt: skip
    return {"bool": bool, "int": int, "float": float, "str": str}[kind](value)


# the CLI's loss options (python -m dpo_teach.finetune): DPOConfig field -> what it is
LOSS_FLAGS = {"label_smoothing": "label-flip rate in [0, 0.5] (cdpo; robust: < 0.5)",
              "rpo_alpha": "weight of rpo's chosen NLL term", "dpop_lambda": "dpop's penalty weight",
              "simpo_gamma": "simpo's target margin", "orpo_lambda": "orpo's odds-ratio weight"}  # fmt: skip


def add_loss_arguments(parser, number_type) -> None:
    """``--loss NAME`` and one flag per option (``--label-smoothing`` ...); ``number_type`` parses
    a finite number >= 0 (an argparse ``type``)."""
    parser.add_argument("--loss", choices=LOSS_TYPES, default=None, metavar="NAME",
                        help=f"the DPO family member: {', '.join(LOSS_TYPES)} (ipo: the paper's summed "
                             "form; simpo, orpo: no reference); default: rpo (DPO plus the chosen NLL) "
                             "for the tiny preset's own model, its measured recipe; sigmoid (plain DPO) "
                             "with --model or another preset")  # fmt: skip
    for field, what in LOSS_FLAGS.items():
        parser.add_argument(f"--{field.replace('_', '-')}", default=None, metavar="X", type=number_type,
                            help=f"{what} (default {getattr(DPOConfig, field)})")  # fmt: skip


def loss_from_args(parser, args) -> dict:
    """The loss settings of ``args`` as DPOConfig fields, checked now: a flag the chosen loss does
    not read, or a value out of range, is one ``error:`` line (``parser.error``) before anything runs."""
    if args.loss is None:  # not named: the preset's recipe (dpo_teach.gpt2.recipe.default_loss)
        args.loss = default_loss(getattr(args, "preset", None), getattr(args, "model", None))
    loss = {"loss_type": args.loss}
    for field in LOSS_FLAGS:
        value = getattr(args, field)
        if value is not None and field not in LOSS_OPTIONS.get(args.loss, ()):
            users = [name for name, fields in LOSS_OPTIONS.items() if field in fields]
            parser.error(f"--{field.replace('_', '-')} is read only by --loss {' / '.join(users)}, "
                         f"not by --loss {args.loss}")  # fmt: skip
        if value is not None:
            loss[field] = value
    try:
        DPOConfig(beta=args.beta, **loss)
    except ValueError as err:
        parser.error(str(err))
    return loss


def loss_settings(config: DPOConfig) -> dict:
    """``{"loss_type": NAME, option: value}``: the loss and the options it reads (for metrics.json),
    and ``rdpo_alpha`` / ``ld_alpha`` where they are on."""
    options = LOSS_OPTIONS.get(config.loss_type, ())
    length = {"rdpo_alpha": config.rdpo_alpha} if config.rdpo_alpha else {}  # set only: old records stay
    length |= {"ld_alpha": config.ld_alpha} if config.ld_alpha is not None else {}
    return {"loss_type": config.loss_type, **{k: getattr(config, k) for k in options}, **length}
