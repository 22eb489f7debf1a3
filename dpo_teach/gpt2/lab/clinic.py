r"""The DPO clinic: the broken training set-ups people actually hit, rebuilt from the package's
pieces so that notebook 08 can run each one beside its fix (and ``benchmarks/make_clinic_logs.py``
can keep their logs as the doctor's test fixtures).

:func:`homemade_dpo` is the short training loop people write by hand, DPO's Eq. 7 of
arXiv:2305.18290 on the tiny GPT-2, with one switch per classic bug: ``beta=0``; the reference
and the policy the same object (pass ``ref_model=policy``); an optimizer that steps another copy
of the weights (``optimizer_model``); log-probs averaged, or the label shift forgotten, or the
first completion token masked, or taken as ``log(softmax)`` of fp16 logits (``logps``); dropout
left on with the reference in train mode (``dropout``); a reference that is trained too
(``ref_trainable``). With every switch off it is the package's own
:class:`~dpo_teach.gpt2.trainer.DPOTrainer` step, metrics under TRL's names. :func:`sft_masking_by_value`
is supervised fine-tuning with transformers' language-modelling collator, which masks the
padding by value: with pad = EOS it masks every EOS label too.
"""

from __future__ import annotations

import copy
import dataclasses
import random

import torch

from ... import torch_dpo as td
from ...runtime import eval_mode
from .. import data, reviews
from ..logprobs import IGNORE_INDEX, collate_pairs, sequence_logps
from ..models import build_model, disable_dropout
from ..sampling import sample_completions
from ..sft import sft_train
from ..tokenizer import train_tokenizer

__all__ = ["LOGPS_MODES", "World", "build_world", "clinic_logps", "set_dropout", "homemade_dpo",
           "sft_masking_by_value", "finished_rate", "fresh_policy", "run_homemade", "tail_mean"]  # fmt: skip

# how homemade_dpo turns logits into one log-prob per sequence: the right way, and four bugs
LOGPS_MODES = ("sum", "mean", "no_shift", "first_token_masked", "fp16")


@dataclasses.dataclass
class World:
    """The clinic's tiny review world: a tokenizer, the SFT reference, tokenised preference pairs."""

    tokenizer: object  # GPT2TokenizerFast trained on the review corpus (EOS = BOS = padding)
    ref_model: torch.nn.Module  # the SFT model: pi_ref, and every policy's starting point
    train_rows: list[
        dict
    ]  # {"prompt", "chosen", "rejected"} text (TRL's format), labelled by the true reward
    train_pairs: list[dict]  # the same pairs as token ids: {"prompt_ids", "chosen_ids", "rejected_ids"}
    eval_prompts: list[str]  # held-out review openings, for samples
    texts: list[str]  # the SFT corpus (the EOS case trains on it again)


def build_world(n_corpus=4000, sft_steps=1500, sft_batch_size=32, n_prompts=1000, n_eval_prompts=64,
                seed=0) -> World:  # fmt: skip
    """Tokenizer, SFT reference and pairs (two samples per prompt, the better one chosen), as in
    notebook 05, at the given sizes."""
    texts = reviews.corpus(n_corpus, seed)
    tokenizer = train_tokenizer(texts)
    ref_model = build_model("tiny", tokenizer, seed)
    sft_train(ref_model, tokenizer, texts, sft_steps, sft_batch_size, seed=seed, progress=False)
    train_prompts, eval_prompts = data.split_prompts(n_prompts, n_eval_prompts, seed)
    rows = data.sample_preference_pairs(ref_model, tokenizer, train_prompts, seed=seed + 1)
    return World(tokenizer, ref_model.eval(), rows, data.tokenize_pairs(rows, tokenizer), eval_prompts, texts)


