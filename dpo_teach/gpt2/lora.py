"""LoRA for DPO (via ``peft``, an optional extra): the policy trains low-rank adapters, and the
reference is the same model with the adapters off, so no second copy of the weights is held (as
TRL's ``DPOTrainer`` does with a ``PeftModel`` and ``ref_model=None``).

:func:`lora_policy` wraps a copy of the starting model; :class:`AdaptersOff` is the reference view
the trainer and the evaluation call like a model; :func:`merged` gives a plain model for
``save_pretrained`` at the end (adapters folded into the weights).
"""

from __future__ import annotations

import functools

__all__ = ["LORA_DEFAULTS", "lora_policy", "AdaptersOff", "merged"]

LORA_DEFAULTS = {"r": 8, "alpha": 16.0, "targets": None}  # None: peft's default modules for the model type


def lora_policy(model, r: int = 8, alpha: float = 16.0, targets=None):
    """``model`` (modified in place) with LoRA adapters of rank ``r`` and scale ``alpha / r`` on
    ``targets`` (module names, e.g. ``["c_attn"]``; None: peft's default for the architecture).
    Only the adapters train. Raises ``ValueError`` when peft is missing or a target is not found."""
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:
        raise ValueError('--lora needs peft: pip install -e ".[lora]" (or pip install peft)') from None
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=0.0, target_modules=targets, bias="none",
                        task_type="CAUSAL_LM")  # fmt: skip
    try:
        return get_peft_model(model, config)
    except ValueError as err:  # peft: "Target modules {...} not found in the base model"
        names = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules() if n and not list(m.children())})
        raise ValueError(f"LoRA: {str(err).splitlines()[0]}; this model's layer names include "
                         f"{', '.join(names[:12])}; pass them with --lora-targets") from None  # fmt: skip


class AdaptersOff:
    """The reference of a LoRA policy: calling it runs the policy with its adapters disabled. Not a
    module, so freezing it (``requires_grad_(False)``) cannot freeze the adapters; it owns no weights."""

    def __init__(self, peft_model):
        self._peft = peft_model

    def __call__(self, *args, **kwargs):
        with self._peft.disable_adapter():
            return self._peft(*args, **kwargs)

    @property
    def forward(self):  # with the inner forward's signature (sampling reads its argument names)
        return functools.wraps(self._peft.forward)(self.__call__)

    def requires_grad_(self, requires_grad: bool = True):
        return self  # the base weights are frozen by peft; the adapters must stay trainable

    def eval(self):
        return self  # the policy's mode is the trainer's; dropout is off in both (disable_dropout)

    def train(self, mode: bool = True):
        return self

    @property
    def training(self) -> bool:
        return False

    def __getattr__(self, name):  # config, parameters (the device), modules, generation_config ...
        return getattr(self._peft, name)


def merged(policy):
    """A plain transformers model with the adapters folded in (for ``save_pretrained``); a policy
    without adapters is returned as it is."""
    return policy.merge_and_unload() if hasattr(policy, "merge_and_unload") else policy
