r"""The bugs TRL users file, rebuilt on the clinic's tiny GPT-2 so notebook 08 (section 10) can run
each one beside its fix inside TRL's own ``DPOTrainer`` (TRL 1.x, CPU, fp32).

- :func:`trl_trainer` builds ``trl.DPOTrainer`` for the tiny model: TRL's metric names, TRL's own
  tokenisation, collator and loss (Eq. 7 of arXiv:2305.18290), a few steps at most;
- :func:`chat_template_rows` renders prompt and answers through a chat template that starts every
  rendering with BOS, as a user does before handing TRL plain text: a duplicated BOS in the prompt
  and a BOS at the start of every completion (the prompt / completion boundary mismatch);
- :func:`residual_scaled` gives the model large activations (the residual stream times ``scale``)
  while leaving its function unchanged: fp32 and bf16 compute it, fp16 overflows (65504);
- :func:`lora_policy` and :func:`lora_backward`: PEFT LoRA with reentrant gradient checkpointing,
  with and without gradients on the inputs.

``trl`` and ``peft`` are optional dependencies (the ``dev`` and ``notebooks`` extras): imported
inside the functions, so ``import dpo_teach.gpt2.lab`` never needs them.
"""

from __future__ import annotations

import contextlib
import copy
import tempfile
import warnings

import torch

__all__ = ["trl_tokenizer", "trl_trainer", "train_quietly", "evaluate_quietly", "chat_template_rows",
           "BOS_TEMPLATE", "residual_scaled", "lora_policy", "lora_backward"]  # fmt: skip

# a chat template that opens every rendering with BOS (as Llama-style templates do)
BOS_TEMPLATE = "{% for m in messages %}{{ bos_token }}{{ m['content'] }}{% endfor %}"


@contextlib.contextmanager
def _quiet():
    """TRL's and transformers' notices and progress bars off (deprecations, dataset maps)."""
    import datasets
    import transformers

    level = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        transformers.logging.set_verbosity(level)


def trl_tokenizer(tokenizer):
    """A copy of the clinic's tokenizer that adds BOS, so TRL's tokenisation of plain text gives
    the package's format (BOS + prompt, then completion + EOS)."""
    tok = copy.deepcopy(tokenizer)
    tok.add_bos_token = True
    return tok


def trl_trainer(policy, ref_model, tokenizer, rows, *, steps=0, eval_rows=None, data_collator=None,
                **config):  # fmt: skip
    """``trl.DPOTrainer`` on CPU in fp32 for the tiny model: ``rows`` ({"prompt", "chosen",
    "rejected"} text) trained for ``steps`` steps (0: evaluate only), logged every step, nothing
    saved. ``config``: other ``trl.DPOConfig`` fields (``learning_rate``, ``beta``, ...)."""
    import datasets
    from trl import DPOConfig, DPOTrainer

    settings = dict(output_dir=tempfile.mkdtemp(prefix="dpo_teach_trl_"), max_steps=max(steps, 1),
                    per_device_train_batch_size=8, per_device_eval_batch_size=8, beta=2.0,
                    learning_rate=5e-4, lr_scheduler_type="constant", logging_steps=1, save_strategy="no",
                    max_length=None, use_cpu=True, bf16=False, report_to="none", disable_tqdm=True,
                    gradient_checkpointing=False, seed=0)  # fmt: skip
    with _quiet():
        args = DPOConfig(**(settings | config))
        evaluation = None if eval_rows is None else datasets.Dataset.from_list(list(eval_rows))
        return DPOTrainer(model=policy, ref_model=ref_model, args=args, processing_class=tokenizer,
                          train_dataset=datasets.Dataset.from_list(list(rows)), eval_dataset=evaluation,
                          data_collator=data_collator)  # fmt: skip


def train_quietly(trainer) -> list[dict]:
    """``trainer.train()`` without TRL's notices; returns its ``state.log_history`` (what TRL writes
    to ``trainer_state.json``)."""
    with _quiet(), contextlib.redirect_stdout(None):  # the printer callback's per-step dicts
        trainer.train()
    return trainer.state.log_history


