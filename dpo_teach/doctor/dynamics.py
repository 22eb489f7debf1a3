"""The doctor's run-level checks: the learning rate, what was scored, held-out loss, spikes,
divergence, and the probe's samples (:class:`dpo_teach.callbacks.ProbeCallback`'s ``probe/*`` keys).

Like :mod:`.detectors`, each check reads a :class:`~.series.Series` and returns a
:class:`~.series.Finding` or None, its thresholds named below. Pure Python + NumPy.
"""

from __future__ import annotations

import numpy as np

from .detectors import LN2, is_binary, needs
from .series import WINDOW, Finding, Series, finding, late, start_end

__all__ = ["zero_learning_rate", "empty_completions", "eval_loss_rising", "loss_spikes", "divergence",
           "probe_eos_collapse", "probe_kl_blowup"]  # fmt: skip

# -- thresholds (each one a judgement; tests pin a firing and a quiet log on either side) --
ZERO_LR_SHARE = 0.5  # learning_rate exactly 0 at more than half the entries (a schedule ends at 0 once)
EVAL_MIN_ENTRIES = 3  # a held-out trend needs at least three evaluations
EVAL_RISE_NATS = 0.05  # the last eval loss above the lowest by more than this ...
EVAL_RISE_SHARE = 0.1  # ... and by more than 10 % of the lowest
SPIKE_WINDOW = 10  # a loss's running level: the median of the entries before it (up to 10)
SPIKE_NATS = 1.5  # a spike: a loss this far above its running level ...
SPIKE_MIN_LOSS = 2 * LN2  # ... and above 2 ln 2 (the batch's mean margin is negative)
SPIKE_MIN_COUNT = 3  # ... at least three times (one odd batch is not a pattern)
SPIKE_MIN_ENTRIES = 10
GRAD_JUMP = 10.0  # divergence: the late median grad_norm 10x the early median (first third) ...
GRAD_MIN_ENTRIES = 6
ACC_DROP = 0.25  # ... or smoothed accuracy falls this far below its peak, ending below ACC_LOW
ACC_LOW = 0.6
MARGIN_DROP_SHARE = 0.3  # ... or smoothed margins end below 30 % of a peak above MARGIN_PEAK_MIN
MARGIN_PEAK_MIN = 1.0
FALL_NOISE = 3.0  # ... each fall larger than 3 standard errors of (peak level - end level): the
# entries' own noise, read from step-to-step differences (a few pairs a step swing by tenths)
FALL_MIN_ENTRIES = 10  # ... and persistent: both levels are means of at least 10 entries (the last 20 %
# if more), the peak's window wholly before the end's. The peak of 3-entry means is a maximum over
# noisy points and so biased up, and a small-batch run's margins wander for several entries (a TRL
# run of 8 pairs a step: a 3-entry peak 1.09 and a 6-entry end 0.12 at 30 steps, 0.76 over the last 12
# of 60). A log of fewer than 20 entries has no room for both windows: only grad_norm can call it there.
# A fall that only the short windows show is reported as info: too short or noisy to call.
EOS_START_MIN = 0.3  # probe: at least 30 % of the samples ended at the first probe ...
EOS_COLLAPSE = 0.1  # ... and under 10 % (and under half the start) at the end
KL_BLOWUP_NATS = 5.0  # probe: KL to the reference above 5 nats over the late probes


@needs("learning_rate")
def zero_learning_rate(s: Series) -> Finding | None:
    steps, lr = s.finite("learning_rate")
    zero = lr == 0.0
    if not len(lr) or zero.sum() <= ZERO_LR_SHARE * len(lr):
        return None
    evidence = f"learning_rate exactly 0 at {int(zero.sum())} of {len(lr)} logged steps"
    if np.any(~zero):
        evidence += f" (largest {lr.max():.3g})"
    return finding(s, "zero_learning_rate", steps[zero][0], evidence)


