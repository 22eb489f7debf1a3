"""The doctor on logs shaped like public TRL runs and bug reports (tests/fixtures/doctor/shapes/,
written by benchmarks/make_doctor_shapes.py): exactly the expected ids and severities, and no
error or warning on the healthy ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dpo_teach import doctor

SHAPES = Path(__file__).resolve().parents[1] / "fixtures" / "doctor" / "shapes"

# shape -> [(id, severity)] in the order of doctor.IDS
EXPECTED = {
    "ipo.json": [],  # loss 25 before any update: IPO by design, rewards exactly 0
    "rpo.json": [],  # ["sigmoid", "sft"]: ln 2 + the NLL term
    "moe_aux_loss.json": [],  # + router_aux_loss_coef * aux_loss
    "wandb_export.json": [],  # _step is not the optimizer step
    "first_step_not_reference.json": [("step0_not_ln2", "error")],  # logging_first_step, rewards -1.84
    "scaled_loss.json": [],  # loss 1/64 of what the margins allow: not an explosion
    "trl1236.json": [("margin_explosion", "warning"), ("loss_spikes", "warning")],
    "fp16_scaler_warmup.json": [("non_finite", "info")],
    "zero_learning_rate.json": [("stuck_at_ln2", "error"), ("zero_learning_rate", "error")],
    "eval_rising.json": [("eval_loss_rising", "warning")],
    "eval_only.json": [],
    "all_results.json": [],
    "output_dir": [],
    "renamed_keys.json": [],
    "empty_completions.json": [("stuck_at_ln2", "error"), ("empty_completions", "error")],
    "zephyr_recipe.json": [("chosen_logps_falling", "info")],
    "batch1_accum16.json": [],
    "short_dip.json": [("divergence", "info")],  # 30 steps of 8 pairs: a dip in the last entries, not called
    "divergence.json": [("divergence", "error")],  # margins and accuracy fall for the last 100 of 300 steps
    **{f"healthy_seed{seed}.json": [] for seed in range(5)},
}
HEALTHY = ["zephyr_recipe.json", "batch1_accum16.json", "short_dip.json"]
HEALTHY += [f"healthy_seed{s}.json" for s in range(5)]


def test_every_shape_is_listed_and_small():
    found = {p.name for p in SHAPES.iterdir() if p.name != "README.md"}
    assert found == set(EXPECTED)
    assert all(p.stat().st_size < 32_000 for p in SHAPES.rglob("*.json"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_shape_gets_exactly_its_ids_and_severities(name):
    result = doctor.examine(SHAPES / name)
    assert [(f["id"], f["severity"]) for f in result["findings"]] == EXPECTED[name], result["notes"]


@pytest.mark.parametrize("name", HEALTHY)
def test_healthy_runs_get_no_error_or_warning(name):
    assert all(f["severity"] == "info" for f in doctor.examine(SHAPES / name)["findings"])


def test_the_loss_is_read_from_the_log_or_told():
    for name, why in (("ipo.json", "loss is 25"), ("rpo.json", "not ln 2"), ("moe_aux_loss.json", "aux_loss"),
                      ("scaled_loss.json", "a scaled loss")):  # fmt: skip
        log = doctor.read_log(SHAPES / name)
        assert not log.series.sigmoid_loss and any(why in n for n in log.notes), (name, log.notes)
    # told that it is the sigmoid loss, the doctor reads the IPO log's 25 as a broken step 0
    told = doctor.diagnose(SHAPES / "ipo.json", loss_type="sigmoid")
    assert [f.id for f in told] == ["step0_not_ln2"]
    assert doctor.read_log(SHAPES / "zephyr_recipe.json").series.sigmoid_loss


def test_the_inputs_are_read_as_what_they_are():
    wandb = doctor.read_log(SHAPES / "wandb_export.json")  # steps from train/global_step, not _step
    assert wandb.series.get("loss")[0][:3].tolist() == [10, 20, 30] and wandb.n_eval == 3
    assert not wandb.series.pre_update_first and wandb.series.tool == "trl"
    first = doctor.read_log(SHAPES / "first_step_not_reference.json")
    assert first.series.pre_update_first  # TRL's step 1 is scored before the first update
    out = doctor.read_log(SHAPES / "output_dir")
    assert out.source.endswith("checkpoint-300/trainer_state.json") and "checkpoint-300" in out.notes[0]
    assert doctor.read_log(SHAPES / "eval_only.json").n_eval == 3
    summary = doctor.examine(SHAPES / "all_results.json")
    assert summary["kind"].startswith("HF all_results.json")
    assert {c["id"] for c in summary["checks_not_run"]} >= {"stuck_at_ln2", "loss_spikes", "divergence"}


def test_renamed_keys_say_which_checks_could_not_run():
    result = doctor.examine(SHAPES / "renamed_keys.json")
    not_run = {c["id"]: c["missing"] for c in result["checks_not_run"]}
    assert not_run["binary_accuracies"] == ["rewards/accuracies"]
    assert {"chosen_logps_falling", "both_rewards_falling", "empty_completions"} <= set(not_run)
    assert any("reward_margins" in n for n in result["notes"])
    text = subprocess.run([sys.executable, "-m", "dpo_teach.doctor", str(SHAPES / "renamed_keys.json")],
                          capture_output=True, text=True, timeout=120).stdout  # fmt: skip
    assert "checks not run (9 of 15)" in text and "binary_accuracies: the log has no rewards/accuracies" in text


def test_advice_is_in_trl_terms_for_a_trl_log():
    lr0 = doctor.diagnose(SHAPES / "zero_learning_rate.json")[0]
    assert lr0.causes[0].startswith("learning_rate is 0")
    assert not any("ref_model = model" in c or "another copy" in c for c in lr0.causes)  # TRL forbids both
    empty = doctor.diagnose(SHAPES / "empty_completions.json")
    assert empty[0].causes[0].startswith("no completion token is scored") and "max_length" in empty[1].fix
    # the same stuck log from a hand-written loop keeps the loop's causes
    rows = json.loads((SHAPES / "zero_learning_rate.json").read_text())["log_history"]
    bare = [{k: v for k, v in r.items() if k not in ("epoch", "logits/chosen", "logits/rejected")} for r in rows]
    homemade = doctor.diagnose([dict(r, step=r["step"] - 1) for r in bare])[0]
    assert homemade.id == "stuck_at_ln2" and any("ref_model = model" in c for c in homemade.causes)
    scaler = doctor.diagnose(SHAPES / "fp16_scaler_warmup.json")[0]
    assert "GradScaler" in scaler.causes[0] and "where the GPU has it" in scaler.fix


def test_the_report_separates_info_from_faults():
    proc = subprocess.run([sys.executable, "-m", "dpo_teach.doctor", str(SHAPES / "zephyr_recipe.json")],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0 and "no known symptom: no error or warning" in proc.stdout
    assert "- [info] chosen_logps_falling" in proc.stdout and "1. " not in proc.stdout
