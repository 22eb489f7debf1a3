"""Prompt sources (dpo_teach.gpt2.hub.prompts): the review world, a local file, a dataset column cut
to a prefix of N tokens as the paper's IMDb prefixes."""

import json

import pytest
from stand_ins import save_rows

from dpo_teach.gpt2 import data, reviews
from dpo_teach.gpt2.hub.prompts import clean_text, cut_to_prefix, load_prompt_source, parse_prefix_tokens

REVIEWS = [f"{o} {w} and the music felt {v}.<br /><br />the end." for o in ("the film was", "the plot seemed",
           "the acting felt", "the ending was") for w in ("great", "awful", "boring", "superb", "charming")
           for v in ("bad", "good")]  # fmt: skip


def test_the_review_world_is_the_default():
    source = load_prompt_source()
    assert source.split(50, 10, seed=3) == data.split_prompts(50, 10, seed=3)
    assert source.sft_texts(20, seed=1) == reviews.corpus(20, 1)


def test_a_text_file_gives_one_prompt_per_line(tmp_path):
    path = tmp_path / "prompts.txt"
    path.write_text(
        "the film was\n\n  the plot  seemed \nthe acting was\nthe ending felt\n", encoding="utf-8"
    )
    source = load_prompt_source(path)
    assert source.texts == ["the film was", "the plot seemed", "the acting was", "the ending felt"]
    train, held_out = source.split(20, 2, seed=0)
    assert len(train) == 20 and len(held_out) == 2  # prompts repeat: each is sampled many times
    assert not set(held_out) & set(train) and set(train) | set(held_out) <= set(source.texts)
    assert source.split(20, 2, seed=0) == (train, held_out)  # a function of the seed
    assert sorted(source.sft_texts(10)) == sorted(source.texts)


def test_a_dataset_column_is_cut_to_prefixes_of_n_tokens(tokenizer, tmp_path):
    rows = [{"review": text, "label": i % 2} for i, text in enumerate(REVIEWS)]
    path = save_rows(rows, tmp_path / "r.jsonl", "jsonl")
    source = load_prompt_source(path, column="review")
    assert source.texts[0] == "the film was great and the music felt bad. the end."  # <br /> removed
    train, held_out = source.split(30, 5, seed=0, tokenizer=tokenizer, prefix_tokens=(2, 4))
    assert len(train) == 30 and len(held_out) == 5 and not set(held_out) & set(train)
    for prompt in train + held_out:
        assert any(text.startswith(prompt) for text in source.texts)  # a prefix of a review
        assert 2 <= len(tokenizer.encode(prompt)) <= 4
    assert cut_to_prefix(tokenizer, "the film was great.", 3) == "the film was"
    assert cut_to_prefix(tokenizer, "the film", 5) == "the film"  # shorter: whole
    assert source.sft_texts(100) and set(source.sft_texts(100)) == set(source.texts)  # full texts for SFT


@pytest.mark.parametrize("how", ["disk", "parquet"])
def test_datasets_on_disk_with_a_text_or_prompt_column(tmp_path, how):
    pytest.importorskip("datasets")
    path = save_rows([{"text": t} for t in REVIEWS], tmp_path / f"imdb.{how}", how)
    assert load_prompt_source(path).texts == [clean_text(t) for t in REVIEWS]  # default column: text
    path = save_rows([{"prompt": t, "text": "x"} for t in REVIEWS], tmp_path / f"p.{how}", how)
    assert load_prompt_source(path).texts[0] == clean_text(REVIEWS[0])  # prompt before text


def test_bad_prompt_sources_name_the_problem_and_the_fix(tokenizer, tmp_path):
    path = save_rows([{"review": "a"}], tmp_path / "r.json", "json")
    with pytest.raises(
        ValueError, match=r"columns \['review'\] but none named prompt or text.*--prompt-column"
    ):
        load_prompt_source(path)
    with pytest.raises(ValueError, match="has no column 'body'"):
        load_prompt_source(path, column="body")
    path = save_rows([{"text": "a"}, {"text": 3}], tmp_path / "n.jsonl", "jsonl")
    with pytest.raises(ValueError, match="row 1: 'text' must be a string, got int"):
        load_prompt_source(path)
    source = load_prompt_source(save_rows([{"text": "one"}, {"text": "two"}], tmp_path / "2.json", "json"))
    with pytest.raises(ValueError, match="2 texts cannot give 3 distinct held-out prompts and 5 training"):
        source.split(5, 3)
    with pytest.raises(ValueError, match="cannot give 2 distinct held-out prompts"):
        source.split(5, 2)  # no text is left for training
    with pytest.raises(ValueError, match="needs the tokenizer"):
        source.split(1, 1, prefix_tokens=2)
    with pytest.raises(ValueError, match="n_eval must be an integer >= 1"):
        source.split(1, 0)
    assert parse_prefix_tokens("8") == (8, 8) and parse_prefix_tokens(" 2-8 ") == (2, 8)
    for bad in ("0", "8-2", "two", "2-"):
        with pytest.raises(ValueError, match="must be N or LO-HI"):
            parse_prefix_tokens(bad)
    (tmp_path / "empty.txt").write_text("\n \n", encoding="utf-8")
    with pytest.raises(ValueError, match="holds no rows"):
        load_prompt_source(tmp_path / "empty.txt")
    (tmp_path / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8.*re-encode"):
        load_prompt_source(tmp_path / "latin.txt")
    assert json.loads(json.dumps(clean_text("a <br/>b\n\tc"))) == "a b c"
