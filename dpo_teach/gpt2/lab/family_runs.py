r"""Every member of the DPO family trained on the tiny GPT-2 world from one SFT model and one set of
pairs (notebook 06): one call per member, one row of measurements per call.

:func:`member_settings` says at which beta and options each member runs, by rules stated in its
docstring (no member is tuned on the true reward); :func:`train_member` trains one member with
:class:`~dpo_teach.gpt2.trainer.DPOTrainer` and measures it on held-out data: implicit-reward
accuracy, the change of the held-out chosen and rejected log-probs, and the samples' true reward,
win rate, validity and KL to the reference (:func:`~dpo_teach.gpt2.evaluate.evaluate_samples`).
"""

from __future__ import annotations

import copy
import statistics
import time

import torch

from ..config import REFERENCE_FREE, DPOConfig
from ..evaluate import evaluate_samples, sample_and_judge
from ..logprobs import score_pairs
from ..recipe import DEFAULT_BETA
from ..trainer import DPOTrainer, precompute_ref_logps
from ..reviews import INVALID_REWARD
from .labels import completion_words

__all__ = ["SUMMED", "PER_TOKEN", "member_settings", "train_member", "mean_completion_tokens",
           "reference_samples", "train_ref_logps"]  # fmt: skip

# members whose beta multiplies summed log-ratios (DPO's scale), and those on per-token means
SUMMED = ("sigmoid", "cdpo", "robust", "hinge", "nca_pair", "bco_pair", "apo_zero", "apo_down", "dpop", "rpo")
PER_TOKEN = ("sigmoid_norm", "simpo")


def mean_completion_tokens(pairs) -> float:
    """The mean completion length, in tokens, over the chosen and rejected answers of ``pairs``."""
    return statistics.fmean(len(p[k]) for p in pairs for k in ("chosen_ids", "rejected_ids"))


def member_settings(dpo_margin: float, tokens: float, beta: float = DEFAULT_BETA) -> dict[str, dict]:
    r"""``{loss_type: {"beta": ..., option: value}}`` for every member, by three rules:

    - members on summed log-ratios run at DPO's ``beta`` (the recipe's, measured for DPO), with the
      papers' options: cDPO / robust label smoothing 0.1, RPO :math:`\alpha = 1`, DPOP
      :math:`\lambda = 50`;
    - members on per-token means (``sigmoid_norm``, ``simpo``) at ``beta * tokens``: dividing the
      log-ratios by a completion of ``tokens`` tokens divides the margin by it, so this keeps
      :math:`\beta \times` margin, the sigmoid's argument, on DPO's scale; SimPO's
      :math:`\gamma = 0.5` (the target gap in that argument, its paper's default);
    - IPO at the beta whose target :math:`1/(2\beta)` is ``dpo_margin``, the median summed held-out
      margin :math:`h` that DPO reached: IPO then regresses every pair onto what DPO achieved on
      average. ORPO has no beta; its :math:`\lambda = 0.1` (its paper's).
    """
    if not dpo_margin > 0:
        raise ValueError(f"dpo_margin must be > 0 (DPO's median held-out margin), got {dpo_margin!r}")
    settings = {name: {"beta": beta} for name in SUMMED}
    settings["cdpo"]["label_smoothing"] = settings["robust"]["label_smoothing"] = 0.1
    settings["rpo"]["rpo_alpha"], settings["dpop"]["dpop_lambda"] = 1.0, 50.0
    settings["ipo"] = {"beta": 1.0 / (2.0 * dpo_margin)}
    settings["sigmoid_norm"] = {"beta": beta * tokens}
    settings["simpo"] = {"beta": beta * tokens, "simpo_gamma": 0.5}
    settings["orpo"] = {"beta": beta, "orpo_lambda": 0.1}  # beta unused by ORPO (DPOConfig needs one)
    return settings


def reference_samples(ref_model, tokenizer, eval_prompts, seed: int = 0):
    """The reference's judged samples on ``eval_prompts``, as :func:`train_member` draws them: pass
    them as its ``ref_samples`` to sample the reference once for all members (same numbers)."""
    return sample_and_judge(ref_model, tokenizer, eval_prompts, seed=10_000 + seed)


def train_ref_logps(ref_model, train_pairs, pad_token_id: int, sizes):
    """The reference's log-probs of the training pairs, computed as each member's trainer would
    (same batches): pass them as :func:`train_member`'s ``train_logps`` to compute them once."""
    with torch.no_grad():
        return precompute_ref_logps(ref_model, train_pairs, pad_token_id, 4 * sizes.dpo_batch_size)


