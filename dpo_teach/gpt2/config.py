"""``DPOConfig``: the DPO trainer's hyper-parameters, each default commented, every value checked.

Checked when built and again when training starts: a bad value is a ``ValueError`` naming the
field and the fix, not an obscure error many steps later.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os

from .. import _checks

__all__ = ["DPOConfig", "SEED_STRIDE"]

SEED_STRIDE = 1_000_003  # epoch e of seed s draws its order from torch.Generator seed s * SEED_STRIDE + e


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

    _POSITIVE = ("learning_rate", "batch_size", "max_steps", "log_every", "max_grad_norm")  # others >= 0

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Check every field's type and range (ValueError naming it and the fix); also on training."""
        self.beta = _checks.check_beta(self.beta)  # the same error as dpo_loss gives
        for field in dataclasses.fields(self):  # field.type: "int", "float | None", ... (a string)
            name, value, kind = field.name, getattr(self, field.name), field.type.split(" |")[0]
            if name != "beta" and not (value is None and "None" in field.type):
                setattr(self, name, _check_field(name, value, kind, name in self._POSITIVE, field.default))
        max_seed = (2**64 - self.max_steps * self.batch_size) // SEED_STRIDE  # epoch e < max_steps * batch
        if self.seed > max_seed:
            raise ValueError(f"DPOConfig.seed must be <= {max_seed} (epoch e is seeded with seed * "
                             f"{SEED_STRIDE} + e < 2**64), got {self.seed}; pick a smaller seed")  # fmt: skip


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
