"""Reliability of the DPO trainer (dpo_teach.gpt2.trainer): safe, checked resume; every config
field validated; too-long pairs caught up front. Finding ids in the names."""

import math
import os
import pathlib

import pytest
import torch

from dpo_teach.gpt2.checkpoint import CHECKPOINT_NAME, read_state_file
from dpo_teach.gpt2.trainer import CHECKPOINT_KEYS, DPOConfig, DPOTrainer
from helpers import PAD, tiny_gpt2, toy_pairs


def make_trainer(tmp_path=None, model_kwargs=None, pairs=None, **overrides):
    model_kwargs = model_kwargs or {}
    settings = dict(beta=0.5, learning_rate=1e-2, batch_size=4, max_steps=4, save_every=2, progress=False,
                    output_dir=str(tmp_path) if tmp_path else None)  # fmt: skip
    settings.update(overrides)
    policy, ref = tiny_gpt2(**model_kwargs), tiny_gpt2(**model_kwargs)
    return DPOTrainer(policy, ref, pairs or toy_pairs(), DPOConfig(**settings), pad_token_id=PAD)


# -- X1: no code runs on resume ----------------------------------------------------------------


class Payload:
    """Unpickling this calls open(marker, "w"): it creates the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_X1_a_pickle_payload_in_the_checkpoint_does_not_run_on_resume(tmp_path):
    marker = tmp_path / "pwned"
    state = {"step": 1, "policy": Payload(marker), "config": {"beta": 0.5}}
    torch.save(state, tmp_path / CHECKPOINT_NAME)
    trainer = make_trainer(tmp_path)
    with pytest.raises(ValueError, match="NOT loaded") as err:
        trainer.train()
    assert not marker.exists()  # the payload never ran
    message = str(err.value)
    assert str(tmp_path / CHECKPOINT_NAME) in message
    assert "delete" in message and "new output dir" in message
    assert trainer.step == 0


def test_X1_real_checkpoints_load_with_weights_only(tmp_path):
    """Everything save_checkpoint writes (history, config dict, AdamW and LambdaLR state with a
    warmup, no clipping, a pathlib output_dir) loads with torch.load(weights_only=True)."""
    trainer = make_trainer(output_dir=pathlib.Path(tmp_path), warmup_steps=3, max_grad_norm=None)
    trainer.train()
    assert isinstance(trainer.config.output_dir, str)
    state = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)
    assert state["step"] == 4 and len(state["history"]) == 4 and state["config"]["warmup_steps"] == 3
    assert read_state_file(tmp_path / CHECKPOINT_NAME, CHECKPOINT_KEYS, "x")["scheduler"]["last_epoch"] == 4
    resumed = make_trainer(output_dir=tmp_path, warmup_steps=3, max_grad_norm=None, max_steps=6)
    assert resumed.load_checkpoint() and resumed.step == 4
    assert resumed.scheduler.get_last_lr() == trainer.scheduler.get_last_lr()
    assert [h["step"] for h in resumed.train()] == list(range(6))


# -- C5: broken or foreign checkpoints ---------------------------------------------------------


def checkpoint_error(tmp_path, **kwargs) -> str:
    trainer = make_trainer(tmp_path, **kwargs)
    before = [p.detach().clone() for p in trainer.policy.parameters()]
    with pytest.raises(ValueError) as err:
        trainer.train()
    assert trainer.step == 0
    assert all(torch.equal(a, b) for a, b in zip(before, trainer.policy.parameters()))  # untouched
    message = str(err.value)
    assert str(tmp_path / CHECKPOINT_NAME) in message
    assert "delete" in message or "new output dir" in message
    return message


def test_C5_an_empty_checkpoint_is_a_clear_value_error(tmp_path):
    (tmp_path / CHECKPOINT_NAME).write_bytes(b"")
    assert "is empty" in checkpoint_error(tmp_path)


def test_C5_a_truncated_checkpoint_is_a_clear_value_error(tmp_path):
    make_trainer(tmp_path, max_steps=2).train()
    path = tmp_path / CHECKPOINT_NAME
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    assert "truncated or corrupt" in checkpoint_error(tmp_path)
    path.write_bytes(b"not a checkpoint at all")
    assert "truncated or corrupt" in checkpoint_error(tmp_path)


def test_C5_a_checkpoint_of_another_model_shape_is_a_clear_value_error(tmp_path):
    make_trainer(tmp_path, max_steps=2).train()
    message = checkpoint_error(tmp_path, model_kwargs={"vocab_size": 20})
    assert "different model shape" in message and "(13, 16)" in message and "(20, 16)" in message


def test_C5_a_checkpoint_that_is_not_a_dpo_checkpoint_is_a_clear_value_error(tmp_path):
    torch.save({"step": 3, "weights": torch.zeros(2)}, tmp_path / CHECKPOINT_NAME)
    assert "not a DPO checkpoint" in checkpoint_error(tmp_path)
    torch.save([1, 2, 3], tmp_path / CHECKPOINT_NAME)
    assert "not a DPO checkpoint" in checkpoint_error(tmp_path)


def test_a_failed_checkpoint_write_leaves_the_old_checkpoint_and_no_temp_file(tmp_path, monkeypatch):
    trainer = make_trainer(tmp_path, max_steps=2)
    trainer.train()
    before = (tmp_path / CHECKPOINT_NAME).read_bytes()

    def save_half_then_die(obj, f):
        pathlib.Path(f).write_bytes(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", save_half_then_die)
    with pytest.raises(KeyboardInterrupt):
        trainer.save_checkpoint()
    assert sorted(os.listdir(tmp_path)) == [CHECKPOINT_NAME]
    assert (tmp_path / CHECKPOINT_NAME).read_bytes() == before


# -- C3: pairs longer than the model's positions ----------------------------------------------


def test_C3_a_pair_longer_than_n_positions_is_caught_up_front():
    pairs = toy_pairs(6)
    pairs[4] = {"prompt_ids": [1] * 10, "chosen_ids": [2] * 14 + [PAD], "rejected_ids": [7, PAD]}
    with pytest.raises(ValueError, match="pair 4: prompt \\+ chosen is 25 tokens") as err:
        make_trainer(pairs=pairs)  # tiny_gpt2 has n_positions=24: an IndexError in the forward before
    assert "at most 24" in str(err.value) and "shorten" in str(err.value) and "n_positions" in str(err.value)
    pairs[4]["chosen_ids"] = [2] * 13 + [PAD]  # exactly 24 tokens fits
    assert make_trainer(pairs=pairs).train()


# -- U9: every DPOConfig field -----------------------------------------------------------------

BAD_FIELDS = [
    ("beta", 0.0),
    ("beta", float("nan")),
    ("beta", "0.1"),
    ("learning_rate", 0.0),
    ("learning_rate", -1e-5),
    ("learning_rate", float("inf")),
    ("learning_rate", "1e-5"),
    ("batch_size", 0),
    ("batch_size", -1),
    ("batch_size", 2.0),
    ("batch_size", True),
    ("max_steps", 0),
    ("max_steps", 1.5),
    ("warmup_steps", -1),
    ("warmup_steps", None),
    ("weight_decay", -0.1),
    ("weight_decay", float("nan")),
    ("max_grad_norm", 0.0),
    ("max_grad_norm", -1.0),
    ("max_grad_norm", float("inf")),
    ("precompute_ref_logps", 1),
    ("disable_dropout", "yes"),
    ("bf16", None),
    ("progress", 0),
    ("log_every", 0),
    ("log_every", -5),
    ("save_every", -1),
    ("save_every", 1.0),
    ("output_dir", ""),
    ("output_dir", 3),
    ("seed", -1),
    ("seed", 1.0),
    ("seed", "0"),
    ("seed", 2**64),
]


@pytest.mark.parametrize("field, value", BAD_FIELDS, ids=[f"{f}={v!r}" for f, v in BAD_FIELDS])
def test_U9_every_config_field_is_validated_by_name(field, value):
    with pytest.raises(ValueError, match=field) as err:
        DPOConfig(**{field: value})
    message = str(err.value)
    assert f"DPOConfig.{field}" in message or field == "beta", message
    assert any(word in message for word in ("pass e.g.", "e.g.", "typical", "smaller")), message  # the fix


def test_U9_batch_size_zero_no_longer_fails_deep_in_range():
    with pytest.raises(
        ValueError, match=r"DPOConfig.batch_size must be an integer > 0, got int 0; pass e.g. batch_size=16"
    ):
        DPOConfig(batch_size=0)


def test_U9_the_seed_must_fit_torch_generator_with_the_epoch_offset():
    cfg = DPOConfig(max_steps=10, batch_size=4)
    limit = (2**64 - 40) // 1_000_003  # seed * 1_000_003 + 39 < 2**64
    assert DPOConfig(seed=limit, max_steps=10, batch_size=4).seed == limit
    with pytest.raises(ValueError, match="seed must be <="):
        DPOConfig(seed=limit + 1, max_steps=10, batch_size=4)
    # the largest seed really works for every epoch the run can reach (one pair: epoch = position)
    trainer = DPOTrainer(tiny_gpt2(), tiny_gpt2(), toy_pairs(1),
                         DPOConfig(seed=limit, max_steps=10, batch_size=4, progress=False), PAD)  # fmt: skip
    trainer.batch_at(cfg.max_steps - 1)


def test_U9_good_values_are_kept_and_normalised():
    import numpy as np

    cfg = DPOConfig(beta=np.float64(0.25), learning_rate=1, batch_size=np.int64(8), max_grad_norm=None)
    assert (cfg.beta, cfg.learning_rate, cfg.batch_size) == (0.25, 1.0, 8)
    assert type(cfg.beta) is float and type(cfg.batch_size) is int and cfg.max_grad_norm is None
    assert DPOConfig(save_every=0, warmup_steps=0, weight_decay=0).weight_decay == 0.0
    defaults = DPOConfig()
    assert defaults.learning_rate == 1.5e-5 and math.isclose(defaults.beta, 0.1)


def test_U9_a_field_changed_after_construction_is_checked_when_training_starts():
    cfg = DPOConfig(batch_size=4, progress=False)
    cfg.batch_size = 0
    with pytest.raises(ValueError, match="batch_size"):
        DPOTrainer(tiny_gpt2(), tiny_gpt2(), toy_pairs(), cfg, PAD)
