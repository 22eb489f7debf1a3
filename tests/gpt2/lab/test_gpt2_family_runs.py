"""Every DPO-family member on the tiny GPT-2 (dpo_teach.gpt2.lab.family_runs, notebook 06): the rules
that set each member's beta, and one member's row of held-out measurements."""

import copy

import pytest
import torch

from dpo_teach.gpt2 import data
from dpo_teach.gpt2.config import LOSS_TYPES
from dpo_teach.gpt2.lab.family_runs import (
    PER_TOKEN,
    SUMMED,
    mean_completion_tokens,
    member_settings,
    reference_samples,
    train_member,
    train_ref_logps,
)
from dpo_teach.gpt2.logprobs import score_pairs
from dpo_teach.gpt2.models import build_model
from dpo_teach.gpt2.recipe import Sizes

ROWS = [
    {"prompt": "the film was", "chosen": " great.", "rejected": " awful."},
    {"prompt": "the plot is", "chosen": " very clever.", "rejected": " not clever."},
    {"prompt": "the cast felt", "chosen": " great and the film was great.", "rejected": " dull."},
    {"prompt": "the acting was", "chosen": " good.", "rejected": " bad."},
]
SIZES = Sizes(dpo_steps=3, dpo_batch_size=4, dpo_learning_rate=5e-4)


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/gpt2/conftest.py


def test_every_member_gets_a_setting_by_its_rule():
    s = member_settings(dpo_margin=1.25, tokens=8.0)
    assert set(s) == set(LOSS_TYPES) and set(SUMMED) | set(PER_TOKEN) | {"ipo", "orpo"} == set(LOSS_TYPES)
    assert all(s[n]["beta"] == 2.0 for n in SUMMED)
    assert s["ipo"]["beta"] == pytest.approx(0.4)  # target 1 / (2 beta) = DPO's median margin
    assert s["sigmoid_norm"]["beta"] == s["simpo"]["beta"] == 16.0  # beta x mean tokens
    assert s["dpop"]["dpop_lambda"] == 50.0 and s["cdpo"]["label_smoothing"] == 0.1


@pytest.mark.parametrize("margin", [0.0, -1.0, float("nan")])
def test_a_margin_that_gives_no_ipo_beta_is_refused(margin):
    with pytest.raises(ValueError, match="dpo_margin must be > 0"):
        member_settings(margin, 8.0)


def test_mean_completion_tokens_counts_chosen_and_rejected():
    pairs = [{"chosen_ids": [1, 2, 3], "rejected_ids": [4]}, {"chosen_ids": [5, 6], "rejected_ids": [7, 8]}]
    assert mean_completion_tokens(pairs) == 2.0


@pytest.mark.parametrize(
    "loss_type,settings", [("ipo", {"beta": 0.5}), ("simpo", {"beta": 8.0, "simpo_gamma": 0.5})]
)
def test_train_member_measures_on_held_out_pairs(tokenizer, loss_type, settings):
    torch.manual_seed(0)
    ref = build_model("tiny", tokenizer, seed=0).eval()
    before = copy.deepcopy(ref.state_dict())
    pairs = data.tokenize_pairs(ROWS, tokenizer)
    row = train_member(ref, tokenizer, pairs, pairs, ["the film was"] * 2, loss_type, SIZES, **settings)
    assert row["loss_type"] == loss_type and row["reference"] == (loss_type != "simpo")
    assert len(row["history"]) == 3 and 0.0 <= row["reward_accuracy"] <= 1.0
    assert all(torch.equal(before[k], v) for k, v in ref.state_dict().items())  # the SFT model is untouched
    with torch.no_grad():
        ref_c, _ = score_pairs(ref, pairs, tokenizer.pad_token_id, bf16=False)
    held_out = score_pairs(ref, pairs, tokenizer.pad_token_id, bf16=False)
    again = train_member(ref, tokenizer, pairs, pairs, ["the film was"] * 2, loss_type, SIZES,
                         ref_logps=held_out, **settings)  # fmt: skip
    assert again["chosen_logp_change"] == pytest.approx(
        row["chosen_logp_change"], abs=1e-5
    )  # seeded, same run
    assert row["chosen_fell"] in {0.0, 0.25, 0.5, 0.75, 1.0} and torch.isfinite(ref_c).all()


def test_reference_samples_and_log_probs_computed_once_give_the_same_row(tokenizer):
    ref = build_model("tiny", tokenizer, seed=0).eval()
    pairs = data.tokenize_pairs(ROWS, tokenizer)
    prompts = ["the film was", "the plot is"]
    rows = [
        train_member(ref, tokenizer, pairs, pairs, prompts, "hinge", SIZES, beta=2.0, **cached)
        for cached in (
            {},
            {
                "ref_samples": reference_samples(ref, tokenizer, prompts),
                "train_logps": train_ref_logps(ref, pairs, tokenizer.pad_token_id, SIZES),
            },
        )
    ]
    assert [{k: v for k, v in r.items() if k not in ("train_seconds", "history", "chosen_change")} for r in rows] == [
        {k: v for k, v in rows[0].items() if k not in ("train_seconds", "history", "chosen_change")}
    ] * 2
    assert (rows[0]["chosen_change"] == rows[1]["chosen_change"]).all()  # per held-out pair
    assert rows[0]["chosen_change"].mean() == pytest.approx(rows[0]["chosen_logp_change"], abs=1e-6)


def test_the_trainer_refuses_precomputed_log_probs_of_the_wrong_shape(tokenizer):
    from dpo_teach.gpt2.trainer import DPOConfig, DPOTrainer

    ref = build_model("tiny", tokenizer, seed=0).eval()
    pairs = data.tokenize_pairs(ROWS, tokenizer)
    bad = (torch.zeros(3), torch.zeros(3))
    with pytest.raises(ValueError, match=r"ref_logps must be .* shape \(4,\)"):
        DPOTrainer(
            copy.deepcopy(ref), ref, pairs, DPOConfig(progress=False), tokenizer.pad_token_id, ref_logps=bad
        )
