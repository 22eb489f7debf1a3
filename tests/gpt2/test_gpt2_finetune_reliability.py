"""The fine-tune CLI on bad input and on damaged state (issue 11: S1, C1, C4, C5, U2, U5).

Every CLI error is one ``error:`` line and exit code 2 (argparse style), before any work; a
resume redoes a stage whose files do not match what was recorded, and gets the same numbers.
"""

from __future__ import annotations

import json
import shutil

import pytest

from dpo_teach.finetune import main
from helpers import run_cli


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--beta", "nan"], "--beta: nan is out of range"),  # U2
        (["--beta", "inf"], "--beta: inf is out of range"),  # U2
        (["--beta", "-1"], "--beta: -1 is out of range"),
        (["--beta", "abc"], "--beta: 'abc' is not a finite number"),
        (["--seed", str(2**70)], "--seed: 1180591620717411303424 is out of range"),  # U5
        (["--seed", "100000000000000"], "--seed: 100000000000000 is out of range"),  # U5
        (["--seed", "-1"], "--seed: -1 is out of range"),
        (["--threads", "-1"], "--threads: -1 is out of range"),  # C4
        (["--threads", "0"], "--threads: 0 is out of range"),
    ],
)
def test_u2_u5_c4_numeric_flags_are_checked_at_parse_time(argv, words, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--fast", *argv])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and words in err and "Traceback" not in err


@pytest.mark.parametrize("where", ["a file", "below a file"])
def test_c4_unwritable_output_dir_is_one_error_line(tmp_path, where, capsys):
    (tmp_path / "f").write_text("")
    out = tmp_path / "f" if where == "a file" else tmp_path / "f" / "below"
    with pytest.raises(SystemExit) as exit_info:
        main(["--fast", "--output-dir", str(out), "--device", "cpu"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith("error: cannot write to the output directory")
    assert err.count("\n") == 1


@pytest.fixture
def finished_run(fast_run):
    out, _ = fast_run
    return out, json.loads((out / "metrics.json").read_text())["eval"]


def test_s1_a_truncated_preference_file_is_redone_not_trusted(finished_run, tmp_path):
    """S1: a shorter (still valid) preferences_eval.jsonl, as a kill mid-write left it before, is
    detected on resume; the pairs and DPO are redone and the numbers equal the clean run's."""
    out, clean = finished_run
    damaged = shutil.copytree(out, tmp_path / "run")
    lines = (damaged / "preferences_eval.jsonl").read_text().splitlines(keepends=True)
    (damaged / "preferences_eval.jsonl").write_text("".join(lines[: len(lines) // 2]))
    proc = run_cli("--output-dir", str(damaged), "--seed", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "reusing the SFT model" in proc.stdout and "[3/5] sampling" in proc.stdout
    assert json.loads((damaged / "metrics.json").read_text())["eval"] == clean


def test_c1_an_sft_dir_missing_a_file_is_rebuilt(finished_run, tmp_path):
    """C1: sft/ without its losses file (a kill between two saves) no longer breaks every later
    resume: the SFT stage is done again, with the same result."""
    out, clean = finished_run
    damaged = shutil.copytree(out, tmp_path / "run")
    (damaged / "sft" / "sft_losses.json").unlink()
    proc = run_cli("--output-dir", str(damaged), "--seed", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "[2/5] SFT" in proc.stdout
    assert json.loads((damaged / "metrics.json").read_text())["eval"] == clean


def test_c5_garbage_run_settings_is_one_error_line(finished_run, tmp_path, capsys):
    out, _ = finished_run
    damaged = shutil.copytree(out, tmp_path / "run")
    (damaged / "run_settings.json").write_text("garbage")
    with pytest.raises(SystemExit) as exit_info:
        main(["--fast", "--output-dir", str(damaged), "--seed", "1", "--device", "cpu"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "run_settings.json" in err and "delete it" in err
    assert err.count("\n") == 1
