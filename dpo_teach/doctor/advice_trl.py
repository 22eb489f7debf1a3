"""The doctor's advice in TRL's terms, for logs written by TRL's ``DPOTrainer`` (TRL 1.x).

TRL rules some causes out: ``DPOTrainer`` refuses a reference that is the policy object, builds
its own optimizer over the model it trains, logs batch means (averaged over the accumulated
micro-batches) and disables dropout by default (``disable_dropout=True``). Those causes are not
offered for a TRL log (:data:`TRL_IMPOSSIBLE`); the others are said with TRL's option names.
"""

from __future__ import annotations

__all__ = ["TRL_IMPOSSIBLE", "TRL_CAUSES", "TRL_FIXES"]

TRL_IMPOSSIBLE = frozenset({"same_object", "stale_optimizer", "one_pair_logged"})

TRL_CAUSES = {
    "beta0": "beta=0.0 in DPOConfig: the margin is 0 whatever the model does, and so is the gradient",
    "frozen": "no gradient reaches the weights: PEFT with gradient_checkpointing=True on a model whose "
    "inputs carry no gradient (call model.enable_input_require_grads(), or pass "
    "gradient_checkpointing_kwargs={'use_reentrant': False}), or every parameter frozen",
    "lr0": "learning_rate is 0 at every logged step (see zero_learning_rate): the weights never move",
    "nothing_scored": "no completion token is scored (logps/chosen and logps/rejected exactly 0, see "
    "empty_completions): max_length truncates every completion away, or the chat template puts the "
    "answer inside the prompt",
    "fp16_logps": "fp16=True: activations overflow fp16's 65504 (large models, long sequences) or "
    "log-probs underflow; TRL takes its log-softmax in float32, so the overflow is in the model",
    "diverged": "an exploding update: learning_rate too high for the batch, or max_grad_norm raised / "
    "set to 0",
    "scaler_warmup": "fp16=True: the GradScaler starts at a scale of 65536, finds inf/NaN gradients on "
    "the first steps, skips those updates and halves the scale; normal if it stops after a few steps",
    "batch1": "per_device_train_batch_size=1 without gradient_accumulation_steps, logged every step: "
    "every metric comes from one pair",
    "dropout": "disable_dropout=False: the policy and the reference score with different random masks",
    "not_a_copy": "the policy does not start as the reference: ref_model is another checkpoint, or "
    "(PEFT) the adapters were merged or initialised non-zero, or precompute_ref_log_probs=True scored "
    "the reference with another model or another max_length",
    "precision": "the reference runs in other precision (ref_model in fp16/bf16, the policy in fp32) "
    "or with other padding (padding_free on one side only)",
    "ref_trains": "a ref_model that shares parameters with the policy (a PEFT model passed as both)",
    "all_masked": "every completion token is masked: a chat template that renders the answer inside the "
    "prompt (a duplicated BOS or a generation prompt that does not match), so the completion is empty",
    "truncated": "max_length (and max_prompt_length in older TRL) shorter than the prompts: truncation "
    "removes the completion (truncation_mode='keep_end' keeps it)",
    "overconfident": "learning_rate too high for the batch (TRL's examples use 5e-7 to 5e-6 for full "
    "fine-tunes): with a few pairs a step, single batches swing to huge wrong margins",
    "eos_unlearnt": "EOS is no longer a target: a pad_token equal to eos_token masked by value in your "
    "own collator, or max_length cutting completions before their EOS",
}

TRL_FIXES = {
    "stuck_at_ln2": "check learning_rate > 0 and beta > 0 in DPOConfig; with PEFT and "
    "gradient_checkpointing, call model.enable_input_require_grads() (or use_reentrant=False); check "
    "that some completion tokens survive max_length",
    "non_finite": "if it is the fp16 scaler's warm-up (a few skipped steps at the start, finite loss), "
    "nothing; otherwise bf16=True where the GPU has it (Ampere or newer), else fp16 with a lower "
    "learning_rate and max_grad_norm=1.0, and check for empty completions",
    "zero_grad_norm": "with PEFT + gradient_checkpointing=True call model.enable_input_require_grads() "
    "(or gradient_checkpointing_kwargs={'use_reentrant': False}); check beta > 0 and that the model has "
    "trainable parameters",
    "binary_accuracies": "raise per_device_train_batch_size or gradient_accumulation_steps to 8+ pairs a "
    "step: TRL averages its logged metrics over the accumulated micro-batches",
    "step0_not_ln2": "keep disable_dropout=True, pass the policy's own starting checkpoint as ref_model "
    "(or ref_model=None with PEFT), and score the reference in the policy's precision",
    "zero_learning_rate": "set learning_rate > 0 in DPOConfig; check lr_scheduler_type and "
    "warmup_steps / warmup_ratio against max_steps",
    "empty_completions": "raise max_length above the longest prompt + completion (or "
    "truncation_mode='keep_end'); check that the chat template renders the prompt as a prefix of "
    "prompt + completion (one BOS, the same generation prompt)",
    "margin_explosion": "lower learning_rate or raise beta, fewer num_train_epochs (watch eval_* and "
    "samples), or loss_type='ipo' / label_smoothing > 0 with loss_type='robust'",
    "loss_spikes": "lower learning_rate (10x), set warmup_ratio=0.1, raise the pairs per step "
    "(gradient_accumulation_steps), keep max_grad_norm=1.0",
    "divergence": "resume from the last good checkpoint-N with a lower learning_rate, max_grad_norm=1.0 "
    "and warm-up; in fp16, prefer bf16=True where the GPU has it",
    "eval_loss_rising": "load_best_model_at_end=True with metric_for_best_model='eval_loss', fewer "
    "num_train_epochs, a lower learning_rate or a higher beta",
}
