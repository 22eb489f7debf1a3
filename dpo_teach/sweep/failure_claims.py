r"""The GPT-2 orderings notebook 07 states, each a :class:`~.claims.Claim` on a committed record.

Each ``text`` is the notebook's statement, ``section`` its section, ``direction`` what the paired
95 % interval over seeds supports (+1 / -1 resolved, 0 "not resolved at 5 seeds"). The notebook
calls ``claims.check("07", section)``; tests/sweep/test_tuning_claims.py checks every one.
"""

from __future__ import annotations

from .claims import Claim, per_seed
from .distribution import runs_of
from .report import selection_rules, stopping_rules
from .tuning import ACCURACY, candidates, kl_budget, pick, picked_values

__all__ = ["CLAIMS"]


def _rule(rule: str, key: str = "true_reward"):
    """``record -> {seed: value}`` of a selection rule over the beta x lr grid
    (:func:`.report.selection_rules`)."""
    return lambda record: selection_rules(record, budgets=(1.0, 2.0))[rule][key]


CLAIMS: list[Claim] = [
    # --- section 7: which beta and learning rate (results/beta_lr.json) ---
    Claim("07", "a 1-nat KL budget costs true reward against a 2-nat one", "beta_lr",
          _rule("accuracy, KL <= 1"), _rule("accuracy, KL <= 2"), -1, "7"),
    Claim("07", "the 1-nat budget's pick falls short of the oracle's", "beta_lr",
          _rule("accuracy, KL <= 1", "regret"), None, 1, "7"),
    Claim("07", "the 2-nat budget's shortfall against the oracle", "beta_lr",
          _rule("accuracy, KL <= 2", "regret"), None, 0, "7"),
    Claim("07", "the KL budget against held-out accuracy alone, in mean true reward", "beta_lr",
          _rule("accuracy, KL <= 2"), _rule("held-out accuracy"), 0, "7"),
]  # fmt: skip


def _stop(setting: dict, rule: str, metric: str = "true_reward_policy"):
    """``record -> {seed: metric}`` at the checkpoint a stopping rule keeps
    (:func:`.report.stopping_rules`)."""
    return lambda record: {s: c[metric] for s, c in stopping_rules(record, setting)[rule].items()}


def _lowest_valid(setting: dict):
    """``record -> {seed: lowest share of valid samples over the run's checkpoints}`` (a collapse on
    the way)."""
    return lambda record: {s: min(c["valid_rate_policy"] for c in m["checkpoints"])
                           for s, m in runs_of(record, setting).items()}  # fmt: skip


def _noise(rate: float, loss: str = "sigmoid", assumed: float | None = None, metric="true_reward_policy"):
    setting = {"flip_rate": rate, "loss_type": loss}
    if assumed is not None:
        setting["label_smoothing"] = assumed
    return per_seed(setting, metric)


LOW, HIGH = {"beta": 0.25, "learning_rate": 1.25e-4}, {"beta": 0.25, "learning_rate": 5e-4}
RECIPE = {"beta": 2.0, "learning_rate": 5e-4}
TRUE, BIASED = {"labels": "true", "loss_type": "sigmoid"}, {"loss_type": "sigmoid"}
OFFLINE, ONLINE = {"mode": "offline"}, {"mode": "online", "rounds": 3}

CLAIMS += [
    # --- section 6: noisy labels (results/noise.json) ---
    *[Claim("07", f"cDPO assuming {e:g} loses true reward against DPO, {r:.0%} flipped", "noise",
            _noise(r, "cdpo", e), _noise(r), -1, "6") for r in (0.0, 0.2) for e in (0.1, 0.2, 0.3)],
    Claim("07", "20 % flipped labels cost DPO true reward", "noise", _noise(0.2), _noise(0.0), -1, "6"),
    Claim("07", "robust DPO at the right rate (0.2 on 20 % flips) against DPO, true reward", "noise",
          _noise(0.2, "robust", 0.2), _noise(0.2), 0, "6"),
    Claim("07", "robust DPO at the right rate keeps fewer samples valid than DPO", "noise",
          _noise(0.2, "robust", 0.2, "valid_rate_policy"), _noise(0.2, metric="valid_rate_policy"), -1, "6"),
    Claim("07", "robust DPO at the right rate stays below DPO on clean labels", "noise",
          _noise(0.2, "robust", 0.2), _noise(0.0), -1, "6"),
    Claim("07", "robust DPO assuming 0.2 on clean labels loses true reward against DPO", "noise",
          _noise(0.0, "robust", 0.2), _noise(0.0), -1, "6"),
    *[Claim("07", f"robust DPO assuming {e:g} on clean labels keeps fewer samples valid than DPO", "noise",
            _noise(0.0, "robust", e, "valid_rate_policy"), _noise(0.0, metric="valid_rate_policy"), -1, "6")
      for e in (0.1, 0.2)],
    Claim("07", "robust DPO assuming 0.1 on clean labels drifts further (KL) than DPO", "noise",
          _noise(0.0, "robust", 0.1, "kl_to_reference"), _noise(0.0, metric="kl_to_reference"), 1, "6"),
]  # fmt: skip

