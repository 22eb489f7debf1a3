r"""The learning rate along a DPO run: a linear warm-up, then constant, linear or cosine decay.

:func:`lr_factor` is the multiplier of ``DPOConfig.learning_rate`` at optimizer step ``s`` (0 based),
for ``torch.optim.lr_scheduler.LambdaLR``. With ``W`` warm-up steps and ``S = max_steps``:

.. math:: f(s) = \frac{s + 1}{W}\ (s < W),\qquad
    f(s) = \begin{cases} 1 & \text{constant} \\ 1 - p & \text{linear} \\
    \tfrac12 (1 + \cos \pi p) & \text{cosine} \end{cases},\quad p = \frac{s - W}{S - W}

The warm-up's first step already moves (``(s + 1) / W``, as this trainer always did; transformers'
schedules start at 0). Linear and cosine reach 0 after the last step, as transformers' do.
"""

from __future__ import annotations

import math

__all__ = ["lr_factor", "warmup_steps_for"]


def lr_factor(kind: str, warmup_steps: int, max_steps: int):
    """``f(s)``, the learning-rate multiplier at step ``s`` (see the module docstring)."""
    warmup = max(int(warmup_steps), 0)

    def factor(s: int) -> float:
        if warmup and s < warmup:
            return (s + 1) / warmup
        if kind == "constant":
            return 1.0
        progress = min(max((s - warmup) / max(max_steps - warmup, 1), 0.0), 1.0)
        return 1.0 - progress if kind == "linear" else 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def warmup_steps_for(ratio: float, max_steps: int) -> int:
    """Warm-up steps for a warm-up ``ratio`` of the run: ``ceil(ratio * max_steps)`` (transformers')."""
    return math.ceil(ratio * max_steps)
