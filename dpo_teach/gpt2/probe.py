r"""A fixed held-out probe set, scored during DPO training: is the chosen answer losing mass?

The training batch's ``logps/chosen`` mixes the trend with which pairs were drawn and with the
policy having just been fitted to them. A probe set is a fixed list of held-out pairs, scored
every N steps with the policy in eval mode and no gradient, so its curve is the trend itself:
likelihood displacement (the chosen answers' :math:`\log\pi_\theta(y_w\mid x)` falling while the
margin grows) is seen on data the policy never trained on. Logged names (TRL's style):

* ``probe/chosen_logps``, ``probe/rejected_logps``: the mean summed log-prob of the chosen and of
  the rejected completions;
* with a reference, ``probe/rewards/margins`` (mean :math:`\hat r_w - \hat r_l`, Sec. 5 of
  arXiv:2305.18290) and ``probe/rewards/accuracies`` (share of probe pairs with a positive margin):
  the held-out implicit-reward accuracy, the number early stopping on a validation set would read.

``DPOConfig(probe_every=N)`` with ``DPOTrainer(..., probe_pairs=pairs)`` turns it on.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import torch_dpo as td
from .logprobs import score_pairs

__all__ = ["PROBE_NAMES", "ProbeSet"]

PROBE_NAMES = ("probe/chosen_logps", "probe/rejected_logps", "probe/rewards/margins",
               "probe/rewards/accuracies")  # fmt: skip


class ProbeSet:
    """Held-out tokenised ``pairs``; the frozen ``ref_model``'s log-probs are computed once (None:
    no margins, for the reference-free losses)."""

    def __init__(self, pairs: Sequence[dict], ref_model, pad_token_id: int, beta: float,
                 batch_size: int = 64, bf16: bool = True):  # fmt: skip
        if len(pairs) == 0:
            raise ValueError("probe_pairs is empty; pass held-out pairs (e.g. the eval pairs) or None")
        self.pairs, self.pad_token_id, self.beta = list(pairs), pad_token_id, beta
        self.batch_size, self.bf16 = batch_size, bf16
        self.ref_logps = None
        if ref_model is not None:
            self.ref_logps = score_pairs(ref_model, self.pairs, pad_token_id, batch_size, bf16)

    def scores(self, policy):
        """``(chosen_logps, rejected_logps)`` of every probe pair under ``policy``, ``(N,)`` each."""
        return score_pairs(policy, self.pairs, self.pad_token_id, self.batch_size, self.bf16)

    def measure(self, policy) -> dict[str, float]:
        """The probe metrics of ``policy`` as plain floats (one host sync)."""
        chosen, rejected = self.scores(policy)
        out = {"probe/chosen_logps": chosen.mean(), "probe/rejected_logps": rejected.mean()}
        if self.ref_logps is not None:
            ref_chosen, ref_rejected = self.ref_logps
            # $\hat r_w - \hat r_l = \beta[(\log\pi_\theta - \log\pi_\mathrm{ref})(y_w) - (\ldots)(y_l)]$
            margins = td.margin_unchecked(chosen, rejected, ref_chosen, ref_rejected, self.beta)
            out["probe/rewards/margins"] = margins.mean()
            out["probe/rewards/accuracies"] = (margins > 0).float().mean()
        return {k: float(v) for k, v in out.items()}
