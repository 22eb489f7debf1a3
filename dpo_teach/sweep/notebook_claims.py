r"""The GPT-2 orderings notebooks 05-08 state, each a :class:`~.claims.Claim` on a committed record.

Each entry's ``text`` is the statement its notebook makes; ``direction`` is what the record's
paired 95 % interval over seeds supports (+1 / -1 resolved, 0 not resolved). The notebook calls
``claims.check("NN")``; tests/sweep/test_tuning_claims.py checks them all against ``results/``.
"""

from __future__ import annotations

from .claims import Claim, per_seed  # noqa: F401  (the claims below use both)

__all__ = ["CLAIMS"]

CLAIMS: list[Claim] = []

# --- notebook 06 ---
# §5: each family member against DPO on results/family.json, both at the learning rate picked per
# seed by held-out accuracy within a 2-nat KL budget (family_table.picked), paired by seed
from .family_table import picked  # noqa: E402

_REFERENCE_REWARD = per_seed({"loss_type": "sigmoid"}, "true_reward_reference")  # the SFT model's samples


def _vs_dpo(text: str, member: str, metric: str, direction: int) -> Claim:
    a, b = picked(member, metric), picked("sigmoid", metric)
    return Claim("06", text, "family", a, b, direction, section="5")


CLAIMS += [
    Claim("06", "DPO's held-out chosen log-prob falls on average", "family",
          picked("sigmoid", "chosen_logp_change"), None, -1, section="5"),  # fmt: skip
    _vs_dpo("RPO keeps the held-out chosen log-prob above DPO's", "rpo", "chosen_logp_change", +1),
    _vs_dpo("DPOP keeps the held-out chosen log-prob above DPO's", "dpop", "chosen_logp_change", +1),
    _vs_dpo("DPOP (lambda 50) moves less than DPO (KL)", "dpop", "kl_to_reference", -1),
    _vs_dpo("IPO orders held-out pairs slightly worse than DPO", "ipo", "reward_accuracy", -1),
    _vs_dpo("IPO ends closer to the reference than DPO (KL)", "ipo", "kl_to_reference", -1),
    _vs_dpo("robust DPO's larger KL than DPO's is not resolved", "robust", "kl_to_reference", 0),
    _vs_dpo("RPO's true reward against DPO's is not resolved", "rpo", "true_reward_policy", 0),
    _vs_dpo("APO-down leaves fewer valid samples than DPO", "apo_down", "valid_rate_policy", -1),
    Claim("06", "SimPO beats the reference's true reward", "family", picked("simpo", "true_reward_policy"),
          _REFERENCE_REWARD, +1, section="5"),  # fmt: skip
    Claim("06", "ORPO beats the reference's true reward", "family", picked("orpo", "true_reward_policy"),
          _REFERENCE_REWARD, +1, section="5"),  # fmt: skip
    _vs_dpo("SimPO orders held-out pairs worse than DPO", "simpo", "reward_accuracy", -1),
    _vs_dpo("ORPO orders held-out pairs worse than DPO", "orpo", "reward_accuracy", -1),
]

# --- notebook 05 ---
# §9 (and §7, §8) over seeds: plain DPO at learning rate 5e-4 on results/beta_lr.json, paired by seed


def _grid(beta: float, metric: str, lr: float = 5e-4):
    return per_seed({"beta": beta, "learning_rate": lr, "loss_type": "sigmoid"}, metric)


_BETAS = (0.5, 1.0, 2.0, 4.0)
CLAIMS += [
    Claim("05", "KL: beta 0.5 against beta 1", "beta_lr", _grid(0.5, "kl_to_reference"),
          _grid(1.0, "kl_to_reference"), 0, section="9"),
    Claim("05", "KL: beta 1 above beta 2", "beta_lr", _grid(1.0, "kl_to_reference"),
          _grid(2.0, "kl_to_reference"), +1, section="9"),
    Claim("05", "KL: beta 2 above beta 4", "beta_lr", _grid(2.0, "kl_to_reference"),
          _grid(4.0, "kl_to_reference"), +1, section="9"),
    *[Claim("05", f"true reward: beta {a:g} against beta {b:g}", "beta_lr", _grid(a, "true_reward_policy"),
            _grid(b, "true_reward_policy"), +1 if (a, b) == (2.0, 4.0) else 0, section="9")
      for i, a in enumerate(_BETAS) for b in _BETAS[i + 1:]],
    Claim("05", "beta 2: the held-out chosen log-prob falls on average", "beta_lr",
          _grid(2.0, "chosen_logp_change"), None, -1, section="8"),
    Claim("05", "beta 2: the true reward rises above the reference's", "beta_lr",
          _grid(2.0, "true_reward_policy"), _grid(2.0, "true_reward_reference"), +1, section="8"),
]  # fmt: skip

# §8: the update with DPO's weight held at 1/2 against DPO (results/weight.json, the paper's Sec. 4 ablation)
_DPO, _UNWEIGHTED = {"loss_type": "sigmoid"}, {"loss_type": "sigmoid", "fixed_weight": 0.5}
CLAIMS += [
    Claim("05", f"weight fixed at 1/2 against DPO, {label}", "weight", per_seed(_UNWEIGHTED, metric),
          per_seed(_DPO, metric), 0, section="8")
    for metric, label in (("valid_rate_policy", "valid samples"), ("true_reward_policy", "true reward"))
]  # fmt: skip

# --- notebook 08 ---
# §5: the learning rate too high, over seeds (results/clinic_lr.json): 6x and 2x the recipe's 5e-4
_LR = {rate: {"learning_rate": rate} for rate in (5e-4, 1e-3, 3e-3)}
CLAIMS += [
    Claim("08", "6x keeps fewer samples valid than the recipe", "clinic_lr",
          per_seed(_LR[3e-3], "valid_rate_policy"), per_seed(_LR[5e-4], "valid_rate_policy"), -1, section="5"),
    Claim("08", "6x loses true reward against the recipe", "clinic_lr",
          per_seed(_LR[3e-3], "true_reward_policy"), per_seed(_LR[5e-4], "true_reward_policy"), -1, section="5"),
    Claim("08", "6x ends below the reference's true reward", "clinic_lr",
          per_seed(_LR[3e-3], "true_reward_policy"), per_seed(_LR[3e-3], "true_reward_reference"), -1,
          section="5"),
    Claim("08", "6x drifts further than the recipe (KL)", "clinic_lr",
          per_seed(_LR[3e-3], "kl_to_reference"), per_seed(_LR[5e-4], "kl_to_reference"), +1, section="5"),
    Claim("08", "6x: the training loss ends above the recipe's", "clinic_lr",
          per_seed(_LR[3e-3], "tail_loss"), per_seed(_LR[5e-4], "tail_loss"), +1, section="5"),
    Claim("08", "2x against the recipe, valid samples", "clinic_lr",
          per_seed(_LR[1e-3], "valid_rate_policy"), per_seed(_LR[5e-4], "valid_rate_policy"), 0, section="5"),
    Claim("08", "2x against the recipe, true reward", "clinic_lr",
          per_seed(_LR[1e-3], "true_reward_policy"), per_seed(_LR[5e-4], "true_reward_policy"), 0, section="5"),
]  # fmt: skip
