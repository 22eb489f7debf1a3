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

import math

import numpy as np

from .series import WINDOW, Finding, Series, finding, late, start_end

__all__ = ["LN2", "needs", "stuck_at_ln2", "non_finite", "zero_grad_norm", "binary_accuracies",
           "chosen_logps_falling", "margin_explosion", "both_rewards_falling", "step0_not_ln2"]  # fmt: skip

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
TREND_MIN_ENTRIES = 5  # no trend is read from fewer entries
CHOSEN_FALL_FRACTION = 0.25  # logps/chosen fell by more than 25 % of its start (a sum over tokens) ...
CHOSEN_FALL_NATS = 2.0  # ... and by more than 2 nats ...
CHOSEN_FALL_NOISE = 2.0  # ... and by more than twice the spread (std) of the late entries: the first
# entry is one batch, about that noisy (a batch of 1 pair: several nats)
SATURATED_LOSS = 0.01  # late mean loss below this: sigma(margin) > 0.99 on average, the pairs "solved"
HUGE_MARGIN = 10.0  # ... or late mean rewards/margins above this (any loss): sigma(10) = 0.99995
SCALER_MAX_ENTRIES = 5  # non-finite grad_norm only at the first <= 5 entries, loss finite: fp16 warm-up
REWARD_FALL_MIN = 0.1  # both rewards ended below -0.1 (beta included: 1 nat at TRL's beta 0.1) ...
# ... and the chosen reward fell further than the margin grew: the mass leaves both answers faster
# than they separate (scale-free: rewards and margins carry the same beta), by more than
REWARD_FALL_NOISE = 2.0  # twice the standard error of the late mean (a batch of one pair is noisy)
STEP0_LOSS_TOL = 2e-4  # pre-update |loss - ln 2| above this: policy and reference disagree at step 0
STEP0_REWARD_TOL = 5e-3  # pre-update |rewards/chosen|, |rewards/rejected| above this: the same


def needs(*keys):
    """Mark a detector with the metrics it cannot run without (the report lists it as not run)."""

    def mark(detect):
        detect.needs = keys
        return detect

    return mark


@needs("loss")
def stuck_at_ln2(s: Series) -> Finding | None:
    steps, loss = s.get("loss")
    if len(loss) < STUCK_MIN_ENTRIES or steps[-1] - steps[0] < STUCK_MIN_SPAN:
        return None
    rewards = [s.get(k)[1] for k in ("rewards/margins", "rewards/chosen", "rewards/rejected")]
    if not s.sigmoid_loss and not any(len(r) for r in rewards):
        return None  # another loss: only zero rewards can say that the margin never moved
    level = LN2 if s.sigmoid_loss else float(loss[0])  # the loss at margin 0
    if not np.all(np.abs(loss - level) <= STUCK_LOSS_TOL):  # NaN fails this too
        return None
    if any(len(r) and not np.all(np.abs(r) <= STUCK_REWARD_TOL) for r in rewards):
        return None
    what = f"ln 2 = {LN2:.6f}" if s.sigmoid_loss else f"its first value {level:.6g} (not the sigmoid loss)"
    evidence = f"loss within {STUCK_LOSS_TOL:g} of {what} at all {len(loss)} logged steps "
    evidence += f"({steps[0]}-{steps[-1]})"
    largest = max((float(np.abs(r).max()) for r in rewards if len(r)), default=None)
    if largest is not None:
        evidence += f"; rewards and margins never beyond {largest:.1g}"
    _, grad = s.finite("grad_norm")
    causes = ["same_object", "stale_optimizer", "beta0", "frozen"]  # a gradient, or none logged
    if len(grad) and np.all(grad <= ZERO_GRAD_TOL):
        evidence += "; grad_norm 0 at every step"
        causes = ["beta0", "frozen", "same_object", "stale_optimizer"]  # no gradient at all
    elif len(grad):
        evidence += f"; grad_norm > 0 (mean {grad.mean():.3g}): a gradient, yet the margin never moves"
    _, lr = s.finite("learning_rate")
    if len(lr) and np.all(lr == 0.0):
        evidence += "; learning_rate 0 at every step"
        causes.insert(0, "lr0")
    (_, chosen), (_, rejected) = s.get("logps/chosen"), s.get("logps/rejected")
    if len(chosen) and np.all(chosen == 0.0) and len(rejected) and np.all(rejected == 0.0):
        evidence += "; logps/chosen and logps/rejected exactly 0 at every step"
        causes.insert(0, "nothing_scored")
    return finding(s, "stuck_at_ln2", steps[0], evidence, causes)


