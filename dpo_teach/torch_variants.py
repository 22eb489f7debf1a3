r"""The DPO family in torch: IPO, cDPO, robust DPO, hinge, NCA, BCO, APO, length-normalised DPO,
DPOP, RPO, SimPO and ORPO (formulas and conventions: docs/family.md); and R-DPO, the trainer's
length option (``rdpo_loss``, not in :data:`LOSSES`).

Twin of :mod:`dpo_teach.numpy_variants`: same names, argument order, return order and errors;
differentiable with autograd in the policy log-probs, rewards detached (they are for logging).
Notation, per example: ``pc, pr`` policy and ``rc, rr`` reference sequence log-probs (summed over
completion tokens, <= 0) of the chosen (:math:`y_w`) and rejected (:math:`y_l`) answer;
:math:`r_w = pc - rc`, :math:`r_l = pr - rr` (no beta), :math:`h = r_w - r_l`; ``|y|`` the
completion token counts and :math:`a = \log\pi / |y|` mean token log-probs. Every function returns
``(losses, chosen_rewards, rejected_rewards)``, per example; :data:`LOSSES` maps each name
(TRL's ``loss_type`` where TRL has one) to its function. Stable for any finite input: every
log-sigmoid goes through :func:`dpo_teach.torch_dpo.log_sigmoid` (never ``log(sigmoid(.))``).
"""

from __future__ import annotations

import inspect

import torch

from . import _checks
from . import torch_dpo as core

__all__ = [
    "ipo_loss", "cdpo_loss", "robust_dpo_loss", "hinge_loss", "nca_loss", "bco_pair_loss",
    "apo_zero_loss", "apo_down_loss", "length_normalized_dpo_loss", "dpop_loss", "rpo_loss",
    "simpo_loss", "orpo_loss", "rdpo_loss", "LOSSES", "gradient_weights",
]  # fmt: skip

ls, s = core.log_sigmoid, core.sigmoid
_POLICY = ("policy_chosen_logps", "policy_rejected_logps")
_REF = ("ref_chosen_logps", "ref_rejected_logps")
_LENGTHS = ("chosen_lengths", "rejected_lengths")


def _logps(names, values):
    arrays = [_checks.read_array(n, x, "logps", torch) for n, x in zip(names, values)]
    _checks.check_same_shape({n: a.shape for n, a in zip(names, arrays)})
    return arrays


def _lengths(names, values, shape):
    out = []
    for name, x in zip(names, values):
        x = _checks.read_array(name, x, "lengths", torch)
        _checks.check_same_shape({_POLICY[0]: shape, name: x.shape})
        if x.numel():
            _checks.check_lengths(name, float(x.min().item()), bool((x == torch.round(x)).all()))
        out.append(x)
    return out


def _pair(pc, pr, rc, rr, beta):
    """Checked log-ratios ``r_w, r_l`` and beta of the four-log-prob members."""
    pc, pr, rc, rr = _logps(_POLICY + _REF, (pc, pr, rc, rr))
    return pc, pc - rc, pr - rr, _checks.check_beta(beta)


def _out(losses, scale, chosen, rejected):
    return losses, (scale * chosen).detach(), (scale * rejected).detach()


def ipo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta,
             chosen_lengths=None, rejected_lengths=None):  # fmt: skip
    r"""IPO, Eq. 17 of arXiv:2310.12036 (the paper's :math:`\tau` is ``beta``):
    :math:`\mathcal{L} = \big(d - \frac{1}{2\beta}\big)^2`.

    Convention trap: without lengths :math:`d = h`, summed log-ratios (the paper and its reference
    code); with both lengths :math:`d = r_w/|y_w| - r_l/|y_l|`, TRL's length-normalised ``ipo``.
    Same name, different loss: a beta tuned for one is wrong for the other.
    """
    pc, r_w, r_l, beta = _pair(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
                               ref_rejected_logps, beta)  # fmt: skip
    _checks.check_both_lengths(chosen_lengths is not None, rejected_lengths is not None)
    d = r_w - r_l
    if chosen_lengths is not None:
        n_w, n_l = _lengths(_LENGTHS, (chosen_lengths, rejected_lengths), pc.shape)
        d = r_w / n_w - r_l / n_l
    return _out((d - 1.0 / (2.0 * beta)) ** 2, beta, r_w, r_l)


def cdpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta,
              label_smoothing):  # fmt: skip
    r"""Conservative DPO (Mitchell 2023 note; the DPO reference code): each label is flipped with
    probability :math:`\epsilon` = ``label_smoothing``, :math:`0 \le \epsilon \le 0.5`:
    :math:`\mathcal{L} = -(1-\epsilon)\log\sigma(\beta h) - \epsilon\log\sigma(-\beta h)`."""
    _, r_w, r_l, beta = _pair(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
                              ref_rejected_logps, beta)  # fmt: skip
    e = _checks.check_hyper("label_smoothing", label_smoothing, 0.0, 0.5, why=_checks.FLIP_WHY)
    m = beta * (r_w - r_l)
    return _out(-(1 - e) * ls(m) - e * ls(-m), beta, r_w, r_l)


def robust_dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
                    beta, label_smoothing):  # fmt: skip
    r"""Robust DPO, arXiv:2403.00409 (unbiased under label-flip rate
    :math:`0 \le \epsilon < 0.5`):
    :math:`\mathcal{L} = \frac{-(1-\epsilon)\log\sigma(\beta h) + \epsilon\log\sigma(-\beta h)}{1-2\epsilon}`.
    """
    _, r_w, r_l, beta = _pair(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
                              ref_rejected_logps, beta)  # fmt: skip
    e = _checks.check_hyper("label_smoothing", label_smoothing, 0.0, 0.5, True, _checks.ROBUST_WHY)
    m = beta * (r_w - r_l)
    return _out((-(1 - e) * ls(m) + e * ls(-m)) / (1 - 2 * e), beta, r_w, r_l)


def hinge_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta):
    r"""Hinge loss of SLiC / RSO, arXiv:2309.06657: :math:`\mathcal{L} = \max(0, 1 - \beta h)`."""
    _, r_w, r_l, beta = _pair(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
                              ref_rejected_logps, beta)  # fmt: skip
    return _out(torch.clamp(1.0 - beta * (r_w - r_l), min=0.0), beta, r_w, r_l)


def nca_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta):
    r"""NCA, pairwise form (TRL ``nca_pair``), arXiv:2402.05369: :math:`\mathcal{L} =
    -\log\sigma(\beta r_w) - \tfrac12\log\sigma(-\beta r_w) - \tfrac12\log\sigma(-\beta r_l)`."""
    _, r_w, r_l, beta = _pair(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
                              ref_rejected_logps, beta)  # fmt: skip
    return _out(-ls(beta * r_w) - 0.5 * ls(-beta * r_w) - 0.5 * ls(-beta * r_l), beta, r_w, r_l)


def bco_pair_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta):
    r"""BCO on pairs, arXiv:2404.04656, without the running-mean shift (as TRL 1.x):
    :math:`\mathcal{L} = -\log\sigma(\beta r_w) - \log\sigma(-\beta r_l)`."""
    _, r_w, r_l, beta = _pair(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
                              ref_rejected_logps, beta)  # fmt: skip
    return _out(-ls(beta * r_w) - ls(-beta * r_l), beta, r_w, r_l)


def apo_zero_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta):
    r"""APO-zero, Eq. 7 of arXiv:2408.06266:
    :math:`\mathcal{L} = 1 - \sigma(\beta r_w) + \sigma(\beta r_l)`."""
    _, r_w, r_l, beta = _pair(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
                              ref_rejected_logps, beta)  # fmt: skip
    return _out(1.0 - s(beta * r_w) + s(beta * r_l), beta, r_w, r_l)


def apo_down_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta):
    r"""APO-down, Eq. 8 of arXiv:2408.06266: :math:`\mathcal{L} = \sigma(\beta r_w) + 1 - \sigma(\beta h)`."""
    _, r_w, r_l, beta = _pair(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
                              ref_rejected_logps, beta)  # fmt: skip
    return _out(s(beta * r_w) + 1.0 - s(beta * (r_w - r_l)), beta, r_w, r_l)


def length_normalized_dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
                               ref_rejected_logps, chosen_lengths, rejected_lengths, beta):  # fmt: skip
    r"""Length-normalised DPO (Tulu 3, arXiv:2411.15124; TRL ``sigmoid_norm``):
    :math:`\mathcal{L} = -\log\sigma\big(\beta(r_w/|y_w| - r_l/|y_l|)\big)`."""
    pc, r_w, r_l, beta = _pair(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
                               ref_rejected_logps, beta)  # fmt: skip
    n_w, n_l = _lengths(_LENGTHS, (chosen_lengths, rejected_lengths), pc.shape)
    return _out(-ls(beta * (r_w / n_w - r_l / n_l)), beta, r_w, r_l)