CLAIMS += [
    # --- section 5: online against offline DPO (results/online.json) ---
    Claim("07", "online DPO (3 rounds) against offline DPO, true reward", "online",
          per_seed(ONLINE, "true_reward_policy"), per_seed(OFFLINE, "true_reward_policy"), 0, "5"),
    Claim("07", "online DPO (3 rounds) against offline DPO, win rate", "online",
          per_seed(ONLINE, "win_rate_vs_reference"), per_seed(OFFLINE, "win_rate_vs_reference"), 0, "5"),
]  # fmt: skip

CLAIMS += [
    # --- section 2: over-optimisation and stopping rules (results/overopt.json) ---
    Claim("07", "beta 0.25, lr 5e-4: the held-out-accuracy checkpoint falls short of the oracle's", "overopt",
          _stop(HIGH, "held-out accuracy"), _stop(HIGH, "true reward (oracle)"), -1, "2"),
    Claim("07", "beta 0.25, lr 5e-4: the last checkpoint falls short of the oracle's", "overopt",
          _stop(HIGH, "last step"), _stop(HIGH, "true reward (oracle)"), -1, "2"),
    Claim("07", "beta 0.25, lr 5e-4: the eval_loss checkpoint against the oracle's", "overopt",
          _stop(HIGH, "held-out eval_loss"), _stop(HIGH, "true reward (oracle)"), 0, "2"),
    Claim("07", "beta 0.25, lr 5e-4: stopping on eval_loss against stopping on held-out accuracy", "overopt",
          _stop(HIGH, "held-out eval_loss"), _stop(HIGH, "held-out accuracy"), 0, "2"),
    Claim("07", "beta 0.25, lr 1.25e-4: the last checkpoint falls short of the oracle's", "overopt",
          _stop(LOW, "last step"), _stop(LOW, "true reward (oracle)"), -1, "2"),
    Claim("07", "beta 0.25, lr 1.25e-4: the eval_loss checkpoint falls short of the oracle's", "overopt",
          _stop(LOW, "held-out eval_loss"), _stop(LOW, "true reward (oracle)"), -1, "2"),
    Claim("07", "beta 0.25: lr 1.25e-4 against 5e-4, lowest validity along the run", "overopt",
          _lowest_valid(LOW), _lowest_valid(HIGH), 0, "2"),
]  # fmt: skip


def _simpo_picked(metric: str = "true_reward_policy"):
    """``record -> {seed: metric}`` of SimPO at the (beta, learning rate) held-out accuracy picks per seed
    within a 2-nat KL budget, the rule of section 7 (:mod:`.tuning`)."""
    def values(record):
        cands = candidates(record, lambda s: (s["beta"], s.get("learning_rate", 5e-4))
                           if s["loss_type"] == "simpo" else None)  # fmt: skip
        return picked_values(cands, pick(cands, ACCURACY, kl_budget(2.0)), metric)

    return values


RDPO = {a: {"loss_type": "sigmoid", "rdpo_alpha": a} for a in (0.5, 1.0)}
LD, NORM = {"loss_type": "sigmoid", "ld_alpha": 0.5}, {"loss_type": "sigmoid_norm"}
CLAIMS += [
    # --- section 4: length (results/length.json) ---
    Claim("07", "biased labels make DPO write longer samples than true labels", "length",
          per_seed(BIASED, "words_policy"), per_seed(TRUE, "words_policy"), 1, "4"),
    Claim("07", "biased labels cost DPO true reward", "length",
          per_seed(BIASED, "true_reward_policy"), per_seed(TRUE, "true_reward_policy"), -1, "4"),
    *[Claim("07", f"R-DPO alpha {a:g} writes shorter samples than DPO on biased labels", "length",
            per_seed(RDPO[a], "words_policy"), per_seed(BIASED, "words_policy"), -1, "4")
      for a in (0.5, 1.0)],
    Claim("07", "R-DPO alpha 1 against DPO on biased labels, true reward", "length",
          per_seed(RDPO[1.0], "true_reward_policy"), per_seed(BIASED, "true_reward_policy"), 0, "4"),
    Claim("07", "R-DPO alpha 1 still writes longer samples than DPO on true labels", "length",
          per_seed(RDPO[1.0], "words_policy"), per_seed(TRUE, "words_policy"), 1, "4"),
    *[Claim("07", f"{name} on biased labels stays below DPO on true labels, true reward", "length",
            per_seed(s, "true_reward_policy"), per_seed(TRUE, "true_reward_policy"), -1, "4")
      for name, s in (("R-DPO alpha 1", RDPO[1.0]), ("LD-DPO alpha 0.5", LD), ("sigmoid_norm", NORM))],
    *[Claim("07", f"{name} against DPO on biased labels, length", "length",
            per_seed(s, "words_policy"), per_seed(BIASED, "words_policy"), 0, "4")
      for name, s in (("LD-DPO alpha 0.5", LD), ("sigmoid_norm", NORM))],
    Claim("07", "SimPO, tuned on held-out data, loses true reward against DPO on biased labels", "length",
          _simpo_picked(), per_seed(BIASED, "true_reward_policy"), -1, "4"),
]  # fmt: skip

