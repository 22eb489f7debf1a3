r"""The doctor's detectors: one function per symptom of a DPO training log, its thresholds named.

Each detector reads a :class:`Series` (the logged training steps of one run, TRL's metric names)
and returns a :class:`Finding` or None. A finding carries a fixed ``id`` (other tools rely on
the set :data:`IDS`), the first step that shows it, the evidence (steps and values), the likely
causes ranked for this log, the fix and the section of ``notebooks/08_debugging_clinic.ipynb``
that reproduces it (the text: :mod:`dpo_teach.doctor.advice`). Pure Python + NumPy: no torch,
so ``python -m dpo_teach.doctor`` starts fast.

At a zero margin the loss of Eq. 7 (arXiv:2305.18290) is :math:`-\log\sigma(0) = \ln 2`; a trainer
whose policy starts as the reference logs exactly that before its first update.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .advice import CAUSES, DEFAULT_CAUSES, FIXES, IDS, SECTIONS

__all__ = ["IDS", "LN2", "Finding", "Series", "DETECTORS", "run_detectors"]

LN2 = math.log(2.0)  # the DPO loss at margin 0 (policy = reference)

# -- thresholds (each one a judgement; the tests pin a firing and a quiet log on either side) --
STUCK_LOSS_TOL = 1e-4  # |loss - ln 2| at every step (transformers 4.x logs 4 decimals: 0.6931 is 4.7e-5 off)
STUCK_REWARD_TOL = 1e-3  # |rewards/margins|, |rewards/chosen|, |rewards/rejected| at every step
STUCK_MIN_SPAN = 10  # ... over at least this many optimizer steps (a healthy run starts at ln 2)
STUCK_MIN_ENTRIES = 3  # ... and at least this many logged entries
ZERO_GRAD_TOL = 1e-10  # a grad_norm at or below this is zero: no gradient reached the weights
BINARY_MIN_ENTRIES = 8  # rewards/accuracies only 0 or 1 over at least this many entries (1/2^7 by luck)
BINARY_TOL = 1e-6  # how close to 0 or 1 a logged accuracy must be to count as binary
BINARY_MIN_EACH = 2  # ... with at least two 0s and two 1s after the first update (it flip-flops)
WINDOW = 0.2  # a trend reads the first entry against the mean of the last 20 % (one batch is noisy)
TREND_MIN_ENTRIES = 5  # no trend is read from fewer entries
CHOSEN_FALL_FRACTION = 0.25  # logps/chosen fell by more than 25 % of its start (a sum over tokens) ...
CHOSEN_FALL_NATS = 2.0  # ... and by more than 2 nats ...
CHOSEN_FALL_NOISE = 2.0  # ... and by more than twice the spread (std) of the late entries: the first
# entry is one batch, about that noisy (a batch of 1 pair: several nats)
SATURATED_LOSS = 0.01  # late mean loss below this: sigma(margin) > 0.99 on average, the pairs "solved"
REWARD_FALL_MIN = 0.1  # both rewards ended below -0.1 (beta included: 1 nat at TRL's beta 0.1) ...
# ... and the chosen reward fell further than the margin grew: the mass leaves both answers faster
# than they separate (scale-free: rewards and margins carry the same beta), by more than
REWARD_FALL_NOISE = 2.0  # twice the standard error of the late mean (a batch of one pair is noisy)
STEP0_LOSS_TOL = 2e-4  # pre-update |loss - ln 2| above this: policy and reference disagree at step 0
STEP0_REWARD_TOL = 5e-3  # pre-update |rewards/chosen|, |rewards/rejected| above this: the same


@dataclasses.dataclass
class Finding:
    id: str  # one of IDS
    first_step: int | None  # the first logged step that shows it (None: no single step does)
    evidence: str  # what in the log shows it: steps and values
    causes: list[str]  # likely causes, most likely first for this log
    fix: str
    section: str  # where notebook 08 reproduces it

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _finding(id_: str, first_step, evidence: str, causes=None) -> Finding:
    """A finding with its advice; ``causes``: keys of CAUSES in this log's order (default order if None)."""
    keys = DEFAULT_CAUSES[id_] if causes is None else causes
    first = None if first_step is None else int(first_step)
    return Finding(id_, first, evidence, [CAUSES[k] for k in keys], FIXES[id_], SECTIONS[id_])


@dataclasses.dataclass
class Series:
    """One run's logged training entries: ``values[name]`` holds ``(steps, values)`` arrays of the
    entries that logged ``name`` (TRL's names: ``loss``, ``rewards/chosen``, ...)."""

    values: dict[str, tuple[np.ndarray, np.ndarray]]
    pre_update_first: bool  # the first entry was measured before any update (policy = reference)

    def get(self, name: str):
        return self.values.get(name, (np.zeros(0, dtype=np.int64), np.zeros(0)))

    def finite(self, name: str):
        steps, vals = self.get(name)
        ok = np.isfinite(vals)
        return steps[ok], vals[ok]


