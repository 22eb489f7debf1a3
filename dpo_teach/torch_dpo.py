r"""The DPO formulas in torch (Rafailov et al. 2023, arXiv:2305.18290).

Twin of :mod:`dpo_teach.numpy_dpo`: same names, argument order, return order and errors, and
differentiable with autograd. Inputs are sequence log-probabilities :math:`\log \pi(y \mid x)`
(sums over response tokens, so <= 0); ``chosen`` = :math:`y_w`, ``rejected`` = :math:`y_l`.

Tensors keep their floating dtype; Python numbers, lists, NumPy arrays and integer tensors
become float64. Mixed dtypes: the result has the widest floating dtype among the inputs
(float32 with float64 gives float64), as in the NumPy twin. ``None``, strings (``"-0.5"``
too: text is never parsed as a number) and complex values raise ``ValueError`` naming the
argument, with the NumPy twin's wording.
Rewards are returned detached: they are for logging, the gradient flows through the loss.
The checks cost a device sync each; the GPT-2 trainer's hot loop calls the unchecked
:func:`dpo_loss_unchecked`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import _checks

__all__ = [
    "sigmoid",
    "log_sigmoid",
    "implicit_reward",
    "bt_probability",
    "margin",
    "dpo_loss",
    "dpo_loss_grad",
    "paper_dpo_loss",
    "margin_unchecked",
    "dpo_loss_unchecked",
]


def _kind(x: torch.Tensor) -> str:
    """NumPy's dtype kind letter for a tensor's dtype (the shared checks speak NumPy's kinds)."""
    if x.is_complex():
        return "c"
    if x.is_floating_point():
        return "f"
    return "b" if x.dtype == torch.bool else "i"


def _tensor(name: str, x, expected: str = "real") -> torch.Tensor:
    """``x`` as a tensor of real numbers (any real dtype), or a ValueError naming ``name``.

    Non-tensors go through NumPy, so both twins reject the same inputs with the same words.
    """
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(_checks.as_numeric_array(name, x, expected))
    _checks.check_dtype(name, _kind(x), x.dtype, expected)
    return x


def _as_float(name: str, x, expected: str = "real") -> torch.Tensor:
    """``x`` as a floating tensor: float tensors keep their dtype, anything else becomes float64."""
    if not isinstance(x, torch.Tensor):
        arr = _checks.as_numeric_array(name, x, expected)
        return torch.as_tensor(arr, dtype=torch.float64)
    _checks.check_dtype(name, _kind(x), x.dtype, expected)
    return x if x.is_floating_point() else x.to(torch.float64)


def _real(name: str, x, expected: str = "real") -> torch.Tensor:
    """A real-valued input (no NaN, no inf)."""
    x = _as_float(name, x, expected)
    if x.numel() and not bool(torch.isfinite(x).all()):
        _checks.check_finite(name, bool(torch.isnan(x).any()), True)
    return x


def _logps(name: str, x) -> torch.Tensor:
    """A log-probability input: finite and <= 0."""
    x = _real(name, x, "logps")
    if x.numel():
        _checks.check_logps(name, False, False, float(x.detach().max()))
    return x


def sigmoid(z):
    r"""Logistic function :math:`\sigma(z) = 1 / (1 + e^{-z})`, stable for any z.

    NaN is rejected; :math:`\pm\infty` give 1 and 0.
    """
    z = _as_float("z", z)
    if z.numel() and bool(torch.isnan(z).any()):
        _checks.check_finite("z", True, False)
    # torch's kernel never overflows or gives NaN, but it returns exactly 0 below z = -709.78 in
    # float64 (-88.72 in float32): take logs with log_sigmoid, never log(sigmoid(z))
    return torch.sigmoid(z)


def log_sigmoid(z):
    r""":math:`\log \sigma(z) = -\log(1 + e^{-z})`, stable for any z (``F.logsigmoid``).

    For :math:`z \to -\infty` it is :math:`\approx z`, never ``-inf`` for finite z.
    """
    z = _as_float("z", z)
    if z.numel() and bool(torch.isnan(z).any()):
        _checks.check_finite("z", True, False)
    # Never torch.log(torch.sigmoid(z)): sigma underflows to 0 and log(0) = -inf.
    return F.logsigmoid(z)


def implicit_reward(policy_logps, ref_logps, beta):
    r"""Implicit reward of a response, :math:`\hat r_\theta(x, y) = \beta \log
    \frac{\pi_\theta(y \mid x)}{\pi_{\mathrm{ref}}(y \mid x)}` (Sec. 4-5, arXiv:2305.18290).

    The inputs are already logs, so the ratio is a difference: ``beta * (policy_logps -
    ref_logps)``. Shapes must match; returns that shape (differentiable, not detached).
    """
    policy_logps = _logps("policy_logps", policy_logps)
    ref_logps = _logps("ref_logps", ref_logps)
    _checks.check_same_shape({"policy_logps": policy_logps.shape, "ref_logps": ref_logps.shape})
    beta = _checks.check_beta(beta)
    return beta * (policy_logps - ref_logps)


def bt_probability(reward_1, reward_2):
    r"""Bradley-Terry preference probability, Eq. (1) of arXiv:2305.18290:

    .. math:: p(y_1 \succ y_2 \mid x) = \frac{e^{r_1}}{e^{r_1} + e^{r_2}} = \sigma(r_1 - r_2).
    """
    reward_1 = _real("reward_1", reward_1)
    reward_2 = _real("reward_2", reward_2)
    _checks.check_same_shape({"reward_1": reward_1.shape, "reward_2": reward_2.shape})
    return torch.sigmoid(reward_1 - reward_2)


def _checked(pc, pr, rc, rr, beta):
    """The five arguments of :func:`margin` / :func:`dpo_loss`, checked: four log-prob tensors, beta."""
    names = ("policy_chosen_logps", "policy_rejected_logps", "ref_chosen_logps", "ref_rejected_logps")
    tensors = [_logps(n, x) for n, x in zip(names, (pc, pr, rc, rr))]
    _checks.check_same_shape(dict(zip(names, (t.shape for t in tensors))))
    return (*tensors, _checks.check_beta(beta))


def margin_unchecked(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta):
    """:func:`margin` without input checks (no host syncs): for a training loop's hot path."""
    # $\hat r_w - \hat r_l = \beta[(\log\pi_\theta^w - \log\pi_{ref}^w)
    #                     - (\log\pi_\theta^l - \log\pi_{ref}^l)]$
    return beta * ((policy_chosen_logps - ref_chosen_logps) - (policy_rejected_logps - ref_rejected_logps))


def margin(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta):
    r"""The DPO margin, the argument of the sigmoid in Eq. (7) of arXiv:2305.18290:

    .. math:: \hat r_\theta(x, y_w) - \hat r_\theta(x, y_l) = \beta\Big[\big(\log\pi_\theta(y_w \mid x)
        - \log\pi_\mathrm{ref}(y_w \mid x)\big) - \big(\log\pi_\theta(y_l \mid x)
        - \log\pi_\mathrm{ref}(y_l \mid x)\big)\Big]

    Positive when the implicit reward prefers the chosen answer. Same five arguments as
    :func:`dpo_loss`; returns the inputs' shape (differentiable, not detached).
    """
    return margin_unchecked(
        *_checked(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta)
    )


def dpo_loss_unchecked(
    policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta
):
    """:func:`dpo_loss` without input checks (no host syncs): for a training loop's hot path."""
    # $\hat r_\theta(x, y_w)$, $\hat r_\theta(x, y_l)$: logged only, so detached
    chosen_rewards = (beta * (policy_chosen_logps - ref_chosen_logps)).detach()
    rejected_rewards = (beta * (policy_rejected_logps - ref_rejected_logps)).detach()
    m = margin_unchecked(
        policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta
    )
    losses = -F.logsigmoid(m)  # stable form of -log(sigmoid(m))
    return losses, chosen_rewards, rejected_rewards


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta):
    r"""Per-example DPO loss, Eq. (7) of arXiv:2305.18290:

    .. math:: \mathcal{L}_\mathrm{DPO} = -\log \sigma\Big(\beta \log
        \frac{\pi_\theta(y_w \mid x)}{\pi_\mathrm{ref}(y_w \mid x)} - \beta \log
        \frac{\pi_\theta(y_l \mid x)}{\pi_\mathrm{ref}(y_l \mid x)}\Big)

    The paper's loss is ``losses.mean()``; gradients flow to the policy log-probs.

    Returns:
        ``(losses, chosen_rewards, rejected_rewards)``, each of the inputs' shape; the rewards
        are :math:`\hat r_\theta(x, y_w)` and :math:`\hat r_\theta(x, y_l)`, include beta and
        are detached.
    """
    return dpo_loss_unchecked(
        *_checked(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta)
    )


