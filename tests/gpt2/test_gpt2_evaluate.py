"""Evaluation of a policy against its reference (dpo_teach.gpt2.evaluate)."""

import copy
import math

import pytest
import torch

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
    assert acc == pytest.approx({"reward_accuracy": 0.0, "reward_margin": 0.0, "eval_loss": math.log(2)})


def test_reward_accuracy_is_the_share_of_positive_margins():
    policy, ref = tiny_gpt2(seed=1).eval(), tiny_gpt2(seed=2).eval()
    pairs = toy_pairs(20, seed=5)
    got = evaluate.reward_accuracy(policy, ref, pairs, beta=0.5, pad_token_id=PAD)
    (pc, pr), (rc, rr) = (score_pairs(m, pairs, PAD) for m in (policy, ref))
    margins = td.margin(pc, pr, rc, rr, 0.5)
    assert 0 < got["reward_accuracy"] < 1  # two different random models disagree on some pairs
    assert got["reward_accuracy"] == pytest.approx(float((margins > 0).double().mean()))
    assert got["reward_margin"] == pytest.approx(float(margins.mean()), abs=1e-6)
    # the held-out DPO loss at beta (TRL's eval_loss); not the loss at beta = 1
    assert got["eval_loss"] == pytest.approx(float(-torch.nn.functional.logsigmoid(margins).mean()), abs=1e-6)
    assert got["eval_loss"] != pytest.approx(float(-torch.nn.functional.logsigmoid(margins / 0.5).mean()), abs=1e-4)
    assert not policy.training and not ref.training


def test_a_negative_kl_estimate_is_reported_with_its_standard_error_as_noise():
    """Issue 23: the KL estimate (a mean of sampled log-ratios) was printed as "drift -0.511 nats".
    It now carries its standard error and sample count, and the summary says when it is noise."""
    import statistics

    from dpo_teach.finetune.report import kl_note, summary_table

    log_ratio = [-1.9, 0.8, -0.4, 1.1, -2.1, 0.2, -0.3, 0.05]  # mean -0.319: a small KL, sampled
    est = evaluate.kl_estimate(log_ratio)
    assert est["kl_n_samples"] == 8 and est["kl_to_reference"] == pytest.approx(statistics.fmean(log_ratio))
    assert est["kl_to_reference_se"] == pytest.approx(statistics.stdev(log_ratio) / 8**0.5)
    assert "noise" in kl_note(est) and "8 samples" in kl_note(est)
    clear = evaluate.kl_estimate([2.0, 2.2, 1.9, 2.1])  # far from 0 in standard errors: a real KL
    assert "noise" not in kl_note(clear) and "4 samples" in kl_note(clear)
    e = {"reward_accuracy": 0.5, "win_rate_vs_reference": 0.5, "true_reward_reference": 0.0,
         "true_reward_policy": 0.0, "valid_rate_reference": 1.0, "valid_rate_policy": 1.0, **est}  # fmt: skip
    metrics = {"eval": e, "fast": True, "train": {"history": [{"loss": 0.69}]}, "timings": {"wall_seconds": 1.0},
               "throughput": {"dpo_tokens_per_second": 1.0}}  # fmt: skip
    kl_row = next(line for line in summary_table(metrics).splitlines() if line.startswith("KL"))
    assert "-0.319" in kl_row and "s.e., 8 samples; noise" in kl_row
