r"""Held-out pairs scored during training: the loss and the implicit-reward accuracy on data the
policy never trained on, every ``DPOConfig.eval_every`` steps (TRL's ``eval_`` names).

The frozen reference's log-probs of the held-out pairs are computed once; each evaluation scores
the policy (eval mode, no gradient) and computes the training loss (Eq. 7 of arXiv:2305.18290, or
the family member of ``DPOConfig.loss_type``) on them. Logged: ``eval_loss``,
``eval_rewards/accuracies`` (share of pairs with :math:`\hat r_w > \hat r_l`),
``eval_rewards/margins``, ``eval_rewards/chosen``, ``eval_rewards/rejected``. ``save_best`` reads
``eval_loss`` (lower is better), as ``metric_for_best_model="eval_loss"`` does in transformers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from .. import torch_dpo as td
from .checkpoint import read_state_file, save_state_file
from .logprobs import collate_pairs, score_pairs
from .losses import family_loss

__all__ = ["EVAL_NAMES", "BEST_NAME", "HeldOut", "keep_best", "load_best"]
BEST_NAME = "best_policy.pt"  # save_best: the policy of the lowest held-out loss, in output_dir

EVAL_NAMES = ("eval_loss", "eval_rewards/accuracies", "eval_rewards/margins", "eval_rewards/chosen",
              "eval_rewards/rejected")  # fmt: skip


class HeldOut:
    """Tokenised held-out ``pairs``; ``ref_model`` (None for simpo / orpo) is scored once, here."""

    def __init__(self, pairs: Sequence[dict], ref_model, pad_token_id: int, config, batch_size: int = 64):
        if len(pairs) == 0:
            raise ValueError("eval_pairs is empty; pass held-out pairs (e.g. the eval pairs) or None")
        self.pairs, self.pad_token_id = list(pairs), pad_token_id
        self.config, self.batch_size = config, batch_size
        self.ref_logps = (None, None)
        if ref_model is not None:
            self.ref_logps = self._score(ref_model)
        # completion token counts, for the members that read them (ipo's conventions, rpo, simpo ...)
        self.labels = {"labels": collate_pairs(self.pairs, pad_token_id)["labels"]}

    def _score(self, model):
        return score_pairs(model, self.pairs, self.pad_token_id, self.batch_size, self.config.bf16,
                           self.config.logps_chunk)  # fmt: skip

    @torch.no_grad()
    def measure(self, policy) -> dict[str, float]:
        """The held-out metrics of ``policy`` as plain floats (one host sync)."""
        chosen, rejected = self._score(policy)
        cfg, (ref_chosen, ref_rejected) = self.config, self.ref_logps
        if cfg.loss_type == "sigmoid":
            losses, r_w, r_l = td.dpo_loss_unchecked(chosen, rejected, ref_chosen, ref_rejected, cfg.beta)
        else:
            labels = {"labels": self.labels["labels"].to(chosen.device)}
            losses, r_w, r_l = family_loss(cfg, labels, chosen, rejected, ref_chosen, ref_rejected)
        values = (losses.mean(), (r_w > r_l).float().mean(), (r_w - r_l).mean(), r_w.mean(), r_l.mean())
        return dict(zip(EVAL_NAMES, torch.stack(values).tolist()))


def keep_best(policy, best: dict, output_dir, writes: bool = True):
    """Keep ``policy``'s weights as the best so far: atomically in ``output_dir/best_policy.pt`` (a
    resumed run finds them; ``writes``: this process writes files), else in memory (returned)."""
    state = {k: v.detach().cpu().clone() for k, v in policy.state_dict().items()}
    if not output_dir:
        return state
    if writes:
        save_state_file({"best": best, "policy": state}, Path(output_dir) / BEST_NAME)
    return None


def load_best(policy, state, output_dir, device) -> None:
    """Load the weights :func:`keep_best` kept (``state``, else the file) into ``policy``."""
    if state is None:
        path = Path(output_dir) / BEST_NAME
        state = read_state_file(path, {"best": dict, "policy": dict}, "best policy", device)["policy"]
    policy.load_state_dict(state)
