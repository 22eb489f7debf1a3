"""Issue 23 on the real-world inputs: no stale result trusted, no file read as something else, no
traceback, no remote code. Each test is named after the finding it guards against."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import stand_ins as si

from dpo_teach.finetune import main
from dpo_teach.gpt2.hub.preference_data import tokenize_preferences
from dpo_teach.gpt2.hub.real_world import MAX_COMPLETIONS_PER_PROMPT, Inputs, dataset_pairs
from dpo_teach.gpt2.hub.sources import load_rows
from helpers import time_limit

FAST = ["--fast", "--no-progress", "--device", "cpu", "--threads", "1"]
ROWS = [{"prompt": f"the film {w} was", "chosen": " great.", "rejected": " dull."}
        for w in ("plot", "cast", "score", "script", "ending", "music", "pace", "set", "light", "story")]  # fmt: skip

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/gpt2/conftest.py


def jsonl(rows) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


@pytest.mark.parametrize("name, text", [("deep.json", "[" * 100_000 + "]" * 100_000),
                                        ("deep.jsonl", jsonl(ROWS[:1]) + "[" * 100_000 + "]" * 100_000)])  # fmt: skip
def test_deeply_nested_json_in_a_dataset_file_is_one_clear_error(tmp_path, name, text):
    (tmp_path / name).write_text(text)
    with pytest.raises(ValueError, match=rf"{name}.*nested too deeply") as info:
        load_rows(tmp_path / name)
    assert name.endswith(".json") or "line 2" in str(info.value)


def test_a_json_file_holding_one_object_of_columns_names_the_expected_shape(tmp_path):
    columns = {k: [r[k] for r in ROWS] for k in ("prompt", "chosen", "rejected")}
    for text in (json.dumps(columns), json.dumps(columns, indent=2)):  # on one line, or pretty-printed
        (tmp_path / "columns.json").write_text(text)
        with pytest.raises(ValueError, match=r"columns.json holds one JSON object .*one JSON array of row objects"):
            load_rows(tmp_path / "columns.json")


def test_a_split_name_for_a_file_that_has_no_splits_is_refused(tmp_path, capsys):
    """--dataset-split / --dataset-eval-split were ignored for files: "held-out" was training rows."""
    path = tmp_path / "rows.jsonl"
    path.write_text(jsonl(ROWS))
    with pytest.raises(ValueError, match="rows.jsonl is one file, which has no split 'test'"):
        load_rows(path, split="test")
    assert len(load_rows(path, split="train")) == 10  # the default names no split: every row
    for flag in ("--dataset-split", "--dataset-eval-split"):
        with pytest.raises(SystemExit) as exit_info:
            main([*FAST, "--dataset", str(path), flag, "test", "--output-dir", str(tmp_path / "run")])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and f"{flag} test names a split" in err.splitlines()[-1]
    assert not (tmp_path / "run").exists()  # refused before any work


def test_duplicate_rows_are_dropped_before_the_split_and_none_is_held_out_and_trained(tokenizer):
    path_rows = ROWS * 3  # each row three times: before, 2 of 2 held-out pairs were also trained on
    lines = []
    with_path = _write(path_rows)
    (train, _), (held, _) = dataset_pairs(Inputs(dataset=str(with_path)), tokenizer, 64, 4, 0, lines.append)
    key = lambda p: json.dumps(p, sort_keys=True)  # noqa: E731
    assert len(train) + len(held) == 10 and not {key(p) for p in held} & {key(p) for p in train}
    assert any("20 dropped: the same pair" in line for line in lines), lines
    held_line = next(line for line in lines if "held out 1 of 10 pairs" in line)
    assert "rows " in held_line and "in file order" in held_line  # says which rows are held out


def test_held_out_rows_named_in_the_log_are_the_held_out_pairs(tokenizer):
    lines = []
    (_, _), (_, held_prompts) = dataset_pairs(Inputs(dataset=str(_write(ROWS * 2))), tokenizer, 64, 3, 5,
                                              lines.append)  # fmt: skip
    held_line = next(line for line in lines if "held out" in line)
    named = [int(i) for i in held_line.split("rows ")[1].split(" of ")[0].split(", ")]
    assert [ROWS[i]["prompt"] for i in named] == [p.strip() for p in held_prompts]


def test_a_prompt_repeated_in_the_completions_and_unused_columns_are_warned(tokenizer):
    repeated = [{**r, "chosen": r["prompt"] + r["chosen"], "rejected": r["prompt"] + r["rejected"]} for r in ROWS]
    warned = tokenize_preferences(repeated, tokenizer).warnings
    assert len(warned) == 1 and "10 of 10 rows repeat their prompt" in warned[0]
    question = [{"question": r["prompt"], "chosen": r["chosen"], "rejected": r["rejected"]} for r in ROWS]
    warned = tokenize_preferences(question, tokenizer).warnings
    assert len(warned) == 1 and "'question' are not read" in warned[0] and "rename it 'prompt'" in warned[0]
    assert tokenize_preferences(ROWS, tokenizer).warnings == []  # well-formed rows: no warning


def test_completions_per_prompt_is_bounded_before_any_work(tmp_path, capsys):
    """--completions-per-prompt 1000000 ran silently for ever; now it is refused at parse time."""
    for k in ("1000000", str(MAX_COMPLETIONS_PER_PROMPT + 1)):
        with pytest.raises(SystemExit) as exit_info:
            main([*FAST, "--completions-per-prompt", k, "--output-dir", str(tmp_path / "run")])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and "--completions-per-prompt" in err.splitlines()[-1]
    with pytest.raises(ValueError, match=r"in \[2, 16\]"):
        Inputs(completions_per_prompt=10**6).check()
    Inputs(completions_per_prompt=MAX_COMPLETIONS_PER_PROMPT).check()  # the bound itself runs


def _write(rows):
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "rows.jsonl"
    path.write_text(jsonl(rows))
    return path


@pytest.fixture(scope="module")
def checkpoint(tokenizer, tmp_path_factory):
    path = tmp_path_factory.mktemp("lm") / "lm"
    si.save_causal_lm(tokenizer, path)
    return path


def test_a_resume_after_the_dataset_file_changed_is_refused(checkpoint, tmp_path, capsys):
    """Re-running with a changed --dataset file resumed the old DPO checkpoint and reported new
    held-out numbers for the old policy. The run records each input file's hash and refuses."""
    data, out = tmp_path / "prefs.jsonl", tmp_path / "run"
    data.write_text(jsonl([dict(r, prompt=f"{r['prompt']} {i}") for i in range(2) for r in ROWS]))
    argv = [*FAST, "--model", str(checkpoint), "--dataset", str(data), "--output-dir", str(out)]
    main(argv)
    settings = json.loads((out / "run_settings.json").read_text())
    assert set(settings["files"]) == {"--model", "--dataset"}
    main(argv)  # the same inputs: resumed
    swapped = [dict(r, chosen=r["rejected"], rejected=r["chosen"]) for r in map(json.loads, data.read_text().splitlines())]
    data.write_text(jsonl(swapped))  # the labels flipped, same size, same path
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert exit_info.value.code == 2 and f"the content of --dataset {data} changed" in last and "--output-dir" in last


