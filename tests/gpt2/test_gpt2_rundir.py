"""The run directory of the fine-tune: atomic writes, stage records, verified reuse (issue 11: S1, C1, C5)."""

from __future__ import annotations

import json
from pathlib import Path

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
    assert sorted(p.name for p in tmp_path.iterdir()) == [".dpo_teach_run", "run_settings.json"]
    built = run.replace_dir("sft", lambda tmp: (tmp / "tokenizer.json").write_text("{}"))
    assert sorted(p.name for p in built.iterdir()) == ["tokenizer.json"]


def test_c1_leftovers_of_a_killed_run_are_removed(tmp_path):
    import tempfile

    RunDir(tmp_path, SETTINGS, stages=("sft",))
    tempfile.mkdtemp(dir=tmp_path, prefix=".sft.", suffix=".tmp")  # the names a killed run leaves
    Path(tempfile.mkstemp(dir=tmp_path, prefix=".metrics.json.", suffix=".tmp")[1]).write_text("half")
    (tmp_path / ".draft.notes.tmp").write_text("the user's")  # not a name the package writes
    RunDir(tmp_path, SETTINGS, stages=("sft",))
    assert [p.name for p in tmp_path.glob(".*.tmp")] == [".draft.notes.tmp"]


USER_LAYOUTS = {"tmp file": [".draft.notes.tmp"], "policy/": ["policy/thesis.txt"], "sft/": ["sft/notes.md"],
                "a plain file": ["notes.txt"]}  # fmt: skip


@pytest.mark.parametrize("layout", USER_LAYOUTS)
def test_output_dir_a_user_folder_is_refused_and_untouched(tmp_path, layout):
    """Issue 23: --output-dir pointed at a folder of the user's deleted .*.tmp, policy/ and sft/.
    A non-empty folder that is not a run directory is refused, naming the fix; nothing is touched."""
    for rel in USER_LAYOUTS[layout]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("the user's own")
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    with pytest.raises(ValueError, match="is not empty .* not a run directory.*new or empty --output-dir"):
        RunDir(tmp_path, SETTINGS, stages=("sft",))
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before
    assert all((tmp_path / rel).read_text() == "the user's own" for rel in USER_LAYOUTS[layout])


def test_an_empty_folder_becomes_a_marked_run_directory_and_resumes(tmp_path):
    RunDir(tmp_path, SETTINGS, stages=("sft",))
    assert (tmp_path / ".dpo_teach_run").is_file()
    (tmp_path / "notes.txt").write_text("added later by the user")  # a marked folder stays ours
    RunDir(tmp_path, SETTINGS, stages=("sft",))


def test_a_run_directory_of_an_older_version_is_still_resumed(tmp_path):
    (tmp_path / "run_settings.json").write_text(json.dumps(SETTINGS))  # written before the marker existed
    (tmp_path / "stages.json").write_text("{}")
    RunDir(tmp_path, SETTINGS, stages=("sft",))
    assert (tmp_path / ".dpo_teach_run").is_file()


def test_replacing_a_directory_the_package_did_not_write_is_refused(tmp_path):
    """files.atomic_replace_dir (save_policy's) never deletes a folder that is not its own."""
    from dpo_teach.files import atomic_replace_dir

    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "thesis.txt").write_text("mine")
    with pytest.raises(ValueError, match="not written by dpo_teach"):
        atomic_replace_dir(tmp_path / "policy", lambda tmp: (tmp / "config.json").write_text("{}"))
    assert (tmp_path / "policy" / "thesis.txt").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["policy"]


def test_changed_inputs_are_refused_with_each_difference_named(tmp_path):
    """Issue 23: a resume after the inputs changed (an argument, or an input file's content) is
    refused, naming what differs, instead of reusing stages made from the old inputs."""
    from dpo_teach.gpt2.rundir import input_fingerprints

    data = tmp_path / "prefs.jsonl"
    data.write_text('{"prompt": "a", "chosen": " b", "rejected": " c"}\n')
    settings = lambda: {**SETTINGS, "inputs": {"dataset": str(data)},  # noqa: E731
                        "files": input_fingerprints({"--dataset": str(data)})}  # fmt: skip
    out = tmp_path / "run"
    RunDir(out, settings(), stages=("sft",))
    RunDir(out, settings(), stages=("sft",))  # same inputs: resumes
    data.write_text('{"prompt": "a", "chosen": " c", "rejected": " b"}\n')  # labels swapped, same size
    with pytest.raises(ValueError, match=r"the content of --dataset .*prefs.jsonl changed.*new --output-dir"):
        RunDir(out, settings(), stages=("sft",))
    with pytest.raises(ValueError, match=r"seed: 0 in that run, 3 now"):
        RunDir(out, {**settings(), "seed": 3}, stages=("sft",))


def test_input_fingerprints_cover_a_folder_and_skip_hub_names(tmp_path):
    from dpo_teach.gpt2.rundir import input_fingerprints

    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    first = input_fingerprints({"--model": str(tmp_path / "model"), "--reward-model": "lvwerra/x", "--p": None})
    assert list(first) == ["--model"] and len(first["--model"]["sha256"]) == 64
    (tmp_path / "model" / "config.json").write_text("{ }")
    assert input_fingerprints({"--model": str(tmp_path / "model")}) != first


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
