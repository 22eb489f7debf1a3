"""Evaluation of a policy against its reference (dpo_teach.gpt2.evaluate)."""

import copy

import pytest

from dpo_teach import torch_dpo as td
from dpo_teach.gpt2 import evaluate
from dpo_teach.gpt2.logprobs import score_pairs
from dpo_teach.gpt2.models import build_model
from helpers import PAD, tiny_gpt2, toy_pairs


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


def test_reward_accuracy_is_the_share_of_positive_margins():
    policy, ref = tiny_gpt2(seed=1).eval(), tiny_gpt2(seed=2).eval()
    pairs = toy_pairs(20, seed=5)
    got = evaluate.reward_accuracy(policy, ref, pairs, beta=0.5, pad_token_id=PAD)
    (pc, pr), (rc, rr) = (score_pairs(m, pairs, PAD) for m in (policy, ref))
    margins = td.margin(pc, pr, rc, rr, 0.5)
    assert 0 < got["reward_accuracy"] < 1  # two different random models disagree on some pairs
    assert got["reward_accuracy"] == pytest.approx(float((margins > 0).double().mean()))
    assert got["reward_margin"] == pytest.approx(float(margins.mean()), abs=1e-6)
    assert not policy.training and not ref.training
