"""Every check of the doctor, in the order of :data:`~.advice.IDS`, and which of them a log lets run.

A check needs some metrics (its ``needs``: ``"a|b"`` is either); a log without them cannot be
checked for that symptom, and the report says so (``checks_not_run``) instead of counting it as
"did not fire". So does a check that needs an entry from before the first update, or DPO's
sigmoid loss, on a log that has neither.
"""

from __future__ import annotations

from . import detectors as d
from . import dynamics as y
from .advice import IDS
from .series import Finding, Series

__all__ = ["DETECTORS", "run_detectors", "missing_for"]

DETECTORS = (
    d.stuck_at_ln2, d.non_finite, d.zero_grad_norm, d.binary_accuracies, d.chosen_logps_falling,
    d.margin_explosion, d.both_rewards_falling, d.step0_not_ln2,
    y.zero_learning_rate, y.empty_completions, y.eval_loss_rising, y.loss_spikes, y.divergence,
    y.probe_eos_collapse, y.probe_kl_blowup,
)  # fmt: skip
assert tuple(f.__name__ for f in DETECTORS) == IDS
SIGMOID_ONLY = ("loss_spikes",)  # read the loss's size in nats against ln 2
ONE_ENTRY_OK = ("non_finite", "empty_completions")  # the checks a single (summary) entry allows


def _present(s: Series, key: str) -> bool:
    if key.startswith("eval_"):
        return s.eval is not None and s.eval.has(key.removeprefix("eval_"))
    return s.has(key)


def missing_for(detect, s: Series) -> tuple[list[str], str] | None:
    """``(missing keys, why)`` when ``detect`` cannot run on ``s``, else None."""
    missing = [k for k in detect.needs if not any(_present(s, alt) for alt in k.split("|"))]
    if missing:
        return missing, "the log has no " + " or ".join(" / ".join(k.split("|")) for k in missing)
    if detect.__name__ not in ONE_ENTRY_OK and len({int(x) for st, _ in s.values.values() for x in st}) < 2:
        return [], "a single entry (a summary): no per-step series to read"
    if detect.__name__ == "step0_not_ln2" and not s.pre_update_first:
        return [], "no entry was logged before the first update (log from step 0, or TRL's logging_steps=1)"
    if detect.__name__ in SIGMOID_ONLY and not s.sigmoid_loss:
        return [], "the loss is not DPO's sigmoid loss (Eq. 7), so its size in nats means something else"
    return None


def run_detectors(series: Series) -> tuple[list[Finding], list[dict]]:
    """``(findings, checks_not_run)``: the findings in the order of :data:`IDS`, and
    ``{"id", "missing", "reason"}`` for each check the log does not let run."""
    findings, not_run = [], []
    for detect in DETECTORS:
        why = missing_for(detect, series)
        if why is not None:
            not_run.append({"id": detect.__name__, "missing": why[0], "reason": why[1]})
            continue
        found = detect(series)
        if found is not None:
            findings.append(found)
    return findings, not_run
