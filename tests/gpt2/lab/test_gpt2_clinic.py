"""The clinic's broken set-ups (dpo_teach.gpt2.lab.clinic) break exactly as notebook 08 says, and only
when asked: every switch off is the package's own DPO step."""

from __future__ import annotations

import copy
import math
import random
import types

import pytest
import torch

from dpo_teach.gpt2.lab import clinic
from dpo_teach.gpt2.logprobs import collate_pairs, sequence_logps
from dpo_teach.gpt2.trainer import DPOConfig, DPOTrainer
from helpers import PAD, tiny_gpt2, toy_pairs

LN2 = math.log(2)


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/gpt2/conftest.py


@pytest.fixture
def world():
    """A World around the 13-token test GPT-2 (no SFT: the bugs do not need a good model)."""
    tok = types.SimpleNamespace(pad_token_id=PAD)
    return clinic.World(tok, tiny_gpt2().eval(), [], toy_pairs(16), [], [])


def run(world, steps=6, **options):
    return clinic.run_homemade(world, steps=steps, batch_size=4, **options)


def test_logps_modes_against_the_library():
    model, pairs = tiny_gpt2().eval(), toy_pairs(6)
    batch = collate_pairs(pairs, PAD)
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        got = {mode: clinic.clinic_logps(model, batch, mode) for mode in clinic.LOGPS_MODES}
    torch.testing.assert_close(got["sum"], sequence_logps(logits, batch["labels"]))
    torch.testing.assert_close(got["mean"], sequence_logps(logits, batch["labels"], average_log_prob=True))
    # first token masked: the sum minus the first completion token's log-prob (a higher number)
    token = logits.float().log_softmax(-1)
    for row, pair in enumerate(pairs + pairs):
        p = len(pair["prompt_ids"])
        ids = (pair["chosen_ids"] if row < len(pairs) else pair["rejected_ids"])[0]
        expected = got["sum"][row] - token[row, p - 1, ids]
        assert abs(got["first_token_masked"][row] - expected) < 1e-5
    assert not torch.allclose(got["no_shift"], got["sum"])
    assert torch.allclose(got["fp16"], got["sum"], atol=0.05)  # finite here: no probability below 6e-8
    with pytest.raises(ValueError, match="mode must be one of"):
        clinic.clinic_logps(model, batch, "median")


def test_fp16_logps_underflow_to_minus_infinity():
    class Fixed(torch.nn.Module):  # logits that give token 5 a probability of about e^-30 = 1e-13
        def forward(self, input_ids, attention_mask, use_cache):
            logits = torch.zeros(*input_ids.shape, 13)
            logits[..., 5] = -30.0
            return types.SimpleNamespace(logits=logits)

    batch = collate_pairs([{"prompt_ids": [1], "chosen_ids": [5, PAD], "rejected_ids": [2, PAD]}], PAD)
    fp16, fp32 = clinic.clinic_logps(Fixed(), batch, "fp16"), clinic.clinic_logps(Fixed(), batch, "sum")
    assert fp16[0] == -math.inf  # log 0
    assert abs(fp32[0] - (-30 - 2 * math.log(12))) < 1e-3  # token 5: -30 - ln 12; then EOS: -ln 12
    assert abs(fp16[1] - fp32[1]) < 1e-2  # a likely token is fine either way


def test_with_every_switch_off_it_is_the_package_step(world):
    _, _, history = run(world, steps=1)
    settings = dict(beta=2.0, learning_rate=5e-4, batch_size=4, max_steps=1, progress=False)
    policy, ref = clinic.fresh_policy(world.ref_model), copy.deepcopy(world.ref_model)
    trainer = DPOTrainer(policy, ref, world.train_pairs, DPOConfig(**settings), PAD)
    order = list(range(len(world.train_pairs)))
    random.Random(0).shuffle(order)  # homemade_dpo's first batch (seed 0)
    ours = trainer.train_step(collate_pairs([world.train_pairs[i] for i in order[:4]], PAD))
    assert abs(history[0]["loss"] - LN2) < 1e-6 and abs(float(ours["loss"]) - LN2) < 1e-6
    assert abs(history[0]["grad_norm"] - float(ours["grad_norm"])) < 1e-4 * float(ours["grad_norm"])
    keys = {"step", "loss", "rewards/chosen", "rewards/margins", "logps/chosen", "grad_norm"}
    keys |= {"ref_logps/chosen", "ref_logps/rejected"}
    assert set(history[0]) >= keys


def test_three_ways_to_stay_at_ln2(world):
    for options in ({"beta": 0.0}, {"same_object": True}, {"stale_optimizer": True}):
        policy, _, history = run(world, **options)
        assert all(abs(h["loss"] - LN2) < 1e-6 and h["rewards/margins"] == 0 for h in history), options
    assert all(h["grad_norm"] == 0 for h in run(world, beta=0.0)[2])
    policy, _, history = run(world, stale_optimizer=True)
    assert all(h["grad_norm"] > 0 for h in history)
    assert all(torch.equal(p, q) for p, q in zip(policy.parameters(), world.ref_model.parameters()))
    _, _, fixed = run(world, steps=12)
    assert min(h["loss"] for h in fixed[1:]) < LN2 - 1e-3  # the fixed loop moves


def test_the_reference_not_frozen(world):
    _, ref, history = run(world, dropout=0.1)
    assert abs(history[0]["loss"] - LN2) > 1e-4 and not ref.training  # left as it was found: eval
    before = copy.deepcopy(world.ref_model)
    _, ref, history = run(world, ref_trainable=True)
    assert abs(history[0]["loss"] - LN2) < 1e-6  # step 0 cannot tell
    assert any(not torch.equal(p, q) for p, q in zip(ref.parameters(), before.parameters()))
    assert not any(p.requires_grad for p in ref.parameters())
    assert all(torch.equal(p, q) for p, q in zip(world.ref_model.parameters(), before.parameters()))


def test_masking_by_value_never_trains_eos(tokenizer):
    texts = ["the plot was good.", "the cast is bad.", "the film felt dull.", "the music was great."] * 4
    model = clinic.sft_masking_by_value(tokenizer, texts, steps=3, batch_size=4)
    assert not model.training
    rate = clinic.finished_rate(model, tokenizer, ["the plot was"] * 4, max_new_tokens=4)
    assert 0.0 <= rate <= 1.0


def test_build_world_small(tokenizer):
    world = clinic.build_world(n_corpus=60, sft_steps=2, sft_batch_size=4, n_prompts=12, n_eval_prompts=4)
    # two SFT steps: most samples are not reviews yet, and ties (both invalid) are dropped
    assert len(world.train_rows) == len(world.train_pairs) <= 12 and len(world.eval_prompts) == 4
    assert all(set(row) == {"prompt", "chosen", "rejected"} for row in world.train_rows)
    assert not world.ref_model.training and len(world.texts) == 60


def test_plot_signature_draws_one_panel_per_metric():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dpo_teach.gpt2.lab.clinic_plots import plot_signature

    history = [{"step": i, "loss": LN2 if i < 3 else math.nan, "grad_norm": 1.0} for i in range(5)]
    fig = plot_signature({"a": history, "b": history[:2]}, keys=("loss", "grad_norm", "rewards/margins"))
    assert len(fig.axes) == 3 and len(fig.axes[0].lines) == 3  # two runs + the ln 2 line
    plt.close(fig)
