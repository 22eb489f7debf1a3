"""Newton's method for the tabular fits: exact (rounding-level) minimisers of convex objectives.

Used by :mod:`dpo_teach.bandit.fit` (Bradley-Terry reward model, DPO) and
:mod:`dpo_teach.bandit.plackett_luce` (their ranking versions).
"""

from __future__ import annotations

import numpy as np

__all__ = ["newton_minimize"]


def newton_minimize(objective, x0, null, max_iter=200):
    """Damped Newton on a convex objective(x) -> (f, g, H), steps kept orthogonal to ``null``.

    Once the predicted decrease is below what float64 can resolve in f, the line search can no
    longer judge steps; there Newton is in its quadratic region, so a few full steps finish it.
    """
    x = x0.copy()
    f, g, h = objective(x)
    for _ in range(max_iter):
        step = np.linalg.solve(h + null, -g)  # null only acts on directions where g = 0
        decrement = -g @ step  # squared Newton decrement: predicted decrease is half of it
        if decrement < 1e-12:
            for _ in range(4):  # polish with full steps while they keep shrinking the decrement
                _, g_new, h_new = objective(x + step)
                step_new = np.linalg.solve(h_new + null, -g_new)
                if not -g_new @ step_new < decrement:
                    return x + step
                x, step, decrement = x + step, step_new, -g_new @ step_new
            return x + step
        t = 1.0
        while True:  # backtracking (Armijo) line search
            f_new, g_new, h_new = objective(x + t * step)
            if f_new <= f - 1e-4 * t * decrement:
                break
            t *= 0.5
            if t < 1e-10:
                raise RuntimeError("Newton line search failed: the objective is not decreasing")
        x, f, g, h = x + t * step, f_new, g_new, h_new
    raise RuntimeError("Newton's method did not converge in max_iter steps")
