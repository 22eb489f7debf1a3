r"""Write the doctor's "shapes" fixtures: TRL-style logs shaped like public runs and bug reports.

Each shape is simulated, not trained: the runs it stands for need a GPU, a 7B model, fp16, a
mixture-of-experts model or a W&B account (tests/fixtures/doctor/shapes/README.md gives each one's
source). The simulation keeps what the doctor relies on exact: every entry averages the pairs of
``logging_steps`` steps of ``batch`` pairs the way TRL does, each pair's margin is drawn around a
trend, and the loss, ``rewards/accuracies`` and ``rewards/margins`` are computed from those margins
(the sigmoid loss, Eq. 7 of arXiv:2305.18290, unless the shape says otherwise); before any update
the margins are 0. Files are TRL's ``trainer_state.json`` layout (``log_history``, ``logging_steps``)
unless the shape is another format. Seeded: the same files on every run.

    python benchmarks/make_doctor_shapes.py           # < 1 s, numpy only
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "doctor" / "shapes"
LN2 = math.log(2.0)
DIP_SEED = 16


def _r(x: float) -> float:
    return float(f"{x:.6g}") if math.isfinite(x) else x


def simulate(steps=300, logging_steps=10, batch=8, margin_end=1.0, margin_sd=1.0, chosen_end=-0.3,
             logps=(-280.0, -300.0), logps_drift=(-5.0, -30.0), lr=5e-7, grad=(20.0, 8.0), seed=0,
             first_step=False, beta=0.1, epochs=1.0, loss_of=None, noise=1.0, trend=None):  # fmt: skip
    """TRL-style training entries; the trend of each metric is linear in the step (the margins'
    ``trend(t)`` instead when given, ``t`` = step / steps)."""
    rng = np.random.default_rng(seed)
    logged = ([1] if first_step else []) + list(range(logging_steps, steps + 1, logging_steps))
    entries, last = [], 0
    for step in logged:
        t = step / steps
        n = batch * (step - last)
        before = step == 1  # TRL's step 1 is scored before the first update: policy = reference
        mean = margin_end * t if trend is None else trend(t)
        m = np.zeros(n) if before else rng.normal(mean, margin_sd * noise, n)
        loss = np.logaddexp(0.0, -m) if loss_of is None else loss_of(m, t)
        chosen = 0.0 if before else chosen_end * t + rng.normal(0, 0.02 * noise)
        e = {
            "epoch": _r(epochs * t), "grad_norm": _r(grad[0] + (grad[1] - grad[0]) * t + rng.normal(0, 1)),
            "learning_rate": lr, "logits/chosen": _r(-2.5 + rng.normal(0, 0.1)),
            "logits/rejected": _r(-2.5 + rng.normal(0, 0.1)),
            "logps/chosen": _r(logps[0] + logps_drift[0] * t + chosen / beta + rng.normal(0, 3)),
            "logps/rejected": _r(logps[1] + logps_drift[1] * t + (chosen - m.mean()) / beta
                                 + rng.normal(0, 3)),
            "loss": _r(float(loss.mean())), "rewards/accuracies": _r(float((m > 0).mean())),
            "rewards/chosen": _r(chosen), "rewards/margins": _r(float(m.mean())),
            "rewards/rejected": _r(chosen - float(m.mean())), "step": step,
        }  # fmt: skip
        entries.append(e)
        last = step
    return entries


def state(entries, logging_steps=10, **extra) -> dict:
    """TRL's trainer_state.json around ``entries`` (the fields the doctor may read)."""
    steps = max(e["step"] for e in entries)
    return {"global_step": steps, "logging_steps": logging_steps, "max_steps": steps,
            "log_history": entries, **extra}  # fmt: skip


def _eval(entries, every, values, key="eval_loss"):
    """Eval entries after every ``every``-th step (TRL logs them beside the training entries)."""
    out = []
    for e in entries:
        out.append(e)
        if e["step"] % every == 0 and values:
            out.append({"epoch": e["epoch"], key: values.pop(0), "eval_rewards/accuracies": 0.7,
                        "eval_runtime": 12.5, "step": e["step"]})  # fmt: skip
    return out


