r"""dpo_teach: Direct Preference Optimization (Rafailov et al. 2023, arXiv:2305.18290), taught
with an exact, tested library.

Glossary: paper symbol -> name in the code

=========================================  ==========================================
:math:`\beta`                              ``beta`` (KL strength; larger = closer to pi_ref)
:math:`\pi_\theta`                         the policy being trained (``policy_*``)
:math:`\pi_\mathrm{ref}`                   the frozen reference / SFT model (``ref_*``)
:math:`y_w`, :math:`y_l`                   preferred / dispreferred response (``chosen`` / ``rejected``)
:math:`\log\pi(y \mid x)`                  ``*_logps``: sum of the response tokens' log-probs
:math:`\hat r_\theta(x, y)`                ``implicit_reward`` = beta * (log pi_theta - log pi_ref)
:math:`\hat r_w - \hat r_l`                ``margin``
:math:`\sigma(\hat r_l - \hat r_w)`        the gradient weight ``w`` (``dpo_loss_grad``)
:math:`p(y_1 \succ y_2)`                   ``bt_probability`` (Bradley-Terry, Eq. 1)
:math:`\mathcal{L}_\mathrm{DPO}`           ``dpo_loss`` (Eq. 7)
:math:`\pi^*`                              ``bandit.optimal_policy`` (Eq. 4)
=========================================  ==========================================

The course as folders: part 1, the formulas, twice (:mod:`dpo_teach.numpy_dpo` and
:mod:`dpo_teach.torch_dpo`, same names and signatures); part 2, the exact tabular world
(:mod:`dpo_teach.bandit`); part 3, DPO on a small GPT-2 (:mod:`dpo_teach.gpt2`, files in
pipeline order); part 4, the exercises (:mod:`dpo_teach.exercises`).

``import dpo_teach`` is instant (no torch); each part loads on first use, so
``dpo_teach.torch_dpo.dpo_loss(...)`` works after a bare ``import dpo_teach``.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = frozenset({
    "numpy_dpo", "torch_dpo", "numpy_variants", "torch_variants", "bandit", "gpt2", "exercises",
    "worked_example", "runtime", "plotting", "finetune", "doctor", "callbacks",
})  # fmt: skip


def __getattr__(name: str):
    """Load a submodule on first attribute access (PEP 562)."""
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'dpo_teach' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES)
