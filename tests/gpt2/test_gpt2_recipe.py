"""The experiment's settings per preset (dpo_teach.gpt2.recipe)."""

import dataclasses

import pytest

from dpo_teach.gpt2.recipe import DEFAULT_BETA, Sizes, sizes_for


def test_fast_sizes_are_a_smaller_run_of_the_same_experiment():
    full, fast = sizes_for("tiny", fast=False), sizes_for("tiny", fast=True)
    assert full == Sizes()
    for field in ("n_corpus", "sft_steps", "n_train_prompts", "n_eval_prompts", "dpo_steps"):
        assert 0 < getattr(fast, field) < getattr(full, field), field
    assert sizes_for("small", fast=True) == fast  # fast mode is a smoke run, whatever the preset


def test_small_preset_uses_paper_like_rates_and_bigger_batches():
    tiny, small = sizes_for("tiny", False), sizes_for("small", False)
    assert small.dpo_learning_rate < tiny.dpo_learning_rate and small.dpo_batch_size > tiny.dpo_batch_size
    assert small.dpo_warmup_steps > 0


def test_every_size_is_positive_and_beta_is_positive():
    assert DEFAULT_BETA > 0
    for preset in ("tiny", "base", "small"):
        for fast in (False, True):
            sizes = sizes_for(preset, fast)
            assert all(getattr(sizes, f.name) >= 0 for f in dataclasses.fields(sizes))
            assert sizes.dpo_steps > 0 and sizes.dpo_batch_size > 0 and sizes.n_corpus > 0


def test_base_preset_runs_the_tiny_recipe_with_lower_rates():
    tiny, base, small = (sizes_for(p, False) for p in ("tiny", "base", "small"))
    same = ("n_corpus", "sft_steps", "sft_batch_size", "n_train_prompts", "n_eval_prompts", "dpo_steps",
            "dpo_batch_size")  # fmt: skip
    assert all(getattr(base, f) == getattr(tiny, f) for f in same)
    assert small.sft_learning_rate < base.sft_learning_rate < tiny.sft_learning_rate
    assert small.dpo_learning_rate < base.dpo_learning_rate < tiny.dpo_learning_rate
    assert sizes_for("base", fast=True) == sizes_for("tiny", fast=True)


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("sft_steps", 0, "Sizes.sft_steps must be an integer >= 1"),
        ("dpo_batch_size", -1, "Sizes.dpo_batch_size must be an integer >= 1"),
        ("dpo_batch_size", 2.5, "Sizes.dpo_batch_size must be an integer >= 1"),
        ("n_corpus", True, "Sizes.n_corpus must be an integer >= 1"),
        ("dpo_warmup_steps", -1, "Sizes.dpo_warmup_steps must be an integer >= 0"),
        ("dpo_learning_rate", float("nan"), "Sizes.dpo_learning_rate must be a finite number > 0"),
        ("sft_learning_rate", 0.0, "Sizes.sft_learning_rate must be a finite number > 0"),
        ("sft_learning_rate", "3e-3", "Sizes.sft_learning_rate must be a finite number > 0"),
    ],
)
def test_u9_sizes_reject_bad_values_naming_the_field(field, value, words):
    """U9: every Sizes field is validated when the dataclass is built."""
    with pytest.raises(ValueError, match=words):
        Sizes(**{field: value})
