"""Checkpoint files, safely: written whole or not at all, read without unpickling code.

``torch.load(..., weights_only=True)`` accepts tensors and plain data only, so a crafted
``dpo_checkpoint.pt`` cannot run code on resume; every problem with a state file (empty,
truncated, foreign, written for another model) is one ``ValueError`` naming the file and the fix.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from ..files import atomic_write

__all__ = ["CHECKPOINT_NAME", "save_state_file", "read_state_file", "check_state_fits"]

CHECKPOINT_NAME = "dpo_checkpoint.pt"  # the DPO trainer's resumable state, in its output_dir


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
