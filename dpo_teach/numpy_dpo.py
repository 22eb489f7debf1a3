r"""The DPO formulas in NumPy (Rafailov et al. 2023, arXiv:2305.18290).

Twin of :mod:`dpo_teach.torch_dpo`: same names, argument order, return order and errors.
Inputs are sequence log-probabilities :math:`\log \pi(y \mid x)` (sums over response tokens, so
<= 0). Naming: the paper says :math:`y_w` / :math:`y_l` (winner / loser); data says
``chosen`` / ``rejected``. Here ``chosen`` = :math:`y_w` and ``rejected`` = :math:`y_l`.

float64 in, float64 out (integers are promoted to float64); every function is stable for any
finite input, including margins of +-1e4 and beyond.
Mixed dtypes: the result has the widest floating dtype among the inputs (Python numbers and
lists count as float64), so float32 with float64 gives float64; the torch twin does the same.
For agreement with ``math`` to ~1e-12, pass float64 (or Python floats).

Inputs are arrays, lists or numbers. ``None``, strings (``"-0.5"`` too: text is never parsed as a
number) and complex values raise ``ValueError`` naming the argument. torch tensors that carry no
gradient are converted (``detach().cpu()``; float tensors keep their dtype, bf16 becomes float32,
which holds it exactly); a tensor that requires grad is refused: use :mod:`dpo_teach.torch_dpo`
for tensors that require grad, since NumPy would cut them off the autograd graph.
"""

from __future__ import annotations

import sys

import numpy as np

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


def _array(name: str, x, expected: str = "real") -> np.ndarray:
    """``x`` as a NumPy array of real numbers (any real dtype), or a ValueError naming ``name``."""
    torch = sys.modules.get("torch")  # a torch tensor can only exist if torch was imported
    if torch is not None and isinstance(x, torch.Tensor):
        _checks.check_tensor_for_numpy(name, x.requires_grad)
        if x.is_complex():
            _checks.check_dtype(name, "c", x.dtype, expected)
        x = x.detach().cpu()
        return (x.float() if x.dtype == torch.bfloat16 else x).numpy()  # NumPy has no bf16
    return _checks.as_numeric_array(name, x, expected)


def _as_float(name: str, x, expected: str = "real") -> np.ndarray:
    """``x`` as a floating array: float arrays keep their dtype, anything else becomes float64."""
    x = _array(name, x, expected)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def _real(name: str, x, expected: str = "real") -> np.ndarray:
    """A real-valued input (no NaN, no inf)."""
    x = _as_float(name, x, expected)
    if x.size and not np.isfinite(x).all():
        _checks.check_finite(name, bool(np.isnan(x).any()), True)
    return x


def _logps(name: str, x) -> np.ndarray:
    """A log-probability input: finite and <= 0."""
    x = _real(name, x, "logps")
    if x.size:
        _checks.check_logps(name, False, False, float(x.max()))
    return x


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # Stable: exp is only ever taken of -|z| <= 0, so it cannot overflow.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _log_sigmoid(z: np.ndarray) -> np.ndarray:
    # Stable: log(sigma(z)) = -log(1 + e^{-z}) = -logaddexp(0, -z). Never log(sigmoid(z)),
    # which is log(0) = -inf once sigma(z) is 0: below z = -709.78 for the naive 1 / (1 + exp(-z))
    # (exp overflows), below z = -745.13 even for a stable sigmoid (float64; notebook 03).
    return -np.logaddexp(0.0, -z)


def sigmoid(z):
    r"""Logistic function :math:`\sigma(z) = 1 / (1 + e^{-z})`, stable for any z.

    NaN is rejected; :math:`\pm\infty` give 1 and 0.
    """
    z = _as_float("z", z)
    if z.size and np.isnan(z).any():
        _checks.check_finite("z", True, False)
    return _sigmoid(z)


def log_sigmoid(z):
    r""":math:`\log \sigma(z) = -\log(1 + e^{-z})`, stable for any z (``-logaddexp(0, -z)``).

    For :math:`z \to -\infty` it is :math:`\approx z`, never ``-inf`` for finite z.
    """
    z = _as_float("z", z)
    if z.size and np.isnan(z).any():
        _checks.check_finite("z", True, False)
    return _log_sigmoid(z)


