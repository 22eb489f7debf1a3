r"""Held-out evaluation of a DPO policy against its reference, judged by the exact true reward.

* implicit-reward accuracy: share of held-out pairs with :math:`\hat r_\theta(x, y_w) >
  \hat r_\theta(x, y_l)`, where :math:`\hat r_\theta = \beta\log\frac{\pi_\theta}{\pi_\mathrm{ref}}` (Sec. 5);
* true reward of samples from :math:`\pi_\mathrm{ref}` and from :math:`\pi_\theta`, and the
  win rate of policy over reference on the same prompts (ties count half), as in Sec. 6;
* :math:`\mathrm{KL}(\pi_\theta\,\|\,\pi_\mathrm{ref}) = \mathbb{E}_{y\sim\pi_\theta}
  [\log\pi_\theta(y\mid x) - \log\pi_\mathrm{ref}(y\mid x)]`, in nats per completion, estimated
  on the policy's own samples (the x-axis of the paper's Figure 2);
* the share of samples that are still sentences of the grammar: DPO can drive the loss down
  while the text collapses into gibberish, and only this number shows it.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import torch

from .. import torch_dpo as td
from . import reviews
from .data import encode_prompts
from .logprobs import score_completions, score_pairs
from .sampling import sample_completions

__all__ = ["sample_and_judge", "reward_accuracy", "kl_estimate", "evaluate_samples"]


def reward_accuracy(policy, ref_model, token_pairs, beta: float, pad_token_id: int) -> dict:
    r"""Implicit-reward accuracy (share of pairs with :math:`\hat r_w > \hat r_l`), mean margin and
    ``eval_loss``, the DPO loss (Eq. 7, sigmoid) on the tokenised held-out pairs at ``beta``: TRL's
    ``eval_loss``, the held-out signal a practitioner has for stopping and tuning."""
    # the same whole-dataset scoring loop as the reference precompute, for both models
    pol_c, pol_r = score_pairs(policy, token_pairs, pad_token_id, batch_size=64)
    ref_c, ref_r = score_pairs(ref_model, token_pairs, pad_token_id, batch_size=64)
    margins = td.margin(pol_c, pol_r, ref_c, ref_r, beta)  # $\hat r_w - \hat r_l$ per pair
    return {
        "reward_accuracy": float((margins > 0).float().mean()),
        "reward_margin": float(margins.mean()),
        "eval_loss": float(-torch.nn.functional.logsigmoid(margins).mean()),
    }


def _judge(prompt: str, text: str, finished: bool) -> tuple[float, bool]:
    """True reward and validity of prompt + completion; a completion cut off before EOS is invalid."""
    full = prompt + text
    valid = finished and reviews.is_valid(full)
    return (reviews.true_reward(full) if valid else reviews.INVALID_REWARD), valid


def sample_and_judge(model, tokenizer, prompts: Sequence[str], seed: int = 0, max_new_tokens: int = 32):
    """One sampled completion per prompt from ``model``, judged by the true reward:
    ``(completion ids, texts, rewards, valid flags)``, one entry per prompt."""
    eos = tokenizer.eos_token_id
    prompt_ids = encode_prompts(tokenizer, prompts)
    completions = sample_completions(model, prompt_ids, eos, max_new_tokens, seed=seed)
    texts = tokenizer.batch_decode(completions, skip_special_tokens=True)
    judged = [_judge(p, t, c[-1] == eos) for p, t, c in zip(prompts, texts, completions)]
    return completions, texts, [r for r, _ in judged], [v for _, v in judged]


def kl_estimate(log_ratio) -> dict:
    r"""KL(pi_theta || pi_ref) estimated from per-sample ``log_ratio`` = log pi_theta(y) - log pi_ref(y),
    y ~ pi_theta: ``kl_to_reference`` (the mean: unbiased, but negative when the KL is small next
    to the sampling noise), ``kl_to_reference_se`` (its standard error) and ``kl_n_samples``."""
    values = [float(v) for v in log_ratio]
    n = len(values)
    se = statistics.stdev(values) / n**0.5 if n > 1 else float("nan")
    return {"kl_to_reference": statistics.fmean(values), "kl_to_reference_se": se, "kl_n_samples": n}


def evaluate_samples(
    policy, ref_model, tokenizer, prompts: Sequence[str], seed: int = 0, max_new_tokens: int = 32,
    reference_samples=None,
) -> tuple[dict, list[dict]]:  # fmt: skip
    """Sample one completion per prompt from each model and judge them with the true reward.

    Returns ``(metrics, samples)``: metrics ``true_reward_reference``, ``true_reward_policy``,
    ``win_rate_vs_reference``, ``kl_to_reference`` (+ ``_se``, ``kl_n_samples``: :func:`kl_estimate`),
    ``valid_rate_reference``,
    ``valid_rate_policy``; samples are dicts with the prompt and both completions.
    ``reference_samples``: the reference's :func:`sample_and_judge` at ``seed`` on these prompts,
    to evaluate several policies against one reference without sampling it again (same result).
    """
    prompt_ids = encode_prompts(tokenizer, prompts)
    result = {
        "reference": reference_samples
        or sample_and_judge(ref_model, tokenizer, prompts, seed, max_new_tokens),
        "policy": sample_and_judge(policy, tokenizer, prompts, seed + 1, max_new_tokens),
    }
    pol_ids, pol_texts, pol_rewards, pol_valid = result["policy"]
    _, ref_texts, ref_rewards, ref_valid = result["reference"]
    # KL(pi_theta || pi_ref) on the policy's own samples: E[log pi_theta - log pi_ref]
    pad = tokenizer.pad_token_id
    log_ratio = score_completions(policy, prompt_ids, pol_ids, pad) - score_completions(
        ref_model, prompt_ids, pol_ids, pad
    )
    wins = [1.0 if p > r else 0.5 if p == r else 0.0 for p, r in zip(pol_rewards, ref_rewards)]
    metrics = {
        "true_reward_reference": statistics.fmean(ref_rewards),
        "true_reward_policy": statistics.fmean(pol_rewards),
        "win_rate_vs_reference": statistics.fmean(wins),
        **kl_estimate(log_ratio),
        "valid_rate_reference": statistics.fmean(ref_valid),
        "valid_rate_policy": statistics.fmean(pol_valid),
    }
    samples = [
        {"prompt": p, "reference": rt, "reference_reward": rr, "policy": pt, "policy_reward": pr}
        for p, rt, rr, pt, pr in zip(prompts, ref_texts, ref_rewards, pol_texts, pol_rewards)
    ]
    return metrics, samples
