"""A reward model as judge and K completions per prompt labelled into pairs (dpo_teach.gpt2.hub.judge),
on a tiny random sequence classifier saved with save_pretrained."""

import types

import pytest
import torch
from stand_ins import save_causal_lm, save_classifier

from dpo_teach.gpt2 import data, reviews
from dpo_teach.gpt2.hub.judge import (
    label_completions,
    label_index,
    load_reward_model,
    sample_and_label,
    true_reward,
)
from dpo_teach.gpt2.models import build_model

TEXTS = [
    "the film was great.",
    "the plot seemed awful and the music was bad.",
    "dull.",
    "the acting felt superb.",
]


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/gpt2/conftest.py


def config(labels):
    return types.SimpleNamespace(num_labels=len(labels), id2label=dict(enumerate(labels)))


def test_the_score_is_the_positive_logit_or_a_named_one():
    assert label_index(config(["NEGATIVE", "POSITIVE"])) == 1  # distilbert-imdb, siebert
    assert label_index(config(["positive", "negative"])) == 0
    assert label_index(config(["LABEL_0", "LABEL_1"])) == 1  # generic names: 1 is positive
    assert label_index(config(["LABEL_0"])) == 0  # a one-output reward model
    assert label_index(config(["NEGATIVE", "POSITIVE"]), "negative") == 0
    assert label_index(config(["a", "b", "c"]), "2") == 2
    with pytest.raises(ValueError, match=r"cannot tell which of the reward model's 3 outputs \(\{0: a, 1: b, "
                                         r"2: c\}\).*--reward-label"):  # fmt: skip
        label_index(config(["a", "b", "c"]))
    with pytest.raises(ValueError, match="no label 'joy'"):
        label_index(config(["NEGATIVE", "POSITIVE"]), "joy")


def test_a_saved_classifier_scores_texts_batched_without_gradients(tokenizer, tmp_path):
    model = save_classifier(tokenizer, tmp_path / "rm")
    judge = load_reward_model(tmp_path / "rm", batch_size=3)
    assert not judge.model.training and not any(p.requires_grad for p in judge.model.parameters())
    with torch.no_grad():
        expected = [float(model(**tokenizer(t, return_tensors="pt")).logits[0, 1]) for t in TEXTS]
    assert judge(TEXTS) == pytest.approx(expected, abs=1e-5)  # padded batches = one text at a time
    negative = load_reward_model(tmp_path / "rm", label="NEGATIVE", batch_size=64)
    with torch.no_grad():
        assert negative(TEXTS[:1])[0] == pytest.approx(float(model(**tokenizer(TEXTS[0], return_tensors="pt"))
                                                            .logits[0, 0]), abs=1e-5)  # fmt: skip
    assert judge.max_length == 64  # the classifier's n_positions: longer texts are cut, not crashed on
    assert len(judge(["the film was great. " * 40])) == 1


def test_bad_reward_models_name_the_problem_and_the_fix(tokenizer, tmp_path):
    with pytest.raises(ValueError, match="could not load a sequence classifier.*save_pretrained"):
        load_reward_model(tmp_path / "missing")
    save_causal_lm(tokenizer, tmp_path / "lm")  # a language model, not a classifier: no score head
    with pytest.raises(ValueError, match="not a trained sequence classifier.*score"):
        load_reward_model(tmp_path / "lm")


def test_two_completions_are_labelled_as_the_package_labels_pairs():
    prompts = ["the film was", "the plot seemed", "the acting felt", "the ending was"] * 3
    a = [" great.", " awful.", " very good.", " dull and bad."] * 3
    b = [" bad.", " superb.", " very good.", " boring."] * 3
    for labeling in ("better", "bt"):
        rows = label_completions(
            prompts, [[x, y] for x, y in zip(a, b)], true_reward, labeling, "all", seed=5
        )
        assert rows == data.label_pairs(prompts, a, b, labeling, seed=5)


def test_k_completions_give_all_pairs_or_best_and_worst():
    completions = [[" great.", " awful.", " good.", " great."], [" dull.", " ", " bad.", " superb."]]
    prompts = ["the film was", "the plot seemed"]
    rows = label_completions(prompts, completions, true_reward, "better", "all")
    scores = {p + c: reviews.true_reward(p + c) for p, cs in zip(prompts, completions) for c in cs}
    assert all(scores[r["prompt"] + r["chosen"]] > scores[r["prompt"] + r["rejected"]] for r in rows)
    assert len([r for r in rows if r["prompt"] == prompts[0]]) == 5  # 6 pairs, one of identical texts
    # the empty completion is dropped, and "dull" ties with "bad" (both -1): 2 of 6 pairs are left
    assert len([r for r in rows if r["prompt"] == prompts[1]]) == 2
    best_worst = label_completions(prompts, completions, true_reward, "better", "best-worst")
    pairs = [(r["chosen"], r["rejected"]) for r in best_worst]  # of tied worst ones, the first
    assert pairs == [(" great.", " awful."), (" superb.", " dull.")]
    with pytest.raises(ValueError, match="pairs must be one of all, best-worst"):
        label_completions(prompts, completions, true_reward, "better", "some")
    with pytest.raises(ValueError, match="the judge returned 1 scores for 8 texts"):
        label_completions(prompts, completions, lambda texts: [0.0], "better")


def test_sampled_pairs_match_the_package_and_take_a_reward_model(tokenizer, tmp_path):
    model = build_model("tiny", tokenizer, seed=0).eval()
    prompts = ["the film was", "the plot seemed", "the acting felt", "the ending was"]
    assert sample_and_label(model, tokenizer, prompts, true_reward, k=2, seed=7) == \
        data.sample_preference_pairs(model, tokenizer, prompts, seed=7)  # fmt: skip
    save_classifier(tokenizer, tmp_path / "rm")
    judge = load_reward_model(tmp_path / "rm")
    rows = sample_and_label(
        model, tokenizer, prompts, judge, k=4, labeling="better", seed=1, max_new_tokens=8
    )
    assert 0 < len(rows) <= 6 * len(prompts)  # the paper's 4 completions, 6 pairs per prompt
    chosen = judge([r["prompt"] + r["chosen"] for r in rows])
    rejected = judge([r["prompt"] + r["rejected"] for r in rows])
    assert all(c > r for c, r in zip(chosen, rejected))
    with pytest.raises(ValueError, match="completions per prompt must be an integer >= 2"):
        sample_and_label(model, tokenizer, prompts, judge, k=1)


def test_a_distilbert_classifier_as_lvwerra_distilbert_imdb_is_built(tmp_path):
    from transformers import BertTokenizerFast, DistilBertConfig, DistilBertForSequenceClassification

    words = "the film was great awful plot seemed and music bad dull acting felt superb".split()
    (tmp_path / "vocab.txt").write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, "."])
    )
    tok = BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt"))
    torch.manual_seed(0)
    config = DistilBertConfig(vocab_size=len(tok), dim=16, hidden_dim=32, n_layers=1, n_heads=2,
                              max_position_embeddings=64, id2label={0: "NEGATIVE", 1: "POSITIVE"},
                              label2id={"NEGATIVE": 0, "POSITIVE": 1})  # fmt: skip
    model = DistilBertForSequenceClassification(config).eval()
    model.save_pretrained(tmp_path / "rm")
    tok.save_pretrained(tmp_path / "rm")
    judge = load_reward_model(tmp_path / "rm", batch_size=2)
    with torch.no_grad():
        expected = [float(model(**tok(t, return_tensors="pt")).logits[0, 1]) for t in TEXTS]
    assert judge(TEXTS) == pytest.approx(expected, abs=1e-5)
