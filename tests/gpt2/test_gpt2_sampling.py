"""Ancestral sampling with a KV cache (dpo_teach.gpt2.sampling)."""

from dpo_teach.gpt2.models import build_model
from dpo_teach.gpt2.sampling import sample_completions


def test_sampling_is_seeded_and_stops_at_eos(tokenizer):
    model = build_model("tiny", tokenizer, seed=0)
    prompts = [
        [tokenizer.bos_token_id] + tokenizer.encode(p) for p in ["the film was", "the plot is", "the cast"]
    ]
    eos = tokenizer.eos_token_id
    a = sample_completions(model, prompts, eos, max_new_tokens=6, seed=1)
    b = sample_completions(model, prompts, eos, max_new_tokens=6, seed=1)
    assert a == b and len(a) == 3
    for c in a:
        assert 1 <= len(c) <= 6 and (eos not in c[:-1])


def test_sampling_restores_train_mode_and_differs_across_seeds(tokenizer):
    model = build_model("tiny", tokenizer, seed=0).train()
    prompts = [[tokenizer.bos_token_id] + tokenizer.encode("the film was")] * 16
    a = sample_completions(model, prompts, tokenizer.eos_token_id, max_new_tokens=6, seed=1)
    assert model.training  # put back in the mode it came in
    b = sample_completions(model, prompts, tokenizer.eos_token_id, max_new_tokens=6, seed=2)
    assert a != b  # 16 samples of up to 6 tokens from a near-uniform model


def test_prompts_of_different_lengths_come_back_in_their_order(tokenizer):
    """Prompts are sampled in groups of equal length (shortest first), and each completion comes
    back at its prompt's position."""
    model = build_model("tiny", tokenizer, seed=0)
    eos = tokenizer.eos_token_id
    short, long = [tokenizer.bos_token_id, 5], [tokenizer.bos_token_id, 5, 6, 7]
    mixed = sample_completions(model, [short, long, short], eos, max_new_tokens=8, seed=0, batch_size=1)
    alone = sample_completions(model, [short, short], eos, max_new_tokens=8, seed=0, batch_size=1)
    assert [mixed[0], mixed[2]] == alone  # the short group is drawn first, in order


def test_sampling_uses_the_supported_cache_api_and_warns_nothing(tokenizer):
    """Issue 12: no FutureWarning about past_key_values (deprecated in transformers 5.24)."""
    import warnings

    model = build_model("tiny", tokenizer, seed=0)
    prompt = [[tokenizer.bos_token_id] + tokenizer.encode("the plot was")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sample_completions(model, prompt * 3, tokenizer.eos_token_id, max_new_tokens=6, seed=0)
