"""Cost curves against TRL: DPO step time and tokens/s, ours and TRL's ``DPOTrainer`` in one run,
against sequence length, pairs per step and model size; the ratio to TRL at each point.

Each point is one :mod:`bench_vs_trl` comparison (same world, same settings on both sides, TRL's
own ``compute_loss`` checked equal first): ours and TRL alternate ``repeats`` times in this one
process, every step after the warm-up is timed, and tokens/s = tokens per step / median step time
over all repeats (the per-repeat ratios are kept, to show the spread). Points with GPT-2's
50,257-token vocabulary also time ours with ``--logps-chunk 1024`` (the LM head in chunks), the
cost the issue-28 log-prob change is meant to cut. Results: one JSON record, rewritten after every
point (machine, versions, load average before and after each point); a figure.

    pip install -e ".[bench]"
    python benchmarks/scaling.py --json results/scaling.json --figure benchmarks/scaling.png
    python benchmarks/scaling.py --grid smoke   # the tiniest point, seconds (the smoke test)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_vs_trl as bench  # noqa: E402  (a script beside this one, not a package)

GPT2_VOCAB = 50257


@dataclasses.dataclass(frozen=True)
class Point:
    axis: str  # "seq_len", "pairs" or "model": the variable of its curve
    preset: str  # dpo_teach.gpt2.models preset
    pairs: int  # preference pairs per step
    seq_len: int  # tokens per row (BOS + prompt + completion), no padding
    steps: int  # timed steps per repeat
    warmup: int = 2  # untimed steps first
    repeats: int = 3  # ours/TRL alternations
    vocab_size: int | None = None  # GPT2_VOCAB: GPT-2's LM head; None: the review tokenizer's ~400
    threads: int = 1


def _grid_full() -> list[Point]:
    """~15 min of a 2-core CPU at load ~4; sized so no point dominates (fewer steps where one is slow)."""
    return [
        *(Point("seq_len", "tiny", 4, n, steps) for n, steps in ((32, 20), (128, 12), (512, 6), (1024, 4))),
        *(Point("pairs", "tiny", b, 64, steps) for b, steps in ((4, 20), (16, 12), (64, 6))),
        *(Point("model", p, 4, 64, steps) for p, steps in (("tiny", 20), ("base", 8))),
        Point("model", "small", 2, 64, 2, warmup=1, repeats=2, threads=2),
        Point("model", "small", 2, 64, 2, warmup=1, repeats=2, threads=2, vocab_size=GPT2_VOCAB),
    ]


GRIDS = {
    "full": _grid_full,
    "smoke": lambda: [Point("seq_len", "tiny", 2, 8, 2, warmup=1, repeats=1)],
}


def settings(p: Point, seed: int = 0, logps_chunk: int = 0) -> bench.Settings:
    """bench_vs_trl's settings for one point: a quarter of the row is prompt (after BOS)."""
    if p.seq_len < 4 or min(p.pairs, p.steps, p.warmup, p.repeats, p.threads) < 1:
        raise ValueError(f"{p}: seq_len must be >= 4 and pairs, steps, warmup, repeats, threads >= 1")
    prompt = max(1, p.seq_len // 4 - 1)
    preset_positions = bench.models.PRESETS[p.preset].n_positions
    return bench.Settings(
        device="cpu", preset=p.preset, batch_size=p.pairs, prompt_len=prompt,
        completion_len=p.seq_len - 1 - prompt, steps=p.steps, warmup=p.warmup, repeats=p.repeats,
        beta=0.1, learning_rate=1.5e-5, max_grad_norm=1.0, ref_logps="precompute", bf16=False,
        threads=p.threads, seed=seed, n_positions=max(p.seq_len, preset_positions),
        vocab_size=p.vocab_size, logps_chunk=logps_chunk,
    )  # fmt: skip


def measure(p: Point, seed: int = 0) -> dict:
    """One point: equality, then ours / TRL (/ ours chunked) alternating; medians and ratios."""
    s = settings(p, seed)
    load_before = os.getloadavg()[0]
    world = bench.build_world(s)
    bench.torch.set_num_threads(p.threads)
    eq = bench.check_equality(world, s)
    sides = {"ours": s, "trl": s}
    if p.vocab_size:  # the large head: ours with the LM head in chunks too
        sides["ours_chunked"] = dataclasses.replace(s, logps_chunk=1024)
    steps = {name: [] for name in sides}
    per_repeat = []
    for r in range(p.repeats):  # alternate the order so drifting load hits every side alike
        order = list(sides) if r % 2 == 0 else list(reversed(sides))
        for name in order:
            timer = bench.time_trl if name == "trl" else bench.time_ours
            steps[name].append(timer(world, sides[name]))
        per_repeat.append({n: statistics.median(steps[n][-1]) for n in sides})
    medians = {n: statistics.median(sum(steps[n], [])) for n in sides}
    row = {
        **dataclasses.asdict(p),
        "n_params": bench.models.count_parameters(world.ref_model),
        "vocab": world.ref_model.config.vocab_size,
        "tokens_per_step": s.tokens_per_step,
        "max_abs_loss_diff": eq["max_abs_loss_diff"],
        "max_abs_grad_diff": eq["max_abs_grad_diff"],
        "median_step_s": {n: round(v, 5) for n, v in medians.items()},
        "mean_step_s": {n: round(statistics.fmean(sum(steps[n], [])), 5) for n in sides},
        "tokens_per_s": {n: round(s.tokens_per_step / v, 1) for n, v in medians.items()},
        # > 1: ours is faster. From the medians over every timed step of every repeat
        "ratio_vs_trl": {n: round(medians["trl"] / v, 3) for n, v in medians.items() if n != "trl"},
        "ratio_per_repeat": {n: [round(r["trl"] / r[n], 3) for r in per_repeat] for n in sides if n != "trl"},
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    return row


def describe(row: dict) -> str:
    ratios = ", ".join(f"{n} {v:.2f}x" for n, v in row["ratio_vs_trl"].items())
    tps = ", ".join(f"{n} {v:,.0f}" for n, v in row["tokens_per_s"].items())
    return (f"{row['axis']:7s} {row['preset']:5s} vocab {row['vocab']:5d} {row['pairs']:2d} pairs x "
            f"{row['seq_len']:4d} tokens: tokens/s {tps}; vs TRL {ratios} "
            f"(repeats {row['ratio_per_repeat']}); load {row['load_average']}")  # fmt: skip


def plot(record: dict, path) -> Path:
    """Three panels (sequence length, pairs per step, model size): the ratio to TRL per point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dpo_teach.plotting import COLORS, use_style, write_png

    use_style()
    rows = [r for r in record["rows"] if "error" not in r]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), sharey=True)
    titles = {"seq_len": "tokens per row (tiny, 4 pairs)", "pairs": "pairs per step (tiny, 64 tokens)",
              "model": "model (64 tokens; 4 pairs, small 2)"}  # fmt: skip
    for ax, axis in zip(axes, titles):
        pts = [r for r in rows if r["axis"] == axis]
        if axis == "model":
            vocab = lambda r: "\nGPT-2 vocab" if r["vocab_size"] else ""  # noqa: E731
            labels = [f"{r['preset']}\n{r['n_params'] / 1e6:.1f}M{vocab(r)}" for r in pts]
            xs = list(range(len(pts)))
            ax.set_xticks(xs, labels)
        else:
            xs = [r[axis] for r in pts]
            ax.set_xscale("log", base=2)
            ax.set_xticks(xs, [str(x) for x in xs])
        sides = (("ours", "ours (dots: each repeat)"), ("ours_chunked", "ours, --logps-chunk 1024"))
        for k, (side, label) in enumerate(sides):
            sel = [(x, r) for x, r in zip(xs, pts) if side in r["ratio_vs_trl"]]
            if not sel:
                continue
            ax.plot([x for x, _ in sel], [r["ratio_vs_trl"][side] for _, r in sel], "o-" if k == 0 else "s",
                    color=COLORS[k], label=label, markersize=7)  # fmt: skip
            for x, r in sel:  # each repeat's ratio: the spread on a shared machine
                ax.plot([x] * len(r["ratio_per_repeat"][side]), r["ratio_per_repeat"][side], ".",
                        color=COLORS[k], alpha=0.4)  # fmt: skip
                ax.annotate(f"{r['ratio_vs_trl'][side]:.2f}x", (x, r["ratio_vs_trl"][side]),
                            textcoords="offset points", xytext=(6, 6), fontsize=9)  # fmt: skip
        ax.axhline(1.0, color="grey", lw=1, ls="--")
        ax.set_xlabel(titles[axis])
    axes[0].set_ylabel("speed vs TRL 1.16 (median step; >1 = ours faster)")
    handles = {label: h for ax in axes for h, label in zip(*ax.get_legend_handles_labels())}  # every panel's
    axes[0].legend(handles.values(), handles.keys(), loc="lower left", fontsize=9)
    load = [x for r in rows for x in r["load_average"]]
    lo, hi, cores = min(load, default=0), max(load, default=0), record["machine"]["cpu_count"]
    fig.suptitle(f"DPO step, ours vs TRL's DPOTrainer, same model and batch (CPU fp32, 1-2 threads; "
                 f"load average {lo:.0f}-{hi:.0f} on {cores} cores)", fontsize=11)  # fmt: skip
    fig.tight_layout()
    out = write_png(fig, path)
    plt.close(fig)
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--grid", choices=sorted(GRIDS), default="full")
    ap.add_argument("--axes", nargs="+", choices=("seq_len", "pairs", "model"), help="only these curves")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write the record here (rewritten after every point)")
    ap.add_argument("--figure", help="write the figure here (PNG)")
    a = ap.parse_args(argv)
    try:
        import trl
    except ImportError:
        raise SystemExit('TRL is the peer of this benchmark: pip install -e ".[bench]"') from None
    import datasets
    import transformers

    from dpo_teach.files import atomic_write_text

    points = [p for p in GRIDS[a.grid]() if not a.axes or p.axis in a.axes]
    record = {
        "command": "python benchmarks/scaling.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": {"cpu": bench._cpu_name(), "cpu_count": os.cpu_count()},
        "versions": {
            "torch": bench.torch.__version__,
            "transformers": transformers.__version__,
            "trl": trl.__version__,
        },
        "settings": "fp32 CPU, reference log-probs precomputed (untimed), AdamW default kernel both sides, "
        "lr 1.5e-5 constant, clip 1.0, beta 0.1, no padding",
        "rows": [],
    }
    threads, tqdm_env = bench.torch.get_num_threads(), os.environ.get("TQDM_DISABLE")
    os.environ["TQDM_DISABLE"] = "1"  # TRL's reference-precompute bar
    datasets.disable_progress_bars()
    try:
        for p in points:
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                quiet = transformers.logging.get_verbosity()
                transformers.logging.set_verbosity_error()
                try:
                    row = measure(p, a.seed)
                finally:
                    transformers.logging.set_verbosity(quiet)
            row["wall_s"] = round(time.perf_counter() - t, 1)
            record["rows"].append(row)
            print(describe(row), f"[{row['wall_s']:.0f} s]", flush=True)
            if a.json:
                atomic_write_text(a.json, json.dumps(record, indent=1) + "\n")
    finally:  # leave the process as it was (the smoke test calls main in-process)
        bench.torch.set_num_threads(threads)
        if tqdm_env is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = tqdm_env
        datasets.enable_progress_bars()
    if a.figure:
        plot(record, a.figure)
    return record


if __name__ == "__main__":
    main()
