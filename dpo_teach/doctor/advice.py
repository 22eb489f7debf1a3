"""What the doctor says about each symptom: its severity, possible causes, fix, where to read more.

Plain text, kept apart from the detectors, which pick the causes that fit a log and rank them.
The causes and fixes are worded for the tool that wrote the log: a hand-written loop (the
default) or TRL's ``DPOTrainer`` (:mod:`.advice_trl`: its option names, and none of the causes
TRL makes impossible, such as a reference that is the policy object). Every symptom has a
section of ``notebooks/08_debugging_clinic.ipynb`` that reproduces it next to its fix.
"""

from __future__ import annotations

from .advice_trl import TRL_CAUSES, TRL_FIXES, TRL_IMPOSSIBLE

__all__ = ["IDS", "SEVERITY", "CAUSES", "DEFAULT_CAUSES", "FIXES", "SECTIONS", "advice"]

# the fixed set of finding ids (tools that read `python -m dpo_teach.doctor --json` rely on them)
IDS = (
    "stuck_at_ln2", "non_finite", "zero_grad_norm", "binary_accuracies", "chosen_logps_falling",
    "margin_explosion", "both_rewards_falling", "step0_not_ln2",
    "zero_learning_rate", "empty_completions", "eval_loss_rising", "loss_spikes", "divergence",
    "probe_eos_collapse", "probe_kl_blowup",
)  # fmt: skip

# error: training is broken; warning: something to look at; info: a pattern healthy runs show too
SEVERITY = dict.fromkeys(IDS, "warning") | {
    "stuck_at_ln2": "error", "non_finite": "error", "zero_grad_norm": "error", "step0_not_ln2": "error",
    "zero_learning_rate": "error", "empty_completions": "error", "divergence": "error",
    "chosen_logps_falling": "info",
}  # fmt: skip

CAUSES = {
    # stuck at ln 2, zero gradient
    "same_object": "the policy and the reference are the same object (ref_model = model), or the "
    "reference log-probs are recomputed from the policy: the margin is 0 by construction",
    "stale_optimizer": "the optimizer never updates the weights being scored: it was built over another "
    "copy of the model (made before a deepcopy or a reload), or optimizer.step() is never called",
    "beta0": "beta = 0: the margin beta * (log-ratio gap) is 0 whatever the model does, and so is the "
    "gradient (beta times the DPO weight)",
    "frozen": "no gradient reaches the policy: its parameters are frozen (copied from a frozen "
    "reference), its log-probs are computed under torch.no_grad() or detached, or zero_grad() runs "
    "between backward() and the step",
    "lr0": "the learning rate is 0 at every logged step (see zero_learning_rate): the weights never move",
    "nothing_scored": "no completion token is scored (logps/chosen and logps/rejected are exactly 0, "
    "see empty_completions): both log-ratios are 0 whatever the weights",
    "saturated": "the loss saturated: at huge margins the DPO weight sigma(-margin) underflows to 0, so "
    "the gradient vanishes (see margin_explosion)",
    # NaN and inf
    "fp16_logps": "log-probs taken from fp16 logits: log(softmax) is log 0 = -inf once a token's "
    "probability is below fp16's 6e-8, and fp16 logits overflow above 65504",
    "diverged": "an exploding update (learning rate too high, no gradient clipping) turned the weights "
    "into NaN",
    "empty": "a completion with no scored token: a per-token mean divides 0 by 0",
    "scaler_warmup": "fp16 mixed precision: the GradScaler starts at a scale of 65536, finds inf/NaN "
    "gradients on the first steps, skips those updates and halves the scale; normal if it stops after a "
    "few steps and the loss stays finite",
    # a batch of one pair
    "batch1": "a per-device batch of 1 pair, logged every step: every metric, and the gradient, comes "
    "from one pair, so the curves are mostly noise",
    "one_pair_logged": "a homemade loop that logs one pair's metrics (e.g. the last pair of the batch) "
    "instead of the batch mean",
    # likelihood displacement and over-optimisation
    "displacement_benign": "usually benign: DPO only widens the gap between the answers, and lowering "
    "both, the rejected faster, does that; the optimum itself often puts y_w below pi_ref",
    "displacement_harmful": "harmful when the mass goes to text in neither answer: samples degrade "
    "(learning rate too high, beta too small, many epochs over the same pairs)",
    "outrun": "the update moves probability off both answers onto text in neither, faster than it "
    "separates them: learning rate too high or beta too small (samples usually degrade)",
    "epochs": "many epochs over the same pairs: likelihood displacement compounds",
    "other_start": "the policy did not start as the reference, so its rewards measure a distance to "
    "another model",
    "overoptimised": "over-optimisation: the policy drifts far from the reference to push margins on "
    "pairs it already gets right (deterministic labels have no finite optimum)",
    "lr_or_epochs": "learning rate too high or beta too small; many epochs over the same pairs",
    "zero_loss": "a loss of exactly 0.0: fp16 (or bf16) loss arithmetic rounds -log sigmoid(m) to 0",
    "overconfident": "a learning rate too high for the batch size: the policy swings to huge margins "
    "on some pairs and to wrong ones on others, so single batches cost several nats",
    "bad_batches": "a few batches unlike the rest (very long, truncated or mislabelled pairs)",
    # held-out and late-run trouble
    "overfit": "over-fitting: the pairs are memorised (many epochs, few pairs, learning rate high), so "
    "held-out pairs get worse while the training pairs get better",
    "unstable": "the optimisation became unstable (learning rate too high, no warm-up, clipping off)",
    "batch_noise": "noise: with a few pairs a step the logged margins and accuracy swing and wander for "
    "several entries, and a short log cannot tell such a dip from a fall that lasts",
    # the step-0 check
    "dropout": "dropout on: the policy, or a reference left in train mode, scores with random masks",
    "not_a_copy": "the policy does not start as the reference (another checkpoint, or a reference with "
    "adapters merged differently)",
    "precision": "the reference log-probs come from other precision or other padding (bf16 noise is a "
    "few 1e-4 at most)",
    "ref_trains": "a reference that trains too (receives gradients) drifts from step 1 on",
    # nothing scored
    "all_masked": "every completion token is masked out of the labels (a prompt mask that covers the "
    "whole text, or a template that puts the answer inside the prompt)",
    "truncated": "the completions are truncated away: the length limit is shorter than the prompts",
    # the probe (dpo_teach.callbacks.ProbeCallback)
    "eos_unlearnt": "EOS is no longer a target (pad = EOS masked by value, or completions truncated "
    "before their EOS), so DPO lowers it like any other token",
    "kl_drift": "the policy drifts far from the reference: learning rate too high or beta too small, "
    "or too many steps",
}

