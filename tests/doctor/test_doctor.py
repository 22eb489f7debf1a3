"""`python -m dpo_teach.doctor LOG`: real logs in, the right symptoms out; bad input is one line.

The fixtures (tests/fixtures/doctor/, README there) are real logs: two from TRL's own
``DPOTrainer.train()`` (benchmarks/make_trl_log.py) and one per clinic case from this package's
trainers (benchmarks/make_clinic_logs.py). Nothing here needs TRL or torch.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dpo_teach import doctor

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "doctor"

# fixture -> the ids the doctor must report for it, in order (the cases of notebook 08)
EXPECTED = {
    "trl_healthy/trainer_state.json": [],
    "trl_batch1/trainer_state.json": ["binary_accuracies"],
    "trl_short_dip/trainer_state.json": ["chosen_logps_falling"],  # 60 steps: the dip at 25-38 is gone
    "healthy_metrics.json": [],
    "stuck_beta0.jsonl": ["stuck_at_ln2", "zero_grad_norm"],
    "stuck_same_object.json": ["stuck_at_ln2"],
    "stuck_stale_optimizer.json": ["stuck_at_ln2"],
    "fp16_nan.jsonl": ["non_finite"],
    "batch1.json": ["binary_accuracies"],
    "lr_too_high.json": ["chosen_logps_falling", "both_rewards_falling"],
    "overfit_few_pairs.json": ["margin_explosion"],
    "ref_dropout.json": ["step0_not_ln2"],
    # what the metrics cannot show (notebook 08 shows what does): no false alarm either
    "ref_trainable.json": [],
    "mean_logps.json": [],
    "no_shift.json": [],
    "first_token_masked.json": [],
}


def test_a_short_real_trl_run_dipping_at_its_end_is_not_called_a_divergence():
    # notebook 08's TRL run at the recipe (8 pairs a step), cut at 30 steps as the notebook once ran it:
    # margins 1.09 (mean of 3 entries), then 0.122 over the last 6. The old rule called it an error.
    state = json.loads((FIXTURES / "trl_short_dip" / "trainer_state.json").read_text())
    short = doctor.parse_log(dict(state, log_history=state["log_history"][:30]), source="first 30 steps")
    found = {f.id: f for f in doctor.diagnose(short)}
    severities = {f.id: f.severity for f in found.values()}
    assert severities == {"chosen_logps_falling": "info", "divergence": "info"}
    evidence = found["divergence"].evidence
    assert "rose to 1.09 (mean of 3 entries), then fell to 0.122 over the last 6" in evidence
    assert "too short or noisy to call" in evidence
    # the same run at 60 steps: the margins are back (mean of the last 12 entries about 0.76)
    margins = [e["rewards/margins"] for e in state["log_history"] if "loss" in e]
    assert len(margins) == 60 and sum(margins[-12:]) / 12 > 0.6


def run_doctor(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dpo_teach.doctor", *args], capture_output=True, text=True,
                          timeout=60)  # fmt: skip


def test_every_fixture_is_listed_and_small():
    found = {str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*.json*") if "shapes" not in p.parts}
    assert found == set(EXPECTED)
    sizes = {name: (FIXTURES / name).stat().st_size for name in found}
    assert sizes.pop("trl_short_dip/trainer_state.json") < 32_000  # 60 entries of TRL's 16 keys
    assert all(size < 16_000 for size in sizes.values())  # a few KB each


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_clinic_log_gets_its_symptoms(name):
    findings = doctor.diagnose(FIXTURES / name)
    assert [f.id for f in findings] == EXPECTED[name]
    for f in findings:
        assert f.id in doctor.IDS and f.causes and f.fix and f.section.startswith("notebooks/08_")
        assert f.first_step is None or isinstance(f.first_step, int)


def test_the_real_trl_logs_are_read_as_trl_logs():
    log = doctor.read_log(FIXTURES / "trl_healthy")  # the directory works too
    assert log.kind == "TRL trainer_state.json" and log.n_train == 10 and log.n_eval == 2
    assert log.series.tool == "trl" and log.series.eval.get("loss")[0].tolist() == [15, 30]
    steps, loss = log.series.get("loss")
    assert steps.tolist() == list(range(3, 31, 3))  # logging_steps=3; the train_loss summary is skipped
    assert not log.series.pre_update_first and "step-0 check skipped" in log.notes[0]
    batch1 = doctor.read_log(FIXTURES / "trl_batch1" / "trainer_state.json")
    assert batch1.series.pre_update_first  # logging_steps=1: TRL's step 1 is measured before an update
    assert abs(batch1.series.get("loss")[1][0] - math.log(2)) < 1e-4


def test_cli_report_and_json(tmp_path):
    start = time.perf_counter()
    proc = run_doctor(str(FIXTURES / "trl_healthy" / "trainer_state.json"))
    seconds = time.perf_counter() - start
    assert proc.returncode == 0 and proc.stderr == ""
    assert "no known symptom" in proc.stdout and "checks not run" in proc.stdout
    assert seconds < 30  # < 2 s on an idle machine; room for a loaded CI box
    proc = run_doctor(str(FIXTURES / "stuck_beta0.jsonl"))
    assert proc.returncode == 0
    assert "1. [error] stuck_at_ln2 from step 0" in proc.stdout and "beta = 0" in proc.stdout
    proc = run_doctor(str(FIXTURES / "stuck_beta0.jsonl"), "--json")
    result = json.loads(proc.stdout)
    assert list(result)[:2] == ["source", "kind"] and result["source"].endswith("stuck_beta0.jsonl")
    findings = result["findings"]
    assert [f["id"] for f in findings] == ["stuck_at_ln2", "zero_grad_norm"]
    keys = ["id", "severity", "first_step", "evidence", "causes", "fix", "section"]
    assert all(list(f) == keys and f["severity"] == "error" for f in findings)
    not_run = {c["id"]: c for c in result["checks_not_run"]}
    assert not_run["zero_learning_rate"]["missing"] == ["learning_rate"]  # the clinic's loop logs none
    healthy = json.loads(run_doctor(str(FIXTURES / "healthy_metrics.json"), "--json").stdout)
    assert healthy["findings"] == [] and healthy["tool"] == "unknown" and healthy["sigmoid_loss"] is True


def test_the_doctor_does_not_import_torch():
    code = "import sys, dpo_teach.doctor; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False"


def test_names_and_formats_it_accepts():
    entry = {"loss": math.log(2), "rewards/margins": 0.0, "grad_norm": 1.0}
    # W&B's train/ prefix, eval_ entries apart, the step from global_step, a history dict
    history = [{"train/loss": 0.5, "global_step": 7}, {"eval_loss": 0.4, "global_step": 7}]
    log = doctor.parse_log({"history": history})
    assert log.n_train == 1 and log.n_eval == 1 and log.series.get("loss")[0].tolist() == [7]
    assert log.series.eval.get("loss")[1].tolist() == [0.4]
    one = doctor.parse_log(entry)  # a single metric dict
    assert one.n_train == 1 and one.series.pre_update_first  # no step: its position, 0
    assert doctor.diagnose([dict(entry, step=s) for s in range(20)])[0].id == "stuck_at_ln2"
    shuffled = doctor.parse_log([{"step": s, "loss": s / 10} for s in (3, 1, 2, 0)])  # read in step order
    assert shuffled.series.get("loss")[0].tolist() == [0, 1, 2, 3] and shuffled.series.pre_update_first


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such file"),
        ("", "is empty"),
        ("   \n", "is empty"),
        ("{not json", "line 1: not JSON"),
        ('{"loss": 0.5}\n{"loss": 0.4\n', "line 2: not JSON"),
        ("[]", "the log is empty"),
        ('{"log_history": []}', "the log is empty"),
        ("42", "holds no training log"),
        ('{"model": "gpt2", "lr": 0.1}', "holds no training log"),
        ('[{"accuracy": 0.9, "epoch": 1}]', "none of the metrics the doctor reads"),
        ("[1, 2]", "entry 0 is a int"),
        (b"\x89PNG\r\n\x1a\n\x00\xff", "not a text file"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(tmp_path, content, message):
    path = tmp_path / "log.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    proc = run_doctor(str(path))
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    with pytest.raises(doctor.LogError, match=message.split(" ")[0]):
        doctor.read_log(path)


def test_a_directory_without_a_log_is_refused(tmp_path):
    proc = run_doctor(str(tmp_path))
    assert proc.returncode == 2 and "without trainer_state.json, metrics.json" in proc.stderr


def test_a_metrics_json_that_names_its_loss_is_read_as_that_loss(tmp_path):
    """`python -m dpo_teach.finetune` (tiny preset: RPO) writes `loss.loss_type`; the doctor takes it
    instead of guessing from step 0, where RPO's NLL term puts the loss above ln 2 by design."""
    data = json.loads((FIXTURES / "healthy_metrics.json").read_text())
    for row in data["train"]["history"]:
        row["loss"] += 1.5  # an NLL term on top of the sigmoid loss
    guessed = doctor.examine(data)
    assert any("not ln 2" in note for note in guessed["notes"])  # unnamed: inferred, and said so
    data["loss"] = {"loss_type": "rpo", "rpo_alpha": 1.0}
    named = doctor.examine(data)
    assert not any("not ln 2" in note for note in named["notes"])
    assert [c for c in named["checks_not_run"] if c["id"] == "loss_spikes"]  # not read as Eq. 7's nats
    data["loss"] = {"loss_type": "sigmoid"}
    assert "step0_not_ln2" in [f["id"] for f in doctor.examine(data)["findings"]]  # named sigmoid: a fault