def clinic_logps(model, batch: dict[str, torch.Tensor], mode: str = "sum") -> torch.Tensor:
    r"""One log-prob per row of ``batch``, ``(rows,)``: ``"sum"`` is :func:`.logprobs.sequence_logps`
    (right); the others are the bugs of the clinic:

    - ``"mean"``: the per-token mean (trains at :math:`\beta/T` for completions of T tokens);
    - ``"no_shift"``: the logits at position t scored against the token at t (shift forgotten);
    - ``"first_token_masked"``: the prompt mask one token too long (the first completion token is
      never scored);
    - ``"fp16"``: :math:`\log(\mathrm{softmax})` of fp16 logits: a probability below fp16's
      smallest number (6e-8) becomes 0, its log :math:`-\infty`.
    """
    if mode not in LOGPS_MODES:
        raise ValueError(f"mode must be one of {', '.join(LOGPS_MODES)}, got {mode!r}")
    logits = model(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False
    ).logits
    labels = batch["labels"]  # (rows, T): completion tokens, -100 elsewhere
    if mode in ("sum", "mean"):
        return sequence_logps(logits, labels, average_log_prob=mode == "mean")
    if mode == "first_token_masked":  # the first labelled position of every row becomes -100
        scored = labels != IGNORE_INDEX
        first = scored & (scored.cumsum(1) == 1)
        return sequence_logps(logits, labels.masked_fill(first, IGNORE_INDEX))
    mask = labels != IGNORE_INDEX
    if mode == "no_shift":  # position t's distribution (which predicts t + 1) scores token t
        token_logps = logits.float().log_softmax(-1).gather(2, labels.clamp(min=0).unsqueeze(2)).squeeze(2)
        return (token_logps * mask).sum(-1)
    # fp16: shift as it should, but log(softmax(...)) in half precision
    probs = torch.softmax(logits[:, :-1].half(), dim=-1)  # (rows, T-1, V) fp16
    picked = probs.gather(2, labels[:, 1:].clamp(min=0).unsqueeze(2)).squeeze(2)
    token_logps = torch.log(picked).masked_fill(~mask[:, 1:], 0.0)  # log 0 = -inf stays where scored
    return token_logps.float().sum(-1)


