r"""Notebook 07's experiments over seeds: each a list of settings and one run of a setting on a world.

- ``displacement`` (07 §1 and its appendix): DPO at beta 2 (the recipe's), 0.5 and 0.25, and RPO
  and DPOP at the harmful 0.25, all at the recipe's learning rate: how much the held-out chosen
  answers lose, the *top* ones (true reward >= :data:`TOP_REWARD`) included, and what it costs in
  true reward, validity, and valid samples worse than the reference's.
- ``noise`` (07 §6): DPO, cDPO and robust DPO on clean labels and on 20 % flipped ones, each
  smoothing member at an *assumed* flip rate :math:`\epsilon` of 0.1, 0.2 or 0.3, right or wrong
  (a practitioner never knows the true rate). The flips are drawn per seed
  (:func:`~dpo_teach.gpt2.lab.labels.flip_labels` with the world's seed).
- ``length`` (07 §4): labels from a judge that adds :data:`LENGTH_BONUS` per word to the true
  reward, against DPO on the true labels; DPO, R-DPO's length term (``rdpo_alpha``), LD-DPO's
  down-weighted excess tokens (``ld_alpha``), length-normalised DPO at :math:`\beta\bar T`, and SimPO
  in its paper's ranges (:math:`\beta` 2-2.5, :math:`\gamma/\beta = 0.5`); every method at the
  recipe's learning rate with a small grid of its own knob. Training *and* held-out pairs carry the
  biased labels (a practitioner's validation split comes from the same labeller).
- ``overopt`` (07 §2): DPO at beta 0.25 and 2, each at the recipe's learning rate and a quarter of
  it, judged every
  :data:`EVERY` steps (held-out accuracy and ``eval_loss``, the true reward, KL, validity): which
  checkpoint each stopping signal picks, and what it is worth.
- ``online`` (07 §5): offline DPO against three rounds of online DPO on the same prompts and steps.
- ``weight`` (05 §8): DPO against the same update with its per-pair weight held at 1/2.

Every setting of a seed shares that seed's world (SFT model, prompts, held-out pairs, reference
samples): a difference between two settings on one seed is the settings' alone, so comparisons are
paired by seed (:mod:`.stats`).
"""

from __future__ import annotations

import copy

__all__ = ["DISPLACEMENT_BETAS", "TOP_REWARD", "LENGTH_BONUS", "EVERY", "NOISE_RATES", "displacement_settings",
           "noise_settings", "length_settings", "overopt_settings", "online_settings", "weight_settings",
           "run_displacement", "run_noise", "run_length", "run_overopt", "run_online", "run_weight"]  # fmt: skip

DISPLACEMENT_BETAS = (2.0, 0.5, 0.25)  # 07 §1: the recipe's beta, a benign and a harmful one
TOP_REWARD = 2.0  # a "top" chosen answer ("great", "very good", ...): true reward at least this
NOISE_RATES, ASSUMED = (0.0, 0.2), (0.1, 0.2, 0.3)  # true flip rates; the rates cDPO/robust assume
LENGTH_BONUS = 0.5  # the biased judge's reward per word of the completion (07 §4)
EVERY = 50  # overopt: steps between checkpoints
OVEROPT_BETAS, OVEROPT_RATES = (0.25, 2.0), (1.25e-4, 5e-4)  # 5e-4: the recipe's, tuned for beta 2
# SimPO's paper (arXiv:2405.14734) tunes beta in 2-2.5 (10 for one model) and gamma/beta in 0.3-0.8
SIMPO_BETAS, SIMPO_RATIOS, SIMPO_RATES = (2.0, 2.5), (0.5,), (1.25e-4, 2.5e-4)  # and the recipe's 5e-4
RDPO_ALPHAS, LD_ALPHAS = (0.5, 1.0), (0.5,)  # R-DPO's length weight (tokens); LD-DPO's weight of the excess


def displacement_settings(fast: bool) -> list[dict]:
    betas = DISPLACEMENT_BETAS[1:] if fast else DISPLACEMENT_BETAS
    harmful = DISPLACEMENT_BETAS[-1]
    return [{"loss_type": "sigmoid", "beta": b} for b in betas] + [
        {"loss_type": fix, "beta": harmful} for fix in ("rpo", "dpop")]


def noise_settings(fast: bool) -> list[dict]:
    assumed = ASSUMED[1:2] if fast else ASSUMED
    out = []
    for rate in NOISE_RATES:
        out.append({"flip_rate": rate, "loss_type": "sigmoid"})
        out += [
            {"flip_rate": rate, "loss_type": loss, "label_smoothing": e}
            for loss in ("cdpo", "robust")
            for e in assumed
        ]
    return out


