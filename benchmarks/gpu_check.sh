#!/usr/bin/env bash
# The GPU check of issue 28: every stage with its own time limit, under 8 minutes on one H100, one
# JSON file of results. NOT RUN YET: no GPU was lent while it was written; `--cpu-dry-run` runs the
# same stages on the CPU at toy sizes to check the plumbing.
#
#   bash benchmarks/gpu_check.sh [--cpu-dry-run] [--out DIR]      (results: DIR/gpu_check.json)
#
# Stages: 1. the `small` preset end to end with a reduced SFT (fine-tune CLI); 2. our DPO step
# against TRL's, bf16 + fused AdamW, with MFU (benchmarks/bench_vs_trl.py); 3. peak memory of one
# step, full logits vs chunked (benchmarks/memory.py); 4. the bf16 - fp32 loss difference.
set -uo pipefail
cd "$(dirname "$0")/.."
DRY=0; OUT=runs/gpu_check
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu-dry-run) DRY=1 ;;
    --out) OUT="$2"; shift ;;
    *) echo "error: unknown argument $1; use --cpu-dry-run or --out DIR" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$OUT"
if [ "$DRY" = 1 ]; then
  DEV=cpu; FT="--fast --max-steps 4"; BENCH="--preset tiny --steps 3 --warmup 1 --repeats 1"
  MEM="--lengths 64 --steps 2 --device cpu"; T1=600; T2=300; T3=300; T4=120
else
  DEV=cuda; FT="--preset small --allow-slow --sft-steps 200 --max-steps 60 --eval-every 30"
  BENCH="--preset small --steps 20 --warmup 3 --repeats 2"
  MEM="--lengths 512 2048 --steps 2 --device cuda"; T1=210; T2=120; T3=90; T4=45
fi
stage() {  # name, seconds, command...: runs it under `timeout`, records rc and wall time
  local name=$1 limit=$2; shift 2
  local t0=$(date +%s)
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  echo "{\"stage\": \"$name\", \"rc\": $rc, \"seconds\": $(( $(date +%s) - t0 )), \"limit\": $limit}" >> "$OUT/stages.jsonl"
  echo "stage $name: rc $rc ($(( $(date +%s) - t0 )) s of $limit)"
}
: > "$OUT/stages.jsonl"
stage finetune "$T1" python -m dpo_teach.finetune --device "$DEV" $FT --no-progress --output-dir "$OUT/finetune"
stage bench_vs_trl "$T2" python benchmarks/bench_vs_trl.py --device "$DEV" $BENCH --json
stage memory "$T3" python benchmarks/memory.py $MEM --json "$OUT/memory.json"
stage bf16_vs_fp32 "$T4" python - "$DEV" <<'PY'
import json, sys, torch
from dpo_teach.gpt2 import logprobs, models, reviews, tokenizer, trainer
from dpo_teach.gpt2.data import tokenize_pairs
dev = sys.argv[1]
tok = tokenizer.train_tokenizer(reviews.corpus(500, seed=0))
policy = models.build_model("tiny" if dev == "cpu" else "small", tok, seed=0).to(dev)
models.disable_dropout(policy)
rows = [{"prompt": "the film was", "chosen": " great fun", "rejected": " a bore"}] * 8
batch = logprobs.collate_pairs(tokenize_pairs(rows, tok), tok.pad_token_id, dev)
ref = tuple(x - 0.5 for x in logprobs.concatenated_logps(policy, batch))
out = {}
for name, bf16 in (("fp32", False), ("bf16", True)):
    with torch.no_grad(), trainer.autocast(dev, bf16):
        out[name] = float(trainer.compute_loss_and_metrics(policy, batch, *ref, 0.1)[0])
print(json.dumps({"bf16_vs_fp32_loss_diff": abs(out["bf16"] - out["fp32"]), **out}))
PY
python - "$OUT" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
last = lambda name: next((json.loads(l) for l in reversed((out / f"{name}.log").read_text().splitlines())
                          if l.startswith("{")), None) if (out / f"{name}.log").exists() else None
result = {"stages": [json.loads(l) for l in (out / "stages.jsonl").read_text().splitlines()],
          "bench_vs_trl": last("bench_vs_trl"), "bf16_vs_fp32": last("bf16_vs_fp32"),
          "memory": json.loads((out / "memory.json").read_text()) if (out / "memory.json").exists() else None}
metrics = out / "finetune" / "metrics.json"
if metrics.exists():
    m = json.loads(metrics.read_text())
    result["finetune"] = {k: m.get(k) for k in ("eval", "timings", "throughput", "training")}
(out / "gpu_check.json").write_text(json.dumps(result, indent=1))
print(f"wrote {out}/gpu_check.json")
PY
