"""The DPO trainer (dpo_teach.gpt2.trainer): step-0 invariants, the loss against the formula core,
the reference precompute, learning, resume, and the batches it draws."""

import math

import pytest
import torch

from dpo_teach import torch_dpo
from dpo_teach.gpt2.logprobs import collate_pairs, concatenated_logps, score_pairs
from dpo_teach.gpt2.trainer import (
    DPOConfig,
    DPOTrainer,
    compute_loss_and_metrics,
    precompute_ref_logps,
)
from helpers import PAD, toy_pairs
from helpers import tiny_gpt2 as tiny_model


def make_trainer(tmp_path=None, **overrides):
    policy, ref = tiny_model(), tiny_model()
    settings = dict(
        beta=0.5,
        learning_rate=1e-2,
        batch_size=4,
        max_steps=8,
        log_every=3,
        save_every=3,
        progress=False,
        output_dir=str(tmp_path) if tmp_path else None,
    )
    settings.update(overrides)
    return DPOTrainer(policy, ref, toy_pairs(), DPOConfig(**settings), pad_token_id=PAD)


def test_step_zero_loss_is_ln2_and_margin_zero():
    history = make_trainer().train()
    first = history[0]
    assert first["step"] == 0
    assert first["loss"] == pytest.approx(math.log(2), abs=1e-5)
    assert first["rewards/margins"] == pytest.approx(0.0, abs=1e-5)
    assert first["rewards/chosen"] == pytest.approx(0.0, abs=1e-5)
    assert first["rewards/accuracies"] == 0.0  # no strict win when policy = reference
    assert [h["step"] for h in history] == list(range(8))
    assert history[-1]["loss"] < first["loss"] - 0.05  # it learns on this easy toy task
    assert history[-1]["rewards/margins"] > 0


def test_loss_and_metrics_match_the_formula_core():
    torch.manual_seed(1)
    policy, ref = tiny_model(1).eval(), tiny_model(2).eval()
    batch = collate_pairs(toy_pairs(5), PAD)
    assert batch["input_ids"].shape[0] == 10  # chosen and rejected stacked: one forward pass
    with torch.no_grad():
        ref_c, ref_r = concatenated_logps(ref, batch)
        pol_c, pol_r = concatenated_logps(policy, batch)
        loss, metrics = compute_loss_and_metrics(policy, batch, ref_c, ref_r, beta=0.3)
    losses, r_w, r_l = torch_dpo.dpo_loss(pol_c, pol_r, ref_c, ref_r, 0.3)
    assert float(loss) == pytest.approx(float(losses.mean()), abs=1e-6)
    assert float(metrics["rewards/margins"]) == pytest.approx(float((r_w - r_l).mean()), abs=1e-6)
    assert float(metrics["rewards/accuracies"]) == pytest.approx(float((r_w > r_l).float().mean()))
    assert float(metrics["logps/rejected"]) == pytest.approx(float(pol_r.mean()), abs=1e-6)
    margins = torch_dpo.margin(pol_c, pol_r, ref_c, ref_r, 0.3)
    assert float(metrics["rewards/margins"]) == pytest.approx(float(margins.mean()), abs=1e-6)


def test_reference_on_the_fly_equals_precomputed():
    a = make_trainer(precompute_ref_logps=True)
    b = make_trainer(precompute_ref_logps=False)
    batch_a, batch_b = a.batch_at(0), b.batch_at(0)
    assert "ref_chosen_logps" in batch_a and "ref_chosen_logps" not in batch_b
    ma, mb = a.train_step(batch_a), b.train_step(batch_b)
    assert float(ma["loss"]) == pytest.approx(float(mb["loss"]), abs=1e-6)
    assert not any(p.requires_grad for p in a.ref_model.parameters()) and not a.ref_model.training


