"""``python -m dpo_teach.finetune --rounds N``: online DPO from the command line (issue 15)."""

from __future__ import annotations

import json
import shutil

import pytest

from dpo_teach.finetune import main

ROUND_KEYS = {"round", "n_pairs", "n_prompts", "steps", "true_reward_policy", "kl_to_reference",
              "valid_rate_policy", "win_rate_vs_reference", "reward_accuracy"}  # fmt: skip


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--rounds", "0"], "--rounds: 0 is out of range: expected an integer >= 1"),
        (["--rounds", "two"], "--rounds: 'two' is not an integer >= 1"),
        (["--fast", "--rounds", "41"], "--rounds 41 is more than this run's 40 DPO steps"),
    ],
)
def test_bad_rounds_is_one_error_line_and_exit_2(argv, words, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and words in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("python -m dpo_teach.finetune: error: ")


def test_rounds_run_online_dpo_and_write_each_round(fast_run, tmp_path, capsys):
    """Reuses the fast run's SFT model and pairs (same settings), so only the rounds run here."""
    out = tmp_path / "online"
    shutil.copytree(fast_run[0], out)
    metrics = main(["--fast", "--no-progress", "--device", "cpu", "--seed", "1", "--rounds", "2",
                    "--output-dir", str(out)])  # fmt: skip
    stdout = capsys.readouterr().out
    assert "reusing the SFT model" in stdout and "online DPO, 2 rounds" in stdout
    written = json.loads((out / "metrics.json").read_text())
    rounds = written["online"]["rounds"]
    assert [r["round"] for r in rounds] == [1, 2] and all(ROUND_KEYS <= set(r) for r in rounds)
    history = written["train"]["history"]
    assert sum(r["steps"] for r in rounds) == written["sizes"]["dpo_steps"] == len(history)
    assert sum(r["n_prompts"] for r in rounds) == written["sizes"]["n_train_prompts"]
    assert written["eval"]["true_reward_policy"] == pytest.approx(rounds[-1]["true_reward_policy"])
    assert "SFT" in written["online"]["reference"] and metrics["online"] == written["online"]
