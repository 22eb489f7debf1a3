"""Checkpoint files, safely: written whole or not at all, read without unpickling code.

``torch.load(..., weights_only=True)`` accepts tensors and plain data only, so a crafted
``dpo_checkpoint.pt`` cannot run code on resume; every problem with a state file (empty,
truncated, foreign, written for another model) is one ``ValueError`` naming the file and the fix.
"""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import torch

from ..files import atomic_write

__all__ = ["CHECKPOINT_NAME", "CHECKPOINT_KEYS", "RESUME_KEYS", "save_state_file", "read_state_file",
           "check_state_fits", "trainer_state", "restore_trainer"]  # fmt: skip

CHECKPOINT_NAME = "dpo_checkpoint.pt"  # the DPO trainer's resumable state, in its output_dir
# what trainer_state writes (key -> type), checked on resume by read_state_file
CHECKPOINT_KEYS = {"step": int, "policy": dict, "optimizer": dict, "scheduler": dict, "history": list,
                   "tokens_seen": int, "train_seconds": (int, float), "config": dict}  # fmt: skip
# DPOConfig fields a resumed run must share with the checkpoint (plus the loss's options)
RESUME_KEYS = ("beta", "learning_rate", "batch_size", "seed", "loss_type", "lr_scheduler", "warmup_steps",
               "save_best")  # fmt: skip


def save_state_file(state: dict, path) -> Path:
    """``torch.save(state)`` to a temporary name beside ``path``, then rename it over ``path``: a crash
    leaves the old file or the new one, never half of one (and no temporary file on an error)."""
    return atomic_write(path, lambda tmp: torch.save(state, tmp))


def read_state_file(path, keys: dict, what: str, map_location="cpu") -> dict:
    """``torch.load(path, weights_only=True)``: tensors and plain data only, so a crafted file cannot
    run code. The result must be a dict holding ``keys`` (name -> type). An empty, truncated,
    foreign or unsafe file raises ``ValueError`` naming the file and the fix."""
    path = Path(path)
    fix = f"delete {path} to start over, or use a new output dir"
    if not path.is_file():
        raise ValueError(f"{path}: no such {what} file; check the path")
    if path.stat().st_size == 0:
        raise ValueError(f"{path} is empty (a run killed while writing it?); {fix}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # truncated zip, bad magic number, EOF, a forbidden global: messages vary
        lines = [line.strip() for line in str(err).splitlines() if line.strip()] or [type(err).__name__]
        marker = [i for i, line in enumerate(lines) if "WeightsUnpickler error:" in line]  # torch's own
        detail = lines[marker[0]].split("WeightsUnpickler error:")[1].strip() if marker else ""
        if marker and not detail and marker[0] + 1 < len(lines):
            detail = lines[marker[0] + 1]
        reason = (detail.split(". Please use")[0] if marker else f"{type(err).__name__}: {lines[0]}")[:200]
        if isinstance(err, pickle.UnpicklingError) and "global" in reason.lower():
            raise ValueError(f"{path} holds Python objects other than tensors and plain data ({reason}), "
                             f"so it is no {what} and unpickling it could run code; it was NOT loaded. "
                             f"Do not trust it: {fix}") from None  # fmt: skip
        raise ValueError(f"{path} is not a readable {what} (truncated or corrupt: {reason}); {fix}") from None
    for key, kind in keys.items():
        if not isinstance(state, dict) or key not in state:
            raise ValueError(f"{path} has no {key!r}, so it is not a {what}; {fix}")
        if isinstance(state[key], bool) or not isinstance(state[key], kind):
            raise ValueError(
                f"{path}: {key!r} is a {type(state[key]).__name__}, so it is not a {what}; {fix}"
            )
    return state


def check_state_fits(model: torch.nn.Module, saved: dict, path, fix: str) -> None:
    """Raise ``ValueError`` (naming ``path`` and ``fix``) unless the state dict ``saved`` has exactly
    ``model``'s parameter names and shapes (so ``load_state_dict`` cannot fail half-way)."""
    current = model.state_dict()
    missing, extra = sorted(set(current) - set(saved)), sorted(set(saved) - set(current))
    if missing or extra:
        raise ValueError(f"{path} was written for a different model (missing {missing[:3]}, unexpected "
                         f"{extra[:3]}); {fix}")  # fmt: skip
    for name, tensor in current.items():
        shape = (
            tuple(saved[name].shape) if isinstance(saved[name], torch.Tensor) else type(saved[name]).__name__
        )
        if shape != tuple(tensor.shape):
            raise ValueError(f"{path} was written for a different model shape: {name} is {shape} there "
                             f"but {tuple(tensor.shape)} here; {fix}")  # fmt: skip


def trainer_state(trainer) -> dict:
    """Everything a :class:`~.trainer.DPOTrainer` needs to resume, as tensors and plain data."""
    return {"step": trainer.step, "policy": trainer.policy.state_dict(),
            "optimizer": trainer.optimizer.state_dict(), "scheduler": trainer.scheduler.state_dict(),
            "history": trainer.history, "tokens_seen": int(trainer.tokens_seen),
            "train_seconds": trainer.train_seconds, "config": dataclasses.asdict(trainer.config),
            "eval_history": trainer.eval_history, "best": trainer.best}  # fmt: skip


def restore_trainer(trainer, path: Path) -> None:
    """Load ``path`` (read safely) into ``trainer`` after checking that it was written by the same
    settings (:data:`RESUME_KEYS`) and for the same model; a mismatch is a ``ValueError``."""
    from .config import LOSS_OPTIONS, DPOConfig

    state = read_state_file(path, CHECKPOINT_KEYS, "DPO checkpoint", trainer.device)  # weights_only
    fix = f"use a new output dir, or delete {path} to train from step 0"
    config, defaults = trainer.config, {f.name: f.default for f in dataclasses.fields(DPOConfig)}
    for key in (*RESUME_KEYS, *LOSS_OPTIONS.get(config.loss_type, ())):
        saved = state["config"].get(key, defaults[key])  # older checkpoints: the defaults
        if saved != getattr(config, key):
            raise ValueError(f"{path} was written with {key}={saved!r} but this run has {key}="
                             f"{getattr(config, key)!r}; use a new output dir or the same settings")  # fmt: skip
    check_state_fits(trainer.policy, state["policy"], path, fix)
    try:  # the optimizer first: if its state does not fit, the policy is still untouched
        trainer.optimizer.load_state_dict(state["optimizer"])
        trainer.scheduler.load_state_dict(state["scheduler"])
    except (RuntimeError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: its optimizer state does not fit this model ({err}); {fix}") from None
    trainer.policy.load_state_dict(state["policy"])
    trainer.step, trainer.history = state["step"], state["history"]
    trainer.tokens_seen, trainer.train_seconds = state["tokens_seen"], state["train_seconds"]
    trainer.eval_history, trainer.best = state.get("eval_history", []), state.get("best")