def _custom_code_checkpoint(path, marker) -> None:
    """A save_pretrained folder whose config maps its classes to its own custom.py (auto_map);
    running custom.py creates ``marker``."""
    from helpers import tiny_gpt2

    tiny_gpt2(0).save_pretrained(path)
    (path / "vocab.json").write_text(json.dumps({"<|endoftext|>": 0, **{c: i + 1 for i, c in enumerate("abcdefghijkl")}}))
    (path / "merges.txt").write_text("#version: 0.2\n")
    config = json.loads((path / "config.json").read_text())
    config.update(model_type="custom_gpt", auto_map={"AutoConfig": "custom.Config", "AutoModelForCausalLM":
                  "custom.Model", "AutoModelForSequenceClassification": "custom.Model"})  # fmt: skip
    (path / "config.json").write_text(json.dumps(config))
    (path / "custom.py").write_text(f"open({str(marker)!r}, 'w').close()\n")


LOAD_JUDGE = """
from dpo_teach.gpt2.hub.judge import load_reward_model
try:
    load_reward_model({path!r})
except ValueError as err:
    raise SystemExit("error: " + str(err))
"""


@pytest.mark.parametrize("how", ["--model", "load_reward_model"])
def test_a_checkpoint_with_its_own_code_never_runs_it_even_with_y_on_stdin(tmp_path, how):
    """transformers asked "y/N" on the terminal and ran the folder's Python on "y". Every load
    passes trust_remote_code=False: a "y" on standard input changes nothing; one error line."""
    path, marker = tmp_path / "custom_model", tmp_path / "RAN"
    _custom_code_checkpoint(path, marker)
    if how == "--model":
        argv = ["-m", "dpo_teach.finetune", *FAST, "--model", str(path), "--output-dir", str(tmp_path / "run")]
    else:
        argv = ["-c", LOAD_JUDGE.format(path=str(path))]
    proc = subprocess.run([sys.executable, *argv], input="y\ny\ny\n", capture_output=True, text=True,
                          timeout=time_limit(200))  # fmt: skip  (a hang guard, not a time limit)
    assert not marker.exists(), "the checkpoint's own Python file ran"
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode in (1, 2) and "Traceback" not in proc.stderr and last.startswith("error: "), proc.stderr[-2000:]
    assert "custom_model" in last and ("trust_remote_code" in last or "auto_map" in last), last


def test_a_symlink_loop_is_named_as_one_not_called_missing(tmp_path):
    """A symbolic link loop given as --dataset / --model was reported as "no such file"."""
    from dpo_teach.gpt2.models import load_pretrained

    (tmp_path / "loop.jsonl").symlink_to(tmp_path / "loop.jsonl")
    (tmp_path / "model").symlink_to(tmp_path / "model")
    with pytest.raises(ValueError, match="loop.jsonl is a symbolic link that leads nowhere"):
        load_rows(tmp_path / "loop.jsonl")
    with pytest.raises(ValueError, match="model is a symbolic link that leads nowhere"):
        load_pretrained(str(tmp_path / "model"))
