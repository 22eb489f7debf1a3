r"""The trainer's loss: one member of the DPO family (``DPOConfig.loss_type``), fed the batch's
log-probs and, where the member needs them, its completion token counts.

``sigmoid`` (DPO, Eq. 7 of arXiv:2305.18290) is not routed through here: the trainer keeps calling
:func:`dpo_teach.torch_dpo.dpo_loss_unchecked` for it. Every other name calls the function of
:data:`dpo_teach.torch_variants.LOSSES` (checked inputs: a bad log-prob is a ``ValueError``), with
these conventions (FAMILY.md): ``ipo`` sums log-ratios (the paper, not TRL's per-token form);
``rpo`` takes a per-sequence token mean of the chosen NLL; ``simpo`` and ``orpo`` have no
reference and return their own rewards (:math:`\beta a`, :math:`\lambda a`).
"""

from __future__ import annotations

import torch

from .. import torch_variants as tv
from .config import REFERENCE_FREE, DPOConfig
from .logprobs import IGNORE_INDEX

__all__ = ["completion_lengths", "family_loss"]


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
