"""The DPO trainer: step-0 invariants, the loss against the formula core, learning, resume."""

import math

import pytest
import torch

from conftest import tiny_gpt2
from dpo_teach import torch_dpo
from dpo_teach.trainer import (
    DPOConfig,
    DPOTrainer,
    collate_pairs,
    compute_loss_and_metrics,
    concatenated_logps,
)

PAD = 0


def tiny_model(seed=0):
    return tiny_gpt2(seed)


def toy_pairs(n=12, seed=0):
    """Prompts of 1-3 tokens; chosen completions use tokens 1-6, rejected 7-12 (lengths vary)."""
    g = torch.Generator().manual_seed(seed)
    pairs = []
    for _ in range(n):
        prompt = torch.randint(1, 13, (int(torch.randint(1, 4, (1,), generator=g)),), generator=g)
        good = torch.randint(1, 7, (int(torch.randint(1, 5, (1,), generator=g)),), generator=g)
        bad = torch.randint(7, 13, (int(torch.randint(1, 5, (1,), generator=g)),), generator=g)
        pairs.append(
            {
                "prompt_ids": prompt.tolist(),
                "chosen_ids": good.tolist() + [PAD],
                "rejected_ids": bad.tolist() + [PAD],
            }
        )
    return pairs


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


def test_reference_on_the_fly_equals_precomputed():
    a = make_trainer(precompute_ref_logps=True)
    b = make_trainer(precompute_ref_logps=False)
    batch_a, batch_b = a.batch_at(0), b.batch_at(0)
    assert "ref_chosen_logps" in batch_a and "ref_chosen_logps" not in batch_b
    ma, mb = a.train_step(batch_a), b.train_step(batch_b)
    assert float(ma["loss"]) == pytest.approx(float(mb["loss"]), abs=1e-6)
    assert not any(p.requires_grad for p in a.ref_model.parameters()) and not a.ref_model.training


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
    widths, drawn, tokens = set(), [], 0
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
        tokens += int(expected["attention_mask"].sum())
    assert len(widths) > 1  # batches really are cut to different widths
    assert trainer.tokens_seen == tokens
    for epoch in range(2):  # each epoch visits every pair once
        assert sorted(drawn[12 * epoch : 12 * (epoch + 1)]) == list(range(12))
