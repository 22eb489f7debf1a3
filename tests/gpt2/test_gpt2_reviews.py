"""The review world (dpo_teach.gpt2.reviews): the grammar, its exact reward, the corpus and prompts."""

import random

import pytest

from dpo_teach.gpt2 import reviews


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
