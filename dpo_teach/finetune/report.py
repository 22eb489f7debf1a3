"""What ``python -m dpo_teach.finetune`` prints at the end: the headline numbers beside their
targets (review world, exact reward) or the judged numbers and a table of samples (real inputs)."""

from __future__ import annotations

__all__ = ["SUMMARY_ROWS", "JUDGED_ROWS", "summary_table", "kl_note", "format_rounds"]

# (metrics key, what it is in one phrase, target as (">=" or "<", value) or None)
SUMMARY_ROWS = (
    ("reward_accuracy", "held-out pairs the implicit reward orders right", (">=", 0.8)),
    ("win_rate_vs_reference", "win rate vs the reference, by true reward", (">=", 0.7)),
    ("true_reward_reference", "mean true reward, reference samples (-4: invalid)", None),
    ("true_reward_policy", "mean true reward, policy samples (-4: invalid)", None),
    ("kl_to_reference", "KL(policy || reference): drift, nats", ("<", 10.0)),
    ("valid_rate_reference", "share of reference samples that are reviews", None),
    ("valid_rate_policy", "share of policy samples that are reviews", (">=", 0.9)),
)
# without the exact reward (--prompts / --dataset): what judged_eval measures, no targets
JUDGED_ROWS = (
    ("reward_accuracy", "held-out pairs the implicit reward orders right", None),
    ("win_rate_vs_reference", "win rate vs the reference, by the judge", None),
    ("judge_score_reference", "mean judge score, reference samples", None),
    ("judge_score_policy", "mean judge score, policy samples", None),
    ("kl_to_reference", "KL(policy || reference): drift, nats", None),
    ("finished_rate_policy", "share of policy samples that end (EOS)", None),
    ("mean_length_policy", "mean length of policy samples, tokens", None),
)


def summary_table(metrics: dict) -> str:
    """The headline numbers, each beside its target (the tiny preset's, measured on seeds 0-4)
    and a verdict, plus the DPO loss at step 0 and at the end (running means)."""
    e, fast = metrics["eval"], metrics["fast"]
    lines = [f"{'what':<50} {'value':>7}  target", "-" * 74]
    exact = "true_reward_policy" in e  # else judged: only the rows it measured, and samples below
    for key, label, target in SUMMARY_ROWS if exact else [r for r in JUDGED_ROWS if r[0] in e]:
        row = f"{label:<50} {e[key]:>7.3f}"
        if target:
            op, bound = target
            ok = e[key] >= bound if op == ">=" else e[key] < bound
            row += f"  {op} {bound:g}" + ("" if fast else "  ok" if ok else "  MISSED")
        lines.append(row + (kl_note(e) if key == "kl_to_reference" else ""))
    history = metrics["train"]["history"]
    tail = [h["loss"] for h in history[-max(1, len(history) // 10) :]]
    loss_type = metrics.get("loss", {}).get("loss_type", "sigmoid")
    ln2 = "  (ln 2 = 0.693 at step 0)" if loss_type == "sigmoid" else ""
    name = "DPO loss" if loss_type == "sigmoid" else f"{loss_type} loss"
    lines.append(
        f"{name + ', running mean: step 0 -> last 10 %':<50} {history[0]['loss']:>7.3f} -> "
        f"{sum(tail) / len(tail):.3f}{ln2}"
    )
    speed = metrics["throughput"]["dpo_tokens_per_second"]
    if "online" in metrics:
        lines += format_rounds(metrics["online"])
    else:
        speed = f"{speed:>7.0f}" if speed is not None else "    n/a  (resumed: every DPO step ran earlier)"
        lines.append(f"{'training speed, tokens / s (DPO stage)':<50} {speed}")
    lines.append(f"{'wall time, s':<50} {metrics['timings']['wall_seconds']:>7.1f}")
    if fast:
        lines.append(
            "--fast: a smoke run; its numbers only show that the pipeline runs (targets: full size)."
        )
    if not exact:  # no exact reward: read the samples (the judge that labelled the pairs is no referee)
        from ..gpt2.hub.judged_eval import format_samples

        lines += ["held-out samples, reference vs policy (more in metrics.json):",
                  format_samples(metrics["samples"])]  # fmt: skip
    return "\n".join(lines)


def kl_note(e: dict) -> str:
    """After the KL row: the estimate's standard error and sample count, and when it is noise (a
    mean log-ratio within two standard errors of 0, negative ones included: a KL is never < 0)."""
    se, n = e.get("kl_to_reference_se"), e.get("kl_n_samples")
    if se is None or n is None or se != se:  # an older metrics.json, or a single sample
        return ""
    noise = abs(e["kl_to_reference"]) < 2 * se
    tail = "; noise: the KL is too small to measure here)" if noise else ")"
    return f"  (± {se:.3f} s.e., {n} samples{tail}"


def format_rounds(online: dict) -> list[str]:
    """The online run's rounds as table lines: data, then true reward, KL, validity, win rate."""
    lines = [f"online DPO, {len(online['rounds'])} rounds (reference: {online['reference']}); per round:",
             f"{'round':>5} {'pairs':>6} {'steps':>6} {'true reward':>12} {'KL':>7} {'valid':>7} "
             f"{'win rate':>9}"]  # fmt: skip
    for r in online["rounds"]:
        lines.append(f"{r['round']:>5} {r['n_pairs']:>6} {r['steps']:>6} {r['true_reward_policy']:>+12.3f} "
                     f"{r['kl_to_reference']:>7.3f} {r['valid_rate_policy']:>7.1%} "
                     f"{r['win_rate_vs_reference']:>9.3f}")  # fmt: skip
    return lines