def _late(vals: np.ndarray) -> np.ndarray:
    """The last ``WINDOW`` share of the entries (at least one)."""
    return vals[-max(1, int(round(len(vals) * WINDOW))) :]


def _start_end(vals: np.ndarray) -> tuple[float, float]:
    """The first logged value and the mean of the late entries (+ 0.0: no -0 in the evidence)."""
    return float(vals[0]) + 0.0, float(_late(vals).mean()) + 0.0


def stuck_at_ln2(s: Series) -> Finding | None:
    steps, loss = s.get("loss")
    if len(loss) < STUCK_MIN_ENTRIES or steps[-1] - steps[0] < STUCK_MIN_SPAN:
        return None
    if not np.all(np.abs(loss - LN2) <= STUCK_LOSS_TOL):  # NaN fails this too
        return None
    rewards = [s.get(k)[1] for k in ("rewards/margins", "rewards/chosen", "rewards/rejected")]
    if any(len(r) and not np.all(np.abs(r) <= STUCK_REWARD_TOL) for r in rewards):
        return None
    evidence = f"loss within {STUCK_LOSS_TOL:g} of ln 2 = {LN2:.6f} at all {len(loss)} logged steps "
    evidence += f"({steps[0]}-{steps[-1]})"
    largest = max((float(np.abs(r).max()) for r in rewards if len(r)), default=None)
    if largest is not None:
        evidence += f"; rewards and margins never beyond {largest:.1g}"
    _, grad = s.finite("grad_norm")
    causes = None  # a gradient, or none logged: the shared reference and the stale optimizer first
    if len(grad) and np.all(grad <= ZERO_GRAD_TOL):
        evidence += "; grad_norm 0 at every step"
        causes = ("beta0", "frozen", "same_object", "stale_optimizer")  # no gradient at all
    elif len(grad):
        evidence += f"; grad_norm > 0 (mean {grad.mean():.3g}): a gradient, yet the margin never moves"
    return _finding("stuck_at_ln2", steps[0], evidence, causes)


def non_finite(s: Series) -> Finding | None:
    groups: dict[tuple[int, int, str], list[str]] = {}  # (first step, count, value) -> metric names
    for name, (steps, vals) in s.values.items():
        bad = ~np.isfinite(vals)
        if bad.any():
            value = "NaN" if np.isnan(vals[bad][0]) else str(vals[bad][0])
            groups.setdefault((int(steps[bad][0]), int(bad.sum()), value), []).append(name)
    if not groups:
        return None
    evidence = "; ".join(
        f"{', '.join(names)} {value} at {n} logged step(s) from step {first}"
        for (first, n, value), names in sorted(groups.items())
    )
    steps, loss = s.get("loss")
    zero = steps[loss == 0.0]
    if len(zero):
        evidence += f"; loss exactly 0.0 at step {zero[0]} (a margin beyond the float's range)"
    return _finding("non_finite", min(groups)[0], evidence)


def zero_grad_norm(s: Series) -> Finding | None:
    steps, grad = s.finite("grad_norm")
    zero = grad <= ZERO_GRAD_TOL
    if not zero.any():
        return None
    evidence = f"grad_norm 0 at {int(zero.sum())} of {len(grad)} logged steps, first at step {steps[zero][0]}"
    causes = None if zero[0] else ("saturated", "beta0", "frozen")  # it worked at first: saturated
    return _finding("zero_grad_norm", steps[zero][0], evidence, causes)


def binary_accuracies(s: Series) -> Finding | None:
    steps, acc = s.finite("rewards/accuracies")
    if len(acc) < BINARY_MIN_ENTRIES:
        return None
    ones, zeros = np.abs(acc - 1) <= BINARY_TOL, np.abs(acc) <= BINARY_TOL
    # before the first update every margin is 0, so that entry is 0 whatever the batch: leave it out;
    # a run that separates every pair after that logs only 1s (no flip-flop, no finding)
    later = slice(1, None) if s.pre_update_first else slice(None)
    if not np.all(ones | zeros) or min(ones[later].sum(), zeros[later].sum()) < BINARY_MIN_EACH:
        return None
    evidence = (
        f"rewards/accuracies is 0 or 1 at all {len(acc)} logged steps ({int(zeros.sum())} zeros, "
        f"{int(ones.sum())} ones): each logged value is one pair's verdict"
    )
    return _finding("binary_accuracies", steps[0], evidence)


