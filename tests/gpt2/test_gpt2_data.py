"""The preference data (dpo_teach.gpt2.data): prompt split, labels by the true reward, pairs sampled
from a model, JSON Lines, token ids."""

import json

import pytest

from dpo_teach.gpt2 import data


def test_held_out_prompts_never_appear_in_training():
    train, held_out = data.split_prompts(500, 100, seed=3)
    assert len(train) == 500 and len(held_out) == 100
    assert not set(train) & set(held_out)


def test_label_pairs_prefers_the_higher_true_reward_and_drops_ties():
    prompts = ["the film was"] * 3
    a = [" great.", " dull.", " good."]
    b = [" awful.", " superb.", " fun."]  # the last pair is a tie (1 vs 1)
    rows = data.label_pairs(prompts, a, b)
    assert rows == [
        {"prompt": "the film was", "chosen": " great.", "rejected": " awful."},
        {"prompt": "the film was", "chosen": " superb.", "rejected": " dull."},
    ]
    noisy = data.label_pairs(prompts * 200, a * 200, b * 200, labeling="bt", seed=0)
    share = sum(r["chosen"] == " great." for r in noisy if " great." in (r["chosen"], r["rejected"]))
    assert 0.97 < share / 200 <= 1.0  # sigma(2 - (-2)) = 0.982
    with pytest.raises(ValueError, match="labeling"):
        data.label_pairs(prompts, a, b, labeling="argmax")


def test_jsonl_round_trip(tmp_path):
    rows = [{"prompt": "the film was", "chosen": " great.", "rejected": " awful.", "extra": 1}]
    path = data.write_preference_jsonl(rows, tmp_path / "p.jsonl")
    path.write_text(path.read_text() + "\n")  # a trailing blank line is fine
    assert data.load_preference_jsonl(path) == rows


GOOD = json.dumps({"prompt": "the film was", "chosen": " great.", "rejected": " awful."})


@pytest.mark.parametrize(
    "bad_line, message",
    [
        ('{"prompt": "the film was", "chosen": " great."', "not valid JSON"),
        ('{"prompt": "the film was", "chosen": " great."}', "missing key 'rejected'"),
        ('{"prompt": "the film was", "chosen": "  ", "rejected": " awful."}', "'chosen' is empty"),
        ('{"prompt": "", "chosen": " great.", "rejected": " awful."}', "'prompt' is empty"),
        ('{"prompt": "x", "chosen": 3, "rejected": " awful."}', "'chosen' must be a string"),
        ('["the film was", " great.", " awful."]', "expected a JSON object"),
    ],
)
def test_jsonl_reader_names_the_bad_line(tmp_path, bad_line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join([GOOD, "", GOOD, bad_line, GOOD]) + "\n")
    with pytest.raises(ValueError, match=message) as err:
        data.load_preference_jsonl(path)
    assert "line 4" in str(err.value)  # 1-based, blank lines counted


def test_jsonl_reader_rejects_an_empty_file(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n")
    with pytest.raises(ValueError, match="no preference pairs"):
        data.load_preference_jsonl(path)


def test_prompts_get_bos_and_completions_get_eos(tokenizer):
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    assert data.encode_prompts(tokenizer, ["the film was"]) == [[bos] + tokenizer.encode("the film was")]
    row = {"prompt": "the film was", "chosen": " great.", "rejected": " awful."}
    (pair,) = data.tokenize_pairs([row], tokenizer)
    assert pair["prompt_ids"] == data.encode_prompts(tokenizer, [row["prompt"]])[0]
    assert pair["chosen_ids"] == tokenizer.encode(" great.") + [eos]
    assert pair["rejected_ids"] == tokenizer.encode(" awful.") + [eos]


def test_sample_preference_pairs_labels_two_seeded_samples_per_prompt(tokenizer):
    from dpo_teach.gpt2 import reviews
    from dpo_teach.gpt2.models import build_model
    from dpo_teach.gpt2.sampling import sample_completions

    model = build_model("tiny", tokenizer, seed=0)
    prompts = ["the film was", "the plot is", "the cast felt", "the music seemed"] * 3
    rows = data.sample_preference_pairs(model, tokenizer, prompts, seed=3, labeling="bt")
    # the same as sampling twice (seeds 3 and 4) and labelling the two texts per prompt
    ids = data.encode_prompts(tokenizer, prompts)
    a, b = (
        tokenizer.batch_decode(
            sample_completions(model, ids, tokenizer.eos_token_id, seed=s), skip_special_tokens=True
        )
        for s in (3, 4)
    )
    assert rows == data.label_pairs(prompts, a, b, labeling="bt", seed=3)
    assert rows, "no pairs at all: the test would be vacuous"
    assert rows == data.sample_preference_pairs(model, tokenizer, prompts, seed=3, labeling="bt")
    # with the default labelling every chosen completion has the strictly higher true reward
    for row in data.sample_preference_pairs(model, tokenizer, prompts, seed=3):
        p = row["prompt"]
        assert reviews.true_reward(p + row["chosen"]) > reviews.true_reward(p + row["rejected"])
