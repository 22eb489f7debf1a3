r"""A TRL callback that measures what TRL's DPO metrics cannot see: the policy's own samples.

TRL's ``DPOTrainer`` logs metrics of the training pairs only (``rewards/*``, ``logps/*``); probability
that leaves both answers for text in neither costs the loss nothing. :class:`ProbeCallback` samples
from the policy on a few prompts at each evaluation (and every ``every_n_steps`` steps) and logs, into
TRL's own log (``trainer_state.json``; TensorBoard and W&B too when it runs before them, see
:meth:`ProbeCallback.attach`):

* ``probe/kl``, ``probe/kl_se``: :math:`\mathrm{KL}(\pi_\theta \| \pi_\mathrm{ref})` on the prompts,
  per sample the sum over its tokens of the non-negative estimator :math:`(r - 1) - \log r`,
  :math:`r = \pi_\mathrm{ref}(y_t) / \pi_\theta(y_t)` (unbiased, each term :math:`\ge 0`), its mean
  and standard error over the samples;
* ``probe/eos_rate`` (the share of samples that end with EOS) and ``probe/length`` (tokens);
* ``probe/chosen_logps``, ``probe/rejected_logps`` with ``pairs``: summed completion log-probs of
  held-out pairs under the policy;
* ``probe/win_rate`` with a ``judge``: how often the judge scores the policy's sample above the
  reference's on the same prompt (ties count half).

``python -m dpo_teach.doctor`` reads these keys (``probe_eos_collapse``, ``probe_kl_blowup``).
"""

from __future__ import annotations

import contextlib
import copy
import math

import torch
from transformers import TrainerCallback

__all__ = ["ProbeCallback"]