def _non_finite_groups(s: Series, prefix: str = "") -> dict:
    groups: dict[tuple[int, int, str], list[str]] = {}  # (first step, count, value) -> metric names
    for name, (steps, vals) in s.values.items():
        bad = ~np.isfinite(vals)
        if bad.any():
            value = "NaN" if np.isnan(vals[bad][0]) else str(vals[bad][0])
            groups.setdefault((int(steps[bad][0]), int(bad.sum()), value), []).append(prefix + name)
    return groups


@needs()
def non_finite(s: Series) -> Finding | None:
    groups = _non_finite_groups(s)
    if s.eval is not None:
        groups |= _non_finite_groups(s.eval, "eval_")
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
    gsteps, grad = s.get("grad_norm")
    bad = ~np.isfinite(grad)
    warmup = (  # only grad_norm, only on the first few entries, then finite for good, loss finite
        all(names == ["grad_norm"] for names in groups.values())
        and bad.any() and not bad[SCALER_MAX_ENTRIES:].any() and bad.sum() < len(grad) - 1
    )  # fmt: skip
    if warmup:
        evidence += (f"; only grad_norm, only at the first {int(bad.sum())} logged step(s), then finite "
                     "with a finite loss: the fp16 loss scaler skipping its first steps")  # fmt: skip
        return finding(s, "non_finite", gsteps[bad][0], evidence, ["scaler_warmup"], severity="info")
    return finding(s, "non_finite", min(groups)[0], evidence)


@needs("grad_norm")
def zero_grad_norm(s: Series) -> Finding | None:
    steps, grad = s.finite("grad_norm")
    zero = grad <= ZERO_GRAD_TOL
    if not zero.any():
        return None
    evidence = f"grad_norm 0 at {int(zero.sum())} of {len(grad)} logged steps, first at step {steps[zero][0]}"
    lsteps, loss = s.finite("loss")
    solved = set(lsteps[loss < SATURATED_LOSS].tolist()) if s.sigmoid_loss else set()
    if not zero[0] and set(steps[zero].tolist()) <= solved:  # each one a batch whose pairs are all solved
        evidence += f", each at a batch whose loss is below {SATURATED_LOSS:g}: sigma(-margin) underflows"
        return finding(s, "zero_grad_norm", steps[zero][0], evidence, ["saturated"], severity="info")
    causes = None if zero[0] else ["saturated", "beta0", "frozen"]  # it worked at first: saturated
    return finding(s, "zero_grad_norm", steps[zero][0], evidence, causes)


def is_binary(acc: np.ndarray, pre_update_first: bool) -> bool:
    """rewards/accuracies only ever 0 or 1, each seen at least twice after the first update."""
    if len(acc) < BINARY_MIN_ENTRIES:
        return False
    ones, zeros = np.abs(acc - 1) <= BINARY_TOL, np.abs(acc) <= BINARY_TOL
    # before the first update every margin is 0, so that entry is 0 whatever the batch: leave it out;
    # a run that separates every pair after that logs only 1s (no flip-flop, no finding)
    later = slice(1, None) if pre_update_first else slice(None)
    return bool(np.all(ones | zeros)) and min(ones[later].sum(), zeros[later].sum()) >= BINARY_MIN_EACH


@needs("rewards/accuracies")
def binary_accuracies(s: Series) -> Finding | None:
    steps, acc = s.finite("rewards/accuracies")
    if not is_binary(acc, s.pre_update_first):
        return None
    zeros = int((np.abs(acc) <= BINARY_TOL).sum())
    evidence = (
        f"rewards/accuracies is 0 or 1 at all {len(acc)} logged steps ({zeros} zeros, "
        f"{len(acc) - zeros} ones): each logged value is one pair's verdict"
    )
    return finding(s, "binary_accuracies", steps[0], evidence)


