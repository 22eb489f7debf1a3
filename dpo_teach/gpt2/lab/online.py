r"""Online (iterative) DPO: rounds of *sample from the current policy -> label -> DPO*.

Offline DPO (Sec. 6.1 of arXiv:2305.18290) samples every pair once, from :math:`\pi^\mathrm{SFT}`, and
trains on them: as the policy moves, the data describe answers it no longer writes, and answers it
now writes were never compared (off-policy data). Online DPO spends the same labelling budget in
rounds. Round :math:`t = 1..T`:

1. sample two completions for each of this round's prompts from the **current** policy
   :math:`\pi_{t-1}` (:math:`\pi_0 = \pi^\mathrm{SFT}`), label them by the true reward;
2. DPO on these pairs, continuing from :math:`\pi_{t-1}`'s weights, giving :math:`\pi_t`.

The reference stays :math:`\pi^\mathrm{SFT}` in every round: Eq. 3's objective
:math:`\mathbb{E}[r] - \beta\,\mathrm{KL}(\pi\,\|\,\pi_\mathrm{ref})` then has the same optimum
:math:`\pi^*` in every round, each round's data only sharpen the estimate of it, and the KL reported
is to the same model as the offline run's. With :math:`\pi_{t-1}` as the reference instead, the KL
budget would restart every round and :math:`T` rounds could drift :math:`T` times as far.

The budget matches one offline run: ``prompts`` and ``config.max_steps`` are totals, split as evenly
as possible over the rounds, so ``rounds=1`` *is* the offline run (same pairs, same steps, same
seeds, tested). :func:`online_stage` is the fine-tune's stage 4 under ``--rounds N``.
"""

from __future__ import annotations

import copy
import dataclasses
import statistics
from collections.abc import Sequence

from .. import data, evaluate, reviews
from ..config import DPOConfig
from ..trainer import DPOTrainer

__all__ = ["split_evenly", "check_rounds", "online_dpo", "format_round", "online_stage", "ROUND_SEED_STRIDE"]

ROUND_SEED_STRIDE = 100  # round t (0-based) samples with sample_seed + 100 t (and + 1)


def split_evenly(total: int, parts: int) -> list[int]:
    """``parts`` integers >= 0 summing to ``total``, differing by at most one (larger ones last)."""
    return [total * (i + 1) // parts - total * i // parts for i in range(parts)]


def check_rounds(rounds, n_prompts: int, max_steps: int) -> int:
    """``rounds`` as an int, or a ``ValueError`` saying why it cannot split this budget."""
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"rounds must be an integer >= 1, got {rounds!r}")
    if rounds > min(n_prompts, max_steps):
        raise ValueError(f"rounds={rounds} is more than the {n_prompts} prompts or {max_steps} DPO steps "
                         f"it splits: every round needs at least one of each; use fewer rounds")  # fmt: skip
    return rounds