class ProbeCallback(TrainerCallback):
    """``ProbeCallback(prompts, *, ref_model=None, every_n_steps=None, judge=None, max_new_tokens=32)``.

    ``prompts``: strings; the policy and tokenizer come from the trainer's callback arguments. The
    reference is ``ref_model``, else the policy with its adapters disabled (PEFT), else a frozen
    copy of the policy taken at ``on_train_begin``. ``judge``: a callable on a list of texts
    returning one score each (higher is better), or a sequence classifier (its last logit is the
    score). ``pairs``: held-out ``{"prompt", "chosen", "rejected"}`` rows. ``samples_per_prompt``
    completions are drawn per prompt (seeded by ``seed`` and the step).
    """

    def __init__(self, prompts, *, ref_model=None, every_n_steps=None, judge=None, max_new_tokens=32,
                 pairs=None, samples_per_prompt=4, seed=0):  # fmt: skip
        if isinstance(prompts, str) or not prompts or not all(isinstance(p, str) for p in prompts):
            raise ValueError("prompts must be a non-empty list of strings (the texts to sample from)")
        if every_n_steps is not None and (not isinstance(every_n_steps, int) or every_n_steps < 1):
            raise ValueError(f"every_n_steps must be a positive integer or None, got {every_n_steps!r}")
        if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be a positive integer, got {max_new_tokens!r}")
        self.prompts, self.ref_model, self.every_n_steps = list(prompts), ref_model, every_n_steps
        self.judge, self.max_new_tokens, self.pairs = judge, max_new_tokens, list(pairs or [])
        self.samples_per_prompt, self.seed = samples_per_prompt, seed
        self._frozen = self._tokenizer = None
        self._pending, self._probed_step = None, None
        self.history: list[dict] = []  # every probe's metrics, with its step

    def attach(self, trainer) -> ProbeCallback:
        """Add this callback to ``trainer`` ahead of the others, so that the reporting integrations
        (TensorBoard, W&B), which read the log after it, receive the probe's keys too."""
        trainer.callback_handler.callbacks.insert(0, self)
        return self

    # -- events --
    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self._tokenizer = kwargs.get("processing_class") or kwargs.get("tokenizer")
        if self.ref_model is None and not hasattr(model, "disable_adapter"):
            self._frozen = copy.deepcopy(model).eval().requires_grad_(False)  # pi_ref: the policy at step 0
            for module in self._frozen.modules():  # a forward patched onto the instance (TRL's fused
                module.__dict__.pop("forward", None)  # forward) still calls the original: use the class's

    def on_step_end(self, args, state, control, model=None, **kwargs):
        step = state.global_step
        every = self.every_n_steps is not None and step % self.every_n_steps == 0
        strategy, eval_steps = getattr(args.eval_strategy, "value", args.eval_strategy), args.eval_steps
        evaluates = strategy == "steps" and isinstance(eval_steps, int) and eval_steps > 0
        evaluates = evaluates and step % eval_steps == 0
        if every or evaluates:
            self._pending = self.probe(model, step)
            control.should_log = True  # the probe goes into this step's log entry
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self._pending is not None and logs is not None:
            logs.update(self._pending)
            if state.log_history and state.log_history[-1].get("step") == state.global_step:
                state.log_history[-1].update(self._pending)  # what trainer_state.json saves
            self._pending = None

    def on_evaluate(self, args, state, control, model=None, **kwargs):
        if self._probed_step != state.global_step and state.log_history:  # an evaluation off the schedule
            state.log_history[-1].update(self.probe(model, state.global_step))

    # -- the measurement --
    def _reference(self, model):
        """``(the reference, a function giving the context to run it in)``."""
        if self.ref_model is not None:
            return self.ref_model, contextlib.nullcontext
        if self._frozen is not None:
            return self._frozen, contextlib.nullcontext
        return model, model.disable_adapter  # PEFT: the base model is the reference

    @torch.no_grad()
    def probe(self, model, step: int) -> dict:
        """The probe's metrics for ``model`` now (also kept in :attr:`history`)."""
        tok = self._tokenizer
        if tok is None:
            raise ValueError("ProbeCallback needs the trainer's tokenizer (processing_class)")
        training = model.training
        model.eval()
        device = next(model.parameters()).device
        eos = tok.eos_token_id
        kl, ends, lengths, policy_texts, ref_texts = [], [], [], [], []
        try:
            for i, prompt in enumerate(self.prompts):
                ids = tok(prompt, return_tensors="pt").input_ids.to(device)
                gen = torch.Generator(device="cpu").manual_seed(self.seed + 1000 * step + i)
                samples = self._sample(model, ids, gen)
                ref, ctx = self._reference(model)
                with ctx():
                    ref_samples = self._sample(ref, ids, gen)
                for completion in samples:
                    lp = _token_logps(model, ids, completion)
                    with ctx():
                        lr = _token_logps(ref, ids, completion)
                    log_r = lr - lp  # log pi_ref / pi_theta per token
                    kl.append(float((torch.expm1(log_r) - log_r).sum()))  # (r - 1) - log r >= 0
                    ends.append(bool(len(completion)) and int(completion[-1]) == eos)
                    lengths.append(len(completion))
                policy_texts += [prompt + tok.decode(c, skip_special_tokens=True) for c in samples]
                ref_texts += [prompt + tok.decode(c, skip_special_tokens=True) for c in ref_samples]
            n = len(kl)
            mean = sum(kl) / n
            se = math.sqrt(sum((x - mean) ** 2 for x in kl) / (n - 1) / n) if n > 1 else 0.0
            out = {"probe/kl": mean, "probe/kl_se": se, "probe/eos_rate": sum(ends) / n,
                   "probe/length": sum(lengths) / n}  # fmt: skip
            if self.pairs:
                out["probe/chosen_logps"], out["probe/rejected_logps"] = self._pair_logps(model, tok, device)
            if self.judge is not None:
                out["probe/win_rate"] = self._win_rate(policy_texts, ref_texts, tok, device)
        finally:
            model.train(training)
        self._probed_step = step
        self.history.append({"step": step, **out})
        return out

    def _sample(self, model, ids, gen) -> list[torch.Tensor]:
        """``samples_per_prompt`` completions, each cut after its first EOS."""
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
        tok = self._tokenizer
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        out = model.generate(input_ids=ids.repeat(self.samples_per_prompt, 1),
                             attention_mask=torch.ones_like(ids).repeat(self.samples_per_prompt, 1),
                             do_sample=True, top_k=0, top_p=1.0, max_new_tokens=self.max_new_tokens,
                             pad_token_id=pad, eos_token_id=tok.eos_token_id)  # fmt: skip
        completions = []
        for row in out[:, ids.shape[1] :]:
            stop = (row == tok.eos_token_id).nonzero()
            completions.append(row[: int(stop[0]) + 1] if len(stop) else row)
        return completions

    def _pair_logps(self, model, tok, device) -> tuple[float, float]:
        sums = {"chosen": [], "rejected": []}
        for row in self.pairs:
            ids = tok(row["prompt"], return_tensors="pt").input_ids.to(device)
            for key in sums:
                completion = tok(row["prompt"] + row[key], return_tensors="pt").input_ids[0, ids.shape[1] :]
                sums[key].append(float(_token_logps(model, ids, completion.to(device)).sum()))
        return sum(sums["chosen"]) / len(self.pairs), sum(sums["rejected"]) / len(self.pairs)

    def _win_rate(self, policy_texts, ref_texts, tok, device) -> float:
        if isinstance(self.judge, torch.nn.Module):

            def score(texts):
                batch = tok(texts, return_tensors="pt", padding=True).to(device)
                return self.judge(**batch).logits[:, -1].float().tolist()
        else:
            score = self.judge
        ours, theirs = score(policy_texts), score(ref_texts)
        return sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in zip(ours, theirs)) / len(ours)


def _token_logps(model, prompt_ids: torch.Tensor, completion: torch.Tensor) -> torch.Tensor:
    """log pi(y_t | x, y_<t) of each completion token, in float32; shape (T,)."""
    if not len(completion):
        return torch.zeros(0)
    ids = torch.cat([prompt_ids[0], completion]).unsqueeze(0)  # (1, P + T)
    logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0, prompt_ids.shape[1] - 1 : -1]
    return logits.float().log_softmax(-1).gather(-1, completion.unsqueeze(-1)).squeeze(-1)  # (T,)
