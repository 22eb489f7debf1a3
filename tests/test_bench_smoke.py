"""Smoke test of benchmarks/bench_vs_trl.py at a micro size (no timing is asserted).

The part without TRL always runs; the comparison with TRL is skipped where TRL (the `bench`
extra) is not installed, so the test suite never requires it.
"""

import dataclasses
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


# -- benchmarks/scaling.py: the cost curves against TRL, at the tiniest point ------------------------
@pytest.fixture(scope="module")
def scaling(bench):  # bench first: scaling.py's `import bench_vs_trl` then finds the same module
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "scaling.py"
    spec = importlib.util.spec_from_file_location("scaling", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_scaling_points_resize_the_preset_and_reject_bad_sizes(scaling):
    # longer than the tiny preset's 64 positions, with GPT-2's vocabulary: the model is resized
    p = scaling.Point("model", "tiny", 1, 80, 1, warmup=1, repeats=1, vocab_size=scaling.GPT2_VOCAB)
    s = scaling.settings(p)
    assert s.seq_len == 80 and s.tokens_per_step == 2 * 1 * 80 and s.prompt_len == 80 // 4 - 1
    world = scaling.bench.build_world(s)
    assert world.ref_model.config.n_positions == 80 and world.ref_model.config.vocab_size == 50257
    assert all(len(x["prompt_ids"]) + len(x["chosen_ids"]) == 80 for x in world.pairs)
    for bad in ({"seq_len": 3}, {"pairs": 0}, {"repeats": 0}):
        with pytest.raises(ValueError, match="seq_len must be >= 4"):
            scaling.settings(scaling.Point(**{**dataclasses.asdict(p), **bad}))


def test_scaling_smoke_grid_against_trl_writes_record_and_figure(scaling, tmp_path):
    pytest.importorskip("trl", reason="TRL is the benchmark-only peer (pip install -e '.[bench]')")
    out, fig = tmp_path / "scaling.json", tmp_path / "scaling.png"
    record = scaling.main(["--grid", "smoke", "--json", str(out), "--figure", str(fig)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(record))
    (row,) = record["rows"]
    assert row["max_abs_loss_diff"] < 1e-4 and row["max_abs_grad_diff"] < 1e-4  # the same DPO step
    med = row["median_step_s"]
    # > 1 means ours is faster: TRL's median step over ours (an inverted ratio fails here)
    assert row["ratio_vs_trl"]["ours"] == pytest.approx(med["trl"] / med["ours"], rel=1e-2)
    assert row["tokens_per_s"]["ours"] == pytest.approx(row["tokens_per_step"] / med["ours"], rel=1e-2)
    assert len(row["ratio_per_repeat"]["ours"]) == row["repeats"] and len(row["load_average"]) == 2
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
