"""A preference dataset in TRL's three formats -> the trainer's token pairs
(dpo_teach.gpt2.hub.preference_data, dpo_teach.gpt2.hub.sources): boundary tokenisation, truncation, drops."""

import pytest
from stand_ins import (
    STANDARD,
    chat_tokenizer,
    conversational,
    conversational_implicit,
    implicit,
    save_rows,
)

from dpo_teach.gpt2 import data
from dpo_teach.gpt2.hub.preference_data import (
    detect_format,
    encode_prompt_completion,
    load_preference_data,
    render_conversation,
    split_implicit_prompt,
    tokenize_preferences,
)

pytest.importorskip("datasets")


@pytest.mark.parametrize("how", ["disk", "dict", "json", "jsonl", "parquet"])
def test_every_storage_gives_the_same_pairs_as_the_package_tokenizer(tokenizer, tmp_path, how):
    path = save_rows(STANDARD, tmp_path / f"prefs.{how}", how)
    loaded = load_preference_data(path, tokenizer)
    assert loaded.format == "standard" and loaded.n_rows == 4 and not loaded.dropped
    # exactly what the package's own JSON Lines path gives: BOS + prompt, completion + EOS
    assert loaded.pairs == data.tokenize_pairs(STANDARD, tokenizer)
    assert loaded.prompts == [r["prompt"] for r in STANDARD]
    assert set(loaded.pairs[0]) == {"prompt_ids", "chosen_ids", "rejected_ids"}


def test_the_bpe_merge_at_the_boundary_is_avoided(tokenizer):
    prompt, completion = "the film was ", "great."  # the prompt ends with the space of " great"
    whole = tokenizer.encode(prompt + completion)
    assert tokenizer.convert_ids_to_tokens(whole)[-2] == "Ġgreat"  # one token across the boundary
    prompt_ids, completion_ids = encode_prompt_completion(tokenizer, prompt, completion)
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    assert prompt_ids == [bos] + tokenizer.encode(prompt)  # ends with the lone space token "Ġ"
    assert tokenizer.convert_ids_to_tokens(prompt_ids)[-1] == "Ġ"
    assert completion_ids[-1] == eos
    # tokenising the concatenated string instead would put the prompt's last token inside "Ġgreat":
    assert whole[: len(prompt_ids) - 1] != prompt_ids[1:]
    assert tokenizer.decode(prompt_ids[1:] + completion_ids[:-1]) == prompt + completion  # same text
    # a trailing EOS string is not doubled
    assert encode_prompt_completion(tokenizer, prompt, completion + "<|endoftext|>")[1] == completion_ids


def test_conversational_rows_use_the_chat_template(tokenizer):
    chat = chat_tokenizer(tokenizer)
    rows = conversational()
    result = tokenize_preferences(rows, chat)
    assert result.format == "conversational" and len(result.pairs) == 4
    prompt_text, chosen_text = render_conversation(chat, rows[0]["prompt"], rows[0]["chosen"])
    assert prompt_text == "<|user|>the film was<|endoftext|><|assistant|>"
    assert chosen_text == "great and the acting felt superb.<|endoftext|>"
    pair = result.pairs[0]
    assert pair["prompt_ids"] == chat.encode(prompt_text, add_special_tokens=False)
    assert pair["chosen_ids"][-1] == chat.eos_token_id  # the template ends the turn; no EOS added
    assert chat.decode(pair["prompt_ids"] + pair["chosen_ids"]) == chat.apply_chat_template(
        rows[0]["prompt"] + rows[0]["chosen"], tokenize=False)  # fmt: skip
    assert result.prompts[0] == prompt_text
    with pytest.raises(ValueError, match="no chat template.*set tokenizer.chat_template"):
        tokenize_preferences(rows, tokenizer)


def test_a_template_that_renders_the_prompt_differently_is_refused(tokenizer):
    chat = chat_tokenizer(tokenizer)
    chat.chat_template = chat.chat_template.replace("<|assistant|>{% endif %}", "<|bot|>{% endif %}")
    with pytest.raises(ValueError, match="renders the prompt differently"):
        tokenize_preferences(conversational(), chat)


def test_implicit_prompts_split_at_a_word_boundary(tokenizer):
    assert split_implicit_prompt("The film was great", "The film was grim") == (
        "The film was",
        " great",
        " grim",
    )
    assert split_implicit_prompt("Hi there", "Hi there!") == ("Hi", " there", " there!")
    assert split_implicit_prompt("abc", "abd") == ("", "abc", "abd")  # no shared word: BOS is the prompt
    result = tokenize_preferences(implicit(), tokenizer)
    assert result.format == "implicit"
    assert result.pairs == tokenize_preferences(STANDARD, tokenizer).pairs  # the same prompts found
    chat = chat_tokenizer(tokenizer)
    result = tokenize_preferences(conversational_implicit(), chat)
    assert result.format == "conversational_implicit"
    assert result.pairs == tokenize_preferences(conversational(), chat).pairs


