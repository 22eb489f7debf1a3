r"""Notebook 06 §5 over seeds: every family member at the learning rate one rule picks per seed.

``results/family.json`` holds each member (``{"loss_type": NAME}``, the recipe's learning rate) and
the same member at every rate of :data:`~.experiments.FAMILY_RATES`, on seeds 0-4. Every member is
tuned alike, on what a practitioner has: on each seed, among the rates whose measured KL to the
reference is at most :data:`KL_LIMIT` nats, the best held-out implicit-reward accuracy
(:func:`~.tuning.pick` with :data:`~.tuning.ACCURACY` and :func:`~.tuning.kl_budget`). The true
reward chooses nothing; :func:`oracle_regret` shows once what choosing by it would have gained.

- :func:`member_candidates`: ``{learning rate: {seed: metrics}}`` of one member;
- :func:`picks`: ``{seed: learning rate}`` the rule picks for one member;
- :func:`picked`: ``record -> {seed: metric at the picked rate}``, a :class:`~.claims.Claim`'s side;
- :func:`family_rows` and :func:`family_table`: per member, each metric at the picked rates, per
  seed and as mean [95 % interval] over seeds, and the rates picked;
- :func:`oracle_regret`: per member and seed, the true reward the rule gave up against the rate
  the true reward itself would have picked.
"""

from __future__ import annotations

from collections.abc import Callable

from .stats import mean_interval
from .tuning import ACCURACY, candidates, kl_budget, pick, picked_values, regret

__all__ = ["RECIPE_RATE", "KL_LIMIT", "TABLE_METRICS", "member_candidates", "picks", "picked",
           "family_rows", "family_table", "oracle_regret"]  # fmt: skip

RECIPE_RATE = 5e-4  # the tiny recipe's DPO learning rate: the family's runs without a "learning_rate"
KL_LIMIT = 2.0  # nats: the budget within which held-out accuracy picks (see the module docstring)
TABLE_METRICS = {
    "reward_accuracy": "held-out h > 0",
    "chosen_logp_change": "chosen log-prob change",
    "true_reward_policy": "true reward",
    "win_rate_vs_reference": "win rate",
    "valid_rate_policy": "valid",
    "kl_to_reference": "KL",
}


def member_candidates(record: dict, member: str) -> dict[float, dict[int, dict]]:
    """``{learning rate: {seed: metrics}}`` of ``member``'s runs in a ``family`` record."""
    if not any(r["setting"].get("loss_type") == member for r in record["runs"]):
        raise ValueError(f"the record holds no run of {member!r}; run `python -m dpo_teach.sweep family`")
    cands = candidates(record, lambda s: s.get("learning_rate", RECIPE_RATE) if s.get("loss_type") == member
                       else None)  # fmt: skip
    return dict(sorted(cands.items()))  # ties go to the smallest rate


def picks(
    record: dict, member: str, signal: Callable = ACCURACY, limit: float | None = KL_LIMIT
) -> dict[int, float]:
    """``{seed: learning rate}``: the best ``signal`` among ``member``'s rates with KL <= ``limit``
    nats (``limit=None``: no budget), on each seed that has a run of every rate."""
    return pick(member_candidates(record, member), signal, kl_budget(limit) if limit is not None else None)


def picked(member: str, metric: str, signal: Callable = ACCURACY, limit: float | None = KL_LIMIT):
    """``record -> {seed: metric}`` of ``member`` at the rate :func:`picks` chooses on each seed
    (the ``a`` or ``b`` of a :class:`~.claims.Claim`)."""

    def values(record: dict) -> dict[int, float]:
        return picked_values(member_candidates(record, member), picks(record, member, signal, limit), metric)

    values.__doc__ = f"{metric} of {member} at its picked learning rate"
    return values


def family_rows(record: dict, members, metrics=TABLE_METRICS) -> dict[str, dict]:
    """``{member: {"picks": {seed: rate}, metric: {seed: value at the picked rate}, ...}}`` over the
    seeds that have a run of every rate (:func:`~.stats.mean_interval` of a metric's values gives
    its interval)."""
    rows = {}
    for member in members:
        chosen = picks(record, member)
        cands = member_candidates(record, member)
        rows[member] = {"picks": chosen} | {k: picked_values(cands, chosen, k) for k in metrics}
    return rows


def _cell(values: dict[int, float], digits: int) -> str:
    if len(values) < 2:  # one seed (fast mode's live sweep): the value, no interval
        return f"{next(iter(values.values())):.{digits}f}"
    iv = mean_interval(list(values.values()))
    return f"{iv.mean:.{digits}f} [{iv.low:.{digits}f}, {iv.high:.{digits}f}]"


def family_table(rows: dict[str, dict], metrics=TABLE_METRICS, digits: int = 2) -> str:
    """A Markdown table of :func:`family_rows`: each metric's mean [95 % t-interval] over seeds (the
    value alone for one seed), then the rates picked (``rate xN``: on N seeds) and the seed count."""
    head = "| loss | " + " | ".join(metrics.values()) + " | learning rates picked | seeds |"
    lines = [head, "|" + " --- |" * (len(metrics) + 3)]
    for member, row in rows.items():
        counts: dict[float, int] = {}
        for lr in row["picks"].values():
            counts[lr] = counts.get(lr, 0) + 1
        rates = ", ".join(f"{lr:g} x{n}" for lr, n in sorted(counts.items()))
        cells = " | ".join(_cell(row[k], digits) for k in metrics)
        lines.append(f"| `{member}` | {cells} | {rates} | {len(row['picks'])} |")
    return "\n".join(lines)


def oracle_regret(record: dict, members) -> dict[str, dict[int, float]]:
    """``{member: {seed: true reward of the oracle's rate - the rule's}}`` (>= 0): what picking each
    member's rate by the true reward, which no practitioner has, would have added."""
    out = {}
    for member in members:
        cands = member_candidates(record, member)
        out[member] = regret(cands, picks(record, member), "true_reward_policy")
    return out
