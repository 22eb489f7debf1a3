"""The byte-level BPE of the review world (dpo_teach.gpt2.tokenizer)."""

from dpo_teach.gpt2.tokenizer import EOS_TOKEN


def test_tokenizer_round_trips_and_splits_at_the_prompt_boundary(tokenizer):
    text = "the plot was not very clever but the cast is wonderful."
    ids = tokenizer.encode(text)
    assert tokenizer.decode(ids) == text
    assert len(ids) == 12  # about one token per word on this small grammar
    prompt, completion = "the plot was not very clever but the cast is", " wonderful."
    assert tokenizer.encode(prompt) + tokenizer.encode(completion) == ids
    assert tokenizer.pad_token_id == tokenizer.eos_token_id == tokenizer.bos_token_id
    assert tokenizer.decode(tokenizer.encode("zebra ✓")) == "zebra ✓"  # byte-level: anything encodes


def test_bos_eos_and_pad_are_one_special_token(tokenizer):
    assert tokenizer.eos_token == EOS_TOKEN
    assert tokenizer.convert_tokens_to_ids(EOS_TOKEN) == tokenizer.eos_token_id
    assert tokenizer.decode([tokenizer.eos_token_id], skip_special_tokens=True) == ""
    assert len(tokenizer) <= 512  # the default vocabulary size