_MOVED = {name: {"loss_type": loss, "beta": beta} for name, loss, beta in
          (("2", "sigmoid", 2.0), ("0.5", "sigmoid", 0.5), ("0.25", "sigmoid", 0.25),
           ("rpo", "rpo", 0.25), ("dpop", "dpop", 0.25))}  # fmt: skip


def _moved(name: str, metric: str):
    return per_seed(_MOVED[name], metric)


CLAIMS += [
    # --- section 1: likelihood displacement (results/displacement.json) ---
    Claim("07", "beta 0.5: the held-out chosen log-prob falls on average", "displacement",
          _moved("0.5", "chosen_logp_change"), None, -1, "1"),
    Claim("07", "beta 0.5: the true reward rises above the reference's", "displacement",
          _moved("0.5", "true_reward_policy"), _moved("0.5", "true_reward_reference"), 1, "1"),
    Claim("07", "beta 0.25 keeps fewer samples valid than beta 0.5", "displacement",
          _moved("0.25", "valid_rate_policy"), _moved("0.5", "valid_rate_policy"), -1, "1"),
    Claim("07", "beta 0.25 loses true reward against beta 0.5", "displacement",
          _moved("0.25", "true_reward_policy"), _moved("0.5", "true_reward_policy"), -1, "1"),
    Claim("07", "beta 0.25: the top chosen answers end lower than at beta 0.5", "displacement",
          _moved("0.25", "top_chosen_logp_change"), _moved("0.5", "top_chosen_logp_change"), -1, "1"),
    Claim("07", "beta 0.25 against beta 0.5, share of top chosen answers losing mass", "displacement",
          _moved("0.25", "top_chosen_fell"), _moved("0.5", "top_chosen_fell"), 0, "1"),
    Claim("07", "beta 0.25: more top chosen answers lose mass than at beta 2", "displacement",
          _moved("0.25", "top_chosen_fell"), _moved("2", "top_chosen_fell"), 1, "1"),
    # the appendix: RPO and DPOP at the harmful beta 0.25
    Claim("07", "RPO at beta 0.25 keeps more samples valid than DPO", "displacement",
          _moved("rpo", "valid_rate_policy"), _moved("0.25", "valid_rate_policy"), 1, "A1"),
    Claim("07", "RPO at beta 0.25 gains true reward against DPO", "displacement",
          _moved("rpo", "true_reward_policy"), _moved("0.25", "true_reward_policy"), 1, "A1"),
    Claim("07", "RPO at beta 0.25 keeps the top chosen answers above DPO's", "displacement",
          _moved("rpo", "top_chosen_logp_change"), _moved("0.25", "top_chosen_logp_change"), 1, "A1"),
    Claim("07", "DPOP at beta 0.25 moves less than DPO (KL)", "displacement",
          _moved("dpop", "kl_to_reference"), _moved("0.25", "kl_to_reference"), -1, "A1"),
    Claim("07", "DPOP gains less true reward than RPO", "displacement",
          _moved("dpop", "true_reward_policy"), _moved("rpo", "true_reward_policy"), -1, "A1"),
    Claim("07", "DPOP leaves more valid-but-worse samples than RPO", "displacement",
          _moved("dpop", "valid_but_worse"), _moved("rpo", "valid_but_worse"), 1, "A1"),
    Claim("07", "DPOP: valid samples worse against better than the reference's", "displacement",
          _moved("dpop", "valid_but_worse"), _moved("dpop", "valid_but_better"), 0, "A1"),
]  # fmt: skip


def _memorised(index: int, metric: str = "true_reward_policy"):
    """``record -> {seed: metric}`` at checkpoint ``index`` of the 64-pair run (0: the reference)."""
    return lambda record: {s: m["checkpoints"][index][metric]
                           for s, m in runs_of(record, {"n_pairs": 64}).items()}  # fmt: skip


CLAIMS += [
    # --- section 3: 64 pairs seen many times (results/memorise.json) ---
    Claim("07", "64 memorised pairs: the true reward ends below the reference's", "memorise",
          _memorised(-1), _memorised(0), -1, "3"),
    Claim("07", "64 memorised pairs: the samples end less valid than the reference's", "memorise",
          _memorised(-1, "valid_rate_policy"), _memorised(0, "valid_rate_policy"), -1, "3"),
]  # fmt: skip
