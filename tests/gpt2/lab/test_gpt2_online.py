"""Online DPO (dpo_teach.gpt2.lab.online), the labellers of notebook 07 (dpo_teach.gpt2.lab.labels), and
checkpoints along a run (dpo_teach.gpt2.lab.trajectory)."""

import copy

import pytest
import torch

from dpo_teach.gpt2 import data, reviews
from dpo_teach.gpt2.lab import labels, online
from dpo_teach.gpt2.lab.trajectory import evaluate_along
from dpo_teach.gpt2.models import build_model
from dpo_teach.gpt2.trainer import DPOConfig, DPOTrainer

PROMPTS = ["the film was", "the plot is", "the cast felt", "the music seemed", "the story was"] * 2
SETTINGS = dict(beta=0.5, learning_rate=1e-3, batch_size=2, max_steps=4, progress=False, seed=3)


@pytest.fixture(scope="module")
def ref(tokenizer):
    """An untrained tiny GPT-2 (its samples are not reviews, so the tests label by Bradley-Terry,
    which keeps ties); one torch thread while these tests run, as the CLI uses for this size."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield build_model("tiny", tokenizer, seed=0).eval()
    torch.set_num_threads(threads)


def test_split_evenly_and_bad_rounds():
    assert online.split_evenly(10, 3) == [3, 3, 4] and online.split_evenly(2, 2) == [1, 1]
    assert sum(online.split_evenly(301, 7)) == 301
    for rounds, words in ((0, "rounds must be an integer >= 1"), (2.0, "integer"), (5, "rounds=5 is more")):
        with pytest.raises(ValueError, match=words):
            online.check_rounds(rounds, n_prompts=10, max_steps=4)


def test_one_round_is_the_offline_run(ref, tokenizer):
    """rounds=1: the same pairs (sampled from the reference), the same steps, the same history."""
    _, records, history = online.online_dpo(ref, tokenizer, PROMPTS, DPOConfig(**SETTINGS), rounds=1,
                                            sample_seed=7, labeling="bt")  # fmt: skip
    rows = data.sample_preference_pairs(ref, tokenizer, PROMPTS, seed=7, labeling="bt")
    policy = copy.deepcopy(ref).requires_grad_(True)
    trainer = DPOTrainer(policy, ref, data.tokenize_pairs(rows, tokenizer), DPOConfig(**SETTINGS), 0)
    offline = trainer.train()
    assert [{k: v for k, v in h.items() if k != "round"} for h in history] == offline
    assert records == [{"round": 1, "n_prompts": 10, "n_pairs": len(rows), "steps": 4,
                        "data_true_reward_chosen": pytest.approx(-4.0),
                        "data_true_reward_rejected": pytest.approx(-4.0)}]  # fmt: skip


def test_rounds_split_the_budget_and_are_evaluated(ref, tokenizer):
    lines = []
    policy, records, history = online.online_dpo(
        ref,
        tokenizer,
        PROMPTS,
        DPOConfig(**SETTINGS),
        rounds=3,
        labeling="bt",
        eval_prompts=PROMPTS[:4],
        log=lines.append,
    )
    assert [r["n_prompts"] for r in records] == [3, 3, 4] and [r["steps"] for r in records] == [1, 1, 2]
    assert [h["step"] for h in history] == [0, 1, 2, 3] and [h["round"] for h in history] == [1, 2, 3, 3]
    assert all({"true_reward_policy", "kl_to_reference", "valid_rate_policy"} <= set(r) for r in records)
    assert len(lines) == 3 and lines[0].startswith("round 1: ") and "win rate" in lines[0]
    assert not any(p.requires_grad is False for p in policy.parameters())
    assert all(p.requires_grad is False for p in ref.parameters())  # the reference stays frozen


def test_labellers():
    prompts, a, b = ["the film was"] * 3, [" good.", " good and the cast was good.", " bad."], [" great."] * 3
    assert labels.label_by(prompts, a, b, labels.length_biased(0.0)) == [
        {"prompt": "the film was", "chosen": " great.", "rejected": " good."},
        {"prompt": "the film was", "chosen": " great.", "rejected": " good and the cast was good."},
        {"prompt": "the film was", "chosen": " great.", "rejected": " bad."},
    ]
    biased = labels.label_by(prompts, a, b, labels.length_biased(0.5))  # 5 more words win 2.5 points
    assert biased[1]["chosen"] == " good and the cast was good." and biased[0]["chosen"] == " great."
    biased_score = labels.length_biased(0.1)("the film was", " great.")
    assert biased_score == reviews.true_reward("the film was great.") + 0.1
    rows = [{"prompt": "p", "chosen": f"c{i}", "rejected": f"r{i}"} for i in range(10)]
    flipped_rows, flipped = labels.flip_labels(rows, 0.3, seed=1)
    assert len(flipped) == 3 and rows[0]["chosen"] == "c0"  # a copy; the input is untouched
    for i, row in enumerate(flipped_rows):
        expected = (f"r{i}", f"c{i}") if i in flipped else (f"c{i}", f"r{i}")
        assert (row["chosen"], row["rejected"]) == expected
    with pytest.raises(ValueError, match="rate must be"):
        labels.flip_labels(rows, 1.5)


def test_sample_pairs_by_draws_what_sample_preference_pairs_draws(ref, tokenizer):
    ours = labels.sample_pairs_by(ref, tokenizer, PROMPTS, seed=4, score=labels.length_biased(0.0))
    theirs = data.sample_preference_pairs(ref, tokenizer, PROMPTS, seed=4)
    assert ours == theirs  # bonus 0 is the true reward: the same rows


def test_evaluate_along_checkpoints(ref, tokenizer):
    rows = data.sample_preference_pairs(ref, tokenizer, PROMPTS, 5, labeling="bt")
    pairs = data.tokenize_pairs(rows, tokenizer)
    trainer = DPOTrainer(copy.deepcopy(ref).requires_grad_(True), ref, pairs, DPOConfig(**SETTINGS), 0)
    points = evaluate_along(trainer, ref, tokenizer, 3, PROMPTS[:3], eval_pairs=pairs)
    assert [p["step"] for p in points] == [0, 3, 4]
    assert points[0]["kl_to_reference"] == pytest.approx(0.0, abs=1e-6) and "train/loss" not in points[0]
    assert points[1]["train/loss"] == pytest.approx(sum(h["loss"] for h in trainer.history[:3]) / 3)
    assert {"reward_accuracy", "true_reward_policy"} <= set(points[2])
    with pytest.raises(ValueError, match="every must be"):
        evaluate_along(trainer, ref, tokenizer, 0, PROMPTS)