def length_settings(fast: bool) -> list[dict]:
    if fast:
        return [
            {"labels": "true", "loss_type": "sigmoid"},
            {"loss_type": "sigmoid"},
            {"loss_type": "sigmoid", "rdpo_alpha": 0.5},
            {"loss_type": "sigmoid", "ld_alpha": 0.5},
        ]
    return (
        [{"labels": "true", "loss_type": "sigmoid"}, {"loss_type": "sigmoid"}]
        + [{"loss_type": "sigmoid", "rdpo_alpha": a} for a in RDPO_ALPHAS]
        + [{"loss_type": "sigmoid", "ld_alpha": a} for a in LD_ALPHAS]
        + [{"loss_type": "sigmoid_norm"}]
        + [{"loss_type": "simpo", "beta": b, "simpo_gamma": b * r} for b in SIMPO_BETAS for r in SIMPO_RATIOS]
        # SimPO has no reference and its paper trains at smaller learning rates than DPO: its own grid
        + [
            {"loss_type": "simpo", "beta": b, "simpo_gamma": b * r, "learning_rate": lr}
            for b in SIMPO_BETAS
            for r in SIMPO_RATIOS
            for lr in SIMPO_RATES
        ]
    )


def overopt_settings(fast: bool) -> list[dict]:
    betas, rates = (OVEROPT_BETAS[:1], OVEROPT_RATES[1:]) if fast else (OVEROPT_BETAS, OVEROPT_RATES)
    return [{"beta": b, "learning_rate": lr} for b in betas for lr in rates]


def weight_settings(fast: bool) -> list[dict]:
    return [{"loss_type": "sigmoid"}, {"loss_type": "sigmoid", "fixed_weight": 0.5}]


def run_weight(setting: dict, seed: int, fast: bool, world) -> dict:
    """DPO, or its update with the weight held at 1/2 (notebook 05 §8, the paper's Sec. 4 ablation)."""
    options = {k: v for k, v in setting.items() if k != "loss_type"}
    return _train(world, world.train_pairs, world.train_logps, setting["loss_type"], **options)


def online_settings(fast: bool) -> list[dict]:
    return [{"mode": "offline"}, {"mode": "online", "rounds": 3}]


def _train(world, pairs, train_logps, loss_type: str, held_out=None, **settings) -> dict:
    """:func:`~dpo_teach.gpt2.lab.family_runs.train_member` on ``world`` with training ``pairs`` (and
    ``held_out`` pairs instead of the world's, when given); the row without its per-step history
    (the runner leaves its per-pair ``chosen_change`` out of the record too)."""
    import dataclasses

    from ..gpt2.lab.family_runs import train_member
    from ..gpt2.recipe import DEFAULT_BETA

    sizes = world.sizes
    if "learning_rate" in settings:
        sizes = dataclasses.replace(sizes, dpo_learning_rate=settings.pop("learning_rate"))
    settings.setdefault("beta", DEFAULT_BETA)
    if settings.get("ld_alpha") is not None:  # LD-DPO weighs the reference's sums too: the trainer's own
        train_logps = None
    row = train_member(
        world.ref_model,
        world.tokenizer,
        pairs,
        world.eval_pairs if held_out is None else held_out,
        world.eval_prompts,
        loss_type,
        sizes,
        **world.member_kwargs()
        | {"train_logps": train_logps}
        | ({} if held_out is None else {"ref_logps": None}),
        **settings,
    )
    return {k: v for k, v in row.items() if k != "history"}


def _relabelled(world, key, make_rows):
    """``(pairs, reference log-probs)`` of relabelled training rows, made once per world and key."""
    from ..gpt2 import data
    from ..gpt2.lab.family_runs import train_ref_logps

    cache = world.__dict__.setdefault("relabelled", {})
    if key not in cache:
        rows = make_rows()
        pairs = data.tokenize_pairs(rows, world.tokenizer)
        cache[key] = (
            pairs,
            train_ref_logps(world.ref_model, pairs, world.tokenizer.pad_token_id, world.sizes),
            rows,
        )
    return cache[key]


def run_displacement(setting: dict, seed: int, fast: bool, world) -> dict:
    r"""``setting`` trained on the world's pairs; besides :func:`_train`'s row, the held-out chosen
    answers' change :math:`\Delta_w = \log\pi_\theta(y_w|x) - \log\pi_\mathrm{ref}(y_w|x)` on the
    *top* ones: ``top_chosen_logp_change`` (mean) and ``top_chosen_fell`` (share below 0), and
    ``n_top`` (how many held-out pairs have a top chosen answer)."""
    import numpy as np

    from ..gpt2 import reviews

    options = {k: v for k, v in setting.items() if k != "loss_type"}
    row = _train(world, world.train_pairs, world.train_logps, setting["loss_type"], **options)
    change = row.pop("chosen_change")
    top = np.array([reviews.true_reward(r["prompt"] + r["chosen"]) >= TOP_REWARD for r in world.eval_rows])
    if len(top) != len(change):
        raise ValueError(f"the world holds {len(top)} held-out text rows for {len(change)} held-out pairs")
    return row | {
        "n_top": int(top.sum()),
        "top_chosen_logp_change": float(change[top].mean()) if top.any() else None,
        "top_chosen_fell": float((change[top] < 0).mean()) if top.any() else None,
    }