def chosen_logps_falling(s: Series) -> Finding | None:
    (steps, chosen), (_, margin) = s.finite("logps/chosen"), s.finite("rewards/margins")
    if min(len(chosen), len(margin)) < TREND_MIN_ENTRIES:
        return None
    (c0, c1), (m0, m1) = _start_end(chosen), _start_end(margin)
    fall = max(
        CHOSEN_FALL_NATS, CHOSEN_FALL_FRACTION * abs(c0), CHOSEN_FALL_NOISE * float(_late(chosen).std())
    )
    if not (c0 - c1 > fall and m1 > m0):
        return None
    evidence = (
        f"logps/chosen {c0:.3g} -> {c1:.3g} ({c1 - c0:+.3g} nats, {(c1 - c0) / abs(c0):+.0%}; first entry vs "
        f"mean of the last {WINDOW:.0%}) while rewards/margins rose {m0:.3g} -> {m1:.3g}"
    )
    return _finding("chosen_logps_falling", steps[chosen < c0 - fall][0], evidence)


def margin_explosion(s: Series) -> Finding | None:
    (steps, loss), (_, margin) = s.finite("loss"), s.finite("rewards/margins")
    if min(len(loss), len(margin)) < TREND_MIN_ENTRIES:
        return None
    (_, l1), (m0, m1) = _start_end(loss), _start_end(margin)
    if not (l1 < SATURATED_LOSS and m1 > m0):
        return None
    evidence = (
        f"loss {l1:.2g} and rewards/margins {m1:.3g} over the last {WINDOW:.0%} of the log (margins "
        f"{m0:.3g} at the first entry): pairs separated far beyond sigma(margin) = {1 - SATURATED_LOSS}"
    )
    causes = DEFAULT_CAUSES["margin_explosion"] + (("zero_loss",) if np.any(loss == 0.0) else ())
    return _finding("margin_explosion", steps[loss < SATURATED_LOSS][0], evidence, causes)


def both_rewards_falling(s: Series) -> Finding | None:
    (steps, chosen), (_, rejected) = s.finite("rewards/chosen"), s.finite("rewards/rejected")
    if min(len(chosen), len(rejected)) < TREND_MIN_ENTRIES:
        return None
    (c0, c1), (r0, r1) = _start_end(chosen), _start_end(rejected)
    margin = c1 - r1 if c1 > r1 else 0.0  # what the separation gained, in the same (beta) units
    noise = REWARD_FALL_NOISE * float(_late(chosen).std()) / math.sqrt(len(_late(chosen)))  # of c1
    falling = c1 < min(c0, -REWARD_FALL_MIN) and r1 < min(r0, -REWARD_FALL_MIN)
    if not (falling and -c1 > margin + noise):
        return None
    evidence = (
        f"rewards/chosen {c0:.3g} -> {c1:.3g} and rewards/rejected {r0:.3g} -> {r1:.3g} (first entry vs "
        f"mean of the last {WINDOW:.0%}): the chosen answer lost more ({-c1:.3g}) than the pair "
        f"separated ({margin:.3g})"
    )
    first = None
    if len(chosen) == len(rejected):  # the first entry with both below the reference by that much
        below = (chosen < -max(REWARD_FALL_MIN, margin)) & (rejected < -REWARD_FALL_MIN)
        first = steps[below][0] if below.any() else None
    return _finding("both_rewards_falling", first, evidence)


def step0_not_ln2(s: Series) -> Finding | None:
    (steps, loss), (_, chosen), (_, rejected) = (
        s.get("loss"),
        s.get("rewards/chosen"),
        s.get("rewards/rejected"),
    )
    if not s.pre_update_first or not len(loss) or not np.isfinite(loss[0]):
        return None
    rewards = {k: float(r[0]) for k, r in (("chosen", chosen), ("rejected", rejected)) if len(r)}
    off = abs(float(loss[0]) - LN2) > STEP0_LOSS_TOL or any(
        abs(r) > STEP0_REWARD_TOL for r in rewards.values()
    )
    if not off:
        return None
    evidence = f"before any update (step {steps[0]}) the loss is {loss[0]:.6g}, not ln 2 = {LN2:.6f}"
    evidence += "".join(f", rewards/{k} {r:.3g}" for k, r in rewards.items())
    return _finding("step0_not_ln2", steps[0], evidence)


DETECTORS = (
    stuck_at_ln2,
    non_finite,
    zero_grad_norm,
    binary_accuracies,
    chosen_logps_falling,
    margin_explosion,
    both_rewards_falling,
    step0_not_ln2,
)


def run_detectors(series: Series) -> list[Finding]:
    """Every detector on ``series``; the findings in the order of :data:`IDS`."""
    return [f for f in (detect(series) for detect in DETECTORS) if f is not None]
