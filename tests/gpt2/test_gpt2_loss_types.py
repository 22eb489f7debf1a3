"""DPOConfig.loss_type (issue 14, part 3): every member of the DPO family trains the tiny GPT-2,
its step-0 loss is the member's formula at margin 0, the reference-free members need no
reference, bad settings are refused early, and the CLI's --loss runs end to end."""

import json
import math
import shutil

import pytest
import torch

from dpo_teach import torch_variants as tv
from dpo_teach.gpt2.config import LOSS_OPTIONS, LOSS_TYPES, REFERENCE_FREE, DPOConfig
from dpo_teach.gpt2.logprobs import concatenated_logps
from dpo_teach.gpt2.losses import completion_lengths
from dpo_teach.gpt2.trainer import METRIC_NAMES, DPOTrainer
from helpers import PAD, run_cli, tiny_gpt2, toy_pairs

BETA = 0.5
LN2 = math.log(2)
# the per-pair loss at margin 0 (policy = reference, so r_w = r_l = 0) of the members that depend
# on the log-ratios only (docs/family.md, "Loss at margin zero"); rpo, simpo and orpo also depend on
# the policy's log-probs
AT_MARGIN_ZERO = {"sigmoid": LN2, "ipo": 1 / (4 * BETA**2), "cdpo": LN2, "robust": LN2, "hinge": 1.0,
                  "nca_pair": 2 * LN2, "bco_pair": 2 * LN2, "apo_zero": 1.0, "apo_down": 1.0,
                  "sigmoid_norm": LN2, "dpop": LN2}  # fmt: skip


def make_trainer(loss_type, ref=True, tmp_path=None, **overrides):
    settings = dict(beta=BETA, learning_rate=1e-2, batch_size=4, max_steps=3, log_every=2, progress=False,
                    loss_type=loss_type, output_dir=str(tmp_path) if tmp_path else None)  # fmt: skip
    if loss_type in ("cdpo", "robust"):
        settings["label_smoothing"] = 0.1
    settings.update(overrides)
    ref_model = tiny_gpt2() if ref else None  # the same weights as the policy: margin 0 at step 0
    return DPOTrainer(tiny_gpt2(), ref_model, toy_pairs(), DPOConfig(**settings), pad_token_id=PAD)


def test_loss_types_are_the_family_registry():
    assert LOSS_TYPES == tuple(tv.LOSSES) and DPOConfig().loss_type == "sigmoid"
    assert set(LOSS_OPTIONS) | set(REFERENCE_FREE) <= set(LOSS_TYPES)


@pytest.mark.parametrize("loss_type", LOSS_TYPES)
def test_every_loss_type_trains_three_steps_with_finite_metrics(loss_type):
    trainer = make_trainer(loss_type, ref=loss_type not in REFERENCE_FREE)
    history = trainer.train()
    assert [h["step"] for h in history] == [0, 1, 2]
    for row in history:
        assert all(math.isfinite(row[name]) for name in METRIC_NAMES), (loss_type, row)
    if loss_type in AT_MARGIN_ZERO:
        assert history[0]["loss"] == pytest.approx(AT_MARGIN_ZERO[loss_type], abs=1e-5)
        assert history[0]["rewards/margins"] == pytest.approx(0.0, abs=1e-5)


@pytest.mark.parametrize("loss_type", LOSS_TYPES)
def test_step_zero_loss_is_the_members_formula(loss_type):
    """Batch 0 scored by hand (policy = reference) and fed to the torch_variants function."""
    trainer = make_trainer(loss_type)
    batch = trainer.batch_at(0)
    with torch.no_grad():
        pc, pr = concatenated_logps(tiny_gpt2().eval(), batch)
    n_w, n_l = completion_lengths(batch)
    fn = tv.LOSSES[loss_type]
    args = {"simpo": (pc, pr, n_w, n_l, BETA, 0.5), "orpo": (pc, pr, n_w, n_l, 0.1),
            "rpo": (pc, pr, pc, pr, n_w, BETA, 1.0), "sigmoid_norm": (pc, pr, pc, pr, n_w, n_l, BETA),
            "cdpo": (pc, pr, pc, pr, BETA, 0.1), "robust": (pc, pr, pc, pr, BETA, 0.1),
            "dpop": (pc, pr, pc, pr, BETA, 50.0)}.get(loss_type, (pc, pr, pc, pr, BETA))  # fmt: skip
    losses, chosen, rejected = fn(*args)
    metrics = trainer.train_step(batch)
    assert float(metrics["loss"]) == pytest.approx(float(losses.mean()), abs=1e-5)
    assert float(metrics["rewards/chosen"]) == pytest.approx(float(chosen.mean()), abs=1e-5)
    assert float(metrics["rewards/margins"]) == pytest.approx(float((chosen - rejected).mean()), abs=1e-5)


