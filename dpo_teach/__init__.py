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

The formulas live twice, with identical names and signatures: :mod:`dpo_teach.numpy_dpo`
and :mod:`dpo_teach.torch_dpo`. Import the one you need; this package import stays cheap
(no torch) so ``import dpo_teach`` is instant.
"""

__version__ = "0.1.0"