@needs("logps/chosen", "rewards/margins")
def chosen_logps_falling(s: Series) -> Finding | None:
    (steps, chosen), (_, margin) = s.finite("logps/chosen"), s.finite("rewards/margins")
    if min(len(chosen), len(margin)) < TREND_MIN_ENTRIES:
        return None
    (c0, c1), (m0, m1) = start_end(chosen), start_end(margin)
    fall = max(
        CHOSEN_FALL_NATS, CHOSEN_FALL_FRACTION * abs(c0), CHOSEN_FALL_NOISE * float(late(chosen).std())
    )
    if not (c0 - c1 > fall and m1 > m0):
        return None
    evidence = (
        f"logps/chosen {c0:.3g} -> {c1:.3g} ({c1 - c0:+.3g} nats, {(c1 - c0) / abs(c0):+.0%}; first entry vs "
        f"mean of the last {WINDOW:.0%}) while rewards/margins rose {m0:.3g} -> {m1:.3g}"
    )
    return finding(s, "chosen_logps_falling", steps[chosen < c0 - fall][0], evidence)


@needs("rewards/margins")
def margin_explosion(s: Series) -> Finding | None:
    (steps, loss), (msteps, margin) = s.finite("loss"), s.finite("rewards/margins")
    if len(margin) < TREND_MIN_ENTRIES:
        return None
    m0, m1 = start_end(margin)
    saturated = s.sigmoid_loss and len(loss) >= TREND_MIN_ENTRIES and start_end(loss)[1] < SATURATED_LOSS
    if not ((saturated or m1 > HUGE_MARGIN) and m1 > m0):
        return None
    if saturated:
        evidence = (f"loss {start_end(loss)[1]:.2g} and rewards/margins {m1:.3g} over the last {WINDOW:.0%} "
                    f"of the log (margins {m0:.3g} at the first entry): pairs separated far beyond "
                    f"sigma(margin) = {1 - SATURATED_LOSS}")  # fmt: skip
        first = steps[loss < SATURATED_LOSS][0]
    else:
        evidence = (f"rewards/margins {m1:.3g} over the last {WINDOW:.0%} of the log ({m0:.3g} at the "
                    f"first entry): beyond {HUGE_MARGIN:g}, sigma(margin) = 0.99995")  # fmt: skip
        first = msteps[margin > HUGE_MARGIN][0]
    causes = ["overoptimised", "lr_or_epochs"] + (["zero_loss"] if np.any(loss == 0.0) else [])
    return finding(s, "margin_explosion", first, evidence, causes)


@needs("rewards/chosen", "rewards/rejected")
def both_rewards_falling(s: Series) -> Finding | None:
    (steps, chosen), (_, rejected) = s.finite("rewards/chosen"), s.finite("rewards/rejected")
    if min(len(chosen), len(rejected)) < TREND_MIN_ENTRIES:
        return None
    (c0, c1), (r0, r1) = start_end(chosen), start_end(rejected)
    margin = c1 - r1 if c1 > r1 else 0.0  # what the separation gained, in the same (beta) units
    noise = REWARD_FALL_NOISE * float(late(chosen).std()) / math.sqrt(len(late(chosen)))  # of c1
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
    return finding(s, "both_rewards_falling", first, evidence)


@needs("loss|rewards/chosen")
def step0_not_ln2(s: Series) -> Finding | None:
    if not s.pre_update_first:
        return None
    first = min(int(st[0]) for st, _ in s.values.values())
    at_first = {k: float(v[0]) for k in ("loss", "rewards/chosen", "rewards/rejected")
                for st, v in [s.get(k)] if len(v) and st[0] == first and np.isfinite(v[0])}  # fmt: skip
    rewards = {k: v for k, v in at_first.items() if k != "loss"}
    loss = at_first.get("loss") if s.sigmoid_loss else None  # another loss has another value at margin 0
    loss_off = loss is not None and abs(loss - LN2) > STEP0_LOSS_TOL
    if not (loss_off or any(abs(r) > STEP0_REWARD_TOL for r in rewards.values())):
        return None
    evidence = f"before any update (step {first})"
    if loss is not None:
        evidence += f" the loss is {loss:.6g}, not ln 2 = {LN2:.6f}"
    if rewards:
        evidence += (", " if loss is not None else " ") + ", ".join(
            f"{k} {r:.3g}" for k, r in rewards.items()
        )
        evidence += " (both 0 when the policy is the reference)"
    return finding(s, "step0_not_ln2", first, evidence)