def set_dropout(model: torch.nn.Module, p: float) -> None:
    """Every dropout of ``model`` to probability ``p`` (GPT-2's own checkpoints use 0.1)."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = p


def homemade_dpo(policy, ref_model, pairs, pad_token_id: int, *, beta: float, learning_rate=5e-4, steps=40,
                 batch_size=8, seed=0, logps="sum", optimizer_model=None, dropout=0.0,
                 ref_trainable=False, max_grad_norm=1.0) -> list[dict]:  # fmt: skip
    r"""A hand-written DPO loop (AdamW, Eq. 7, the reference scored every step); returns the history.

    Each entry holds TRL's metric names, measured before the step's update (``step`` from 0), plus
    ``ref_logps/chosen`` and ``ref_logps/rejected`` (the batch's reference log-probs, which a frozen
    reference never changes). The bugs, each off by default:

    - ``beta=0``: accepted (the package's :class:`~.config.DPOConfig` refuses it);
    - ``ref_model=policy``: the reference is the policy itself;
    - ``optimizer_model``: AdamW steps this model's parameters instead of the policy's;
    - ``logps``: one of :data:`LOGPS_MODES` other than ``"sum"`` (:func:`clinic_logps`);
    - ``dropout`` > 0: dropout at that rate in both models, the reference left in train mode;
    - ``ref_trainable``: the reference scored with gradients and stepped by the optimizer too.
    """
    if dropout:
        set_dropout(policy, dropout)
        set_dropout(ref_model, dropout)
        ref_model.train()  # the bug: nobody called ref_model.eval()
    else:
        disable_dropout(policy)
        disable_dropout(ref_model)
    params = list((optimizer_model or policy).parameters())
    if ref_trainable and ref_model is not policy:
        params += list(ref_model.requires_grad_(True).parameters())
    optimizer = torch.optim.AdamW(params, lr=learning_rate, weight_decay=0.0)
    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    history = []
    for step in range(steps):
        index = [order[(step * batch_size + i) % len(order)] for i in range(batch_size)]
        batch = collate_pairs([pairs[i] for i in index], pad_token_id)  # rows: B chosen, then B rejected
        policy.train()
        if ref_trainable:
            ref_logps = clinic_logps(ref_model, batch, logps)
        else:
            with torch.no_grad():
                ref_logps = clinic_logps(ref_model, batch, logps)
        pol_logps = clinic_logps(policy, batch, logps)
        pc, pr = pol_logps[:batch_size], pol_logps[batch_size:]
        rc, rr = ref_logps[:batch_size], ref_logps[batch_size:]
        losses, chosen_rewards, rejected_rewards = td.dpo_loss_unchecked(pc, pr, rc, rr, beta)  # Eq. 7
        loss = losses.mean()
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(policy.parameters(), max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        policy.zero_grad(set_to_none=True)
        history.append({
            "step": step, "loss": loss.item(), "rewards/chosen": chosen_rewards.mean().item(),
            "rewards/rejected": rejected_rewards.mean().item(),
            "rewards/accuracies": (chosen_rewards > rejected_rewards).float().mean().item(),
            "rewards/margins": (chosen_rewards - rejected_rewards).mean().item(),
            "logps/chosen": pc.mean().item(), "logps/rejected": pr.mean().item(),
            "grad_norm": grad_norm.item(), "ref_logps/chosen": rc.mean().item(),
            "ref_logps/rejected": rr.mean().item(),
        })  # fmt: skip
    if dropout:
        ref_model.eval()
    if ref_trainable:
        ref_model.requires_grad_(False)
    return history


def sft_masking_by_value(tokenizer, texts, steps=1500, batch_size=32, learning_rate=3e-3, seed=0):
    """A fresh tiny GPT-2 fine-tuned on ``texts`` with transformers'
    ``DataCollatorForLanguageModeling(mlm=False)``, which sets ``labels[input_ids == pad_token_id]
    = -100``. Our pad token is EOS, so the EOS that ends every review is never a target: the model
    is only ever taught to give EOS less probability. Returns the model (eval mode)."""
    from transformers import DataCollatorForLanguageModeling

    model = build_model("tiny", tokenizer, seed)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm=False)
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    encoded = [[bos] + ids + [eos] for ids in tokenizer(list(texts))["input_ids"]]
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    rng = random.Random(seed)
    model.train()
    for _ in range(steps):
        batch = collator([{"input_ids": ids} for ids in rng.sample(encoded, batch_size)])
        loss = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                     labels=batch["labels"], use_cache=False).loss  # fmt: skip
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return model.eval()


def finished_rate(model, tokenizer, prompts, max_new_tokens=32, seed=0) -> float:
    """Share of completions sampled from ``model`` that end with EOS within ``max_new_tokens``."""
    prompt_ids = data.encode_prompts(tokenizer, prompts)
    with eval_mode(model):
        completions = sample_completions(model, prompt_ids, tokenizer.eos_token_id, max_new_tokens, seed=seed)
    return sum(c[-1:] == [tokenizer.eos_token_id] for c in completions) / len(completions)


def tail_mean(history: list[dict], key: str, share: float = 0.2) -> float:
    """The mean of ``key`` over the last ``share`` of the logged steps (one batch is noisy)."""
    tail = history[-max(1, round(len(history) * share)) :]
    return sum(h[key] for h in tail) / len(tail)


def fresh_policy(ref_model) -> torch.nn.Module:
    """A trainable copy of the reference (policy = reference at step 0)."""
    return copy.deepcopy(ref_model).requires_grad_(True)


def run_homemade(world: World, steps=40, batch_size=8, beta=2.0, same_object=False, stale_optimizer=False,
                 **options):  # fmt: skip
    """:func:`homemade_dpo` from fresh copies of the world's reference: ``(policy, ref_model, history)``.

    ``same_object``: the policy is its own reference. ``stale_optimizer``: AdamW steps a second copy.
    ``options``: the other switches of :func:`homemade_dpo` (``logps``, ``dropout``, ...)."""
    policy = fresh_policy(world.ref_model)
    ref_model = policy if same_object else copy.deepcopy(world.ref_model)
    if stale_optimizer:
        options["optimizer_model"] = fresh_policy(world.ref_model)
    history = homemade_dpo(policy, ref_model, world.train_pairs, world.tokenizer.pad_token_id, beta=beta,
                           steps=steps, batch_size=batch_size, **options)  # fmt: skip
    return policy, ref_model, history
