r"""The trainer's loss: one member of the DPO family (``DPOConfig.loss_type``), fed the batch's
log-probs and, where the member needs them, its completion token counts.

``sigmoid`` (DPO, Eq. 7 of arXiv:2305.18290) is not routed through here: the trainer keeps calling
:func:`dpo_teach.torch_dpo.dpo_loss_unchecked` for it. Every other name calls the function of
:data:`dpo_teach.torch_variants.LOSSES` (checked inputs: a bad log-prob is a ``ValueError``), with
these conventions (docs/family.md, "Where TRL 1.16 and the paper's reference code differ"):
``ipo`` sums log-ratios (the paper, not TRL's per-token form);
``rpo`` takes a per-sequence token mean of the chosen NLL; ``simpo`` and ``orpo`` have no
reference and return their own rewards (:math:`\beta a`, :math:`\lambda a`).
"""

from __future__ import annotations

import torch

from .. import torch_dpo as td
from .. import torch_variants as tv
from .config import REFERENCE_FREE, DPOConfig
from .logprobs import IGNORE_INDEX, concatenated_logps

__all__ = ["completion_lengths", "family_loss", "compute_loss_and_metrics"]


def completion_lengths(batch: dict[str, torch.Tensor], dtype=torch.float32):
    """``(chosen_lengths, rejected_lengths)``: completion tokens (labels != -100) of each row of a
    :func:`~.logprobs.collate_pairs` batch, ``(B,)`` each, as ``dtype``."""
    counts = (batch["labels"] != IGNORE_INDEX).sum(1).to(dtype)  # (2B,)
    n = counts.shape[0] // 2
    return counts[:n], counts[n:]


def family_loss(config: DPOConfig, batch, policy_chosen, policy_rejected, ref_chosen, ref_rejected):
    """``(losses, chosen_rewards, rejected_rewards)`` per pair of ``config.loss_type`` (not sigmoid).
    ``ref_chosen`` / ``ref_rejected`` are ignored (may be None) for the reference-free members."""
    name, beta = config.loss_type, config.beta
    n_w, n_l = completion_lengths(batch, policy_chosen.dtype)
    if name in REFERENCE_FREE:
        if name == "simpo":
            return tv.simpo_loss(policy_chosen, policy_rejected, n_w, n_l, beta, config.simpo_gamma)
        return tv.orpo_loss(policy_chosen, policy_rejected, n_w, n_l, config.orpo_lambda)
    logps = (policy_chosen, policy_rejected, ref_chosen, ref_rejected)
    if name in ("cdpo", "robust"):
        return tv.LOSSES[name](*logps, beta, config.label_smoothing)
    if name == "dpop":
        return tv.dpop_loss(*logps, beta, config.dpop_lambda)
    if name == "rpo":
        return tv.rpo_loss(*logps, n_w, beta, config.rpo_alpha)
    if name == "sigmoid_norm":
        return tv.length_normalized_dpo_loss(*logps, n_w, n_l, beta)
    return tv.LOSSES[name](*logps, beta)  # ipo (summed, the paper's), hinge, nca_pair, bco_pair, apo_*


def compute_loss_and_metrics(
    policy, batch, ref_chosen_logps, ref_rejected_logps, beta: float, fixed_weight: float | None = None,
    config: DPOConfig | None = None,
):  # fmt: skip
    r"""The DPO loss (mean of Eq. 7 over the batch) and TRL-named metrics; no optimizer step.

    With ``fixed_weight`` c the per-pair loss is :math:`-c\,(\hat r_w - \hat r_l)`, whose gradient is
    DPO's with the weight :math:`w = \sigma(\hat r_l - \hat r_w)` replaced by the constant c (Sec. 4:
    the update without the weight, which the paper reports can make the model degenerate).
    ``metrics`` holds detached 0-d tensors (no host sync); ``loss`` carries the gradient.
    A ``config`` whose ``loss_type`` is not ``"sigmoid"`` uses that family member instead (with
    ``config.beta`` and its options; :func:`family_loss`); the margin logged is then the
    mean of chosen minus rejected reward as the member returns them (TRL's ``rewards/margins``).
    ``config.rdpo_alpha`` > 0 (sigmoid only) is R-DPO (:func:`dpo_teach.torch_variants.rdpo_loss`);
    ``config.ld_alpha`` weights the policy's summed log-probs as LD-DPO does (the reference's come
    weighted alike from the caller: :class:`~.trainer.DPOTrainer`).
    """
    # $\log\pi_\theta(y_w\mid x)$, $\log\pi_\theta(y_l\mid x)$
    chunk = config.logps_chunk if config is not None else 0  # LM head in chunks (.chunked_logps)
    ld_alpha = config.ld_alpha if config is not None else None  # LD-DPO's weighted sums (.logprobs)
    policy_chosen_logps, policy_rejected_logps = concatenated_logps(policy, batch, chunk, ld_alpha)
    logps = (policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps)
    if config is not None and config.loss_type != "sigmoid":
        losses, chosen_rewards, rejected_rewards = family_loss(config, batch, *logps)
        margins = chosen_rewards - rejected_rewards
    elif config is not None and config.rdpo_alpha:  # R-DPO: + alpha (|y_w| - |y_l|) in the margin
        n_w, n_l = completion_lengths(batch, policy_chosen_logps.dtype)
        losses, chosen_rewards, rejected_rewards = tv.rdpo_loss(*logps, n_w, n_l, beta, config.rdpo_alpha)
        margins = chosen_rewards - rejected_rewards  # beta h, as DPO logs it (the length term is no reward)
    else:
        losses, chosen_rewards, rejected_rewards = td.dpo_loss_unchecked(*logps, beta)
        margins = td.margin_unchecked(*logps, beta)  # $\hat r_w - \hat r_l$
    if fixed_weight is not None:  # $-c\,(\hat r_w - \hat r_l)$: gradient $\mp\beta c$, no weight
        losses = -fixed_weight * margins
    margins = margins.detach()
    loss = losses.mean()
    metrics = {
        "loss": loss.detach(),
        "rewards/chosen": chosen_rewards.mean(),
        "rewards/rejected": rejected_rewards.mean(),
        "rewards/accuracies": (chosen_rewards > rejected_rewards).float().mean(),  # as TRL counts it
        "rewards/margins": margins.mean(),
        "logps/chosen": policy_chosen_logps.detach().mean(),
        "logps/rejected": policy_rejected_logps.detach().mean(),
    }
    return loss, metrics
