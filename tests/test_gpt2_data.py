"""The review world (grammar, exact reward) and the preference data (JSON Lines, labels)."""

import json
import random

import pytest

from dpo_teach import data, reviews


@pytest.mark.parametrize(
    "text, reward",
    [
        ("the film was great.", 2.0),
        ("the plot is not very clever.", -0.75),  # 1 * 1.5 * -0.5
        ("the cast felt somewhat awful but the music seemed good.", (-1.0 + 1.0) / 2),
        ("the ending was truly dreadful and the story is dull and the acting was fun.", (-3 - 1 + 1) / 3),
    ],
)
def test_true_reward_is_the_mean_clause_score(text, reward):
    assert reviews.is_valid(text)
    assert reviews.true_reward(text) == pytest.approx(reward, abs=1e-12)


@pytest.mark.parametrize(
    "text",
    [
        "the film was great",  # no full stop
        "the film was great great.",
        "the film was not.",
        "the film was very.",
        "film was great.",
        "the film was great and.",
        "the film was great or the plot was dull.",
        "the film  was great.",
        " the film was great.",
        "the film was great. the plot was dull.",
        "the film was good and the plot was good and the cast was good and the music was good.",
    ],
)
def test_text_outside_the_grammar_is_invalid_and_scores_lowest(text):
    assert not reviews.is_valid(text)
    assert reviews.true_reward(text) == reviews.INVALID_REWARD


def test_corpus_is_valid_neutral_and_prompts_split_into_reviews():
    texts = reviews.corpus(3000, seed=1)
    assert all(reviews.is_valid(t) for t in texts)
    rewards = [reviews.true_reward(t) for t in texts]
    assert abs(sum(rewards) / len(rewards)) < 0.1  # neutral mix
    assert min(rewards) > reviews.INVALID_REWARD and max(rewards) <= 3.0
    rng = random.Random(0)
    for _ in range(200):
        prompt, completion = reviews.sample_prompt_completion(rng)
        assert completion.startswith(" ") and reviews.is_valid(prompt + completion)
        assert prompt.split()[-1] in reviews.VERBS


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
