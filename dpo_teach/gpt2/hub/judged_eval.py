r"""Held-out evaluation where no exact reward is known: a judge's scores, KL and the implicit reward.

The review world can be judged exactly (:mod:`dpo_teach.gpt2.evaluate`). Real prompts (IMDb
prefixes, a hub dataset) cannot; what is measured instead, on held-out prompts and pairs:

* **win rate by the judge**: one completion per prompt from :math:`\pi_\mathrm{ref}` and one from
  :math:`\pi_\theta`, both scored by the judge (a reward model, :mod:`.judge`, applied to
  prompt + completion); the share of prompts where the policy's scores higher (ties count half),
  as Sec. 6 of arXiv:2305.18290 does with its classifier or GPT-4;
* **KL** :math:`\mathrm{KL}(\pi_\theta\,\|\,\pi_\mathrm{ref}) = \mathbb{E}_{y\sim\pi_\theta}
  [\log\pi_\theta(y\mid x) - \log\pi_\mathrm{ref}(y\mid x)]` in nats per completion, on the
  policy's own samples;
* **implicit-reward accuracy** on held-out preference pairs: the share with
  :math:`\hat r_\theta(x, y_w) > \hat r_\theta(x, y_l)` (Sec. 5), which needs no judge at all;
* the share of completions that end (EOS before ``max_new_tokens``) and their mean length in
  tokens: without a grammar these are the signs of collapse (runaway or truncated text) and of a
  judge rewarding length;
* a table of samples side by side (:func:`format_samples`).

A judge that is the policy's training signal is not an independent referee: its win rate says
how well DPO optimised that judge, not that the text got better (reward hacking); read it beside
the KL and the samples.
"""

from __future__ import annotations

import statistics
import textwrap
from collections.abc import Callable, Sequence

from ..data import encode_prompts
from ..evaluate import kl_estimate, reward_accuracy
from ..logprobs import max_positions, score_completions
from ..sampling import sample_completions

__all__ = ["evaluate_judged", "format_samples"]


def _usable(prompts, prompt_ids, limit):
    """The prompts (and ids) whose ids leave room for the completion, and how many did not."""
    keep = [i for i, ids in enumerate(prompt_ids) if limit is None or len(ids) <= limit]
    return [prompts[i] for i in keep], [list(prompt_ids[i]) for i in keep], len(prompts) - len(keep)


def evaluate_judged(
    policy,
    ref_model,
    tokenizer,
    prompts: Sequence[str],
    judge: Callable[[list[str]], Sequence[float]] | None = None,
    eval_pairs: Sequence[dict] | None = None,
    beta: float | None = None,
    prompt_ids: Sequence[Sequence[int]] | None = None,
    seed: int = 0,
    max_new_tokens: int = 32,
) -> tuple[dict, list[dict]]:
    """Sample one completion per held-out prompt from each model and measure them (module docstring).

    ``judge``: ``texts -> scores`` (e.g. :func:`~.judge.load_reward_model`); None skips the scores
    and the win rate. ``eval_pairs`` (token pairs) with ``beta``: the implicit-reward accuracy.
    ``prompt_ids``: the prompts' token ids (default BOS + prompt, as the pipeline's pairs); prompts
    too long to leave ``max_new_tokens`` positions are skipped and counted. Returns ``(metrics,
    samples)``; a sample holds the prompt, both completions and, with a judge, both scores.
    """
    if len(prompts) == 0:
        raise ValueError("no held-out prompts to evaluate on; pass at least one")
    if eval_pairs is not None and beta is None:
        raise ValueError("the implicit-reward accuracy on eval_pairs needs beta (the policy's)")
    ids = encode_prompts(tokenizer, prompts) if prompt_ids is None else prompt_ids
    if len(ids) != len(prompts):
        raise ValueError(f"got {len(prompts)} prompts but {len(ids)} prompt_ids; pass one per prompt")
    limit = max_positions(policy)
    prompts, ids, n_skipped = _usable(list(prompts), ids, None if limit is None else limit - max_new_tokens)
    if not prompts:
        raise ValueError(f"every held-out prompt is longer than {limit - max_new_tokens} tokens, leaving "
                         f"no room for {max_new_tokens} new ones in the model's {limit} positions; use "
                         "shorter prompts (e.g. --prompt-tokens) or fewer new tokens")  # fmt: skip
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    drawn = {}
    for name, model, s in (("reference", ref_model, seed), ("policy", policy, seed + 1)):
        completions = sample_completions(model, ids, eos, max_new_tokens, seed=s)
        drawn[name] = (completions, tokenizer.batch_decode(completions, skip_special_tokens=True))
    # KL(pi_theta || pi_ref) on the policy's own samples: E[log pi_theta - log pi_ref]
    pol_ids = drawn["policy"][0]
    log_ratio = score_completions(policy, ids, pol_ids, pad) - score_completions(ref_model, ids, pol_ids, pad)
    metrics = {"n_eval_prompts": len(prompts), "n_prompts_skipped_too_long": n_skipped,
               **kl_estimate(log_ratio)}  # fmt: skip  (mean, standard error, samples)
    for name, (completions, _) in drawn.items():
        metrics[f"finished_rate_{name}"] = statistics.fmean(bool(c) and c[-1] == eos for c in completions)
        metrics[f"mean_length_{name}"] = statistics.fmean(len(c) for c in completions)
    samples = [{"prompt": p, "reference": r, "policy": q}
               for p, r, q in zip(prompts, drawn["reference"][1], drawn["policy"][1])]  # fmt: skip
    if judge is not None:
        texts = [s["prompt"] + s[name] for name in ("reference", "policy") for s in samples]
        scores = [float(x) for x in judge(texts)]
        if len(scores) != len(texts):
            raise ValueError(f"the judge returned {len(scores)} scores for {len(texts)} texts; it must "
                             "return one score per text")  # fmt: skip
        ref_scores, pol_scores = scores[: len(samples)], scores[len(samples) :]
        for sample, r, q in zip(samples, ref_scores, pol_scores):
            sample["reference_score"], sample["policy_score"] = r, q
        wins = [1.0 if q > r else 0.5 if q == r else 0.0 for r, q in zip(ref_scores, pol_scores)]
        metrics.update({"judge_score_reference": statistics.fmean(ref_scores),
                        "judge_score_policy": statistics.fmean(pol_scores),
                        "win_rate_vs_reference": statistics.fmean(wins)})  # fmt: skip
    if eval_pairs is not None:
        metrics.update(reward_accuracy(policy, ref_model, eval_pairs, beta, pad))
    return metrics, samples


def format_samples(samples: Sequence[dict], n: int = 5, width: int = 100) -> str:
    """The first ``n`` samples as text: the prompt, then each model's completion (with its score
    when judged), wrapped to ``width`` characters."""
    lines = []
    for i, sample in enumerate(samples[:n]):
        lines.append(f"[{i}] prompt: {sample['prompt']!r}")
        for name in ("reference", "policy"):
            score = f" (score {sample[name + '_score']:+.3f})" if f"{name}_score" in sample else ""
            body = textwrap.shorten(repr(sample[name]), width=max(20, width - 16), placeholder=" ...'")
            lines.append(f"    {name:<9}{score}: {body}")
    return "\n".join(lines)