DEFAULT_CAUSES = {  # id -> cause keys, most likely first (a detector may reorder them for a log)
    "stuck_at_ln2": ("same_object", "stale_optimizer", "beta0", "frozen"),
    "non_finite": ("fp16_logps", "diverged", "empty"),
    "zero_grad_norm": ("beta0", "frozen"),
    "binary_accuracies": ("batch1", "one_pair_logged"),
    "chosen_logps_falling": ("displacement_benign", "displacement_harmful"),
    "margin_explosion": ("overoptimised", "lr_or_epochs"),
    "both_rewards_falling": ("outrun", "epochs", "other_start"),
    "step0_not_ln2": ("dropout", "not_a_copy", "precision", "ref_trains"),
    "zero_learning_rate": ("lr0",),
    "empty_completions": ("all_masked", "truncated"),
    "eval_loss_rising": ("overfit", "lr_or_epochs"),
    "loss_spikes": ("overconfident", "bad_batches"),
    "divergence": ("unstable", "diverged"),
    "probe_eos_collapse": ("eos_unlearnt", "kl_drift"),
    "probe_kl_blowup": ("kl_drift", "overoptimised"),
}

FIXES = {
    "stuck_at_ln2": "give the reference its own frozen copy (copy.deepcopy(model).eval()"
    ".requires_grad_(False)), build the optimizer over the policy's own parameters after every copy, "
    "check beta > 0, and check that some policy parameter has a non-zero .grad after backward()",
    "non_finite": "compute log_softmax on float32 logits (logits.float()); train in bf16 where the GPU "
    "has it (Ampere or newer), else keep fp16 with a loss scaler and fp32 log-probs; clip gradients "
    "(max_grad_norm=1.0) and lower the learning rate; drop empty completions",
    "zero_grad_norm": "after loss.backward(), check that the policy's parameters have non-zero .grad; "
    "check beta > 0 and requires_grad on the policy",
    "binary_accuracies": "use 8 or more pairs per step: a larger batch, or gradient accumulation with "
    "the logged metrics averaged over the accumulated micro-batches",
    "chosen_logps_falling": "nothing to do if samples stay good: judge by samples (validity, a reward "
    "model, KL), not by this curve; if they degrade, lower the learning rate or raise beta, or add an "
    "NLL term on y_w (RPO, DPOP)",
    "margin_explosion": "lower the learning rate or raise beta, stop earlier (watch KL and samples), or "
    "use a bounded loss (IPO) or label smoothing (cDPO, robust)",
    "both_rewards_falling": "check samples and KL; if they degrade, lower the learning rate or raise "
    "beta, or keep y_w likely with an NLL term (RPO) or DPOP",
    "step0_not_ln2": "ref_model.eval() and requires_grad_(False); disable dropout in both models; "
    "start the policy as an exact copy of the reference",
    "zero_learning_rate": "set a learning rate > 0 and check the schedule (warm-up length, the "
    "scheduler's total steps) and the optimizer's param groups",
    "empty_completions": "check the labels: count the completion tokens that are not -100 in a batch "
    "(it must be > 0 for every pair); raise the length limit above the longest prompt",
    "eval_loss_rising": "keep the checkpoint with the lowest held-out loss, train fewer epochs, lower "
    "the learning rate or raise beta; more distinct pairs help most",
    "loss_spikes": "lower the learning rate (10x is a good first try), add warm-up, use more pairs per "
    "step, and look at the pairs of the spiking batches",
    "divergence": "restart from the last good checkpoint with a lower learning rate, gradient clipping "
    "(max norm 1.0) and warm-up",
    "probe_eos_collapse": "keep EOS a target: mask labels by position (attention mask), not by the pad "
    "token's value; keep completions' EOS inside the length limit",
    "probe_kl_blowup": "lower the learning rate or raise beta, stop at the checkpoint before KL took "
    "off, and read the samples",
}

