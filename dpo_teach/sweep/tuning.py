r"""Choosing a setting per seed from what a practitioner can measure, and what that choice costs.

A sweep's record holds, for each candidate setting (a learning rate, a :math:`\beta`, ...) and seed,
the held-out preference metrics (``reward_accuracy``, ``heldout_dpo_loss``), the KL to the reference
(measured on the policy's samples: no reward needed) and the true reward, which a practitioner
never has. :func:`pick` chooses one candidate per seed by a *signal* (a function of the measurable
metrics) among the candidates a *budget* allows; :func:`regret` says how much true reward that
choice gave up against the candidate the true reward itself would have chosen (the oracle, which
is shown once as a lesson, never used to choose).

Signals here: :data:`ACCURACY` (held-out implicit-reward accuracy; the same yardstick for every
member and every :math:`\beta`), :data:`HELDOUT_LOSS` (lower is better; comparable across learning
rates at one :math:`\beta`, not across :math:`\beta`: at a larger :math:`\beta` the same log-ratios
give a lower loss) and :data:`TRUE_REWARD` (the oracle).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

__all__ = ["ACCURACY", "HELDOUT_LOSS", "TRUE_REWARD", "candidates", "pick", "picked_values", "regret",
           "kl_budget"]  # fmt: skip

Metrics = Mapping[str, float]
ACCURACY: Callable[[Metrics], float] = lambda m: m["reward_accuracy"]  # noqa: E731
HELDOUT_LOSS: Callable[[Metrics], float] = lambda m: -m["heldout_dpo_loss"]  # noqa: E731  (higher is better)
TRUE_REWARD: Callable[[Metrics], float] = lambda m: m["true_reward_policy"]  # noqa: E731


def candidates(record: dict, label: Callable[[dict], object | None]) -> dict[object, dict[int, dict]]:
    """``{label: {seed: metrics}}`` over the record's runs; ``label(setting)`` names a run's candidate
    (None leaves the run out), e.g. ``lambda s: s.get("learning_rate", 5e-4)``."""
    out: dict[object, dict[int, dict]] = {}
    for r in record["runs"]:
        key = label(r["setting"])
        if key is not None:
            out.setdefault(key, {})[r["seed"]] = r["metrics"]
    return out


def kl_budget(limit: float) -> Callable[[Metrics], bool]:
    """A budget: only candidates whose measured KL to the reference is at most ``limit`` nats."""
    if not limit > 0:
        raise ValueError(f"a KL budget must be > 0 nats, got {limit!r}")
    return lambda m: m["kl_to_reference"] <= limit


def pick(cands: Mapping[object, Mapping[int, Metrics]], signal: Callable[[Metrics], float],
         budget: Callable[[Metrics], bool] | None = None) -> dict[int, object]:  # fmt: skip
    """``{seed: label}``: on each seed every candidate has, the label with the highest ``signal`` among
    those within ``budget`` (all of them when none is within it: the budget then cannot decide, and
    the signal alone does). Ties go to the first label in ``cands``' order."""
    seeds = sorted(set.intersection(*(set(runs) for runs in cands.values()))) if cands else []
    if not seeds:
        raise ValueError("no seed has a run of every candidate; run the sweep first")
    picks = {}
    for seed in seeds:
        labels = [k for k in cands if budget is None or budget(cands[k][seed])] or list(cands)
        picks[seed] = max(labels, key=lambda k: signal(cands[k][seed]))
    return picks


def picked_values(cands, picks: Mapping[int, object], metric: str) -> dict[int, float]:
    """``{seed: metric of the picked candidate}``: the input of :func:`~.stats.mean_interval` or,
    for two rules on the same seeds, :func:`~.stats.paired_difference`."""
    return {seed: cands[label][seed][metric] for seed, label in picks.items()}


def regret(cands, picks: Mapping[int, object], metric: str = "true_reward_policy") -> dict[int, float]:
    """``{seed: best metric over all candidates - the picked candidate's}`` (>= 0; 0 = the oracle's pick)."""
    return {seed: max(runs[seed][metric] for runs in cands.values()) - cands[label][seed][metric]
            for seed, label in picks.items()}  # fmt: skip
