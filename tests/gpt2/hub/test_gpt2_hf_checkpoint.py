"""Any causal LM checkpoint in, the trained policy out (dpo_teach.gpt2.hub.hf_checkpoint): padding side per
job, a missing pad token set, and save_pretrained (safetensors) that AutoModelForCausalLM loads."""

import copy

import pytest
import torch
from stand_ins import save_causal_lm
from transformers import AutoModelForCausalLM, AutoTokenizer

from dpo_teach.gpt2.hub.hf_checkpoint import load_causal_lm, padding_for, save_policy, unwrap_model
from dpo_teach.gpt2.models import load_pretrained


@pytest.fixture
def no_pad_tokenizer(tokenizer):
    tok = copy.deepcopy(tokenizer)
    tok.pad_token = None  # GPT-2's own tokenizer has no pad token
    return tok


def test_a_checkpoint_loads_with_a_pad_token_and_the_padding_side_of_the_job(no_pad_tokenizer, tmp_path):
    save_causal_lm(no_pad_tokenizer, tmp_path / "lm")
    assert AutoTokenizer.from_pretrained(tmp_path / "lm").pad_token is None  # the stand-in lacks one
    model, tok = load_causal_lm(str(tmp_path / "lm"))
    assert tok.pad_token == tok.eos_token and model.config.pad_token_id == tok.eos_token_id
    assert tok.padding_side == "right"
    assert load_causal_lm(str(tmp_path / "lm"), purpose="generate")[1].padding_side == "left"
    with padding_for(tok, "generate"):
        batch = tok(["the film was", "the film was great and the plot"], padding=True)
        assert batch["attention_mask"][0][0] == 0 and batch["attention_mask"][0][-1] == 1  # pad on the left
    assert tok.padding_side == "right"  # restored
    with pytest.raises(ValueError, match="purpose must be one of train, score, generate"):
        load_causal_lm(str(tmp_path / "lm"), purpose="sample")
    with pytest.raises(ValueError, match="save_pretrained"):
        load_causal_lm(str(tmp_path / "missing"))


def test_the_policy_is_saved_as_safetensors_beside_metrics_json(tokenizer, tmp_path):
    model = save_causal_lm(tokenizer, tmp_path / "lm").eval()
    with torch.no_grad():  # a "trained" policy: every weight moved
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.json").write_text("{}")
    out = save_policy(torch.nn.DataParallel(model), tokenizer, tmp_path / "run" / "policy")  # unwrapped
    files = {f.name for f in out.iterdir()}
    assert {
        "model.safetensors",
        "config.json",
        "tokenizer.json",
    } <= files and "pytorch_model.bin" not in files
    assert sorted(f.name for f in (tmp_path / "run").iterdir()) == ["metrics.json", "policy"]  # no temp left
    loaded = AutoModelForCausalLM.from_pretrained(out).eval()
    loaded_tok = AutoTokenizer.from_pretrained(out)
    ids = torch.tensor([[tokenizer.bos_token_id] + tokenizer.encode("the film was great.")])
    assert loaded_tok.encode("the film was great.") == tokenizer.encode("the film was great.")
    with torch.no_grad():
        mask = torch.ones_like(ids)
        assert torch.equal(
            loaded(input_ids=ids, attention_mask=mask).logits,
            model(input_ids=ids, attention_mask=mask).logits,
        )
    again, _ = load_pretrained(str(out))  # and the package's own loader takes it as --model
    assert torch.equal(again.transformer.wte.weight, model.transformer.wte.weight)
    save_policy(model, tokenizer, out)  # saving again replaces it whole
    assert (out / "model.safetensors").is_file()
    with pytest.raises(ValueError, match="is a file; pass a directory"):
        save_policy(model, tokenizer, tmp_path / "run" / "metrics.json")


def test_unwrap_model_reaches_the_model_inside_wrappers():
    model = torch.nn.Linear(2, 2)
    assert unwrap_model(model) is model
    assert unwrap_model(torch.nn.DataParallel(torch.nn.DataParallel(model))) is model
