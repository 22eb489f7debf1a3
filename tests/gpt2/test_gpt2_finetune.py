"""End to end (dpo_teach.finetune): `python -m dpo_teach.finetune --fast` runs the whole GPT-2 pipeline
and writes metrics."""

import json
import math
import shutil

import pytest

from dpo_teach.gpt2.trainer import METRIC_NAMES
from helpers import run_cli

EVAL_KEYS = {
    "reward_accuracy",
    "win_rate_vs_reference",
    "kl_to_reference",
    "valid_rate_policy",
    "valid_rate_reference",
    "true_reward_reference",
    "true_reward_policy",
}


def test_fast_cli_writes_metrics_with_the_documented_keys(fast_run):
    out, proc = fast_run
    m = json.loads((out / "metrics.json").read_text())
    assert m["device"] == "cpu" and m["preset"] == "tiny" and m["n_params"] > 0
    assert EVAL_KEYS <= set(m["eval"])
    for key in EVAL_KEYS - {"true_reward_reference", "true_reward_policy", "kl_to_reference"}:
        assert 0.0 <= m["eval"][key] <= 1.0
    assert m["eval"]["valid_rate_reference"] > 0.5  # even the fast SFT writes reviews
    history = m["train"]["history"]
    assert history[0]["step"] == 0 and set(METRIC_NAMES) <= set(history[0])
    # the tiny preset's recipe is RPO: at step 0 (policy = reference) DPO's ln 2 plus the NLL term
    assert m["loss"] == {"loss_type": "rpo", "rpo_alpha": 1.0}
    assert history[0]["loss"] > math.log(2) + 0.1
    assert history[0]["rewards/margins"] == pytest.approx(0.0, abs=1e-4)
    assert len(history) == m["sizes"]["dpo_steps"]
    assert m["throughput"]["dpo_tokens_per_second"] > 0
    for name in ("training_curves.png", "reward_before_after.png", "preferences_train.jsonl"):
        assert (out / name).stat().st_size > 0
    assert "win rate vs the reference" in proc.stdout and "target" in proc.stdout  # the summary table
    assert "--fast: a smoke run" in proc.stdout  # fast numbers are labelled as meaningless


def test_rerun_with_the_same_output_dir_resumes(fast_run, tmp_path):
    out = shutil.copytree(fast_run[0], tmp_path / "run")  # the session's run stays as it was
    before = json.loads((out / "metrics.json").read_text())
    proc = run_cli("--output-dir", str(out), "--seed", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "reusing the SFT model" in proc.stdout
    after = json.loads((out / "metrics.json").read_text())
    assert after["train"]["history"] == before["train"]["history"]  # DPO resumed, not redone
    # issue 12: the resume path says what it reuses, and reports no stale speed or time
    assert "[3/5] reusing the preference pairs" in proc.stdout and "resuming at step" in proc.stdout
    assert after["throughput"]["dpo_tokens_per_second"] is None and "n/a" in proc.stdout
    assert after["timings"]["dpo_seconds"] <= after["timings"]["wall_seconds"]


def test_small_preset_on_a_cpu_is_refused_with_an_estimate(tmp_path, capsys):
    """Issue 12: --preset small on a CPU would take hours: refused unless --allow-slow."""
    from dpo_teach.finetune import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--preset", "small", "--device", "cpu", "--output-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "hours" in err and "--allow-slow" in err


def test_help_shows_every_default(capsys, monkeypatch):
    from dpo_teach.finetune import main

    monkeypatch.setenv("COLUMNS", "400")  # argparse wraps at the terminal's width: one line per flag

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "(default: 2.0)" in out and "(default: tiny)" in out and "--allow-slow" in out


def test_an_output_dir_of_another_run_is_refused(fast_run, tmp_path, capsys):
    from dpo_teach.finetune import main

    out = shutil.copytree(fast_run[0], tmp_path / "run")  # the session's run is shared: not touched
    with pytest.raises(SystemExit) as exit_info:  # refused before any work is done
        main(["--fast", "--output-dir", str(out), "--seed", "2", "--device", "cpu"])
    assert exit_info.value.code == 2 and "new --output-dir" in capsys.readouterr().err


def test_cli_starts_from_a_save_pretrained_checkpoint(tmp_path):
    from dpo_teach.gpt2 import reviews
    from dpo_teach.gpt2.models import build_model
    from dpo_teach.gpt2.tokenizer import train_tokenizer

    tokenizer = train_tokenizer(reviews.corpus(300, seed=0))
    build_model("tiny", tokenizer, seed=0).save_pretrained(tmp_path / "ckpt")
    tokenizer.save_pretrained(tmp_path / "ckpt")
    proc = run_cli("--model", str(tmp_path / "ckpt"), "--output-dir", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"loading {tmp_path / 'ckpt'}" in proc.stdout
    m = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert m["model"] == str(tmp_path / "ckpt") and m["eval"]["valid_rate_reference"] > 0.5
