"""The run directory of the fine-tune: atomic writes, stage records, verified reuse (issue 11: S1, C1, C5)."""

from __future__ import annotations

import json

import pytest

from dpo_teach.gpt2.rundir import RunDir, atomic_write_text, read_json

SETTINGS = {"preset": "tiny", "model": None, "seed": 0, "fast": True}


def test_s1_atomic_write_keeps_the_old_file_when_the_write_fails(tmp_path):
    """S1: a failed write leaves the previous content and no temporary file behind."""
    path = atomic_write_text(tmp_path / "rows.jsonl", "old\n")
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(path, "new\n\ud800")  # a lone surrogate cannot be written as UTF-8
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["rows.jsonl"]


def test_s1_a_truncated_stage_file_is_not_reused_and_later_stages_are_forgotten(tmp_path):
    """S1: a stage is reused only if its files match the record; a stage redone forgets the next."""
    run = RunDir(tmp_path, SETTINGS, stages=("sft", "pairs"))
    (tmp_path / "a.txt").write_text("sft output")
    run.finish("sft", [tmp_path / "a.txt"])
    (tmp_path / "b.jsonl").write_text('{"x": 1}\n{"x": 2}\n')
    run.finish("pairs", ["b.jsonl"])
    assert RunDir(tmp_path, SETTINGS, ("sft", "pairs")).is_done("pairs")
    (tmp_path / "b.jsonl").write_text('{"x": 1}\n')  # shorter, still valid JSON Lines
    again = RunDir(tmp_path, SETTINGS, ("sft", "pairs"))
    assert again.is_done("sft") and not again.is_done("pairs")
    (tmp_path / "a.txt").write_text("changed")
    assert not RunDir(tmp_path, SETTINGS, ("sft", "pairs")).is_done("sft")
    again.start("sft")
    assert json.loads((tmp_path / "stages.json").read_text()) == {}


def test_c1_a_directory_stage_is_built_under_a_temporary_name(tmp_path):
    """C1: a crash while building sft/ leaves no sft/ (and no temporary directory) behind."""
    run = RunDir(tmp_path, SETTINGS, stages=("sft",))

    def crash(tmp):
        (tmp / "model.safetensors").write_text("weights")
        raise KeyboardInterrupt  # killed between the weights and the tokenizer

    with pytest.raises(KeyboardInterrupt):
        run.replace_dir("sft", crash)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run_settings.json"]
    built = run.replace_dir("sft", lambda tmp: (tmp / "tokenizer.json").write_text("{}"))
    assert sorted(p.name for p in built.iterdir()) == ["tokenizer.json"]


def test_c1_leftovers_of_a_killed_run_are_removed(tmp_path):
    (tmp_path / ".sft.abc.tmp").mkdir()
    (tmp_path / ".metrics.json.x.tmp").write_text("half")
    RunDir(tmp_path, SETTINGS, stages=("sft",))
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("name", ["run_settings.json", "stages.json"])
@pytest.mark.parametrize("content", ["garbage", "", "[1, 2", '"\\ud800'])
def test_c5_corrupt_state_files_name_the_file_and_the_fix(tmp_path, name, content):
    """C5/U4: a garbage state file gives one ValueError naming it and what to do."""
    RunDir(tmp_path, SETTINGS, stages=("sft",))
    (tmp_path / name).write_text(content)
    with pytest.raises(ValueError, match=rf"{name}.*cannot be read.*delete it"):
        RunDir(tmp_path, SETTINGS, stages=("sft",))


def test_c5_read_json_names_a_missing_file(tmp_path):
    with pytest.raises(ValueError, match="sft_losses.json.*cannot be read"):
        read_json(tmp_path / "sft_losses.json", "the SFT losses")


def test_another_runs_settings_are_refused(tmp_path):
    RunDir(tmp_path, SETTINGS, stages=("sft",))
    with pytest.raises(ValueError, match="new --output-dir"):
        RunDir(tmp_path, {**SETTINGS, "seed": 1}, stages=("sft",))


@pytest.mark.parametrize("make", ["file", "below a file"])
def test_c4_an_output_dir_that_cannot_be_written_is_refused_up_front(tmp_path, make):
    """C4: --output-dir that is a file, or below a file, is a ValueError before any work."""
    (tmp_path / "f").write_text("")
    path = tmp_path / "f" if make == "file" else tmp_path / "f" / "below"
    with pytest.raises(ValueError, match="cannot write to the output directory"):
        RunDir(path, SETTINGS, stages=("sft",))


def test_a_relative_run_dir_records_its_files_once(tmp_path, monkeypatch):
    """The CLI's default --output-dir is relative (runs/...): stage files must not be recorded as
    runs/x/runs/x/... (a bug seen on a fresh clone)."""
    monkeypatch.chdir(tmp_path)
    run = RunDir("runs/finetune-x", SETTINGS, stages=("sft", "pairs"))
    built = run.replace_dir("sft", lambda tmp: (tmp / "config.json").write_text("{}"))
    run.finish("sft", sorted(built.rglob("*")))
    (run.path / "preferences_train.jsonl").write_text('{"x": 1}\n')
    run.finish("pairs", [run.path / "preferences_train.jsonl"])
    again = RunDir("runs/finetune-x", SETTINGS, stages=("sft", "pairs"))
    assert again.is_done("pairs")
    assert set(again.records["sft"]) == {"sft/config.json"}
