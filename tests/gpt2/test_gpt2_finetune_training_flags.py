"""python -m dpo_teach.finetune's training flags (issue 28): bad values are one error line and exit
2; a LoRA run with every knob on trains, evaluates, keeps the best policy and saves a plain model;
the memory estimate grows with the logits only on the full path."""

import json
import shutil

import pytest

from dpo_teach.finetune import main
from dpo_teach.gpt2.config import DPOConfig
from dpo_teach.gpt2.memory import estimate_peak
from helpers import run_cli, tiny_gpt2


@pytest.mark.parametrize("flags, words", [
    (["--save-best"], "--eval-every"),
    (["--lora-r", "4"], "add --lora"),
    (["--epochs", "1", "--max-steps", "3"], "pass one of them"),
    (["--grad-accum", "3"], "--grad-accum 3 does not divide"),
    (["--learning-rate", "0"], "out of range"),
    (["--lr-scheduler", "step"], "invalid choice"),
    (["--lora", "--lora-targets", " , "], "names no module"),
])  # fmt: skip
def test_bad_training_flags_are_one_error_line_and_exit_2(flags, words, tmp_path, capsys):
    # in-process (a subprocess spends ~7 s importing torch and transformers per case); an uncaught
    # exception would fail the test instead of SystemExit(2)
    with pytest.raises(SystemExit) as stop:
        main(["--fast", "--no-progress", "--device", "cpu", "--output-dir", str(tmp_path / "run"), *flags])
    err = capsys.readouterr().err
    assert stop.value.code == 2, err[-2000:]
    assert words in err.strip().splitlines()[-1]


def test_a_bad_training_flag_from_the_command_line_is_one_line_without_a_traceback():
    proc = run_cli("--grad-accum", "3")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "does not divide" in proc.stderr.strip().splitlines()[-1]


def test_lora_run_with_every_knob(fast_run, tmp_path):
    # the session's fast run (seed 1) lends its SFT model and pairs: only DPO and the evaluation run
    # here; its DPO checkpoint, policy and metrics go, so every file checked below is this run's
    shutil.copytree(fast_run[0], tmp_path, dirs_exist_ok=True)
    for name in ("dpo_checkpoint.pt", "metrics.json"):
        (tmp_path / name).unlink()
    shutil.rmtree(tmp_path / "policy")
    proc = run_cli("--output-dir", str(tmp_path), "--seed", "1", "--lora", "--max-steps", "6",
                   "--batch-size", "8", "--grad-accum", "2", "--lr-scheduler", "cosine", "--warmup-steps", "2", "--eval-every", "3",
                   "--save-best", "--learning-rate", "1e-3")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "reusing the SFT model" in proc.stdout and "[3/5] reusing the preference pairs" in proc.stdout
    assert "estimated peak memory" in proc.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    training, train = metrics["training"], metrics["train"]
    assert training["lora"] == {"r": 8, "alpha": 16.0, "targets": None} and training["grad_accum"] == 2
    assert [row["step"] for row in train["eval_history"]] == [3, 6]
    assert train["best"]["eval_loss"] == min(row["eval_loss"] for row in train["eval_history"])
    lrs = [h["learning_rate"] for h in train["history"]]
    assert lrs[0] == pytest.approx(5e-4) and lrs[1] == pytest.approx(1e-3) and lrs[-1] < 1e-3  # warm-up, cosine
    # the saved policy is a plain GPT-2 (adapters folded in), loadable without peft
    weights = json.loads((tmp_path / "policy" / "config.json").read_text())
    assert weights["model_type"] == "gpt2"
    from safetensors import safe_open

    with safe_open(str(tmp_path / "policy" / "model.safetensors"), "pt") as f:
        assert not [k for k in f.keys() if "lora" in k]


def test_memory_estimate_full_logits_grow_with_length_chunked_do_not():
    model = tiny_gpt2(vocab_size=50257, n_positions=2048)
    full, chunked = DPOConfig(batch_size=1), DPOConfig(batch_size=1, logps_chunk=256)
    short, long = (estimate_peak(model, full, 2, t) for t in (128, 2048))
    assert long["logits"] == 16 * short["logits"] == 16 * 4 * 50257 * 2 * 128 * 4
    c_short, c_long = (estimate_peak(model, chunked, 2, t) for t in (128, 2048))
    assert c_long["logits"] - c_short["logits"] == 4 * 16 * (2048 - 128) * 2  # only the hidden states grow
    accum = estimate_peak(model, DPOConfig(batch_size=4, grad_accum=4), 8, 128)
    assert accum["activations"] == short["activations"]  # one micro-batch of 2 rows at a time
