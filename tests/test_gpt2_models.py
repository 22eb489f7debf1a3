"""Tokenizer, model presets, from_pretrained on a save_pretrained directory, sampling, evaluation."""

import copy

import pytest
import torch

from dpo_teach import evaluate, reviews
from dpo_teach.models import PRESETS, build_model, count_parameters, load_pretrained
from dpo_teach.sampling import sample_completions
from dpo_teach.tokenizer import train_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(reviews.corpus(500, seed=0))


def test_tokenizer_round_trips_and_splits_at_the_prompt_boundary(tokenizer):
    text = "the plot was not very clever but the cast is wonderful."
    ids = tokenizer.encode(text)
    assert tokenizer.decode(ids) == text
    assert len(ids) == 12  # about one token per word on this small grammar
    prompt, completion = "the plot was not very clever but the cast is", " wonderful."
    assert tokenizer.encode(prompt) + tokenizer.encode(completion) == ids
    assert tokenizer.pad_token_id == tokenizer.eos_token_id == tokenizer.bos_token_id
    assert tokenizer.decode(tokenizer.encode("zebra ✓")) == "zebra ✓"  # byte-level: anything encodes


def test_presets_have_the_advertised_shapes(tokenizer):
    tiny = build_model("tiny", tokenizer)
    assert tiny.config.n_layer == 2 and tiny.config.n_embd == 64
    assert tiny.config.vocab_size == len(tokenizer)
    assert count_parameters(tiny) < 200_000
    assert PRESETS["small"].n_layer == 12 and PRESETS["small"].n_embd == 768  # GPT-2 124M shape
    with pytest.raises(ValueError, match="unknown preset"):
        build_model("huge", tokenizer)


def test_from_pretrained_on_a_save_pretrained_directory(tokenizer, tmp_path):
    model = build_model("tiny", tokenizer, seed=3).eval()
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded, loaded_tok = load_pretrained(str(tmp_path))
    ids = torch.tensor([[tokenizer.bos_token_id] + tokenizer.encode("the film was great.")])
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids).logits, loaded.eval()(input_ids=ids).logits)
    assert loaded_tok.encode("the film was great.") == tokenizer.encode("the film was great.")
    with pytest.raises(ValueError, match="save_pretrained"):
        load_pretrained(str(tmp_path / "missing"))


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


def test_policy_equal_to_reference_has_zero_kl_and_chance_accuracy(tokenizer):
    ref = build_model("tiny", tokenizer, seed=0).eval()
    policy = copy.deepcopy(ref)
    metrics, samples = evaluate.evaluate_samples(
        policy, ref, tokenizer, ["the film was"] * 8, seed=0, max_new_tokens=8
    )
    assert metrics["kl_to_reference"] == pytest.approx(0.0, abs=1e-6)
    assert len(samples) == 8 and 0.0 <= metrics["valid_rate_policy"] <= 1.0
    pair = {"prompt_ids": [0, 5], "chosen_ids": [7, 0], "rejected_ids": [9, 0]}
    acc = evaluate.reward_accuracy(policy, ref, [pair] * 4, beta=0.5, pad_token_id=0)
    assert acc == {"reward_accuracy": 0.0, "reward_margin": 0.0}