def shapes() -> dict:
    """file name -> JSON-able content (a dict of files for a directory shape)."""
    out = {}
    # IPO: loss (m/beta - 1/(2 beta))^2 in TRL's convention, 25 at beta 0.1 before any update
    ipo = lambda m, t: (m / 0.1 - 1 / (2 * 0.1)) ** 2  # noqa: E731
    out["ipo.json"] = state(simulate(first_step=True, margin_end=0.3, margin_sd=0.2, loss_of=ipo, seed=1))
    rpo = lambda m, t: np.logaddexp(0.0, -m) + (1.9 - 0.3 * t)  # noqa: E731  # + the NLL of chosen
    out["rpo.json"] = state(simulate(first_step=True, loss_of=rpo, seed=2))
    moe = simulate(first_step=True, loss_of=lambda m, t: np.logaddexp(0.0, -m) + 0.001 * (19.2 - t), seed=3)
    for e in moe:
        e["aux_loss"] = _r(19.2 - e["step"] / 300)
    out["moe_aux_loss.json"] = state(moe)
    # W&B's history export: _step counts log calls (train and eval rows); train/global_step is the step
    rows = []
    for i, e in enumerate(_eval(simulate(seed=4), 100, [0.62, 0.55, 0.52])):
        row = {"_step": i, "_runtime": 30.0 * i, "train/global_step": e["step"]}
        row |= {("eval/" + k[5:] if k.startswith("eval_") else "train/" + k): v for k, v in e.items()
                if k != "step"}  # fmt: skip
        rows.append(row)
    out["wandb_export.json"] = rows
    # logging_first_step=True on a policy that is not the reference (another checkpoint)
    first = simulate(first_step=True, seed=5)
    first[0] |= {"rewards/chosen": -1.84, "rewards/rejected": -1.91, "rewards/margins": 0.07, "loss": 0.659}
    out["first_step_not_reference.json"] = state(first)
    scaled = simulate(margin_end=0.16, margin_sd=0.3, chosen_end=0.0, seed=6,
                      loss_of=lambda m, t: np.logaddexp(0, -m) / 64)  # fmt: skip
    out["scaled_loss.json"] = state(scaled)  # the loss divided by 64 (accumulation steps)
    out["trl1236.json"] = state(_trl1236(), logging_steps=1)
    scaler = simulate(steps=200, logging_steps=1, batch=16, margin_end=1.5, seed=8, lr=2e-6)[:60]
    for i, value in enumerate((math.nan, math.inf, math.inf)):
        scaler[i]["grad_norm"] = value  # the fp16 GradScaler's first steps (skipped updates)
    out["fp16_scaler_warmup.json"] = state(scaler, logging_steps=1)
    zero_lr = simulate(
        first_step=True, seed=9, lr=0.0, margin_end=0.0, margin_sd=0.0, chosen_end=0.0, noise=0
    )
    out["zero_learning_rate.json"] = state(zero_lr)
    epochs = simulate(steps=90, logging_steps=5, batch=16, margin_end=4.0, margin_sd=1.2, epochs=3.0,
                      logps_drift=(-2, -40), seed=10, lr=5e-6)  # fmt: skip
    out["eval_rising.json"] = state(_eval(epochs, 30, [0.52, 0.63, 0.74]), logging_steps=5)
    out["eval_only.json"] = [{"eval_loss": v, "eval_rewards/accuracies": a, "eval_rewards/margins": m,
                              "epoch": ep, "step": 100 * ep} for ep, v, a, m in
                             ((1, 0.55, 0.68, 0.4), (2, 0.51, 0.72, 0.7), (3, 0.50, 0.73, 0.9))]  # fmt: skip
    out["all_results.json"] = {"epoch": 1.0, "eval_logps/chosen": -287.1, "eval_logps/rejected": -263.8,
                               "eval_loss": 0.5129, "eval_rewards/accuracies": 0.7766, "eval_rewards/chosen":
                               -0.71, "eval_rewards/margins": 0.98, "eval_rewards/rejected": -1.69,
                               "eval_runtime": 44.1, "eval_samples": 2000, "train_loss": 0.5366,
                               "train_runtime": 7450.2, "train_samples": 61135}  # fmt: skip
    ckpt = simulate(seed=11)
    out["output_dir"] = {f"checkpoint-{n}/trainer_state.json": state([e for e in ckpt if e["step"] <= n])
                         for n in (100, 200, 300)}  # fmt: skip
    renamed = [{k.replace("rewards/", "reward_").replace("logps/", "logp_"): v for k, v in e.items()}
               for e in simulate(seed=12)]  # fmt: skip
    out["renamed_keys.json"] = state(renamed)
    empty = simulate(first_step=True, seed=13, margin_end=0.0, margin_sd=0.0, chosen_end=0.0, noise=0)
    for e in empty:
        e |= {"logps/chosen": 0.0, "logps/rejected": 0.0, "logits/chosen": -2.5}
    out["empty_completions.json"] = state(empty)
    # alignment-handbook's zephyr recipe: beta 0.01, lr 5e-7, one epoch; logps/chosen falls as usual
    zephyr = dict(
        steps=480,
        logging_steps=10,
        batch=32,
        beta=0.01,
        margin_end=1.0,
        margin_sd=0.9,
        chosen_end=-0.45,
        logps=(-270, -260),
        logps_drift=(-60, -120),
        seed=14,
    )
    out["zephyr_recipe.json"] = state(simulate(**zephyr))
    for seed in range(5):  # five noisy seeds of a healthy run, 4 pairs a step, logged every step
        noisy = dict(
            steps=80, logging_steps=1, batch=4, margin_end=2.0, margin_sd=1.5, chosen_end=-0.1, lr=5e-6
        )
        out[f"healthy_seed{seed}.json"] = state(simulate(**noisy, seed=100 + seed), logging_steps=1)
    accum = dict(steps=60, logging_steps=1, batch=16, margin_end=1.5, margin_sd=1.5, seed=15, lr=5e-7)
    out["batch1_accum16.json"] = state(simulate(**accum), logging_steps=1)  # 1 pair x 16 micro-batches
    # notebook 08's TRL run at the recipe's lr, 8 pairs a step, 30 steps: margins up to ~1, then a dip to
    # ~0.1 in the last entries (the real run climbs back to ~1 by step 60); seed: the doctor's old rule
    # (3-entry peak, mean of the last 20 %) read this as a divergence error
    dip = lambda t: min(t / 0.6, 1.0) if t <= 0.75 else 1.0 - 0.9 * (t - 0.75) / 0.25  # noqa: E731
    short = dict(steps=30, logging_steps=1, batch=8, margin_sd=1.3, chosen_end=-0.1, lr=5e-4, beta=2.0)
    out["short_dip.json"] = state(simulate(**short, trend=dip, seed=DIP_SEED), logging_steps=1)
    # a divergence that lasts: margins up to ~2 by mid-run, then down to ~0 for the last 100 of 300
    # steps (32 pairs a step, logged every 10th); grad_norm does not jump, so the margins tell it alone
    fall = lambda t: 4 * t if t <= 0.5 else max(0.0, 2.0 - 6 * (t - 0.5))  # noqa: E731
    lasting = dict(batch=32, margin_sd=1.5, chosen_end=-0.05, lr=5e-5, trend=fall, seed=17)
    out["divergence.json"] = state(simulate(**lasting))
    return out


