"""The real-world pieces composed by hand, as the pipeline will call them: prompts from a file, a
checkpoint from save_pretrained, K completions judged by a reward model, DPO, the policy saved."""

import pytest
import torch
from stand_ins import save_causal_lm, save_classifier
from transformers import AutoModelForCausalLM

from dpo_teach.gpt2.hub.hf_checkpoint import load_causal_lm, save_policy
from dpo_teach.gpt2.hub.judge import load_reward_model, sample_and_label
from dpo_teach.gpt2.hub.preference_data import tokenize_preferences
from dpo_teach.gpt2.hub.prompts import load_prompt_source
from dpo_teach.gpt2.trainer import DPOConfig, DPOTrainer

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/gpt2/conftest.py


def test_prompts_reward_model_dpo_and_save(tokenizer, tmp_path):
    openings = ("the film was", "the plot seemed", "the acting felt")
    lines = [
        f"{a} {b} and the music felt good." for a in openings for b in ("great", "awful", "boring", "superb")
    ]
    (tmp_path / "reviews.txt").write_text("\n".join(lines), encoding="utf-8")
    save_causal_lm(tokenizer, tmp_path / "lm")
    save_classifier(tokenizer, tmp_path / "rm")

    source = load_prompt_source(tmp_path / "reviews.txt")
    ref, tok = load_causal_lm(str(tmp_path / "lm"))
    policy, _ = load_causal_lm(str(tmp_path / "lm"))
    train_prompts, eval_prompts = source.split(12, 2, seed=0, tokenizer=tok, prefix_tokens=(2, 3))
    judge = load_reward_model(tmp_path / "rm")
    rows = sample_and_label(ref, tok, train_prompts, judge, k=4, pairs="all", seed=0, max_new_tokens=6)
    data = tokenize_preferences(rows, tok, max_length=ref.config.n_positions)
    assert data.format == "standard" and len(data.pairs) > 12  # up to 6 pairs a prompt
    config = DPOConfig(beta=0.5, learning_rate=1e-3, batch_size=4, max_steps=3, progress=False)
    history = DPOTrainer(policy, ref, data.pairs, config, tok.pad_token_id).train()
    assert abs(history[0]["loss"] - 0.693147) < 1e-4  # step 0: policy = reference
    out = save_policy(policy, tok, tmp_path / "run" / "policy")
    reloaded = AutoModelForCausalLM.from_pretrained(out)
    assert torch.equal(reloaded.transformer.h[0].mlp.c_fc.weight, policy.transformer.h[0].mlp.c_fc.weight)
    assert not torch.equal(reloaded.transformer.h[0].mlp.c_fc.weight, ref.transformer.h[0].mlp.c_fc.weight)
