"""The fine-tune's data and evaluation stages for every input (:class:`~.real_world.Inputs`).

:func:`data_stage` gives the pairs DPO trains on and what the evaluation needs: for the review
world exactly the offline pipeline (:func:`~.stages.pairs_stage`, the true reward); for
``--prompts`` the prompt source's prompts, K completions judged by ``--reward-model``; for
``--dataset`` the dataset's pairs and a held-out share. :func:`evaluate_stage` measures the
policy: by the exact true reward in the review world (:mod:`.evaluate`), otherwise by the judge,
KL and the implicit reward (:mod:`.judged_eval`). :func:`sft_texts` gives SFT its texts.
"""

from __future__ import annotations

import dataclasses

__all__ = ["StageData", "prompt_source", "sft_texts", "data_stage", "evaluate_stage"]


@dataclasses.dataclass
class StageData:
    """What stage 3 hands on: token pairs to train on and to evaluate with, held-out prompts (with
    their token ids when they are not BOS + text, as a dataset's rendered prompts), the judge."""

    train_pairs: list
    eval_pairs: list
    eval_prompts: list
    eval_prompt_ids: list | None = None
    judge: object = None  # texts -> scores, or None
    train_prompts: list | None = None  # the prompts the pairs were sampled for (online DPO reuses them)


def prompt_source(inputs):
    """The :class:`~.prompts.PromptSource` of ``--prompts`` (None for the review world)."""
    from .hub.prompts import REVIEWS, load_prompt_source

    if inputs.prompts == REVIEWS or inputs.dataset is not None:
        return None
    return load_prompt_source(inputs.prompts, inputs.prompt_column, inputs.prompt_split,
                              inputs.prompts_config, inputs.max_rows)  # fmt: skip


def sft_texts(source, sizes, seed):
    """SFT texts: the prompt source's full texts (None: the review corpus, :func:`~.stages.sft_stage`)."""
    return None if source is None else source.sft_texts(sizes.n_corpus, seed)


def data_stage(run_dir, inputs, source, ref_model, tokenizer, sizes, seed, log, device="cpu") -> StageData:
    """Stage 3: the pairs (see the module docstring); ``run_dir`` keeps sampled pairs for a re-run."""
    from . import data
    from .hub.real_world import dataset_pairs, load_judge, max_length_for, pair_rows
    from .stages import pairs_stage

    max_length = max_length_for(inputs, ref_model)
    judge = load_judge(inputs, device) if inputs.reward_model else None
    if inputs.dataset is not None:
        log(f"[3/5] reading the preference dataset {inputs.dataset} (at most {max_length} tokens a "
            "sequence, keep start)")  # fmt: skip
        n_eval = sizes.n_eval_prompts
        (train, _), (held, prompts) = dataset_pairs(inputs, tokenizer, max_length, n_eval, seed, log)
        unique = {tuple(pair["prompt_ids"]): text for pair, text in zip(held, prompts)}  # each prompt once
        return StageData(train, held, list(unique.values()), [list(ids) for ids in unique], judge)
    if source is None:
        train_prompts, eval_prompts = data.split_prompts(sizes.n_train_prompts, sizes.n_eval_prompts, seed)
    else:
        train_prompts, eval_prompts = source.split(sizes.n_train_prompts, sizes.n_eval_prompts, seed,
                                                   tokenizer, inputs.prompt_tokens)  # fmt: skip
        log(f"      {len(train_prompts)} training and {len(eval_prompts)} held-out prompts from "
            f"{source.name}")  # fmt: skip
    label = None
    defaults = (inputs.completions_per_prompt, inputs.pairs, inputs.labeling) == (2, "all", "better")
    if judge is not None or not defaults:  # else the offline pipeline's own sampling and labels
        score = judge or load_judge(inputs)  # the true reward in the review world
        label = lambda prompts, s: pair_rows(ref_model, tokenizer, prompts, score, inputs, s, log)  # noqa: E731
    train, held = pairs_stage(run_dir, ref_model, tokenizer, train_prompts, eval_prompts, seed, log, label,
                              max_length)  # fmt: skip
    return StageData(train, held, eval_prompts, None, judge, train_prompts)


def evaluate_stage(inputs, stage: StageData, policy, ref_model, tokenizer, beta, seed, log):
    """Stage 5: ``(metrics, samples)`` on the held-out prompts and pairs."""
    from . import evaluate
    from .hub.judged_eval import evaluate_judged

    n = f"{len(stage.eval_prompts)} held-out prompts and {len(stage.eval_pairs)} pairs"
    if inputs.dataset is None and inputs.prompts == "reviews":  # the exact reward is known: it judges
        log(f"[5/5] evaluating on {n}")
        metrics = evaluate.reward_accuracy(policy, ref_model, stage.eval_pairs, beta, tokenizer.pad_token_id)
        sample_metrics, samples = evaluate.evaluate_samples(policy, ref_model, tokenizer, stage.eval_prompts,
                                                            seed=10_000 + seed)  # fmt: skip
        metrics.update(sample_metrics)
        return metrics, samples
    log(f"[5/5] evaluating on {n}: {'the judge, ' if stage.judge else ''}KL and the implicit reward")
    return evaluate_judged(policy, ref_model, tokenizer, stage.eval_prompts, stage.judge, stage.eval_pairs,
                           beta, stage.eval_prompt_ids, seed=10_000 + seed)  # fmt: skip
