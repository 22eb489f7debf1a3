"""``python -m dpo_teach.finetune`` on the real-world path, end to end and offline: a saved checkpoint,
prompts from a file judged by a saved reward model, or a preference dataset in each of TRL's formats;
the policy saved with save_pretrained; bad input as one error line (exit 2)."""

from __future__ import annotations

import json

import pytest
import stand_ins as si
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from dpo_teach.finetune import main
from dpo_teach.gpt2 import data, reviews

FAST = ["--fast", "--no-progress", "--device", "cpu", "--threads", "1"]


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/gpt2/conftest.py


@pytest.fixture(scope="module")
def stand_ins(tokenizer, tmp_path_factory):
    """A tiny GPT-2 checkpoint (its tokenizer has a chat template), one without, a reward model, a
    prompt file (300 reviews) and a preference dataset in each TRL format (20 rows)."""
    root = tmp_path_factory.mktemp("stand_ins")
    si.save_causal_lm(si.chat_tokenizer(tokenizer), root / "lm")
    si.save_causal_lm(tokenizer, root / "lm_plain")
    si.save_classifier(tokenizer, root / "rm")
    (root / "reviews.txt").write_text("\n".join(reviews.corpus(300, seed=5)), encoding="utf-8")
    rows = [dict(r, prompt=f"{r['prompt']} {i}") for i in range(5) for r in si.STANDARD]
    si.save_rows(rows, root / "standard", "disk")
    si.save_rows(si.conversational(rows), root / "conversational.jsonl", "jsonl")
    si.save_rows(si.implicit(rows), root / "implicit.parquet", "parquet")
    return root


def test_prompts_judged_by_a_reward_model_end_to_end(stand_ins, tmp_path, capsys):
    out = tmp_path / "run"
    metrics = main([*FAST, "--model", str(stand_ins / "lm"), "--prompts", str(stand_ins / "reviews.txt"),
                    "--prompt-tokens", "3-6", "--reward-model", str(stand_ins / "rm"),
                    "--completions-per-prompt", "3", "--sft-steps", "4", "--output-dir",
                    str(out)])  # fmt: skip
    stdout = capsys.readouterr().out
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["eval"] == pytest.approx(metrics["eval"])
    assert saved["inputs"]["completions_per_prompt"] == 3 and saved["judge"] == str(stand_ins / "rm")
    assert len(saved["train"]["sft_losses"] if "sft_losses" in saved["train"] else [0]) >= 1
    rows = data.load_preference_jsonl(out / "preferences_train.jsonl")
    assert len(rows) > 400  # up to 3 pairs from each of 400 prompts (K = 3, all pairs)
    assert all(3 <= len(r["prompt"].split()) <= 6 for r in rows[:50])  # prefixes of 3-6 tokens
    e = saved["eval"]
    assert {"win_rate_vs_reference", "judge_score_policy", "kl_to_reference", "reward_accuracy"} <= set(e)
    assert 0 <= e["win_rate_vs_reference"] <= 1 and e["n_eval_prompts"] == 96
    assert "win rate vs the reference, by the judge" in stdout and "[0] prompt:" in stdout  # samples table
    policy = AutoModelForCausalLM.from_pretrained(out / "policy")  # save_pretrained, safetensors
    assert (out / "policy" / "model.safetensors").is_file() and AutoTokenizer.from_pretrained(out / "policy")
    ref = AutoModelForCausalLM.from_pretrained(stand_ins / "lm")
    assert not torch.equal(policy.lm_head.weight, ref.lm_head.weight)  # trained


@pytest.mark.parametrize("name, fmt", [("standard", "standard"), ("conversational.jsonl", "conversational"),
                                       ("implicit.parquet", "implicit")])  # fmt: skip
def test_a_preference_dataset_in_each_trl_format(stand_ins, tmp_path, capsys, name, fmt):
    out = tmp_path / "run"
    metrics = main([*FAST, "--model", str(stand_ins / "lm"), "--dataset", str(stand_ins / name),
                    "--max-length", "24", "--output-dir", str(out)])  # fmt: skip
    stdout = capsys.readouterr().out
    assert f"20 rows ({fmt} format) -> " in stdout and "held out 2 of 20 pairs" in stdout
    assert "SFT: skipped" in stdout
    assert metrics["data"]["n_train_pairs"] == 18 and metrics["data"]["n_eval_pairs"] == 2
    assert {"reward_accuracy", "kl_to_reference", "finished_rate_policy"} <= set(metrics["eval"])
    assert "win_rate_vs_reference" not in metrics["eval"]  # no judge was given
    assert (out / "policy" / "model.safetensors").is_file()


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--prompts", "{root}/reviews.txt"], "has no exact reward to label the pairs with; pass a judge"),
        (["--prompt-tokens", "8-2"], "--prompt-tokens: prompt prefix length '8-2' must be N or LO-HI"),
        (["--dataset", "{root}/missing.jsonl"], "missing.jsonl: no such file or directory"),
        (["--model", "{root}/lm_plain", "--dataset", "{root}/conversational.jsonl"], "has no chat template"),
        (["--dataset", "{root}/standard", "--rounds", "2"], "--rounds"),
        (["--reward-model", "{root}/lm", "--prompts", "{root}/reviews.txt"], "not a trained sequence"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_2(stand_ins, tmp_path, capsys, argv, words):
    argv = [a.replace("{root}", str(stand_ins)) for a in argv]
    with pytest.raises(SystemExit) as exit_info:
        main([*FAST, "--sft-steps", "0", *argv, "--output-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and words in err and "Traceback" not in err, err
    assert err.strip().splitlines()[-1].startswith(("python -m dpo_teach.finetune: error: ", "error: "))


def test_every_command_of_the_readme_section_parses():
    """The commands for the real experiment (docs/practitioners.md, linked from the README; they need
    a GPU and the hub, so they cannot run here) use flags that exist, in combinations the command
    line accepts."""
    import shlex
    from pathlib import Path

    from dpo_teach.finetune.args import build_parser
    from dpo_teach.gpt2.hub.real_world import inputs_from_args

    page = (Path(__file__).resolve().parents[3] / "docs" / "practitioners.md").read_text(encoding="utf-8")
    section = page.split("## The paper's experiment, for real", 1)[1].split("\n## ", 1)[0]
    commands = [c for c in section.replace("\\\n", " ").splitlines() if "-m dpo_teach.finetune" in c]
    assert len(commands) >= 4  # sentiment, dataset, torchrun, accelerate
    for command in commands:
        argv = shlex.split(command.split("-m dpo_teach.finetune", 1)[1].split("#")[0])
        parser = build_parser("test")
        inputs_from_args(parser, parser.parse_args(argv))  # SystemExit (exit 2) on a bad flag