def test_truncation_keeps_the_start_and_counts_what_it_drops(tokenizer):
    rows = [
        {"prompt": "the film was", "chosen": " great and the acting felt superb.", "rejected": " awful."},
        {"prompt": "the film was great and the acting", "chosen": " felt superb.", "rejected": " was bad."},
        {
            "prompt": "the film",
            "chosen": " was great and fun and good.",
            "rejected": " was great and fun and bad.",
        },
        {"prompt": "the film", "chosen": " was good.", "rejected": " was good."},
        {"prompt": "the film", "chosen": " ", "rejected": " was bad."},
    ]
    full = tokenize_preferences(rows, tokenizer)
    assert len(full.pairs) == 3 and full.dropped == {"same_text": 1, "empty_completion": 1}
    assert (len(full.pairs[0]["prompt_ids"]), len(full.pairs[1]["prompt_ids"])) == (4, 8)
    cut = tokenize_preferences(rows, tokenizer, max_length=8)
    # row 0: prompt 4 tokens, chosen cut to its first 4 (EOS lost); rejected fits untouched
    assert cut.pairs[0]["prompt_ids"] == full.pairs[0]["prompt_ids"]
    assert cut.pairs[0]["chosen_ids"] == full.pairs[0]["chosen_ids"][:4]
    assert cut.pairs[0]["rejected_ids"] == full.pairs[0]["rejected_ids"]
    # row 1: the prompt alone is 8 tokens; row 2: the first 5 completion tokens are the same
    assert cut.dropped == {"same_text": 1, "empty_completion": 1, "prompt_too_long": 1,
                           "same_after_truncation": 1}  # fmt: skip
    assert len(cut.pairs) == 1 and cut.n_truncated == 2
    summary = cut.summary()
    assert "5 rows (standard format) -> 1 pairs" in summary and "prompt alone fills max_length" in summary
    assert all(
        len(p["prompt_ids"]) + len(p[s]) <= 8 for p in cut.pairs for s in ("chosen_ids", "rejected_ids")
    )
    with pytest.raises(ValueError, match="max_length must be None or an integer >= 2"):
        tokenize_preferences(rows, tokenizer, max_length=1)


def test_the_pairs_collate_as_the_trainer_does(tokenizer, tmp_path):
    from dpo_teach.gpt2.logprobs import IGNORE_INDEX, collate_pairs

    path = save_rows(conversational_implicit(), tmp_path / "p.parquet", "parquet")
    loaded = load_preference_data(path, chat_tokenizer(tokenizer), max_length=64)
    batch = collate_pairs(loaded.pairs, tokenizer.pad_token_id)  # what DPOTrainer stacks once
    first = loaded.pairs[0]
    n_prompt, n_chosen = len(first["prompt_ids"]), len(first["chosen_ids"])
    assert batch["input_ids"].shape[0] == 2 * len(loaded.pairs)
    assert batch["labels"][0, :n_prompt].eq(IGNORE_INDEX).all()  # only the completion is scored
    assert batch["labels"][0, n_prompt : n_prompt + n_chosen].tolist() == first["chosen_ids"]


def test_bad_datasets_name_the_problem_and_the_fix(tokenizer, tmp_path):
    with pytest.raises(
        ValueError, match=r"columns \['text'\]; a preference dataset needs 'chosen' and 'rejected'"
    ):
        detect_format([{"text": "a review"}])
    mixed = STANDARD[:1] + conversational()[1:2]
    with pytest.raises(ValueError, match="row 1: 'prompt' must be a string like row 0 .standard format"):
        detect_format(mixed)
    with pytest.raises(ValueError, match="row 1: 'chosen' must be a string.*got NoneType"):
        detect_format([STANDARD[0], {**STANDARD[1], "chosen": None}])
    with pytest.raises(ValueError, match="no such file or directory"):
        load_preference_data(tmp_path / "missing.jsonl", tokenizer)
    same = [{"prompt": "a", "chosen": " b", "rejected": " b"}]
    with pytest.raises(
        ValueError, match="no preference pair is left.*1 dropped: chosen and rejected are the same"
    ):
        load_preference_data(save_rows(same, tmp_path / "same.json", "json"), tokenizer)
    with pytest.raises(ValueError, match="has no split 'validation'; it has test, train"):
        load_preference_data(save_rows(STANDARD, tmp_path / "dd", "dict"), tokenizer, split="validation")
    (tmp_path / "bad.jsonl").write_text('{"prompt": "a"\n')
    with pytest.raises(ValueError, match="bad.jsonl, line 1: not valid JSON"):
        load_preference_data(tmp_path / "bad.jsonl", tokenizer)
    with pytest.raises(ValueError, match="unknown file type '.csv'"):
        load_preference_data(
            save_rows(STANDARD, tmp_path / "p.jsonl", "jsonl").rename(tmp_path / "p.csv"), tokenizer
        )


def test_an_unreachable_hub_dataset_says_what_to_do(tokenizer, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(ValueError, match="could not load the hub dataset 'no-such-user/no-such-data'.*local"):
        load_preference_data("no-such-user/no-such-data", tokenizer)
