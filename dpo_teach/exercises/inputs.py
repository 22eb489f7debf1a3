"""The inputs of :mod:`dpo_teach.exercises`: the worked examples of the course and the seeded
batches a student's function is run on (arXiv:2305.18290).

Every builder puts the worked examples first (a wrong answer fails on the simplest input), then
seeded random inputs (the same on every run, so a failure can be reproduced), then extreme ones
that only a numerically stable answer survives. All arrays are float64.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .language import tr

# The toy example: pi_theta(y_w|x) = 0.6, pi_theta(y_l|x) = 0.4, pi_ref = 0.5 for both.
TOY_POLICY = (0.6, 0.4)
TOY_REFERENCE = (0.5, 0.5)
TOY_BETA = 0.1
# The log-prob example: (policy_chosen, policy_rejected, ref_chosen, ref_rejected) log-probs.
LOGP_EXAMPLE = (-0.2, -0.8, -0.3, -0.7)
LOGP_BETA = 0.1
# The tabular world of the KL exercise: three responses, Eq. 4 at beta and at 2 * beta.
KL_REF_PROBS = (0.5, 0.3, 0.2)
KL_REWARDS = (1.0, 0.0, -1.0)
KL_BETA = 0.5
# The derivation exercises (notebook 02). 10: the objective J(pi) of Eq. 3 for one table and one
# policy, and log Z. 11: one preference before and after adding f(x) to every reward of a prompt.
OBJECTIVE_REF_PROBS = (0.4, 0.4, 0.2)
OBJECTIVE_REWARDS = (1.0, -0.5, 2.0)
OBJECTIVE_POLICY = (0.2, 0.3, 0.5)
OBJECTIVE_BETA = 0.5
SHIFT_REWARDS = ((1.5, 0.25, -0.5), (0.0, 2.0, 1.0))  # r(x, y): rows x_1, x_2; columns y_1, y_2, y_3
SHIFT_F = (4.0, -1.5)  # f(x_1), f(x_2)
SHIFT_PROMPT, SHIFT_PAIR = 0, (0, 2)  # the exercise asks for p(y_1 > y_3 | x_1)


def toy_logs() -> tuple[float, float, float, float]:
    """The toy example as log-probs ``(log pi_w, log pi_l, log ref_w, log ref_l)``."""
    (pw, pl), (rw, rl) = TOY_POLICY, TOY_REFERENCE
    return math.log(pw), math.log(pl), math.log(rw), math.log(rl)


def _f64(*values) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def pair_cases(seed: int) -> list:
    """Batches of pairs ``(label, (pc, pr, rc, rr), beta)``: the worked examples first (a wrong
    answer fails on the simplest input), then seeded random batches, then extreme margins."""
    f = _f64
    cases = [
        (tr("the log-prob example"), tuple(f(v) for v in LOGP_EXAMPLE), LOGP_BETA),
        (tr("the toy example 0.6/0.4 vs 0.5/0.5"), tuple(f(v) for v in toy_logs()), 0.5),
        (tr("two pairs with margin 0 (loss ln 2)"), (f(-3, -10), f(-4, -12), f(-2, -9), f(-3, -11)), 0.1),
    ]
    rng = np.random.default_rng(seed)
    for k in range(5):
        b = int(rng.integers(3, 9))
        arrays = tuple(-rng.uniform(1.0, 80.0, size=b) for _ in range(4))
        beta = float(rng.choice([0.05, 0.1, 0.2, 0.5, 2.0]))
        cases.append((tr("random batch {k} of 5 (seed {seed})", k=k + 1, seed=seed), arrays, beta))
    # margins +5e4, -5e4, +800, -800: sigmoid(-800) underflows to 0 in float64
    chosen, rejected, ref = f(-1, -50001, -10, -810), f(-50001, -1, -810, -10), f(-1, -1, -10, -10)
    cases.append((tr("extreme margins +-5e4 and +-800"), (chosen, rejected, ref, ref.copy()), 1.0))
    return cases


def table_cases(seed: int) -> list:
    """Tables ``(label, ref_probs, rewards, beta)``: fixed, seeded random, then r / beta = 1e4."""
    f = _f64
    cases = [
        (tr("the KL exercise's table"), f(*KL_REF_PROBS), f(*KL_REWARDS), KL_BETA),
        (tr("a uniform reference"), f(0.25, 0.25, 0.25, 0.25), f(1.0, 2.0, 0.0, -1.0), 2.0),
    ]
    rng = np.random.default_rng(seed)
    for k in range(4):
        n_actions = int(rng.integers(2, 7))
        ref_probs = rng.dirichlet(np.ones(n_actions))
        rewards = rng.normal(0.0, 2.0, size=n_actions)
        beta = float(rng.choice([0.1, 0.3, 1.0, 3.0]))
        cases.append(
            (tr("random table {k} of 4 (seed {seed})", k=k + 1, seed=seed), ref_probs, rewards, beta)
        )
    cases.append((tr("large rewards, r / beta = 1e4"), f(0.2, 0.5, 0.3), f(1000.0, 0.0, -1000.0), 0.1))
    return cases


def sequence_cases(seed: int) -> list:
    """Batches ``(label, logits (B, T, V), labels (B, T))`` with prompt and padding = -100."""
    gen = torch.Generator().manual_seed(seed)
    handmade = torch.tensor([[-100, -100, 2, 1, 3, -100], [-100, -100, -100, 0, 2, 2]])
    cases = [(tr("a hand-made batch"), torch.randn(2, 6, 4, generator=gen, dtype=torch.float64), handmade)]
    for k in range(4):
        b, t, v = (int(torch.randint(lo, hi, (1,), generator=gen)) for lo, hi in ((2, 5), (6, 13), (5, 12)))
        labels = torch.full((b, t), -100)
        for row in range(b):
            prompt = int(torch.randint(1, t - 1, (1,), generator=gen))
            length = int(torch.randint(1, t - prompt + 1, (1,), generator=gen))  # padding after
            labels[row, prompt : prompt + length] = torch.randint(0, v, (length,), generator=gen)
        scale = 1e4 if k == 3 else 3.0  # the last batch: logits of 1e4, softmax underflows
        logits = scale * torch.randn(b, t, v, generator=gen, dtype=torch.float64)
        name = (
            tr("large logits (scale 1e4)")
            if k == 3
            else tr("random batch {k} of 3 (seed {seed})", k=k + 1, seed=seed)
        )
        cases.append((name, logits, labels))
    return cases
