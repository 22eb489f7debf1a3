r"""Every DPO-family loss that TRL 1.16 implements, ours against TRL's own ``compute_loss``.

For each ``loss_type`` of ``trl.DPOTrainer`` that docs/family.md lists (``sigmoid``, ``ipo``,
``hinge``, ``robust``, ``nca_pair``, ``bco_pair``, ``apo_zero``, ``apo_down``, ``sigmoid_norm``,
and RPO as TRL's ``loss_type=["sigmoid", "sft"]``, ``loss_weights=[1, alpha]``):

* **TRL**: a ``DPOTrainer`` built exactly as ``bench_vs_trl.trl_trainer`` builds it (fp32, our
  policy and reference weights) with that ``loss_type``; ``compute_loss`` on the batch its own
  collator builds, then one backward.
* **Ours**: summed completion log-probs from :func:`dpo_teach.gpt2.logprobs.concatenated_logps`
  of the same weights on our collated batch (checked to hold the same token ids and labels as
  TRL's), token counts from the labels, the member of :data:`dpo_teach.torch_variants.LOSSES`,
  mean over the batch, then one backward.

Reported per type: ``|loss ours - loss TRL|`` and the largest absolute difference of any policy
gradient entry. The pairs have varied prompt and completion lengths (so the batch is padded):
with equal lengths the length conventions below could not be told apart.

Conventions matched on our side (TRL 1.16 ``DPOTrainer._compute_loss``):

* ``ipo``: TRL divides each log-ratio by the completion token count: our ``ipo_loss`` with
  ``chosen_lengths`` / ``rejected_lengths`` (without them it is the paper's summed form; the
  ``paper_form_diff`` column shows how far that is from TRL's).
* ``robust``: TRL's ``label_smoothing`` (0.1 here) is the flip rate e of ``robust_dpo_loss``.
* RPO: TRL's ``sft`` term is ONE token mean of ``-log pi(token)`` over all chosen tokens of the
  batch, ``-sum_i pc_i / sum_i |y_w,i|``, not the mean of per-sequence means that ``rpo_loss``
  adds per example. Ours here: ``dpo_loss`` mean + alpha * that batch token mean;
  ``paper_form_diff`` shows the gap of ``rpo_loss(...).mean()`` (per-sequence means).

    python benchmarks/trl_parity.py              # table
    python benchmarks/trl_parity.py --json       # + one JSON line
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import sys
import time
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_vs_trl as bench  # noqa: E402  (the shared world and TRL trainer)

from dpo_teach import torch_variants as tv  # noqa: E402
from dpo_teach.gpt2 import data, logprobs, models  # noqa: E402

# name in the table -> (TRL DPOConfig fields, our per-example loss function name in LOSSES)
LOSS_TYPES = ("sigmoid", "ipo", "hinge", "robust", "nca_pair", "bco_pair", "apo_zero",
              "apo_down", "sigmoid_norm", "rpo")  # fmt: skip
LABEL_SMOOTHING = 0.1  # for robust
RPO_ALPHA = 1.0  # TRL: loss_weights=[1.0, alpha] for loss_type=["sigmoid", "sft"]


def trl_config(loss_type: str, label_smoothing=LABEL_SMOOTHING, alpha=RPO_ALPHA) -> dict:
    """The DPOConfig fields that select ``loss_type`` in TRL 1.16."""
    if loss_type == "rpo":
        return {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, alpha]}
    if loss_type == "robust":
        return {"loss_type": ["robust"], "label_smoothing": label_smoothing}
    return {"loss_type": [loss_type]}


def varied_world(world: bench.World, s: bench.Settings, seed: int = 0) -> bench.World:
    """The world's first ``s.batch_size`` pairs with prompts and completions cut to random
    lengths (>= 1 word), so the batch is padded and the token counts differ per sequence."""
    rng = random.Random(seed)
    bos = world.tokenizer.bos_token
    rows = []
    for r in world.trl_rows[: s.batch_size]:
        cut = {k: r[k].removeprefix(bos).split() for k in ("prompt", "chosen", "rejected")}
        rows.append({k: "".join(" " + w for w in ws[: rng.randint(1, len(ws))])
                     for k, ws in cut.items()})  # fmt: skip
    pairs = data.tokenize_pairs(rows, world.tokenizer)
    trl_rows = [{**r, "prompt": bos + r["prompt"]} for r in rows]
    return dataclasses.replace(world, pairs=pairs, trl_rows=trl_rows)


def ours_loss(loss_type, pc, pr, rc, rr, n_w, n_l, beta, label_smoothing, alpha):
    """(batch loss matched to TRL's convention, batch loss in the paper's form or None)."""
    fn = tv.LOSSES[loss_type]
    if loss_type in ("sigmoid", "hinge", "nca_pair", "bco_pair", "apo_zero", "apo_down"):
        return fn(pc, pr, rc, rr, beta)[0].mean(), None
    if loss_type == "robust":
        return fn(pc, pr, rc, rr, beta, label_smoothing)[0].mean(), None
    if loss_type == "ipo":
        trl_form = fn(pc, pr, rc, rr, beta, chosen_lengths=n_w, rejected_lengths=n_l)[0].mean()
        return trl_form, fn(pc, pr, rc, rr, beta)[0].mean()
    if loss_type == "sigmoid_norm":
        return fn(pc, pr, rc, rr, n_w, n_l, beta)[0].mean(), None
    if loss_type == "rpo":  # TRL: one token mean of the chosen NLL over the whole batch
        dpo = tv.LOSSES["sigmoid"](pc, pr, rc, rr, beta)[0].mean()
        paper = fn(pc, pr, rc, rr, n_w, beta, alpha)[0].mean()  # per-sequence means
        return dpo + alpha * (-pc.sum() / n_w.sum()), paper
    raise ValueError(f"unknown loss type {loss_type!r}; one of {LOSS_TYPES}")


def check_parity(world: bench.World, s: bench.Settings, loss_types=LOSS_TYPES,
                 label_smoothing=LABEL_SMOOTHING, alpha=RPO_ALPHA) -> dict:  # fmt: skip
    """{loss_type: {loss_ours, loss_trl, abs_loss_diff, max_abs_grad_diff, paper_form_diff}}."""
    s = dataclasses.replace(s, bf16=False)  # fp32 on both sides: this checks maths
    tok = world.tokenizer
    batch = logprobs.collate_pairs(world.pairs[: s.batch_size], tok.pad_token_id, s.device)
    n_w, n_l = (m.sum(-1).to(torch.float32) for m in (batch["labels"] != -100).chunk(2))

    policy, ref = world.fresh_models(s.device)
    for m in (policy, ref):
        models.disable_dropout(m)
    ref.eval()
    policy.train()
    with torch.no_grad():
        rc, rr = logprobs.concatenated_logps(ref, batch)

    out = {}
    for loss_type in loss_types:
        trl = bench.trl_trainer(world, s, max_steps=1, precompute=False,
                                **trl_config(loss_type, label_smoothing, alpha))  # fmt: skip
        trl_batch = trl.data_collator([trl.train_dataset[i] for i in range(s.batch_size)])
        trl_batch = {k: v.to(s.device) for k, v in trl_batch.items()}
        trl_labels = trl_batch["input_ids"].masked_fill(trl_batch["completion_mask"] == 0, -100)
        if not (torch.equal(batch["input_ids"], trl_batch["input_ids"])
                and torch.equal(batch["labels"], trl_labels)):  # fmt: skip
            raise RuntimeError("TRL collated the pairs differently from dpo_teach")
        trl.model.train()
        with trl.compute_loss_context_manager():
            trl_loss = trl.compute_loss(trl.model, trl_batch)
        trl_loss.backward()

        policy.zero_grad(set_to_none=True)
        pc, pr = logprobs.concatenated_logps(policy, batch)
        loss, paper = ours_loss(loss_type, pc, pr, rc, rr, n_w, n_l, s.beta, label_smoothing, alpha)
        loss.backward()
        trl_grads = dict(trl.model.named_parameters())
        grad_diff = max((p.grad - trl_grads[n].grad).abs().max().item() for n, p in policy.named_parameters())
        out[loss_type] = {
            "trl_config": trl_config(loss_type, label_smoothing, alpha),
            "loss_ours": loss.item(),
            "loss_trl": trl_loss.item(),
            "abs_loss_diff": abs(loss.item() - trl_loss.item()),
            "max_abs_grad_diff": grad_diff,
            "paper_form_diff": None if paper is None else abs(paper.item() - trl_loss.item()),
        }
    return out


def build(batch_size=16, prompt_len=7, completion_len=12, beta=0.1, seed=0, preset="tiny"):
    """Settings and the varied-length world (tokenizer, weights, one batch of pairs)."""
    s, _ = bench.parse_args(["--preset", preset, "--batch-size", str(batch_size), "--prompt-len",
                             str(prompt_len), "--completion-len", str(completion_len), "--steps",
                             "1", "--warmup", "1", "--beta", str(beta), "--seed", str(seed)])  # fmt: skip
    return s, varied_world(bench.build_world(s), s, seed)


def quiet():
    """Silence TRL's/transformers' advice and progress bars (process-wide; for the CLI)."""
    import datasets
    import transformers

    transformers.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    os.environ["TQDM_DISABLE"] = "1"
    warnings.simplefilter("ignore", FutureWarning)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loss-types", default="all", help=f"comma list of {','.join(LOSS_TYPES)}")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--prompt-len", type=int, default=7, help="most prompt words")
    ap.add_argument("--completion-len", type=int, default=12, help="most completion tokens + 1")
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--label-smoothing", type=float, default=LABEL_SMOOTHING, help="robust")
    ap.add_argument("--alpha", type=float, default=RPO_ALPHA, help="rpo: TRL loss_weights[1]")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print one JSON line at the end")
    a = ap.parse_args(argv)
    types = LOSS_TYPES if a.loss_types == "all" else tuple(a.loss_types.split(","))
    bad = set(types) - set(LOSS_TYPES)
    if bad:
        ap.error(f"unknown loss types {sorted(bad)}; one of {LOSS_TYPES}")
    try:
        import transformers
        import trl
    except ImportError:
        raise SystemExit('TRL is the peer of this check: pip install -e ".[bench]"') from None
    quiet()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    s, world = build(a.batch_size, a.prompt_len, a.completion_len, a.beta, a.seed)
    rows = check_parity(world, s, types, a.label_smoothing, a.alpha)
    seconds = time.perf_counter() - t0
    print(f"{s.batch_size} pairs, varied lengths, beta {s.beta}, fp32 cpu; TRL {trl.__version__}, "
          f"transformers {transformers.__version__}, torch {torch.__version__}")  # fmt: skip
    print(f"{'loss_type':<13} {'loss TRL':>11} {'|loss diff|':>11} {'|grad diff|':>11} "
          f"{'paper-form gap':>14}")  # fmt: skip
    for name, r in rows.items():
        gap = "" if r["paper_form_diff"] is None else f"{r['paper_form_diff']:.3g}"
        print(f"{name:<13} {r['loss_trl']:>11.6f} {r['abs_loss_diff']:>11.2e} "
              f"{r['max_abs_grad_diff']:>11.2e} {gap:>14}")  # fmt: skip
    result = {
        "max_abs_loss_diff": max(r["abs_loss_diff"] for r in rows.values()),
        "max_abs_grad_diff": max(r["max_abs_grad_diff"] for r in rows.values()),
        "per_type": rows,
        "seconds": round(seconds, 2),
        "settings": {
            "batch_size": s.batch_size,
            "beta": s.beta,
            "seed": s.seed,
            "label_smoothing": a.label_smoothing,
            "rpo_alpha": a.alpha,
        },  # fmt: skip
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "trl": trl.__version__,
        },  # fmt: skip
    }
    if a.json:
        print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
