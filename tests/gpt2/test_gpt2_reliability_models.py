"""Reliability of load_pretrained (dpo_teach.gpt2.models): only complete causal-LM checkpoints with
a real tokenizer load; broken files are a ValueError naming the directory or file and the fix.
Stand-ins are tiny configs written with save_pretrained (no downloads). Finding ids in the names."""

import json

import pytest
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer, models
from transformers import BertConfig, BertForMaskedLM, BertLMHeadModel, BertModel, GPT2TokenizerFast

from dpo_teach.gpt2.models import build_model, check_model_dir, load_pretrained


@pytest.fixture
def model_dir(tokenizer, tmp_path):
    """A complete, loadable save_pretrained directory (tiny GPT-2 + the review tokenizer)."""
    path = tmp_path / "model"
    build_model("tiny", tokenizer, seed=0).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def load_error(path) -> str:
    with pytest.raises(ValueError) as err:
        load_pretrained(str(path))
    return str(err.value)


def test_the_stand_in_directory_loads(model_dir):
    model, tok = load_pretrained(str(model_dir))
    assert len(tok) > 2 and model.config.vocab_size == len(tok)
    assert check_model_dir(model_dir) == model_dir


# -- C5 / U4 / U8: broken files ----------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"garbage", None], ids=["empty", "garbage", "truncated"])
def test_C5_a_corrupt_model_safetensors_names_the_file_and_the_fix(model_dir, content):
    weights = model_dir / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000] if content is None else content)
    message = load_error(model_dir)
    assert str(weights) in message and "save_pretrained" in message


@pytest.mark.parametrize("content", ["{garbage", "[1, 2]", '{"n_layer": 2}'], ids=["json", "list", "no-type"])
def test_C5_U8_a_garbage_config_json_names_the_file_and_the_fix(model_dir, content):
    (model_dir / "config.json").write_text(content)
    message = load_error(model_dir)
    assert str(model_dir / "config.json") in message and "save_pretrained" in message


def test_C5_U4_a_garbage_tokenizer_json_names_the_file_and_the_fix(model_dir):
    (model_dir / "tokenizer.json").write_text("garbage")
    message = load_error(model_dir)
    assert str(model_dir / "tokenizer.json") in message and "tokenizer.save_pretrained" in message


def test_C5_a_missing_path_or_a_file_is_named(model_dir):
    assert "does not exist" in load_error(model_dir / "nope")
    assert "is a file, not a directory" in load_error(model_dir / "config.json")


# -- S7: only complete causal LMs --------------------------------------------------------------


def tiny_bert_config(tokenizer, **kwargs):
    return BertConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=32, max_position_embeddings=64, **kwargs)  # fmt: skip


def save_with_tokenizer(model, tokenizer, path):
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def test_S7_a_bidirectional_bert_is_rejected(tokenizer, tmp_path):
    """BertForMaskedLM weights load completely into AutoModelForCausalLM's BertLMHeadModel, but
    without is_decoder it attends to later tokens: training it with DPO would be meaningless."""
    path = save_with_tokenizer(BertForMaskedLM(tiny_bert_config(tokenizer)), tokenizer, tmp_path / "bert")
    message = load_error(path)
    assert str(path) in message and "not causal" in message and "GPT-2" in message


def test_S7_a_base_model_without_its_lm_head_is_rejected(tokenizer, tmp_path):
    path = save_with_tokenizer(BertModel(tiny_bert_config(tokenizer)), tokenizer, tmp_path / "bert-base")
    message = load_error(path)
    assert "not a complete BertLMHeadModel checkpoint" in message and "cls.predictions" in message


def test_S7_a_checkpoint_missing_weights_is_rejected(model_dir):
    weights = model_dir / "model.safetensors"
    state = load_file(weights)
    dropped = [k for k in state if ".mlp." in k]
    save_file({k: v for k, v in state.items() if k not in dropped}, weights, metadata={"format": "pt"})
    message = load_error(model_dir)
    assert "would start random" in message and "mlp" in message and str(model_dir) in message


def test_a_causal_bert_decoder_still_loads(tokenizer, tmp_path):
    """The S7 checks reject what is not causal, not every model that is not GPT-2."""
    config = tiny_bert_config(tokenizer, is_decoder=True)
    path = save_with_tokenizer(BertLMHeadModel(config), tokenizer, tmp_path / "bert-decoder")
    model, _ = load_pretrained(str(path))
    assert type(model).__name__ == "BertLMHeadModel" and model.config.is_decoder


# -- U3: tokenizer files -----------------------------------------------------------------------


def test_U3_a_directory_without_tokenizer_files_names_them(model_dir):
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (model_dir / name).unlink()
    message = load_error(model_dir)
    assert "holds no tokenizer" in message and "tokenizer.json" in message and "vocab.json" in message
    assert "tokenizer.save_pretrained" in message
    (model_dir / "vocab.json").write_text(json.dumps({"a": 0, "b": 1}))
    assert "no merges.txt" in load_error(model_dir)


def test_U3_a_tokenizer_with_fewer_than_two_tokens_is_rejected(model_dir):
    empty = GPT2TokenizerFast(tokenizer_object=Tokenizer(models.BPE()))
    assert len(empty) < 2
    empty.save_pretrained(model_dir)
    message = load_error(model_dir)
    assert f"{model_dir}" in message and "token(s)" in message and "tokenizer.save_pretrained" in message


def test_U3_a_tokenizer_larger_than_the_embedding_table_is_rejected(tokenizer, model_dir):
    bigger = GPT2TokenizerFast.from_pretrained(model_dir)
    bigger.add_tokens([f"extra{i}" for i in range(5)])
    bigger.save_pretrained(model_dir)
    message = load_error(model_dir)
    assert f"has {len(tokenizer) + 5} tokens" in message and "embedding table" in message