def implicit_reward(policy_logps, ref_logps, beta):
    r"""Implicit reward of a response, :math:`\hat r_\theta(x, y) = \beta \log
    \frac{\pi_\theta(y \mid x)}{\pi_{\mathrm{ref}}(y \mid x)}` (Sec. 4-5, arXiv:2305.18290).

    The inputs are already logs, so the ratio is a difference: ``beta * (policy_logps -
    ref_logps)``. Shapes must match; returns that shape.
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
    with np.errstate(over="ignore"):  # r1 - r2 beyond float64 is +-inf, and sigma(+-inf) is exact
        return _sigmoid(reward_1 - reward_2)


def _checked(pc, pr, rc, rr, beta):
    """The five arguments of :func:`margin` / :func:`dpo_loss`, checked: four log-prob arrays, beta."""
    names = ("policy_chosen_logps", "policy_rejected_logps", "ref_chosen_logps", "ref_rejected_logps")
    arrays = [_logps(n, x) for n, x in zip(names, (pc, pr, rc, rr))]
    _checks.check_same_shape(dict(zip(names, (a.shape for a in arrays))))
    return (*arrays, _checks.check_beta(beta))


def margin_unchecked(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta):
    """:func:`margin` without input checks: for inner loops whose inputs are already checked."""
    # $\hat r_w - \hat r_l = \beta[(\log\pi_\theta^w - \log\pi_{ref}^w)
    #                     - (\log\pi_\theta^l - \log\pi_{ref}^l)]$
    return beta * ((policy_chosen_logps - ref_chosen_logps) - (policy_rejected_logps - ref_rejected_logps))


def margin(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta):
    r"""The DPO margin, the argument of the sigmoid in Eq. (7) of arXiv:2305.18290:

    .. math:: \hat r_\theta(x, y_w) - \hat r_\theta(x, y_l) = \beta\Big[\big(\log\pi_\theta(y_w \mid x)
        - \log\pi_\mathrm{ref}(y_w \mid x)\big) - \big(\log\pi_\theta(y_l \mid x)
        - \log\pi_\mathrm{ref}(y_l \mid x)\big)\Big]

    Positive when the implicit reward prefers the chosen answer. Same five arguments as
    :func:`dpo_loss`; returns the inputs' shape.
    """
    return margin_unchecked(
        *_checked(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta)
    )


def dpo_loss_unchecked(
    policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta
):
    """:func:`dpo_loss` without input checks: for inner loops whose inputs are already checked."""
    # $\hat r_\theta(x, y_w)$ and $\hat r_\theta(x, y_l)$
    chosen_rewards = beta * (policy_chosen_logps - ref_chosen_logps)
    rejected_rewards = beta * (policy_rejected_logps - ref_rejected_logps)
    m = margin_unchecked(
        policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta
    )
    losses = -_log_sigmoid(m)  # stable: -log sigma(m) = logaddexp(0, -m)
    return losses, chosen_rewards, rejected_rewards


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta):
    r"""Per-example DPO loss, Eq. (7) of arXiv:2305.18290:

    .. math:: \mathcal{L}_\mathrm{DPO} = -\log \sigma\Big(\beta \log
        \frac{\pi_\theta(y_w \mid x)}{\pi_\mathrm{ref}(y_w \mid x)} - \beta \log
        \frac{\pi_\theta(y_l \mid x)}{\pi_\mathrm{ref}(y_l \mid x)}\Big)

    The paper's loss is the mean of ``losses`` over pairs.

    Returns:
        ``(losses, chosen_rewards, rejected_rewards)``, each of the inputs' shape; the rewards
        are :math:`\hat r_\theta(x, y_w)` and :math:`\hat r_\theta(x, y_l)` and include beta.
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
    ``[-beta, 0]`` and ``[0, beta]``.

    Returns:
        ``(grad_policy_chosen_logps, grad_policy_rejected_logps)``.
    """
    pc, pr, rc, rr, beta = _checked(
        policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta
    )
    w = _sigmoid(-margin_unchecked(pc, pr, rc, rr, beta))  # $\sigma(\hat r_l - \hat r_w)$
    return -beta * w, beta * w


def paper_dpo_loss(pi_logps, ref_logps, yw_idxs, yl_idxs, beta):
    r"""Eq. (7) in the shape of the paper's appendix code: one array of sequence log-probs and
    index arrays saying which entries are the preferred (``yw_idxs``) and dispreferred
    (``yl_idxs``) completion of each pair.

    .. math:: \mathcal{L} = -\log\sigma\big(\beta[(\log\pi_\theta^{w} - \log\pi_\theta^{l})
        - (\log\pi_\mathrm{ref}^{w} - \log\pi_\mathrm{ref}^{l})]\big)

    Returns:
        ``(losses, rewards)``: one loss per pair and :math:`\beta(\log\pi_\theta - \log\pi_\mathrm{ref})`
        for every entry of ``pi_logps``.
    """
    pi_logps = _logps("pi_logps", pi_logps)
    _checks.check_completions("pi_logps", pi_logps.shape)
    ref_logps = _logps("ref_logps", ref_logps)
    _checks.check_same_shape({"pi_logps": pi_logps.shape, "ref_logps": ref_logps.shape})
    n = pi_logps.shape[0]
    idxs = []
    for name, idx in (("yw_idxs", yw_idxs), ("yl_idxs", yl_idxs)):
        idx = _array(name, idx, "index")
        if idx.size == 0:  # an empty list reads as float64: no pairs, nothing to check
            idx = np.zeros(idx.shape, np.intp)
        _checks.check_index_dtype(name, idx.dtype.kind, idx.dtype)
        lo, hi = (int(idx.min()), int(idx.max())) if idx.size else (0, 0)
        _checks.check_indices(name, idx.shape, True, lo, hi, n)
        idxs.append(idx.astype(np.intp))
    yw_idxs, yl_idxs = idxs
    _checks.check_same_shape({"yw_idxs": yw_idxs.shape, "yl_idxs": yl_idxs.shape})
    beta = _checks.check_beta(beta)

    pi_logratios = pi_logps[yw_idxs] - pi_logps[yl_idxs]
    ref_logratios = ref_logps[yw_idxs] - ref_logps[yl_idxs]
    losses = -_log_sigmoid(beta * (pi_logratios - ref_logratios))
    rewards = beta * (pi_logps - ref_logps)
    return losses, rewards