_NOTEBOOK = "notebooks/08_debugging_clinic.ipynb, section "
SECTIONS = {
    "stuck_at_ln2": _NOTEBOOK + "1 (loss stuck at ln 2)",
    "non_finite": _NOTEBOOK + "3 (NaN, or a loss of exactly 0, in fp16), 10.4 (fp16 overflow in activations)",
    "zero_grad_norm": _NOTEBOOK + "1 (loss stuck at ln 2) and 10.1 (PEFT + gradient checkpointing)",
    "binary_accuracies": _NOTEBOOK + "4 (rewards/accuracies only ever 0 or 1)",
    "chosen_logps_falling": _NOTEBOOK + "5 (learning rate too high)",
    "margin_explosion": _NOTEBOOK + "5 (learning rate too high; many epochs over few pairs)",
    "both_rewards_falling": _NOTEBOOK + "5 (learning rate too high)",
    "step0_not_ln2": _NOTEBOOK + "8 (the reference not frozen)",
    "zero_learning_rate": _NOTEBOOK + "1 (loss stuck at ln 2)",
    "empty_completions": _NOTEBOOK + "10.2 (bugs TRL users file: every completion token masked)",
    "eval_loss_rising": _NOTEBOOK + "5 (many epochs over few pairs)",
    "loss_spikes": _NOTEBOOK + "10.5 (bugs TRL users file: a learning rate 100x too high)",
    "divergence": _NOTEBOOK + "10.5 (bugs TRL users file: a learning rate 100x too high)",
    "probe_eos_collapse": _NOTEBOOK + "2 (the model never stops generating)",
    "probe_kl_blowup": _NOTEBOOK + "5 (learning rate too high)",
}


def advice(id_: str, causes=None, tool: str = "unknown") -> tuple[list[str], str]:
    """``(causes, fix)`` for ``id_``: the cause keys (default: the id's own order) as text, in the
    terms of ``tool``; for TRL, the causes TRL makes impossible are left out."""
    keys = DEFAULT_CAUSES[id_] if causes is None else causes
    if tool == "trl":
        texts = [TRL_CAUSES.get(k, CAUSES[k]) for k in keys if k not in TRL_IMPOSSIBLE]
        return texts, TRL_FIXES.get(id_, FIXES[id_])
    return [CAUSES[k] for k in keys], FIXES[id_]
