"""What the doctor says about each symptom: its possible causes, the fix, where to read more.

Plain text, kept apart from the detectors (:mod:`dpo_teach.doctor.detectors`), which pick the
causes that fit a log and rank them. Every symptom has a section of
``notebooks/08_debugging_clinic.ipynb`` that reproduces it next to its fix.
"""

from __future__ import annotations

__all__ = ["IDS", "CAUSES", "DEFAULT_CAUSES", "FIXES", "SECTIONS"]

# the fixed set of finding ids (tools that read `python -m dpo_teach.doctor --json` rely on them)
IDS = (
    "stuck_at_ln2",
    "non_finite",
    "zero_grad_norm",
    "binary_accuracies",
    "chosen_logps_falling",
    "margin_explosion",
    "both_rewards_falling",
    "step0_not_ln2",
)

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
    "saturated": "the loss saturated: at huge margins the DPO weight sigma(-margin) underflows to 0, so "
    "the gradient vanishes (see margin_explosion)",
    # NaN and inf
    "fp16_logps": "log-probs taken from fp16 logits: log(softmax) is log 0 = -inf once a token's "
    "probability is below fp16's 6e-8, and fp16 logits overflow above 65504",
    "diverged": "an exploding update (learning rate too high, no gradient clipping) turned the weights "
    "into NaN",
    "empty": "a completion with no scored token: a per-token mean divides 0 by 0",
    # a batch of one pair
    "batch1": "a per-device batch of 1 pair (per_device_train_batch_size=1), logged every step: every "
    "metric, and the gradient, comes from one pair, so the curves are mostly noise",
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
    # the step-0 check
    "dropout": "dropout on: the policy, or a reference left in train mode, scores with random masks",
    "not_a_copy": "the policy does not start as the reference (another checkpoint, or a reference with "
    "adapters merged differently)",
    "precision": "the reference log-probs come from other precision or other padding (bf16 noise is a "
    "few 1e-4 at most)",
    "ref_trains": "a reference that trains too (receives gradients) drifts from step 1 on",
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
}

FIXES = {
    "stuck_at_ln2": "give the reference its own frozen copy (copy.deepcopy(model).eval()"
    ".requires_grad_(False)), build the optimizer over the policy's own parameters after every copy, "
    "check beta > 0, and check that some policy parameter has a non-zero .grad after backward()",
    "non_finite": "compute log_softmax on float32 logits (logits.float()) and train in bf16 rather "
    "than fp16; clip gradients (max_grad_norm=1.0) and lower the learning rate; drop empty completions",
    "zero_grad_norm": "after loss.backward(), check that the policy's parameters have non-zero .grad; "
    "check beta > 0 and requires_grad on the policy",
    "binary_accuracies": "use 8 or more pairs per step: a larger per-device batch, or gradient "
    "accumulation (TRL averages the logged metrics over the accumulated micro-batches)",
    "chosen_logps_falling": "judge by samples (validity, a reward model, KL), not by this curve; if "
    "samples degrade, lower the learning rate or raise beta, or add an NLL term on y_w (RPO, DPOP)",
    "margin_explosion": "lower the learning rate or raise beta, stop earlier (watch KL and samples), or "
    "use a bounded loss (IPO) or label smoothing (cDPO, robust)",
    "both_rewards_falling": "check samples and KL; if they degrade, lower the learning rate or raise "
    "beta, or keep y_w likely with an NLL term (RPO) or DPOP",
    "step0_not_ln2": "ref_model.eval() and requires_grad_(False); disable dropout in both models (TRL: "
    "disable_dropout=True); start the policy as an exact copy of the reference",
}

_NOTEBOOK = "notebooks/08_debugging_clinic.ipynb, section "
SECTIONS = {
    "stuck_at_ln2": _NOTEBOOK + "1 (loss stuck at ln 2)",
    "non_finite": _NOTEBOOK + "3 (NaN, or a loss of exactly 0, in fp16)",
    "zero_grad_norm": _NOTEBOOK + "1 (loss stuck at ln 2)",
    "binary_accuracies": _NOTEBOOK + "4 (rewards/accuracies only ever 0 or 1)",
    "chosen_logps_falling": _NOTEBOOK + "5 (learning rate too high)",
    "margin_explosion": _NOTEBOOK + "5 (learning rate too high; many epochs over few pairs)",
    "both_rewards_falling": _NOTEBOOK + "5 (learning rate too high)",
    "step0_not_ln2": _NOTEBOOK + "8 (the reference not frozen)",
}