def test_completion_lengths_count_the_completion_tokens():
    trainer = make_trainer("sigmoid_norm")
    n_w, n_l = completion_lengths(trainer.collated)
    pairs = trainer.pairs
    assert n_w.tolist() == [len(p["chosen_ids"]) for p in pairs]
    assert n_l.tolist() == [len(p["rejected_ids"]) for p in pairs]


@pytest.mark.parametrize("loss_type", REFERENCE_FREE)
def test_reference_free_members_never_touch_a_reference(loss_type):
    trainer = make_trainer(loss_type, ref=False)
    assert trainer.ref_model is None and trainer.ref_chosen_logps is None
    assert "ref_chosen_logps" not in trainer.batch_at(0)
    given = make_trainer(loss_type, ref=True, precompute_ref_logps=False)  # a reference is ignored
    assert given.ref_model is None
    assert given.train()[0]["loss"] == pytest.approx(trainer.train()[0]["loss"], abs=1e-6)


def test_a_reference_is_required_by_the_others():
    with pytest.raises(ValueError, match="pass ref_model"):
        make_trainer("ipo", ref=False)


@pytest.mark.parametrize(
    "settings, match",
    [
        (dict(loss_type="dpo"), "must be one of sigmoid, ipo, cdpo"),
        (dict(loss_type=None), "loss_type must be one of"),
        (dict(loss_type="robust", label_smoothing=0.5), "label_smoothing must be <= 0.5"),
        (dict(loss_type="cdpo", label_smoothing=0.6), "label_smoothing must be <= 0.5"),
        (dict(loss_type="rpo", rpo_alpha=-1.0), "rpo_alpha must be a finite number >= 0"),
        (dict(loss_type="simpo", simpo_gamma=float("nan")), "simpo_gamma must be"),
        (dict(loss_type="ipo", fixed_weight=0.5), "fixed_weight replaces DPO's weight"),
    ],
)
def test_bad_loss_settings_are_a_clear_value_error(settings, match):
    with pytest.raises(ValueError, match=match):
        DPOConfig(**settings)


def test_resume_with_another_loss_is_refused(tmp_path):
    make_trainer("sigmoid", tmp_path=tmp_path, save_every=3).train()
    with pytest.raises(ValueError, match="loss_type='sigmoid' but this run has loss_type='ipo'"):
        make_trainer("ipo", tmp_path=tmp_path, save_every=3).train()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--loss", "dpo"], "invalid choice"),
        (["--loss", "ipo", "--rpo-alpha", "1"], "--rpo-alpha is read only by --loss rpo"),
        (["--loss", "robust", "--label-smoothing", "0.5"], "label_smoothing must be <= 0.5"),
        (["--loss", "simpo", "--simpo-gamma", "-1"], "expected a finite number >= 0"),
    ],
)
def test_cli_refuses_bad_loss_flags_at_parse_time(argv, message, capsys, tmp_path):
    from dpo_teach.finetune import main

    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--output-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err
    assert [line for line in err.splitlines() if "error:" in line] == [err.splitlines()[-1]]
    assert not any(tmp_path.iterdir())  # refused before any work


def test_cli_loss_ipo_runs_end_to_end(tmp_path, fast_run):
    # the session's fast run (seed 1) lends its SFT model and pairs: only the DPO stage runs here
    shutil.copytree(fast_run[0], tmp_path, dirs_exist_ok=True)
    (tmp_path / "dpo_checkpoint.pt").unlink()  # a DPO checkpoint of another loss is refused on resume
    proc = run_cli("--loss", "ipo", "--output-dir", str(tmp_path), "--beta", "0.5", "--seed", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "loss ipo" in proc.stdout and "ln 2" not in proc.stdout
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["loss"] == {"loss_type": "ipo"}
    assert m["train"]["history"][0]["loss"] == pytest.approx(1 / (4 * 0.5**2), abs=1e-4)  # margin 0
    assert all(math.isfinite(h["loss"]) for h in m["train"]["history"])
