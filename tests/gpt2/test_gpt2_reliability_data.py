"""Reliability of the preference JSON Lines (dpo_teach.gpt2.data): every bad file or row is a
ValueError naming the file, the line and the fix; writes are atomic. Finding ids in the names."""

import gzip
import json
import os

import pytest

from dpo_teach.gpt2 import data

ROW = {"prompt": "the film was", "chosen": " great.", "rejected": " awful."}
GOOD = json.dumps(ROW)


def write_lines(path, *lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- S5: no preference, duplicate keys ---------------------------------------------------------


def test_S5_chosen_equal_to_rejected_is_rejected_with_file_and_line(tmp_path):
    path = write_lines(tmp_path / "p.jsonl", GOOD, json.dumps({**ROW, "rejected": " great."}))
    with pytest.raises(ValueError, match="same text") as err:
        data.load_preference_jsonl(path)
    assert f"{path}, line 2" in str(err.value) and "drop the row" in str(err.value)


@pytest.mark.parametrize(
    "line",
    [
        '{"prompt": "the film was", "chosen": " great.", "rejected": " awful.", "chosen": " awful."}',
        '{"prompt": "x", "chosen": " a.", "rejected": " b.", "meta": {"id": 1, "id": 2}}',  # nested
    ],
)
def test_S5_duplicate_keys_in_one_object_are_rejected_with_file_and_line(tmp_path, line):
    path = write_lines(tmp_path / "p.jsonl", GOOD, "", line)
    with pytest.raises(ValueError, match="appears twice") as err:
        data.load_preference_jsonl(path)
    assert f"{path}, line 3" in str(err.value)


# -- C6: not a file, deep nesting, lone surrogates ---------------------------------------------


def test_C6_a_directory_or_a_missing_path_is_a_value_error_naming_it(tmp_path):
    with pytest.raises(ValueError, match="is a directory") as err:
        data.load_preference_jsonl(tmp_path)
    assert str(tmp_path) in str(err.value)
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(ValueError, match="no such file") as err:
        data.load_preference_jsonl(missing)
    assert str(missing) in str(err.value)


def test_C6_very_deep_nesting_is_a_value_error_not_a_recursion_error(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    line = '{"prompt": "x", "chosen": " a.", "rejected": ' + deep + "}"
    path = write_lines(tmp_path / "p.jsonl", GOOD, line)
    with pytest.raises(ValueError, match="nested too deeply") as err:
        data.load_preference_jsonl(path)
    assert f"{path}, line 2" in str(err.value)


@pytest.mark.parametrize(
    "line",
    [
        '{"prompt": "the film was", "chosen": " gr\\ud800eat.", "rejected": " awful."}',
        '{"prompt": "the film was", "chosen": " great.", "rejected": " awful.", "note": ["\\udfff"]}',
    ],
)
def test_C6_a_lone_surrogate_escape_is_rejected_with_file_and_line(tmp_path, line):
    path = write_lines(tmp_path / "p.jsonl", GOOD, line)
    with pytest.raises(ValueError, match="lone UTF-16 surrogate") as err:
        data.load_preference_jsonl(path)
    assert f"{path}, line 2" in str(err.value)
    # a valid escaped pair is a real character and is fine
    write_lines(path, json.dumps({**ROW, "chosen": " great \U0001f600."}))
    assert data.load_preference_jsonl(path)[0]["chosen"] == " great \U0001f600."


# -- U1 / U6: encodings ------------------------------------------------------------------------


def test_U1_latin1_names_the_file_the_line_and_the_fix(tmp_path):
    path = tmp_path / "p.jsonl"
    text = "\n".join([GOOD, GOOD, json.dumps({**ROW, "chosen": " très bien."}, ensure_ascii=False)])
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8") as err:
        data.load_preference_jsonl(path)
    assert f"{path}, line 3" in str(err.value) and "re-encode" in str(err.value)


def test_U1_utf16_and_gzip_name_the_file_and_the_fix(tmp_path):
    utf16 = tmp_path / "p16.jsonl"
    utf16.write_bytes((GOOD + "\n").encode("utf-16"))
    with pytest.raises(ValueError, match="UTF-16") as err:
        data.load_preference_jsonl(utf16)
    assert str(utf16) in str(err.value) and "UTF-8" in str(err.value)
    gz = tmp_path / "p.jsonl.gz"
    gz.write_bytes(gzip.compress((GOOD + "\n").encode()))
    with pytest.raises(ValueError, match="gzip") as err:
        data.load_preference_jsonl(gz)
    assert str(gz) in str(err.value) and "decompress" in str(err.value)


def test_U6_a_utf8_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(("\n".join([GOOD, GOOD]) + "\n").encode("utf-8-sig"))
    assert data.load_preference_jsonl(path) == [ROW, ROW]


def test_line_numbers_still_count_crlf_and_blank_lines(tmp_path):
    path = tmp_path / "crlf.jsonl"
    path.write_bytes(f"{GOOD}\r\n\r\n{GOOD}\r\n{{bad\r\n".encode())
    with pytest.raises(ValueError, match="line 4"):
        data.load_preference_jsonl(path)


# -- S1: atomic writes -------------------------------------------------------------------------


def test_S1_a_row_that_cannot_be_written_leaves_no_file_and_no_temp_file(tmp_path):
    target = tmp_path / "out" / "p.jsonl"
    with pytest.raises(ValueError, match="row 1") as err:
        data.write_preference_jsonl([ROW, {**ROW, "meta": {1, 2}}, ROW], target)
    assert str(target) in str(err.value)
    assert not target.exists() and os.listdir(target.parent) == []


def test_S1_a_failure_mid_write_leaves_the_old_file_untouched(tmp_path, monkeypatch):
    target = data.write_preference_jsonl([ROW, ROW, ROW], tmp_path / "p.jsonl")
    before = target.read_bytes()
    calls = []

    def dumps_then_die(obj, **kwargs):
        calls.append(obj)
        if len(calls) == 2:
            raise KeyboardInterrupt  # a kill half-way through
        return json.dumps(obj, **kwargs)

    monkeypatch.setattr(data.json, "dumps", dumps_then_die)
    with pytest.raises(KeyboardInterrupt):
        data.write_preference_jsonl([ROW, ROW], target)
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["p.jsonl"]  # no temporary file left behind
    # and a successful write replaces it whole
    data.write_preference_jsonl([ROW], target)
    assert data.load_preference_jsonl(target) == [ROW]


def test_S1_S5_rows_the_reader_would_reject_are_not_written(tmp_path):
    target = tmp_path / "p.jsonl"
    with pytest.raises(ValueError, match="same text"):
        data.write_preference_jsonl([ROW, {**ROW, "rejected": ROW["chosen"]}], target)
    assert not target.exists()


# -- C3: too-long pairs, as tokenize_pairs reports them ---------------------------------------


def test_C3_tokenize_pairs_checks_the_length_against_max_length(tokenizer):
    long_row = {**ROW, "chosen": " great." * 40}
    pairs = data.tokenize_pairs([ROW, long_row], tokenizer)  # no limit: nothing checked
    n = len(pairs[1]["prompt_ids"]) + len(pairs[1]["chosen_ids"])
    assert data.tokenize_pairs([ROW], tokenizer, max_length=64) == pairs[:1]
    with pytest.raises(ValueError, match=f"pair 1: prompt \\+ chosen is {n} tokens") as err:
        data.tokenize_pairs([ROW, long_row], tokenizer, max_length=64)
    assert "at most 64" in str(err.value) and "n_positions" in str(err.value)
