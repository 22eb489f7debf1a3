"""The doctor on hostile or odd input (issue 23): one ``error:`` line and exit 2 for what cannot be
read, a note in the report for what can be read around; never a traceback, never a silent drop."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from dpo_teach import doctor


def run_doctor(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dpo_teach.doctor", *args], capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def entries(n=12, **override):
    return [{"step": s, "loss": math.log(2) - 0.01 * s, "rewards/margins": 0.05 * s, **override} for s in range(n)]


def one_error_line(proc, message):
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"step": 0, "loss": 0.69}\n' + "[" * 100_000 + "]" * 100_000 + "\n", "line 2: JSON nested too deeply"),
        (json.dumps([{"step": 1e300, "loss": 0.5}]), "step 1e+300 is not an optimizer step"),
        (json.dumps([{"step": 2.5, "loss": 0.5}]), "step 2.5 is not an optimizer step"),
        (json.dumps([{"step": -3, "loss": 0.5}]), "step -3 is negative"),
        (json.dumps({"train": {"history": 42}}), "train.history is a int, not a list"),
        (json.dumps({"train": {"history": {"loss": 0.5}}}), "train.history is a dict, not a list"),
        (json.dumps({"log_history": "none"}), "log_history is a str, not a list"),
        (json.dumps([{"step": 0, "loss": "abc"}]), "loss is 'abc', not a number"),
        (json.dumps([{"step": 0, "loss": [0.5]}]), "loss is list, not a number"),
    ],
)
def test_unreadable_logs_are_one_line_and_exit_2(tmp_path, text, message):
    path = tmp_path / "log.json"
    path.write_text(text)
    one_error_line(run_doctor(str(path)), message)
    with pytest.raises(doctor.LogError):
        doctor.read_log(path)


def test_numbers_written_as_strings_are_read_and_said(tmp_path):
    rows = [dict(r, loss=str(round(r["loss"], 4))) for r in entries()]
    log = doctor.parse_log(rows)
    assert log.series.get("loss")[1][0] == 0.6931 and "12 values were strings" in log.notes[0]
    path = tmp_path / "log.json"
    path.write_text(json.dumps(rows))
    proc = run_doctor(str(path))
    assert proc.returncode == 0 and "note: 12 values were strings, read as numbers" in proc.stdout


def test_a_step_logged_twice_keeps_the_later_entry_and_says_so():
    rows = entries() + [{"step": 5, "loss": 0.1}]  # a resumed run logged step 5 again
    log = doctor.parse_log(rows)
    steps, loss = log.series.get("loss")
    assert steps.tolist() == list(range(12)) and loss[5] == 0.1
    assert "1 step(s) logged more than once (5)" in log.notes[0]


def test_symlinks_that_lead_nowhere_are_named(tmp_path):
    loop = tmp_path / "loop.json"
    os.symlink(loop, loop)
    one_error_line(run_doctor(str(loop)), "a symlink loop")
    dangling = tmp_path / "gone.json"
    os.symlink(tmp_path / "missing.json", dangling)
    one_error_line(run_doctor(str(dangling)), "which does not exist")
    one_error_line(run_doctor(str(tmp_path / "absent.json")), "no such file")


def test_bad_flags_are_one_line(tmp_path):
    path = tmp_path / "log.json"
    path.write_text(json.dumps(entries()))
    one_error_line(run_doctor(str(path), "--loss-type", "sigmoidd"), "unknown loss type sigmoidd")
    assert run_doctor(str(path), "--loss-type", "sigmoid,sft").returncode == 0


def test_training_args_bin_is_never_opened(tmp_path):
    ckpt = tmp_path / "checkpoint-7"
    ckpt.mkdir()
    (ckpt / "training_args.bin").write_bytes(b"\x80\x04 not for unpickling")
    one_error_line(run_doctor(str(tmp_path)), "without trainer_state.json")
    (ckpt / "trainer_state.json").write_text(json.dumps({"log_history": entries(), "logging_steps": 1}))
    proc = run_doctor(str(tmp_path))
    assert proc.returncode == 0 and "read the latest checkpoint, checkpoint-7" in proc.stdout
