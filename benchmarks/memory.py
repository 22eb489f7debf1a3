r"""Peak memory of one DPO step: full logits or the LM head in chunks, with or without gradient
checkpointing, against the estimate the fine-tune prints.

For each sequence length and method, a fresh process builds the GPT-2 124M shape (12 x 768, GPT-2's
50,257-token vocabulary, fp32), AdamW, one preference pair per step whose rows are ``T`` tokens
(a quarter prompt), and takes ``--steps`` DPO steps with :class:`dpo_teach.gpt2.trainer.DPOTrainer`
(reference log-probs given, so no reference model is held). AdamW's state is created first (a step
on zero gradients), then the peak resident size is reset. Measured: the process's peak resident
memory during the steps (``VmHWM``) minus its memory before the model was built: weights,
gradients, AdamW state, activations and logits, everything a step needs. Beside it:
:func:`dpo_teach.gpt2.memory.estimate_peak` for the same run (the number the fine-tune prints).
On CUDA, ``torch.cuda.max_memory_allocated`` instead.

Methods: ``full`` (the model's ``(rows, T, V)`` logits, ``sequence_logps``), ``chunked``
(``--logps-chunk 1024``: :mod:`dpo_teach.gpt2.chunked_logps`), each ``+checkpointing``
(``--gradient-checkpointing``).

    python benchmarks/memory.py --lengths 128 512 2048 --json results/memory.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    """VmHWM: the peak resident size since the process started or since ``clear_refs`` reset it."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))


METHODS = ("full", "chunked", "chunked+checkpointing", "full+checkpointing")


