r"""A DPO run judged along the way: checkpoints every N steps, each against the true reward.

The paper's Figure 2 plots reward against :math:`\mathrm{KL}(\pi_\theta\,\|\,\pi_\mathrm{ref})` over
several runs; over-optimisation shows *within* one run, as the checkpoints walk out along the KL
axis and the true reward first rises, then falls while the DPO loss keeps falling.
:func:`evaluate_along` trains a :class:`~.trainer.DPOTrainer` in stretches (``train(until=...)``,
the same steps as one call) and evaluates the policy after each stretch.
"""

from __future__ import annotations

import statistics

from .. import evaluate

__all__ = ["evaluate_along", "TRAIN_KEYS"]

# the training-batch metrics summarised per stretch (TRL's names): their mean over the stretch
TRAIN_KEYS = ("loss", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected")


def evaluate_along(trainer, ref_model, tokenizer, every: int, eval_prompts, eval_pairs=None,
                   seed: int = 10_000) -> list[dict]:  # fmt: skip
    """Train ``trainer`` to its ``max_steps``, evaluating at step 0 and after every ``every`` steps
    (and at the end). Each checkpoint is a dict: ``step``; ``evaluate_samples``' metrics on
    ``eval_prompts`` (sampling ``seed``: the same reference samples at every checkpoint); with
    ``eval_pairs``, the held-out ``reward_accuracy`` and ``reward_margin``; and ``train/<name>``, the
    mean of the training metric over the steps since the last checkpoint (absent at step 0)."""
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be an integer >= 1 (steps between checkpoints), got {every!r}")
    pad, beta = tokenizer.pad_token_id, trainer.config.beta
    checkpoints, previous = [], None
    while True:
        step = trainer.step
        point = {"step": step}
        since = [h for h in trainer.history if previous is not None and previous <= h["step"] < step]
        for key in TRAIN_KEYS if since else ():
            point[f"train/{key}"] = statistics.fmean(h[key] for h in since)
        metrics, _ = evaluate.evaluate_samples(trainer.policy, ref_model, tokenizer, eval_prompts, seed=seed)
        point.update(metrics)
        if eval_pairs is not None:
            point.update(evaluate.reward_accuracy(trainer.policy, ref_model, eval_pairs, beta, pad))
        checkpoints.append(point)
        if step >= trainer.config.max_steps:
            return checkpoints
        previous = step
        trainer.train(until=min(step + every, trainer.config.max_steps))