@needs("logps/chosen", "logps/rejected")
def empty_completions(s: Series) -> Finding | None:
    (steps, chosen), (rsteps, rejected) = s.get("logps/chosen"), s.get("logps/rejected")
    both = np.intersect1d(steps[chosen == 0.0], rsteps[rejected == 0.0])
    if not len(both):
        return None
    evidence = (f"logps/chosen and logps/rejected exactly 0.0 at {len(both)} of {len(chosen)} logged "
                "steps: a sum over no token (a real completion has a log-prob below 0)")  # fmt: skip
    severity = "error" if len(both) * 2 > len(chosen) else "warning"
    return finding(s, "empty_completions", both[0], evidence, severity=severity)


@needs("eval_loss", "loss")
def eval_loss_rising(s: Series) -> Finding | None:
    esteps, eloss = s.eval.finite("loss")
    steps, loss = s.finite("loss")
    if len(eloss) < EVAL_MIN_ENTRIES or len(loss) < 2:
        return None
    best = int(np.argmin(eloss))
    rise = float(eloss[-1] - eloss[best])
    if best == len(eloss) - 1 or rise <= max(EVAL_RISE_NATS, EVAL_RISE_SHARE * abs(eloss[best])):
        return None
    after = loss[steps > esteps[best]]
    before = loss[steps <= esteps[best]]
    if not len(after) or not len(before) or late(after).mean() >= before.mean():
        return None  # the training loss did not fall meanwhile: not over-fitting
    evidence = (f"eval_loss lowest {eloss[best]:.3g} at step {esteps[best]}, then up to {eloss[-1]:.3g} at "
                f"step {esteps[-1]} ({len(eloss)} evaluations), while the training loss fell "
                f"{before.mean():.3g} -> {late(after).mean():.3g}")  # fmt: skip
    return finding(s, "eval_loss_rising", esteps[best + 1], evidence)


@needs("loss")
def loss_spikes(s: Series) -> Finding | None:
    steps, loss = s.finite("loss")
    if not s.sigmoid_loss or len(loss) < SPIKE_MIN_ENTRIES:
        return None
    if is_binary(s.finite("rewards/accuracies")[1], s.pre_update_first):
        return None  # one pair a step: a loss of several nats is one pair's, not a spike
    level = np.array([np.median(loss[max(0, i - SPIKE_WINDOW) : i]) for i in range(1, len(loss))])
    spike = np.concatenate([[False], (loss[1:] > level + SPIKE_NATS) & (loss[1:] > SPIKE_MIN_LOSS)])
    if spike.sum() < SPIKE_MIN_COUNT:
        return None
    evidence = (f"{int(spike.sum())} of {len(loss)} logged losses more than {SPIKE_NATS:g} nats above the "
                f"median of the {SPIKE_WINDOW} before them (largest {loss[spike].max():.3g}, median of "
                f"the run {np.median(loss):.3g})")  # fmt: skip
    zero = int((loss == 0.0).sum())
    if zero:
        evidence += f"; {zero} losses exactly 0.0 in between"
    causes = ["overconfident", "bad_batches"] + (["zero_loss"] if zero else [])
    return finding(s, "loss_spikes", steps[spike][0], evidence, causes)


def _smooth(vals: np.ndarray, k: int) -> np.ndarray:
    return np.convolve(vals, np.ones(k) / k, mode="valid")


def _fall(vals: np.ndarray, fell, width: int, end_width: int):
    """``(peak, end, peak_index)`` when ``vals`` rose to a peak (the largest mean of ``width``
    entries, wholly before the last ``end_width``) and then fell to the mean of the last
    ``end_width`` entries, by ``fell(peak, end)`` and beyond the entries' noise; else None."""
    if len(vals) < width + end_width:
        return None  # no room for a peak before the end window
    smooth = _smooth(vals[: len(vals) - end_width], width)
    at = int(np.argmax(smooth))
    peak, end = float(smooth[at]), float(vals[-end_width:].mean())
    noise = float(np.std(np.diff(vals))) / np.sqrt(2)  # one entry's noise, a trend aside
    if fell(peak, end) and peak - end > FALL_NOISE * noise * np.sqrt(1 / width + 1 / end_width):
        return peak, end, at
    return None