def dpop_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta,
              lambda_):  # fmt: skip
    r"""DPO-Positive (Smaug), arXiv:2402.13228, penalising a chosen log-prob below the reference:
    :math:`\mathcal{L} = -\log\sigma\big(\beta(h - \lambda\max(0,
    \log\pi_\mathrm{ref}^w - \log\pi_\theta^w))\big)`, :math:`\lambda \ge 0`."""
    _, r_w, r_l, beta = _pair(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
                              ref_rejected_logps, beta)  # fmt: skip
    lam = _checks.check_hyper("lambda_", lambda_, 0.0, why="the penalty weight of DPOP (the paper uses 50)")
    return _out(-ls(beta * (r_w - r_l - lam * torch.clamp(-r_w, min=0.0))), beta, r_w, r_l)


def rpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
             chosen_lengths, beta, alpha):  # fmt: skip
    r"""RPO, arXiv:2404.19733: DPO plus a per-sequence token-mean NLL of the chosen answer,
    :math:`\mathcal{L} = -\log\sigma(\beta h) - \alpha\,\log\pi_\theta(y_w)/|y_w|`, :math:`\alpha \ge 0`.
    (TRL's ``["sigmoid", "sft"]`` takes one token mean over the whole batch instead.)"""
    pc, r_w, r_l, beta = _pair(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
                               ref_rejected_logps, beta)  # fmt: skip
    (n_w,) = _lengths(_LENGTHS[:1], (chosen_lengths,), pc.shape)
    alpha = _checks.check_hyper("alpha", alpha, 0.0, why="the weight of the NLL term")
    return _out(-ls(beta * (r_w - r_l)) + alpha * (-pc / n_w), beta, r_w, r_l)


def simpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_lengths, rejected_lengths, beta, gamma):
    r"""SimPO, arXiv:2405.14734 (no reference model): :math:`\mathcal{L} =
    -\log\sigma\big(\beta(a_w - a_l) - \gamma\big)`, target margin :math:`\gamma \ge 0`.
    Rewards :math:`\beta a_w, \beta a_l`."""
    pc, pr = _logps(_POLICY, (policy_chosen_logps, policy_rejected_logps))
    n_w, n_l = _lengths(_LENGTHS, (chosen_lengths, rejected_lengths), pc.shape)
    beta = _checks.check_beta(beta)
    gamma = _checks.check_hyper("gamma", gamma, 0.0, why="the target reward margin of SimPO")
    a_w, a_l = pc / n_w, pr / n_l
    return _out(-ls(beta * (a_w - a_l) - gamma), beta, a_w, a_l)


def orpo_loss(policy_chosen_logps, policy_rejected_logps, chosen_lengths, rejected_lengths, lambda_):
    r"""ORPO, arXiv:2403.07691 (no reference model): :math:`\mathcal{L} = -a_w - \lambda
    \log\sigma(o_w - o_l)`, log-odds :math:`o = a - \log(1 - e^{a})`, :math:`\lambda \ge 0`.
    Rewards :math:`\lambda a_w, \lambda a_l`; needs :math:`a < 0` (odds are infinite at p = 1)."""
    pc, pr = _logps(_POLICY, (policy_chosen_logps, policy_rejected_logps))
    n_w, n_l = _lengths(_LENGTHS, (chosen_lengths, rejected_lengths), pc.shape)
    for name, x in zip(_POLICY, (pc, pr)):
        if x.numel():
            _checks.check_log_odds(name, float(x.max().item()))
    lam = _checks.check_hyper("lambda_", lambda_, 0.0, why="the weight of the odds-ratio term")
    a_w, a_l = pc / n_w, pr / n_l
    # log(1 - e^a) as log(-expm1(a)): for a near 0, 1 - exp(a) cancels to 0 (log -> -inf) while
    # expm1 keeps every digit; for a -> -inf it is log(1) = 0, never an overflow.
    o_w, o_l = a_w - torch.log(-torch.expm1(a_w)), a_l - torch.log(-torch.expm1(a_l))
    return _out(-a_w - lam * ls(o_w - o_l), lam, a_w, a_l)


def rdpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps,
              chosen_lengths, rejected_lengths, beta, alpha):  # fmt: skip
    r"""R-DPO, length-regularised DPO (Park et al. 2024, arXiv:2403.19159, Eq. 9): DPO with a
    length term in the margin, :math:`\mathcal{L} = -\log\sigma\big(\beta h + \alpha(|y_w| -
    |y_l|)\big)`, :math:`\alpha \ge 0`; :math:`\alpha = 0` is DPO. The sign is the paper's: it comes
    from the reward penalised by :math:`\alpha|y|`, so a longer chosen answer starts with part of its
    margin given and its pair weighs less in the gradient, a shorter one more. Rewards
    :math:`\beta r_w, \beta r_l` (DPO's; the length term is not a reward). Not in :data:`LOSSES`: a
    trainer option (``DPOConfig.rdpo_alpha``)."""
    pc, r_w, r_l, beta = _pair(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
                               ref_rejected_logps, beta)  # fmt: skip
    n_w, n_l = _lengths(_LENGTHS, (chosen_lengths, rejected_lengths), pc.shape)
    alpha = _checks.check_hyper("alpha", alpha, 0.0, why="the weight of R-DPO's length term")
    return _out(-ls(beta * (r_w - r_l) + alpha * (n_w - n_l)), beta, r_w, r_l)


LOSSES = {
    "sigmoid": core.dpo_loss, "ipo": ipo_loss, "cdpo": cdpo_loss, "robust": robust_dpo_loss,
    "hinge": hinge_loss, "nca_pair": nca_loss, "bco_pair": bco_pair_loss, "apo_zero": apo_zero_loss,
    "apo_down": apo_down_loss, "sigmoid_norm": length_normalized_dpo_loss, "dpop": dpop_loss,
    "rpo": rpo_loss, "simpo": simpo_loss, "orpo": orpo_loss,
}  # fmt: skip


def gradient_weights(loss, margins, beta=0.1, ref_logp=None, **options):
    r"""Where a member pushes, as a function of the margin :math:`h = r_w - r_l` (one call to plot).

    The policy moves symmetrically about a fixed reference: both reference log-probs are
    ``ref_logp`` (default :math:`-\max|h|/2 - 1`, so every log-prob stays < 0) and
    :math:`r_w = h/2`, :math:`r_l = -h/2`, i.e. ``pc = ref_logp + h/2``, ``pr = ref_logp - h/2``.
    Returns ``(dL/dr_w, dL/dr_l)`` there, by autograd, as detached float64 tensors of the margins'
    shape; since the reference is fixed these are also :math:`\partial L/\partial\log\pi_\theta(y_w)`
    and :math:`\partial L/\partial\log\pi_\theta(y_l)`.

    Pairwise members (``sigmoid``, ``ipo`` without lengths, ``cdpo``, ``robust``, ``hinge``) depend
    on h alone, so ``dL/dr_w = dL/dh = -dL/dr_l``: for ``sigmoid`` that is
    :math:`-\beta\sigma(-\beta h) \le 0` (gradient descent raises h, the harder the more wrongly
    the pair is ordered). The others (``nca_pair``, ``bco_pair``, ``apo_*``, ``dpop``, ``rpo``,
    ``simpo``, ``orpo``, ``sigmoid_norm``) also depend on where the pair sits, so the two curves
    differ and move with ``ref_logp``; ``simpo`` and ``orpo`` have no reference, ``ref_logp`` only
    places their policy log-probs. Token counts default to 1 (a scalar count is broadcast).

    ``loss`` is a name of :data:`LOSSES` or one of its functions; ``beta`` goes to members that take
    it; ``options`` are the member's other arguments (``label_smoothing``, ``lambda_``, ``alpha``,
    ``gamma``, ``chosen_lengths``, ``rejected_lengths``).
    """
    fn = LOSSES[loss] if isinstance(loss, str) else loss
    h = _checks.read_array("margins", margins, "real", torch).detach().to(torch.float64)
    if ref_logp is None:
        ref_logp = -float(h.abs().max()) / 2 - 1 if h.numel() else -1.0
    ref = torch.full_like(h, _checks.check_hyper("ref_logp", ref_logp, -float("inf"), 0.0))
    r_w, r_l = (h / 2).requires_grad_(), (-h / 2).requires_grad_()
    given = {"policy_chosen_logps": ref + r_w, "policy_rejected_logps": ref + r_l,
             "ref_chosen_logps": ref, "ref_rejected_logps": ref, "beta": beta}  # fmt: skip
    for name in ("chosen_lengths", "rejected_lengths"):
        if name in options and not getattr(options[name], "shape", ()):
            options[name] = torch.full_like(h, float(options[name]))
    kwargs = {}
    for name, param in inspect.signature(fn).parameters.items():
        if name in given and name not in options:
            kwargs[name] = given[name]
        elif name.endswith("_lengths") and param.default is param.empty and name not in options:
            kwargs[name] = torch.ones_like(h)
    losses = fn(**kwargs, **options)[0]
    grads = torch.autograd.grad(losses.sum(), (r_w, r_l), allow_unused=True)
    return tuple(torch.zeros_like(h) if g is None else g.detach() for g in grads)