def _held_out_logps(model, pairs, pad_token_id):
    with torch.no_grad():
        return score_pairs(model, pairs, pad_token_id, batch_size=64, bf16=False)


def train_member(ref_model, tokenizer, train_pairs, eval_pairs, eval_prompts, loss_type: str, sizes, *,
                 seed: int = 0, ref_logps=None, ref_samples=None, train_logps=None,
                 **settings) -> dict:  # fmt: skip
    r"""Train ``loss_type`` from a copy of ``ref_model`` (the SFT model) with ``settings`` (``beta`` and
    the member's DPOConfig options) at ``sizes`` (:func:`~.recipe.sizes_for`); returns the row.

    ``ref_logps``: the reference's held-out ``(chosen, rejected)`` log-probs, and ``ref_samples``:
    its :func:`reference_samples`, and ``train_logps``: :func:`train_ref_logps`, to compute them
    once for all members. Row keys:
    ``loss_type``, the settings, ``reference`` (whether the member used one), ``reward_accuracy``
    (held-out pairs with :math:`h > 0`, summed log-ratios, the same yardstick for every member),
    ``margin_median`` (median held-out :math:`h`), ``chosen_logp_change`` and
    ``rejected_logp_change`` (mean held-out change vs the reference, nats), ``heldout_dpo_loss``
    (:math:`-\log\sigma(\beta h)` averaged over the held-out pairs, at the member's beta),
    ``chosen_fell`` (share
    of held-out pairs whose chosen log-prob fell), ``chosen_change`` (that change per held-out pair, a
    NumPy array), ``valid_but_worse`` / ``valid_but_better`` (share of prompts whose policy sample is a
    valid review scoring below / above the reference's on the same prompt), the sample metrics of
    :func:`~.evaluate.evaluate_samples`, ``words_policy`` and ``words_reference`` (mean words per
    sampled completion), ``train_seconds`` and ``history``.
    """
    pad = tokenizer.pad_token_id
    config = DPOConfig.from_sizes(sizes, seed, loss_type=loss_type, **settings)
    policy = copy.deepcopy(ref_model).requires_grad_(True)
    uses_reference = loss_type not in REFERENCE_FREE
    t = time.perf_counter()
    trainer = DPOTrainer(policy, ref_model if uses_reference else None, train_pairs, config, pad,
                         ref_logps=train_logps if uses_reference else None)  # fmt: skip
    history = trainer.train()
    seconds = time.perf_counter() - t
    policy.eval()
    ref_c, ref_r = ref_logps if ref_logps is not None else _held_out_logps(ref_model, eval_pairs, pad)
    pol_c, pol_r = _held_out_logps(policy, eval_pairs, pad)
    h = (pol_c - ref_c) - (pol_r - ref_r)
    sample_metrics, samples = evaluate_samples(policy, ref_model, tokenizer, eval_prompts, seed=10_000 + seed,
                                               reference_samples=ref_samples)  # fmt: skip
    return {
        "loss_type": loss_type,
        **settings,
        "reference": uses_reference,
        "reward_accuracy": float((h > 0).float().mean()),
        # the DPO loss on held-out pairs at this beta: what a practitioner can tune on
        "heldout_dpo_loss": float(-torch.nn.functional.logsigmoid(settings.get("beta", 1.0) * h).mean()),
        "margin_median": float(h.median()),
        "chosen_logp_change": float((pol_c - ref_c).mean()),
        "rejected_logp_change": float((pol_r - ref_r).mean()),
        "chosen_fell": float((pol_c < ref_c).float().mean()),
        **sample_metrics,
        # mean words per sampled completion (the grammar's unit of length; 07 §4's verbosity)
        "words_policy": statistics.fmean(completion_words(s["policy"]) for s in samples),
        "words_reference": statistics.fmean(completion_words(s["reference"]) for s in samples),
        # harm beyond validity: a valid review, but worse (better) than the reference's on the same prompt
        "valid_but_worse": statistics.fmean(INVALID_REWARD < x["policy_reward"] < x["reference_reward"]
                                            for x in samples),  # fmt: skip
        "valid_but_better": statistics.fmean(x["policy_reward"] > max(x["reference_reward"], INVALID_REWARD)
                                             for x in samples),  # fmt: skip
        "chosen_change": (pol_c - ref_c).numpy(),  # per held-out pair, nats (not recorded by the sweeps)
        "train_seconds": seconds,
        "history": history,
    }
