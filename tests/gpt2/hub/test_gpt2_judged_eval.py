"""Evaluation without the exact reward (dpo_teach.gpt2.hub.judged_eval): a judge's win rate, KL, the
implicit-reward accuracy and a table of samples, on a tiny random GPT-2 and classifier saved as
stand-ins for a hub checkpoint and a sentiment model."""

import copy

import pytest
import torch
from stand_ins import save_causal_lm, save_classifier

from dpo_teach.gpt2.data import encode_prompts, tokenize_pairs
from dpo_teach.gpt2.hub.judge import load_reward_model
from dpo_teach.gpt2.hub.judged_eval import evaluate_judged, format_samples

PROMPTS = ["the film was", "the plot seemed", "the acting felt", "i thought the music", "overall it"]


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/gpt2/conftest.py


@pytest.fixture(scope="module")
def models(tokenizer, tmp_path_factory):
    torch.set_num_threads(1)
    ref = save_causal_lm(tokenizer, tmp_path_factory.mktemp("lm")).eval()
    policy = copy.deepcopy(ref)
    with torch.no_grad():  # a policy that moved away from the reference
        policy.transformer.wte.weight.mul_(3.0)
    return ref, policy


def length(texts):
    """A judge that likes long texts."""
    return [len(t) for t in texts]


def test_the_judge_decides_the_win_rate_and_the_table_shows_its_scores(tokenizer, models):
    ref, policy = models
    metrics, samples = evaluate_judged(policy, ref, tokenizer, PROMPTS, length, seed=3, max_new_tokens=6)
    assert [s["prompt"] for s in samples] == PROMPTS and metrics["n_eval_prompts"] == 5
    for s in samples:  # the judge saw prompt + completion
        assert s["reference_score"] == len(s["prompt"] + s["reference"])
        assert s["policy_score"] == len(s["prompt"] + s["policy"])
    diffs = [s["policy_score"] - s["reference_score"] for s in samples]
    wins = [1.0 if d > 0 else 0.5 if d == 0 else 0.0 for d in diffs]
    assert metrics["win_rate_vs_reference"] == pytest.approx(sum(wins) / 5)
    assert metrics["judge_score_policy"] == pytest.approx(sum(s["policy_score"] for s in samples) / 5)
    assert metrics["kl_to_reference"] > 0.0  # the policy moved (an estimate, but far from zero here)
    for name in ("reference", "policy"):
        assert 0.0 <= metrics[f"finished_rate_{name}"] <= 1.0 and 1 <= metrics[f"mean_length_{name}"] <= 6
    again, _ = evaluate_judged(policy, ref, tokenizer, PROMPTS, length, seed=3, max_new_tokens=6)
    assert again == metrics  # seeded
    table = format_samples(samples, n=2)
    assert table.count("prompt:") == 2 and "(score +" in table and repr(PROMPTS[1]) in table


def test_a_saved_reward_model_judges_and_pairs_give_the_implicit_accuracy(tokenizer, models, tmp_path):
    ref, policy = models
    classifier = save_classifier(tokenizer, tmp_path / "rm")
    judge = load_reward_model(tmp_path / "rm")
    rows = [{"prompt": p, "chosen": " great.", "rejected": " awful."} for p in PROMPTS]
    pairs = tokenize_pairs(rows, tokenizer)
    metrics, samples = evaluate_judged(ref, ref, tokenizer, PROMPTS, judge=judge, eval_pairs=pairs, beta=2.0,
                                       max_new_tokens=6)  # fmt: skip
    assert metrics["kl_to_reference"] == 0.0  # policy = reference: every log-ratio is exactly 0
    assert metrics["reward_margin"] == 0.0 and metrics["reward_accuracy"] == 0.0  # no pair ordered yet
    text = samples[0]["prompt"] + samples[0]["policy"]
    with torch.no_grad():
        expected = float(classifier(**tokenizer(text, return_tensors="pt")).logits[0, 1])  # POSITIVE
    assert samples[0]["policy_score"] == pytest.approx(expected, abs=1e-5)
    no_judge, plain = evaluate_judged(policy, ref, tokenizer, PROMPTS[:2], max_new_tokens=4)
    assert "win_rate_vs_reference" not in no_judge and "policy_score" not in plain[0]


def test_prompts_too_long_for_the_model_are_skipped_and_counted(tokenizer, models):
    ref, policy = models
    ids = encode_prompts(tokenizer, PROMPTS)
    ids[1] = ids[1] * 20  # longer than 64 positions - 6 new tokens
    metrics, samples = evaluate_judged(policy, ref, tokenizer, PROMPTS, prompt_ids=ids, max_new_tokens=6)
    assert metrics["n_prompts_skipped_too_long"] == 1 and PROMPTS[1] not in [s["prompt"] for s in samples]
    with pytest.raises(ValueError, match="every held-out prompt is longer than 58 tokens.*--prompt-tokens"):
        evaluate_judged(policy, ref, tokenizer, PROMPTS[:1], prompt_ids=[ids[1]], max_new_tokens=6)
    with pytest.raises(ValueError, match="needs beta"):
        evaluate_judged(policy, ref, tokenizer, PROMPTS, eval_pairs=[])
    with pytest.raises(ValueError, match="no held-out prompts"):
        evaluate_judged(policy, ref, tokenizer, [])
