"""Model presets, from_pretrained on a save_pretrained directory, dropout off (dpo_teach.gpt2.models)."""

import pytest
import torch

from dpo_teach.gpt2.models import PRESETS, build_model, count_parameters, disable_dropout, load_pretrained
from helpers import tiny_gpt2


def test_presets_have_the_advertised_shapes(tokenizer):
    tiny = build_model("tiny", tokenizer)
    assert tiny.config.n_layer == 2 and tiny.config.n_embd == 64
    assert tiny.config.vocab_size == len(tokenizer)
    assert count_parameters(tiny) < 200_000
    assert PRESETS["small"].n_layer == 12 and PRESETS["small"].n_embd == 768  # GPT-2 124M shape
    base = build_model("base", tokenizer)  # between the two: 4 layers x 256, for a CPU in minutes
    shape = (base.config.n_layer, base.config.n_embd, base.config.n_head, base.config.n_positions)
    assert shape == (4, 256, 4, 64)
    assert 3_000_000 < count_parameters(base) < 3_600_000
    with pytest.raises(ValueError, match="unknown preset"):
        build_model("huge", tokenizer)


def test_from_pretrained_on_a_save_pretrained_directory(tokenizer, tmp_path):
    model = build_model("tiny", tokenizer, seed=3).eval()
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded, loaded_tok = load_pretrained(str(tmp_path))
    ids = torch.tensor([[tokenizer.bos_token_id] + tokenizer.encode("the film was great.")])
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids).logits, loaded.eval()(input_ids=ids).logits)
    assert loaded_tok.encode("the film was great.") == tokenizer.encode("the film was great.")
    with pytest.raises(ValueError, match="save_pretrained"):
        load_pretrained(str(tmp_path / "missing"))


def test_disable_dropout_makes_train_mode_deterministic():
    model = tiny_gpt2(seed=0)
    assert model.config.resid_pdrop > 0  # GPT-2's default dropout, so the test is not vacuous
    ids = torch.tensor([[0, 3, 5, 7, 2]])
    model.train()
    with torch.no_grad():
        assert not torch.equal(model(input_ids=ids).logits, model(input_ids=ids).logits)
        disable_dropout(model)
        assert model.training  # the mode is untouched, only the probabilities are zeroed
        train_logits = model(input_ids=ids).logits
        assert torch.equal(train_logits, model(input_ids=ids).logits)
        assert torch.equal(train_logits, model.eval()(input_ids=ids).logits)
    dropouts = [m for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    assert dropouts and all(m.p == 0.0 for m in dropouts)