def test_precompute_ref_logps_is_score_pairs_and_what_the_trainer_holds():
    ref = tiny_model(2)
    pairs = toy_pairs()
    chosen, rejected = precompute_ref_logps(ref, pairs, PAD, batch_size=5)
    want_c, want_r = score_pairs(ref, pairs, PAD, batch_size=5)
    assert torch.equal(chosen, want_c) and torch.equal(rejected, want_r)
    assert chosen.device == next(ref.parameters()).device and chosen.shape == (len(pairs),)
    trainer = make_trainer()
    with torch.no_grad():
        held_c, held_r = concatenated_logps(trainer.ref_model, collate_pairs(trainer.pairs, PAD))
    torch.testing.assert_close(trainer.ref_chosen_logps, held_c, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(trainer.ref_rejected_logps, held_r, rtol=1e-5, atol=1e-5)


def test_resume_continues_where_it_stopped(tmp_path):
    straight = make_trainer().train()
    first = make_trainer(tmp_path, max_steps=4)
    first.train()
    assert (tmp_path / "dpo_checkpoint.pt").exists()
    resumed_trainer = make_trainer(tmp_path, max_steps=8)
    resumed = resumed_trainer.train()
    assert [h["step"] for h in resumed] == list(range(8))
    for h_straight, h_resumed in zip(straight, resumed):
        assert h_resumed["loss"] == pytest.approx(h_straight["loss"], abs=1e-5)
    # a finished run re-run with the same dir does nothing more
    again = make_trainer(tmp_path, max_steps=8)
    assert len(again.train()) == 8 and again.step == 8
    with pytest.raises(ValueError, match="beta"):
        make_trainer(tmp_path, beta=0.9).train()


def test_batches_are_exactly_collate_pairs_of_the_drawn_pairs():
    """batch_at indexes pairs collated once; each batch must equal collate_pairs on its pairs,
    padded to that batch's own longest row (not the dataset's), across epoch boundaries."""
    pairs = toy_pairs(12, seed=3)
    trainer = DPOTrainer(tiny_model(), tiny_model(), pairs, DPOConfig(batch_size=3, progress=False), PAD)
    which = {  # (chosen row, rejected row) -> pair index
        (tuple(p["prompt_ids"] + p["chosen_ids"]), tuple(p["prompt_ids"] + p["rejected_ids"])): i
        for i, p in enumerate(pairs)
    }
    assert len(which) == len(pairs)  # every pair is identifiable from its two rows
    widths, drawn = set(), []
    for step in range(10):  # 30 draws from 12 pairs: three epochs, two boundaries inside a batch
        batch = trainer.batch_at(step)
        rows = [r[m.bool()].tolist() for r, m in zip(batch["input_ids"], batch["attention_mask"])]
        idx = [which[(tuple(rows[i]), tuple(rows[i + 3]))] for i in range(3)]
        expected = collate_pairs([pairs[i] for i in idx], PAD)
        assert set(batch) == set(expected) | {"ref_chosen_logps", "ref_rejected_logps"}
        for name, tensor in expected.items():
            assert batch[name].shape == tensor.shape and torch.equal(batch[name], tensor), name
        assert torch.equal(batch["ref_chosen_logps"], trainer.ref_chosen_logps[idx])
        assert torch.equal(batch["ref_rejected_logps"], trainer.ref_rejected_logps[idx])
        widths.add(batch["input_ids"].shape[1])
        drawn += idx
    assert len(widths) > 1  # batches really are cut to different widths
    assert trainer.tokens_seen == 0  # drawing a batch is not training on it
    for epoch in range(2):  # each epoch visits every pair once
        assert sorted(drawn[12 * epoch : 12 * (epoch + 1)]) == list(range(12))


def test_tokens_seen_counts_the_non_padding_tokens_trained_on():
    trainer = make_trainer(max_steps=5)
    trainer.train()
    expected = sum(int(trainer.batch_at(step)["attention_mask"].sum()) for step in range(5))
    assert int(trainer.tokens_seen) == expected
    assert trainer.tokens_per_second > 0


def test_progress_bar_shows_a_labelled_running_mean(capsys):
    """Issue 12: the bar shows the running mean of the loss, labelled, not the last batch's loss."""
    trainer = make_trainer(progress=True, max_steps=6, log_every=3)
    trainer.train()
    err = capsys.readouterr().err
    assert "running mean of 6 steps: loss" in err


def test_fixed_weight_is_the_dpo_gradient_with_w_held_constant():
    """At policy = reference every margin is 0, so DPO's weight is exactly 1/2: the loss
    -margin / 2 must give DPO's gradient there, and its value is -c * margin per pair."""
    batch = collate_pairs(toy_pairs(5), PAD)
    grads = {}
    for fixed in (None, 0.5):
        policy, ref = tiny_model(1).eval(), tiny_model(1).eval()
        with torch.no_grad():
            ref_c, ref_r = concatenated_logps(ref, batch)
        loss, metrics = compute_loss_and_metrics(policy, batch, ref_c, ref_r, 0.3, fixed_weight=fixed)
        loss.backward()
        grads[fixed] = torch.cat([p.grad.flatten() for p in policy.parameters()])
        if fixed is not None:
            assert float(loss.detach()) == pytest.approx(-0.5 * float(metrics["rewards/margins"]), abs=1e-7)
    assert torch.allclose(grads[None], grads[0.5], rtol=1e-4, atol=1e-7)
    # away from the reference the two differ, and the trainer passes the option through
    history = make_trainer(fixed_weight=0.5).train()
    assert history[0]["loss"] == pytest.approx(0.0, abs=1e-6)  # -c * margin with margin 0
    assert history[-1]["rewards/margins"] > 0
    with pytest.raises(ValueError, match="fixed_weight"):
        DPOConfig(fixed_weight=-1.0)