def run_noise(setting: dict, seed: int, fast: bool, world) -> dict:
    from ..gpt2.lab.labels import flip_labels

    rate = setting["flip_rate"]
    pairs, logps, _ = _relabelled(
        world, ("flip", rate), lambda: flip_labels(world.train_rows, rate, seed=seed)[0]
    )
    options = {k: v for k, v in setting.items() if k not in ("flip_rate", "loss_type")}
    return _train(world, pairs, logps, setting["loss_type"], **options)


def run_length(setting: dict, seed: int, fast: bool, world) -> dict:
    import statistics

    from ..gpt2.lab import labels
    from ..gpt2.lab.family_runs import mean_completion_tokens
    from ..gpt2.recipe import DEFAULT_BETA

    options = {k: v for k, v in setting.items() if k not in ("labels", "loss_type")}
    if setting.get("labels") == "true":
        return _train(world, world.train_pairs, world.train_logps, setting["loss_type"], **options)

    def biased(prompts, offset):  # the fine-tune's sampling seeds (1000 s + 10 / + 20), the judge's labels
        return lambda: labels.sample_pairs_by(world.ref_model, world.tokenizer, prompts,
                                              seed=1000 * seed + offset,
                                              score=labels.length_biased(LENGTH_BONUS))  # fmt: skip

    pairs, logps, rows = _relabelled(world, "length", biased(world.train_prompts, 10))
    if setting["loss_type"] == "sigmoid_norm":  # on per-token means: beta * mean tokens keeps DPO's scale
        options.setdefault("beta", DEFAULT_BETA * mean_completion_tokens(pairs))
    held_out = _relabelled(world, "length held out", biased(world.eval_prompts, 20))[0]
    row = _train(world, pairs, logps, setting["loss_type"], held_out=held_out, **options)
    row["labels_longer_chosen"] = statistics.fmean(
        labels.completion_words(r["chosen"]) > labels.completion_words(r["rejected"]) for r in rows
    )
    return row


def run_overopt(setting: dict, seed: int, fast: bool, world) -> dict:
    """DPO at ``setting``'s beta and learning rate, evaluated at step 0, every :data:`EVERY` steps and
    at the end (:func:`~dpo_teach.gpt2.lab.trajectory.evaluate_along`): ``checkpoints`` (one dict
    per checkpoint, its history of training metrics left out) and the last checkpoint's metrics."""
    from ..gpt2.config import DPOConfig
    from ..gpt2.lab.trajectory import evaluate_along
    from ..gpt2.trainer import DPOTrainer

    sizes = world.sizes
    config = DPOConfig.from_sizes(sizes, seed, beta=setting["beta"], learning_rate=setting["learning_rate"])
    policy = copy.deepcopy(world.ref_model).requires_grad_(True)
    trainer = DPOTrainer(
        policy,
        world.ref_model,
        world.train_pairs,
        config,
        world.tokenizer.pad_token_id,
        ref_logps=world.train_logps,
    )
    every = max(sizes.dpo_steps // 4, 1) if fast else EVERY
    prompts = world.eval_prompts[: min(128, len(world.eval_prompts))]
    checkpoints = evaluate_along(
        trainer,
        world.ref_model,
        world.tokenizer,
        every,
        prompts,
        eval_pairs=world.eval_pairs,
        seed=10_000 + seed,
    )
    return {**checkpoints[-1], "checkpoints": checkpoints, "n_checkpoint_prompts": len(prompts)}


def run_online(setting: dict, seed: int, fast: bool, world) -> dict:
    """Offline DPO (the world's pairs) or ``rounds`` rounds of online DPO over the same prompts and
    steps (:func:`~dpo_teach.gpt2.lab.online.online_dpo`), judged on the same held-out prompts."""
    from ..gpt2.config import DPOConfig
    from ..gpt2.lab.online import online_dpo
    from ..gpt2.recipe import DEFAULT_BETA

    if setting["mode"] == "offline":
        return _train(world, world.train_pairs, world.train_logps, "sigmoid")
    sizes = world.sizes
    config = DPOConfig.from_sizes(sizes, seed, beta=DEFAULT_BETA)
    _, rounds, _ = online_dpo(
        world.ref_model,
        world.tokenizer,
        world.train_prompts,
        config,
        setting["rounds"],
        sample_seed=1000 * seed + 10,
        eval_prompts=world.eval_prompts,
        eval_pairs=world.eval_pairs,
        eval_seed=10_000 + seed,
    )
    return {**rounds[-1], "rounds": rounds}
