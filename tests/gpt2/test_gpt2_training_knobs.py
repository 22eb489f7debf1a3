"""The knobs of a real run (issue 28): gradient accumulation equals one big batch, the learning-rate
schedules, held-out evaluation and the best policy, gradient checkpointing, the LM head in chunks."""

import copy
import math

import pytest
import torch

from dpo_teach.gpt2.schedule import lr_factor, warmup_steps_for
from dpo_teach.gpt2.trainer import DPOConfig, DPOTrainer
from helpers import PAD, tiny_gpt2, toy_pairs

pytestmark = pytest.mark.usefixtures("one_thread")
NAMES = ("loss", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen",
         "logps/rejected", "grad_norm")  # fmt: skip


def _train(steps=3, pairs=None, ref_noise=True, **config):
    ref = tiny_gpt2(seed=0)
    policy = copy.deepcopy(ref)
    if ref_noise:  # a policy away from the reference: margins and accuracies are not all zero
        with torch.no_grad():
            for p in policy.parameters():
                p.add_(0.05 * torch.randn_like(p))
    cfg = DPOConfig(**{"beta": 0.5, "learning_rate": 1e-2, "batch_size": 8, "max_steps": steps,
                       "progress": False, "log_every": 1, **config})  # fmt: skip
    trainer = DPOTrainer(policy, ref, pairs or toy_pairs(16), cfg, PAD)
    trainer.train()
    return trainer


@pytest.mark.parametrize("k", [2, 4])
def test_grad_accumulation_equals_one_big_batch(k):
    one, accum = _train(), _train(grad_accum=k)
    for a, b in zip(one.history, accum.history):
        for name in NAMES:  # loss, metrics and the gradient norm (which a missing 1/k would scale)
            assert b[name] == pytest.approx(a[name], rel=1e-6, abs=1e-6), (name, a["step"])
    # (the steps after the first check the updated weights; a parameter-wise check is not made:
    # AdamW divides by sqrt(v), so float noise in a gradient that is ~0, as the attention's key
    # bias, becomes an update of lr's size on both sides alike)


def test_gradient_checkpointing_and_chunked_logps_leave_the_run_unchanged():
    plain = _train()
    for knob in ({"gradient_checkpointing": True}, {"logps_chunk": 3}):
        other = _train(**knob)
        for a, b in zip(plain.history, other.history):
            assert b["loss"] == pytest.approx(a["loss"], abs=1e-6), knob
            assert b["grad_norm"] == pytest.approx(a["grad_norm"], rel=1e-5), knob


def test_schedules_known_values():
    constant = lr_factor("constant", 4, 20)
    assert [constant(s) for s in (0, 1, 3, 4, 19)] == [0.25, 0.5, 1.0, 1.0, 1.0]  # as before issue 28
    linear, cosine = lr_factor("linear", 2, 12), lr_factor("cosine", 2, 12)
    assert linear(2) == 1.0 and linear(7) == pytest.approx(0.5) and linear(12) == 0.0
    assert cosine(2) == 1.0 and cosine(7) == pytest.approx(0.5) and cosine(12) == pytest.approx(0.0)
    assert cosine(4) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.2)))
    assert warmup_steps_for(0.1, 25) == 3
    trainer = _train(steps=6, lr_scheduler="cosine", warmup_steps=2)
    lrs = [h["learning_rate"] for h in trainer.history]
    assert lrs == pytest.approx([1e-2 * lr_factor("cosine", 2, 6)(s) for s in range(6)])


@pytest.mark.parametrize("on_disk", [True, False])
def test_eval_every_logs_held_out_metrics_and_save_best_keeps_the_lowest_loss(tmp_path, on_disk):
    held = toy_pairs(6, seed=9)
    ref = tiny_gpt2(seed=0)
    policy = copy.deepcopy(ref)
    cfg = DPOConfig(beta=0.5, learning_rate=5e-2, batch_size=8, max_steps=5, progress=False, eval_every=2,
                    save_best=True, output_dir=str(tmp_path) if on_disk else None)  # fmt: skip
    trainer = DPOTrainer(policy, ref, toy_pairs(16), cfg, PAD, eval_pairs=held)
    trainer.train()
    rows = trainer.eval_history
    assert [r["step"] for r in rows] == [2, 4, 5]  # every 2 steps and at the end
    assert all(0.0 <= r["eval_rewards/accuracies"] <= 1.0 and math.isfinite(r["eval_loss"]) for r in rows)
    best = min(rows, key=lambda r: r["eval_loss"])
    assert trainer.best == {"step": best["step"], "eval_loss": best["eval_loss"]}
    assert (tmp_path / "best_policy.pt").exists() == on_disk
    trainer.load_best()
    assert trainer.heldout.measure(trainer.policy)["eval_loss"] == pytest.approx(best["eval_loss"], abs=1e-6)


def test_bad_knob_values_are_one_clear_error():
    for bad, words in (({"grad_accum": 3}, "grad_accum"), ({"lr_scheduler": "step"}, "lr_scheduler"),
                       ({"save_best": True}, "eval_every"), ({"logps_chunk": -1}, "logps_chunk")):  # fmt: skip
        with pytest.raises(ValueError, match=words):
            DPOConfig(batch_size=8, **bad)
    with pytest.raises(ValueError, match="eval_pairs"):
        DPOTrainer(tiny_gpt2(), tiny_gpt2(), toy_pairs(4), DPOConfig(batch_size=2, eval_every=2), PAD)


def test_from_sizes_is_the_presets_dpo_stage_with_overrides_on_top():
    from dpo_teach.gpt2.recipe import sizes_for

    sizes = sizes_for("tiny", False)
    config = DPOConfig.from_sizes(sizes, 7, beta=2.0, learning_rate=1e-3, loss_type="rpo")
    assert (config.batch_size, config.max_steps, config.warmup_steps) == (
        sizes.dpo_batch_size, sizes.dpo_steps, sizes.dpo_warmup_steps)  # fmt: skip
    assert (config.seed, config.progress, config.beta, config.learning_rate, config.loss_type) == (
        7, False, 2.0, 1e-3, "rpo")  # fmt: skip
    assert DPOConfig.from_sizes(sizes, 0).learning_rate == sizes.dpo_learning_rate != 1e-3
    with pytest.raises(ValueError):  # an override is validated like any other value
        DPOConfig.from_sizes(sizes, 0, learning_rate=-1.0)