def create_adamw_state(optimizer) -> None:
    """AdamW's two moments allocated without a training step: one optimizer step on zero gradients
    (Adam's update is 0/(0 + eps) = 0; weight decay scales the weights by 1 - lr x wd), so that a
    measured step's peak holds the state as every step after the first does, at the cost of one
    step instead of two (a step of the small shape at 2048 tokens takes minutes on this CPU)."""
    import torch

    for group in optimizer.param_groups:
        for p in group["params"]:
            p.grad = torch.zeros_like(p)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def worker(length: int, method: str, steps: int, device: str, threads: int) -> dict:
    """One measurement in this process (started fresh by :func:`main`)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from dpo_teach.gpt2.memory import estimate_peak
    from dpo_teach.gpt2.trainer import DPOConfig, DPOTrainer

    torch.set_num_threads(threads)
    before = rss_bytes()
    config = GPT2Config(vocab_size=50257, n_positions=max(1024, length), n_embd=768, n_layer=12, n_head=12,
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, loss_type="ForCausalLM")  # fmt: skip
    torch.manual_seed(0)
    policy = GPT2LMHeadModel(config).to(device)
    prompt = length // 4
    g = torch.Generator().manual_seed(1)
    pairs = [{"prompt_ids": torch.randint(1, 50000, (prompt,), generator=g).tolist(),
              "chosen_ids": torch.randint(1, 50000, (length - prompt,), generator=g).tolist(),
              "rejected_ids": torch.randint(1, 50000, (length - prompt,), generator=g).tolist()}
             for _ in range(steps)]  # fmt: skip
    ref = (torch.full((steps,), -9.0 * length, device=device),) * 2  # precomputed, no reference model
    cfg = DPOConfig(beta=0.1, learning_rate=1e-6, batch_size=1, max_steps=steps, progress=False,
                    logps_chunk=1024 if "chunked" in method else 0,
                    gradient_checkpointing="checkpointing" in method)  # fmt: skip
    # the reference is never run (log-probs given): a one-layer stand-in, so it costs nothing
    stand_in = GPT2LMHeadModel(GPT2Config(vocab_size=8, n_positions=config.n_positions, n_embd=8, n_layer=1,
                                          n_head=1, loss_type="ForCausalLM"))  # fmt: skip
    trainer = DPOTrainer(policy, stand_in, pairs, cfg, 0, ref_logps=ref)
    create_adamw_state(trainer.optimizer)  # AdamW's state exists from here, as after any first step
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    else:
        with open("/proc/self/clear_refs", "w") as f:  # Linux: reset the peak resident size (VmHWM)
            f.write("5")
    t, cpu = time.perf_counter(), time.process_time()
    trainer.train()
    seconds, cpu = (time.perf_counter() - t) / steps, (time.process_time() - cpu) / steps
    if device == "cuda":
        measured = torch.cuda.max_memory_allocated()
    else:
        measured = peak_rss_bytes() - before
    est = estimate_peak(policy, cfg, rows=2, seq_len=length, ref_model=None, precomputed=False)
    return {"length": length, "method": method, "device": device, "threads": threads,
            "measured_peak_bytes": measured, "estimate_bytes": est["total"], "estimate": est,
            "seconds_per_step": seconds, "cpu_seconds_per_step": cpu, "steps": steps}  # fmt: skip


def machine() -> dict:
    """What the numbers were measured on."""
    import platform

    import torch
    import transformers

    with open("/proc/meminfo") as f:
        mem = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemTotal:"))
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor()
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "memory_bytes": mem, "python": platform.python_version(),
            "torch": torch.__version__, "transformers": transformers.__version__}  # fmt: skip


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lengths", type=int, nargs="+", default=[128, 512, 2048])
    ap.add_argument("--methods", nargs="+", default=list(METHODS[:3]), choices=METHODS,
                    help="default: the first three (gpu_check.sh's limit)")  # fmt: skip
    ap.add_argument("--steps", type=int, default=1, help="measured DPO steps (>= 1)")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None, help="write the rows to this file (rewritten after each row)")
    ap.add_argument("--append", action="store_true", help="keep the rows already in --json (a row of the "
                    "same length and method is replaced); each row says when it was measured")  # fmt: skip
    ap.add_argument("--worker", nargs=2, metavar=("LENGTH", "METHOD"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.steps < 1 or a.threads < 1 or min(a.lengths) < 8:
        ap.error("--steps and --threads must be >= 1 and every length >= 8")
    if a.worker:
        print(json.dumps(worker(int(a.worker[0]), a.worker[1], a.steps, a.device, a.threads)))
        return []
    args = argv if argv is not None else sys.argv[1:]
    record = {"command": "python benchmarks/memory.py " + " ".join(args),
              "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "machine": machine(), "rows": []}  # fmt: skip
    if a.append and a.json and os.path.exists(a.json):
        with open(a.json) as f:
            old = json.load(f)
        record["command"] = old["command"] + "; " + record["command"]
        record["started"], record["rows"] = old["started"], old["rows"]
    for length in a.lengths:
        for method in a.methods:
            cmd = [sys.executable, __file__, "--worker", str(length), method, "--steps", str(a.steps),
                   "--device", a.device, "--threads", str(a.threads)]  # fmt: skip
            load_before = os.getloadavg()[0]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                row = {"length": length, "method": method, "error": proc.stderr.strip().splitlines()[-1:]}
            else:
                row = json.loads(proc.stdout.strip().splitlines()[-1])
            row["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]  # 1-min, before/after
            row["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
            record["rows"] = [r for r in record["rows"] if (r["length"], r["method"]) != (length, method)]
            record["rows"].append(row)
            gb = lambda b: f"{b / 2**30:.2f} GiB"  # noqa: E731
            print(f"T={length:5d} {method:24s} " + (f"measured {gb(row['measured_peak_bytes'])}, estimate "
                  f"{gb(row['estimate_bytes'])}, {row['seconds_per_step']:.1f} s/step" if "error" not in row
                  else f"failed: {row['error']}") + f", load {row['load_average']}", flush=True)  # fmt: skip
            if a.json:
                from dpo_teach.files import atomic_write_text

                atomic_write_text(a.json, json.dumps(record, indent=1) + "\n")
    return record["rows"]


if __name__ == "__main__":
    main()