def online_dpo(ref_model, tokenizer, prompts: Sequence[str], config: DPOConfig, rounds: int, *,
               sample_seed: int = 0, labeling: str = "better", eval_prompts=None, eval_pairs=None,
               eval_seed: int = 10_000, log=None):  # fmt: skip
    """Online DPO from ``ref_model`` (:math:`\\pi^\\mathrm{SFT}`, also the reference of every round).

    Returns ``(policy, records, history)``: the final policy; one dict per round with ``round``,
    ``n_prompts``, ``n_pairs``, ``steps``, the mean true reward of the round's chosen and rejected
    completions (``data_true_reward_chosen`` / ``_rejected``: the data moving with the policy) and,
    after the round's training, ``evaluate_samples``' metrics on ``eval_prompts`` (seed
    ``eval_seed``, the same reference samples every round) and, with ``eval_pairs``,
    ``reward_accuracy``; and the training history of all rounds, each row with its ``round`` and a
    ``step`` counted across rounds. ``config.max_steps`` and ``prompts`` are the totals."""
    rounds = check_rounds(rounds, len(prompts), config.max_steps)
    policy = copy.deepcopy(ref_model).requires_grad_(True)
    records, history, start, offset = [], [], 0, 0
    for t, (n_prompts, steps) in enumerate(zip(split_evenly(len(prompts), rounds),
                                               split_evenly(config.max_steps, rounds))):  # fmt: skip
        chunk = list(prompts[start : start + n_prompts])
        start += n_prompts
        # 1. sample from the current policy (round 1: the SFT model itself), label by the true reward
        rows = data.sample_preference_pairs(policy, tokenizer, chunk, sample_seed + ROUND_SEED_STRIDE * t,
                                            labeling=labeling)  # fmt: skip
        if not rows:
            raise ValueError(f"round {t + 1}: the {len(chunk)} prompts gave no pair with a preference "
                             "(every two samples tied); use more prompts or fewer rounds")  # fmt: skip
        # 2. DPO from the current weights, against the fixed SFT reference
        round_config = dataclasses.replace(config, max_steps=steps, output_dir=None)
        trainer = DPOTrainer(policy, ref_model, data.tokenize_pairs(rows, tokenizer), round_config,
                             tokenizer.pad_token_id)  # fmt: skip
        history += [{**h, "step": offset + h["step"], "round": t + 1} for h in trainer.train()]
        offset += steps
        record = {"round": t + 1, "n_prompts": n_prompts, "n_pairs": len(rows), "steps": steps}
        for side in ("chosen", "rejected"):
            record[f"data_true_reward_{side}"] = statistics.fmean(
                reviews.true_reward(r["prompt"] + r[side]) for r in rows
            )
        if eval_pairs is not None:
            record.update(evaluate.reward_accuracy(policy, ref_model, eval_pairs, config.beta,
                                                   tokenizer.pad_token_id))  # fmt: skip
        if eval_prompts is not None:
            record.update(evaluate.evaluate_samples(policy, ref_model, tokenizer, eval_prompts, eval_seed)[0])
        records.append(record)
        if log is not None:
            log(format_round(record))
    return policy, records, history


def online_stage(ref_model, tokenizer, train_prompts, eval_prompts, eval_pairs, sizes, beta, seed, rounds,
                 loss, log):  # fmt: skip
    """The fine-tune's stage 4 with ``--rounds N``: ``rounds`` rounds of sampling from the current
    policy, labelling by the true reward and DPO against the SFT reference, splitting the offline
    run's prompts and steps.
    Returns ``(policy, config, history, online)``; ``online`` holds the per-round records."""
    config = DPOConfig.from_sizes(sizes, seed, beta=beta, **(loss or {}))
    log(f"[4/5] online DPO: {rounds} rounds over {len(train_prompts)} prompts and {sizes.dpo_steps} steps "
        f"({sizes.dpo_batch_size} pairs a step, beta={beta}, loss {config.loss_type}; "
        "reference: the SFT model)")  # fmt: skip
    policy, records, history = online_dpo(ref_model, tokenizer, train_prompts, config, rounds,
                                          sample_seed=1000 * seed + 10, eval_prompts=eval_prompts,
                                          eval_pairs=eval_pairs, eval_seed=10_000 + seed,
                                          log=log)  # fmt: skip
    online = {"rounds": records, "reference": "the SFT model, every round",
              "sample_seed": 1000 * seed + 10}  # fmt: skip
    return policy, config, history, online


def format_round(record: dict) -> str:
    """One line per round: its data and, if evaluated, true reward, KL, validity and win rate."""
    line = (f"round {record['round']}: {record['n_pairs']} pairs from {record['n_prompts']} prompts, "
            f"{record['steps']} steps; chosen true reward "
            f"{record['data_true_reward_chosen']:+.3f}")  # fmt: skip
    if "true_reward_policy" in record:
        line += (f" | policy: true reward {record['true_reward_policy']:+.3f}, KL "
                 f"{record['kl_to_reference']:.3f}, valid {record['valid_rate_policy']:.1%}, win rate "
                 f"{record['win_rate_vs_reference']:.3f}")  # fmt: skip
    return line
