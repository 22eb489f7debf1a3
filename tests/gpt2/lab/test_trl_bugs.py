"""``dpo_teach.gpt2.lab.trl_bugs``: the set-ups notebook 08's section 10 breaks, each checked against
the unbroken one (so each check can fail)."""

from __future__ import annotations

import math

import pytest
import torch

from dpo_teach.gpt2.lab import trl_bugs
from dpo_teach.gpt2.logprobs import collate_pairs
from dpo_teach.gpt2.models import build_model

ROWS = [{"prompt": "the film was", "chosen": " great.", "rejected": " awful."}]


@pytest.fixture
def model(tokenizer):
    return build_model("tiny", tokenizer, seed=0).eval()


def test_residual_scaled_is_the_same_function_until_fp16_overflows(model, tokenizer):
    ids = torch.tensor([[tokenizer.bos_token_id] + tokenizer.encode("the film was great.")])
    with torch.no_grad():
        reference = model(input_ids=ids).logits
        streams = model(input_ids=ids, output_hidden_states=True).hidden_states[:-1]  # the residual stream
        peak = max(h.abs().max().item() for h in streams)
        scale = 2 * 65504 / peak  # the largest activation becomes twice fp16's largest number
        big = trl_bugs.residual_scaled(model, scale)
        assert (big(input_ids=ids).logits - reference).abs().max() < 0.05  # fp32: the same function
        assert not torch.isfinite(trl_bugs.residual_scaled(model, scale).half()(input_ids=ids).logits).all()
        assert torch.isfinite(big.bfloat16()(input_ids=ids).logits).all()  # bf16 has fp32's range
        assert torch.isfinite(trl_bugs.residual_scaled(model, 1.0).half()(input_ids=ids).logits).all()


def test_chat_template_rows_put_bos_twice_and_inside_the_completion(tokenizer):
    tok = trl_bugs.trl_tokenizer(tokenizer)
    bos = tok.bos_token_id
    assert tok(ROWS[0]["prompt"])["input_ids"].count(bos) == 1  # the fixed format: one BOS
    templated, rows = trl_bugs.chat_template_rows(ROWS, tok)
    assert templated(rows[0]["prompt"])["input_ids"][:2] == [bos, bos]
    assert rows[0]["chosen"].startswith(tok.bos_token) and not ROWS[0]["chosen"].startswith(tok.bos_token)


def test_lora_backward_needs_input_gradients(model, tokenizer):
    pytest.importorskip("peft")
    pairs = [{"prompt_ids": [tokenizer.bos_token_id] + tokenizer.encode("the film was"),
              "chosen_ids": tokenizer.encode(" great.") + [tokenizer.eos_token_id],
              "rejected_ids": tokenizer.encode(" awful.") + [tokenizer.eos_token_id]}]  # fmt: skip
    batch = collate_pairs(pairs, tokenizer.pad_token_id)
    broken = trl_bugs.lora_backward(trl_bugs.lora_policy(model), batch, input_grads=False)
    fixed = trl_bugs.lora_backward(trl_bugs.lora_policy(model), batch, input_grads=True)
    assert isinstance(broken, str) and "does not require grad" in broken
    assert isinstance(fixed, float) and fixed > 0 and math.isfinite(fixed)
