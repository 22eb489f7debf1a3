"""Supervised fine-tuning of the reference model (dpo_teach.gpt2.sft)."""

import pytest
import torch

from dpo_teach.gpt2 import reviews
from dpo_teach.gpt2.models import build_model
from dpo_teach.gpt2.sft import sft_train


def test_sft_lowers_the_loss_is_seeded_and_ends_in_eval_mode(tokenizer):
    texts = reviews.corpus(200, seed=1)
    model = build_model("tiny", tokenizer, seed=0)
    losses = sft_train(model, tokenizer, texts, steps=30, batch_size=8, warmup_steps=5, progress=False)
    assert len(losses) == 30 and all(isinstance(x, float) for x in losses)
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.5  # it learns the grammar's words fast
    assert not model.training
    again = build_model("tiny", tokenizer, seed=0)
    assert (
        sft_train(again, tokenizer, texts, steps=30, batch_size=8, warmup_steps=5, progress=False) == losses
    )
    ids = torch.tensor([[tokenizer.bos_token_id] + tokenizer.encode("the film was great.")])
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids).logits, again(input_ids=ids).logits)


def test_sft_without_texts_is_an_error(tokenizer):
    with pytest.raises(ValueError, match="no texts"):
        sft_train(build_model("tiny", tokenizer), tokenizer, [], steps=1, progress=False)


def test_texts_longer_than_the_model_keep_their_start(tokenizer):
    """An IMDb review can be longer than the model's positions: it is cut (keep start), not an error."""
    torch.set_num_threads(1)
    long_text = " and ".join(["the film was great"] * 40)  # ~160 tokens > 64 positions
    assert len(tokenizer.encode(long_text)) > 64
    model = build_model("tiny", tokenizer, seed=0)
    losses = sft_train(model, tokenizer, [long_text, "dull."], steps=2, batch_size=2, progress=False)
    assert len(losses) == 2 and all(x == x for x in losses)
