"""One switch for sizes and one for the device, shared by notebooks, scripts and tests.

Fast mode (``DPO_TEACH_FAST=1``, set by the test configuration) runs the same code at a
smaller size so the whole course executes in CI; full size is the default for a student.
"""

from __future__ import annotations

import os

_TRUE = {"1", "true", "yes", "on"}


def fast_mode() -> bool:
    """True when ``DPO_TEACH_FAST`` is set to 1/true/yes/on (the test configuration sets it)."""
    return os.environ.get("DPO_TEACH_FAST", "").strip().lower() in _TRUE


def pick(full, fast):
    """Return ``fast`` in fast mode, ``full`` otherwise: ``n_steps = pick(2000, 50)``."""
    return fast if fast_mode() else full


def default_device(requested: str = "auto") -> str:
    """Resolve ``auto`` to ``cuda`` when a GPU is present, else ``cpu``.

    Asking for ``cuda`` on a machine without one is an error, not a silent fallback.
    """
    import torch

    if requested not in {"auto", "cpu", "cuda"}:
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {requested!r}")
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was requested but torch sees no GPU; use --device cpu")
    return requested