def _trl1236() -> list[dict]:
    """lr 7e-5, two pairs a step: losses alternate 0.0 (bf16 rounding) and 2.5-4.3, margins 5-20."""
    rng = np.random.default_rng(7)
    entries = []
    for step in range(1, 61):
        if step == 1:
            m, loss, acc = 0.0, LN2, 0.0
        elif step % 2:
            m, loss, acc = rng.uniform(5, 20), 0.0, 1.0
        else:  # one pair far right, one wrong by 5-9: the mean margin is still 5-20
            m, loss, acc = rng.uniform(5, 20), rng.uniform(2.5, 4.3), 0.5
        chosen = 0.0 if step == 1 else rng.normal(0, 1)
        entry = {"epoch": step / 400, "grad_norm": rng.uniform(20, 300), "learning_rate": 7e-5,
                 "logps/chosen": -300 + 10 * chosen, "logps/rejected": -300 + 10 * (chosen - m), "loss": loss,
                 "rewards/accuracies": acc, "rewards/chosen": chosen, "rewards/margins": m,
                 "rewards/rejected": chosen - m}  # fmt: skip
        entries.append({k: _r(float(v)) for k, v in entry.items()} | {"step": step})
    return entries


def _dump(data) -> str:
    """Compact JSON, one logged entry per line (NaN and Infinity as Python's json writes them)."""
    if isinstance(data, dict) and "log_history" in data:
        head = {k: v for k, v in data.items() if k != "log_history"}
        rows = ",\n  ".join(json.dumps(e, separators=(",", ":")) for e in data["log_history"])
        return json.dumps(head)[:-1] + ', "log_history": [\n  ' + rows + "\n]}\n"
    if isinstance(data, list):
        return "[\n" + ",\n".join(json.dumps(e, separators=(",", ":")) for e in data) + "\n]\n"
    return json.dumps(data, indent=1) + "\n"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    for name, content in shapes().items():
        files = content if name == "output_dir" else {"": content}
        for inner, data in files.items():
            path = args.out / name / inner if inner else args.out / name
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(_dump(data))
            tmp.replace(path)
            print(path.relative_to(args.out.parent), f"{path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