@needs("grad_norm|rewards/accuracies|rewards/margins")
def divergence(s: Series) -> Finding | None:
    if not np.all(np.isfinite(s.get("loss")[1])):
        return None  # NaN already: non_finite says it
    signs, short = [], []
    gsteps, grad = s.finite("grad_norm")
    if len(grad) >= GRAD_MIN_ENTRIES:
        early, end = float(np.median(grad[: len(grad) // 3])), float(np.median(late(grad)))
        if early > 0 and end > GRAD_JUMP * early:
            jump = gsteps[len(grad) // 3 :][grad[len(grad) // 3 :] > GRAD_JUMP * early]
            signs.append((int(jump[0]), f"grad_norm median {early:.3g} over the first third, {end:.3g} "
                                        f"over the last {WINDOW:.0%}"))  # fmt: skip
    for name, fell in (
        ("rewards/accuracies", lambda p, e: p - e > ACC_DROP and e < ACC_LOW),
        ("rewards/margins", lambda p, e: p > MARGIN_PEAK_MIN and e < MARGIN_DROP_SHARE * p),
    ):
        steps, vals = s.finite(name)
        if len(vals) < 2 * GRAD_MIN_ENTRIES or is_binary(
            s.finite("rewards/accuracies")[1], s.pre_update_first
        ):
            continue  # too few, or one pair a step: its curves are one pair's noise
        n_end = max(FALL_MIN_ENTRIES, len(late(vals)))
        lasting = _fall(vals, fell, n_end, n_end)
        if lasting:
            peak, end, at = lasting
            signs.append((int(steps[at]), f"{name} rose to {peak:.3g} (mean of {n_end} entries from step "
                                          f"{steps[at]}), then fell to {end:.3g} (mean of the last "
                                          f"{n_end})"))  # fmt: skip
            continue
        k, n_late = max(3, len(vals) // 10), len(late(vals))
        brief = _fall(vals, fell, k, n_late)  # the short windows only
        if brief:
            peak, end, at = brief
            short.append((int(steps[at]), f"{name} rose to {peak:.3g} (mean of {k} entries), then fell to "
                                          f"{end:.3g} over the last {n_late} entries, but means of {n_end} "
                                          "entries do not show the fall"))  # fmt: skip
    if signs:
        return finding(s, "divergence", min(st for st, _ in signs), "; ".join(text for _, text in signs))
    if not short:
        return None
    evidence = "; ".join(text for _, text in short) + (
        f": too short or noisy to call a divergence (a fall must hold over {FALL_MIN_ENTRIES} or more "
        "logged entries); a few pairs a step make margins and accuracy wander for several steps"
    )
    f = finding(s, "divergence", min(st for st, _ in short), evidence, ["batch_noise", "unstable"], "info")
    f.fix = (
        "nothing to do yet: train or log longer (or more pairs a step) and read the doctor again; a "
        "divergence stays down"
    )
    return f


@needs("probe/eos_rate")
def probe_eos_collapse(s: Series) -> Finding | None:
    steps, eos = s.finite("probe/eos_rate")
    if len(eos) < 2:
        return None
    e0, e1 = float(eos[0]), float(late(eos).mean())
    if not (e0 >= EOS_START_MIN and e1 < EOS_COLLAPSE and e1 < e0 / 2):
        return None
    evidence = f"probe/eos_rate {e0:.0%} at the first probe, {e1:.0%} at the end: samples stop ending"
    return finding(s, "probe_eos_collapse", steps[eos < EOS_COLLAPSE][0], evidence)


@needs("probe/kl")
def probe_kl_blowup(s: Series) -> Finding | None:
    steps, kl = s.finite("probe/kl")
    if len(kl) < 2:
        return None
    k0, k1 = start_end(kl)
    if not (k1 > KL_BLOWUP_NATS and k1 > k0):
        return None
    _, se = s.finite("probe/kl_se")
    evidence = f"probe/kl {k0:.3g} -> {k1:.3g} nats (mean of the last {WINDOW:.0%})"
    if len(se):
        evidence += f", standard error {se[-1]:.2g}"
    first = steps[kl > KL_BLOWUP_NATS][0] if np.any(kl > KL_BLOWUP_NATS) else steps[-1]
    return finding(s, "probe_kl_blowup", first, evidence + f": above {KL_BLOWUP_NATS:g} nats")
