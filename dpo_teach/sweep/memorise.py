r"""Notebook 07 §3 over seeds: DPO on a few pairs seen many times, judged along the way.

``memorise``: the recipe's DPO (:math:`\beta = 2`, its learning rate and steps) on the first
:data:`MEMORISE_PAIRS` training pairs of the seed's world, evaluated at step 0 and every
:data:`MEMORISE_EVERY` steps (:func:`~dpo_teach.gpt2.lab.trajectory.evaluate_along`: held-out
accuracy, the true reward, validity). It records what the training log shows
(``second_half_all_right``: the share of the second half's steps whose batch accuracy is exactly 1)
beside what it hides (the held-out accuracy and the samples). Seed 0 is the notebook's own run.
"""

from __future__ import annotations

import copy
import statistics

__all__ = ["MEMORISE_PAIRS", "MEMORISE_EVERY", "memorise_settings", "run_memorise"]

MEMORISE_PAIRS, MEMORISE_EVERY = 64, 100  # 07 §3: 64 pairs; a checkpoint every 100 steps


def memorise_settings(fast: bool) -> list[dict]:
    return [{"n_pairs": 16 if fast else MEMORISE_PAIRS}]


def run_memorise(setting: dict, seed: int, fast: bool, world) -> dict:
    """The run on ``world``'s first ``n_pairs`` pairs: ``checkpoints`` (one dict each), the last
    checkpoint's metrics, ``best_heldout_accuracy`` over the checkpoints, ``final_loss`` and
    ``second_half_all_right``."""
    from ..gpt2.config import DPOConfig
    from ..gpt2.lab.trajectory import evaluate_along
    from ..gpt2.recipe import DEFAULT_BETA
    from ..gpt2.trainer import DPOTrainer

    sizes = world.sizes
    config = DPOConfig.from_sizes(sizes, seed, beta=DEFAULT_BETA)
    policy = copy.deepcopy(world.ref_model).requires_grad_(True)
    pairs = world.train_pairs[: setting["n_pairs"]]
    trainer = DPOTrainer(policy, world.ref_model, pairs, config, world.tokenizer.pad_token_id)
    every = max(sizes.dpo_steps // 3, 1) if fast else MEMORISE_EVERY
    prompts = world.eval_prompts[: min(128, len(world.eval_prompts))]
    checkpoints = evaluate_along(trainer, world.ref_model, world.tokenizer, every, prompts,
                                 eval_pairs=world.eval_pairs, seed=10_000 + seed)  # fmt: skip
    accuracies = [h["rewards/accuracies"] for h in trainer.history]
    second_half = accuracies[-(len(accuracies) // 2) :]
    return {
        **checkpoints[-1],
        "checkpoints": checkpoints,
        "best_heldout_accuracy": max(c["reward_accuracy"] for c in checkpoints),
        "final_loss": trainer.history[-1]["loss"],
        "second_half_all_right": statistics.fmean(a == 1.0 for a in second_half),
    }