def dpo_loss_grad(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta):
    r"""Analytic gradient of the per-example loss with respect to the two policy log-probs
    (Sec. 4, "What does the DPO update do?", arXiv:2305.18290):

    .. math:: \frac{\partial \mathcal{L}}{\partial \log\pi_\theta(y_w \mid x)} = -\beta\, w, \qquad
        \frac{\partial \mathcal{L}}{\partial \log\pi_\theta(y_l \mid x)} = +\beta\, w, \qquad
        w = \sigma\big(\hat r_\theta(x, y_l) - \hat r_\theta(x, y_w)\big)

    ``w`` is large when the implicit reward orders the pair wrongly. Each entry lies in
    ``[-beta, 0]`` and ``[0, beta]``. Computed in closed form (no autograd), detached.

    Returns:
        ``(grad_policy_chosen_logps, grad_policy_rejected_logps)``.
    """
    pc, pr, rc, rr, beta = _checked(
        policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta
    )
    w = torch.sigmoid(-margin_unchecked(pc, pr, rc, rr, beta).detach())  # $\sigma(\hat r_l - \hat r_w)$
    return -beta * w, beta * w


def paper_dpo_loss(pi_logps, ref_logps, yw_idxs, yl_idxs, beta):
    r"""Eq. (7) in the shape of the paper's appendix code: one tensor of sequence log-probs and
    index tensors saying which entries are the preferred (``yw_idxs``) and dispreferred
    (``yl_idxs``) completion of each pair.

    .. math:: \mathcal{L} = -\log\sigma\big(\beta[(\log\pi_\theta^{w} - \log\pi_\theta^{l})
        - (\log\pi_\mathrm{ref}^{w} - \log\pi_\mathrm{ref}^{l})]\big)

    Returns:
        ``(losses, rewards)``: one loss per pair and the detached
        :math:`\beta(\log\pi_\theta - \log\pi_\mathrm{ref})` for every entry of ``pi_logps``.
    """
    pi_logps = _logps("pi_logps", pi_logps)
    _checks.check_completions("pi_logps", tuple(pi_logps.shape))
    ref_logps = _logps("ref_logps", ref_logps)
    _checks.check_same_shape({"pi_logps": pi_logps.shape, "ref_logps": ref_logps.shape})
    n = pi_logps.shape[0]
    idxs = []
    for name, idx in (("yw_idxs", yw_idxs), ("yl_idxs", yl_idxs)):
        idx = _tensor(name, idx, "index")
        if idx.numel() == 0:  # an empty list reads as float64: no pairs, nothing to check
            idx = idx.long()
        _checks.check_index_dtype(name, _kind(idx), idx.dtype)
        lo, hi = (int(idx.min()), int(idx.max())) if idx.numel() else (0, 0)
        _checks.check_indices(name, tuple(idx.shape), True, lo, hi, n)
        # int64 always: torch reads a uint8 (or bool) index tensor as a mask, not as indices
        idxs.append(idx.long())
    yw_idxs, yl_idxs = idxs
    _checks.check_same_shape({"yw_idxs": yw_idxs.shape, "yl_idxs": yl_idxs.shape})
    beta = _checks.check_beta(beta)

    pi_logratios = pi_logps[yw_idxs] - pi_logps[yl_idxs]
    ref_logratios = ref_logps[yw_idxs] - ref_logps[yl_idxs]
    losses = -F.logsigmoid(beta * (pi_logratios - ref_logratios))
    rewards = (beta * (pi_logps - ref_logps)).detach()
    return losses, rewards