def evaluate_quietly(trainer) -> dict:
    """``trainer.evaluate()`` (TRL's ``eval_*`` metrics on the eval rows) without notices."""
    with _quiet(), contextlib.redirect_stdout(None):
        return trainer.evaluate()


def chat_template_rows(rows, tokenizer):
    """``(tokenizer, rows)``: a copy of ``tokenizer`` with :data:`BOS_TEMPLATE` as its chat template,
    and ``rows`` rendered through it as text (``apply_chat_template(tokenize=False)``), prompt and
    each answer on their own. A tokenizer that adds BOS then puts two BOS before the prompt, and every
    completion starts with a BOS the model never sees inside a text."""
    tok = copy.deepcopy(tokenizer)
    tok.chat_template = BOS_TEMPLATE

    def render(text, role):
        return tok.apply_chat_template([{"role": role, "content": text}], tokenize=False)

    rendered = [{"prompt": render(r["prompt"], "user"), "chosen": render(r["chosen"], "assistant"),
                 "rejected": render(r["rejected"], "assistant")} for r in rows]  # fmt: skip
    return tok, rendered


def residual_scaled(model, scale: float):
    r"""A copy of a GPT-2 ``model`` computing the same function with its residual stream ``scale``
    times larger: token and position embeddings and every block's output projections (attention and
    MLP ``c_proj``, weight and bias) times ``scale``, the final LayerNorm's weight and bias divided by
    it (the LM head is tied to the embeddings). Every LayerNorm sees its input times ``scale`` and
    normalises it away, so in fp32 the logits change only through LayerNorm's epsilon; in fp16 an
    activation above 65504 is ``inf`` and the logits NaN. Large pretrained models carry activations of
    this size in a few channels; here they are made on purpose."""
    scaled = copy.deepcopy(model)
    body = scaled.transformer
    with torch.no_grad():
        body.wte.weight.mul_(scale)  # (V, d): also the LM head (tied)
        body.wpe.weight.mul_(scale)
        for block in body.h:
            for proj in (block.attn.c_proj, block.mlp.c_proj):  # what each block adds to the stream
                proj.weight.mul_(scale)
                proj.bias.mul_(scale)
        body.ln_f.weight.div_(scale)  # the head sees ln_f(h) / scale times wte * scale: unchanged
        body.ln_f.bias.div_(scale)
    return scaled


def lora_policy(ref_model, r: int = 4):
    """The reference wrapped with PEFT LoRA adapters on the attention (``c_attn``, GPT-2's Conv1D:
    ``fan_in_fan_out=True``); only the adapters train. LoRA's B starts at 0: policy = reference."""
    import peft

    config = peft.LoraConfig(r=r, lora_alpha=2 * r, target_modules=["c_attn"], fan_in_fan_out=True)
    return peft.get_peft_model(copy.deepcopy(ref_model), config)


def lora_backward(model, batch: dict, *, input_grads: bool) -> float | str:
    """One backward pass of the LM loss on ``batch`` through ``model`` (a :func:`lora_policy`) with
    reentrant gradient checkpointing; ``input_grads=False`` removes the hook that makes the
    embeddings' output require a gradient (the state before transformers and TRL added it). Returns
    the adapters' gradient norm, or the error's message when backward raises."""
    with _quiet():
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": True})
    if not input_grads:
        model.base_model.model.disable_input_require_grads()
    model.train()
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"],
                use_cache=False)  # fmt: skip
    try:
        with _quiet():  # torch warns that no input requires grad
            out.loss.backward()
    except RuntimeError as err:
        return str(err).splitlines()[0]
    grads = [p.grad for name, p in model.named_parameters() if "lora_" in name and p.grad is not None]
    return float(torch.sqrt(sum((g.float() ** 2).sum() for g in grads))) if grads else 0.0
