"""Where and how the code runs: fast mode, device, precision, CPU threads, eval mode.

Fast mode (``DPO_TEACH_FAST=1``, set by the test configuration) runs the same code at a
smaller size so the whole course executes in CI; full size is the default for a student.
torch is imported inside the functions that need it, so ``import dpo_teach`` stays cheap.
"""

from __future__ import annotations

import contextlib
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


def autocast(device, bf16: bool):
    """bf16 autocast on CUDA when ``bf16`` is set; a no-op elsewhere (the CPU runs fp32)."""
    import torch

    if torch.device(device).type == "cuda" and bf16:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def cpu_threads(n_params: int, device: str) -> int | None:
    """Threads for torch: 1 for a model under 2M parameters on CPU, whose matrices are too small
    to gain from a second thread (tiny preset, measured: ~12 vs ~9 ms a step alone, but 10-20x
    slower with two threads while another process shares the 2 cores); else None (torch's default)."""
    return 1 if device == "cpu" and n_params < 2_000_000 else None


@contextlib.contextmanager
def eval_mode(model):
    """Run the block with ``model`` in eval mode, then put back the mode it had (train or eval)."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@contextlib.contextmanager
def quiet_transformers():
    """transformers' own progress bars ("Loading weights", "Writing model shards") off inside the
    block, as they were after: a notebook cell shows the course's output, not the library's."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()
