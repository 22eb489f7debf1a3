"""Smoke test of benchmarks/bench_vs_trl.py at a micro size (no timing is asserted).

The part without TRL always runs; the comparison with TRL is skipped where TRL (the `bench`
extra) is not installed, so the test suite never requires it.
"""

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

MICRO = ["--batch-size", "2", "--prompt-len", "3", "--completion-len", "4", "--steps", "2",
         "--warmup", "1", "--repeats", "1"]  # fmt: skip


@pytest.fixture(scope="module")
def bench():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_vs_trl.py"
    spec = importlib.util.spec_from_file_location("bench_vs_trl", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def test_world_has_fixed_length_pairs_and_ours_trains(bench):
    s, _ = bench.parse_args(MICRO)
    world = bench.build_world(s)
    tok, pairs, trl_rows = world.tokenizer, world.pairs, world.trl_rows
    assert len(pairs) == len(trl_rows) == s.batch_size * (s.warmup + s.steps)
    for p in pairs:  # BOS + prompt, completion + EOS: no padding anywhere
        assert p["prompt_ids"][0] == tok.bos_token_id and len(p["prompt_ids"]) == 1 + s.prompt_len
        assert len(p["chosen_ids"]) == len(p["rejected_ids"]) == s.completion_len
        assert p["chosen_ids"][-1] == p["rejected_ids"][-1] == tok.eos_token_id
    # TRL receives the same text with BOS spelled out, which encodes to the same ids
    assert tok.encode(trl_rows[0]["prompt"]) == pairs[0]["prompt_ids"]
    seconds = bench.time_ours(world, s)  # one duration per timed step
    assert len(seconds) == s.steps and all(math.isfinite(x) and x > 0 for x in seconds)


def test_bench_args_reject_bad_sizes(bench):
    with pytest.raises(SystemExit):
        bench.parse_args(["--steps", "0"])


def test_against_trl_equal_loss_and_json_line(bench, capsys):
    pytest.importorskip("trl", reason="TRL is the benchmark-only peer (pip install -e '.[bench]')")
    result = bench.main([*MICRO, "--json"])
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in (
        "speedup_vs_trl",
        "max_abs_loss_diff",
        "ours_tokens_per_s",
        "trl_tokens_per_s",
        "device",
        "batch_size",
        "seq_len",
        "steps",
    ):
        assert key in last, key
    assert last == json.loads(json.dumps(result))
    assert result["device"] == "cpu"
    assert result["max_abs_loss_diff"] < 1e-4
    assert result["max_abs_metric_diff"] < 1e-4
    assert result["max_abs_grad_diff"] < 1e-4
    assert result["ours_tokens_per_s"] > 0 and result["trl_tokens_per_s"] > 0
