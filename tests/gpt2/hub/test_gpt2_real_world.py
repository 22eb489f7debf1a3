"""The fine-tune's real-world inputs (dpo_teach.gpt2.hub.real_world): the defaults are the review world
exactly, bad combinations are refused, a dataset's held-out pairs are seeded and disjoint."""

import pytest
from stand_ins import STANDARD, save_rows

from dpo_teach.gpt2 import data
from dpo_teach.gpt2.hub.judge import true_reward
from dpo_teach.gpt2.hub.real_world import Inputs, dataset_pairs, load_judge, max_length_for, pair_rows
from dpo_teach.gpt2.models import build_model

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/gpt2/conftest.py


def test_the_defaults_are_the_review_world_and_sample_the_same_pairs(tokenizer):
    inputs = Inputs()
    assert inputs.changed() == {} and inputs.exact_reward and load_judge(inputs) is true_reward
    model = build_model("tiny", tokenizer, seed=0)
    prompts, _ = data.split_prompts(24, 4, seed=0)
    expected = data.sample_preference_pairs(model, tokenizer, prompts, seed=11)
    assert pair_rows(model, tokenizer, prompts, true_reward, inputs, seed=11) == expected
    assert max_length_for(inputs, model) == 64 and max_length_for(Inputs(max_length=32), model) == 32
    assert Inputs(prompt_tokens=(2, 8)).changed() == {"prompt_tokens": [2, 8]}  # as JSON reads it back


def test_prompts_too_long_for_the_model_are_dropped_and_said(tokenizer):
    model = build_model("tiny", tokenizer, seed=0)
    long = " and ".join(["the film was great"] * 10)  # ~40 tokens: no room for 32 new ones in 64
    said = []
    rows = pair_rows(model, tokenizer, ["the film was", long], true_reward, Inputs(), seed=0, log=said.append)
    assert all(r["prompt"] == "the film was" for r in rows) and "dropped 1 of 2 prompts" in said[0]
    with pytest.raises(ValueError, match="every prompt is longer than 32 tokens.*--prompt-tokens"):
        pair_rows(model, tokenizer, [long], true_reward, Inputs(), seed=0)


@pytest.mark.parametrize(
    "fields, words",
    [
        ({"prompts": "p.txt"}, "--prompts p.txt has no exact reward.*--reward-model"),
        ({"dataset": "d.jsonl", "prompts": "p.txt", "reward_model": "rm"}, "pass one of them"),
        ({"prompt_tokens": (2, 8)}, "review world's prompts are already openings"),
        ({"reward_label": "POSITIVE"}, "pass --reward-model too"),
        ({"completions_per_prompt": 1}, "a pair needs two"),
    ],
)
def test_combinations_that_cannot_run_are_refused(fields, words):
    with pytest.raises(ValueError, match=words):
        Inputs(**fields).check()


def test_a_dataset_holds_out_a_seeded_share_or_its_eval_split(tokenizer, tmp_path):
    rows = [dict(r, prompt=f"{r['prompt']} {i}") for i in range(5) for r in STANDARD]  # 20 rows
    path = save_rows(rows, tmp_path / "prefs.jsonl", "jsonl")
    said = []
    inputs = Inputs(dataset=str(path))
    (train, train_prompts), (held, held_prompts) = dataset_pairs(inputs, tokenizer, 64, 8, 0, said.append)
    assert len(held) == 2 and len(train) == 18  # 10 % of 20, below n_eval
    assert not set(held_prompts) & set(train_prompts)  # no held-out prompt is trained on
    assert "20 rows (standard format) -> 20 pairs" in said[0] and "held out 2 of 20" in said[1]
    again = dataset_pairs(inputs, tokenizer, 64, 8, 0, said.append)
    assert again[1][1] == held_prompts  # seeded
    split = save_rows(rows, tmp_path / "dict", "dict")  # train + a one-row test split
    inputs = Inputs(dataset=str(split), dataset_eval_split="test")
    _, (held, held_prompts) = dataset_pairs(inputs, tokenizer, 64, 8, 0, said.append)
    assert len(held) == 1 and held_prompts == [rows[0]["prompt"]]
    one = save_rows(STANDARD[:1], tmp_path / "one.jsonl", "jsonl")
    with pytest.raises(ValueError, match="none to hold out.*--dataset-eval-split"):
        dataset_pairs(Inputs(dataset=str(one)), tokenizer, 64, n_eval=8, seed=0, log=said.append)
