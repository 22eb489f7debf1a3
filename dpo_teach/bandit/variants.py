r"""Exact tabular fits of the pairwise DPO-family members (docs/family.md) that need no lengths.

``fit_variant(ref_probs, chosen, rejected, beta, loss=...)`` minimises the mean empirical loss
over tabular softmax policies :math:`\pi_\theta = \mathrm{softmax}(\theta)`, in float64, plus the
same ridge as :func:`~dpo_teach.bandit.fit.fit_dpo`: :math:`\tfrac{\ell_2}{2}\lVert u\rVert^2`,
:math:`u = \beta(\theta - \log\pi_\mathrm{ref})` (the implicit reward; the loss ignores a
constant added to :math:`\theta`, so the ridge's optimum has :math:`\sum_y u_y = 0`).

Each member's per-example loss is a function of :math:`r_w = \log\pi(y_w) - \log\pi_\mathrm{ref}(y_w)`
and :math:`r_l`; below, each has a small function returning the loss and its first and second
derivatives in :math:`(r_w, r_l)`, chained through :math:`\partial r_y/\partial\theta = e_y - \pi`,
:math:`\partial^2 r_y/\partial\theta^2 = -(\mathrm{diag}\,\pi - \pi\pi^\top)`. For members of
:math:`h = r_w - r_l` alone the normaliser cancels; for the others (``nca_pair``, ``bco_pair``,
``apo_*``) it does not, and the curvature term of the softmax stays.

What the result is, per member:

- ``sigmoid``: :func:`fit_dpo` itself (same ridge, same gauge).
- ``ipo``, ``cdpo``, ``robust``: smooth and convex in :math:`\theta` (functions of the linear
  :math:`h`); Newton gives the unique ridge minimiser. ``robust`` is :math:`-\log\sigma(\beta h)
  - \tfrac{\epsilon}{1-2\epsilon}\beta h` and, like DPO on separable data, can be unbounded below
  on finite data: the ridge keeps it finite.
- ``hinge``: convex but flat (0) beyond margin :math:`\beta h = 1` and kinked there; the exact
  minimiser set is a polyhedron, so the answer is its ridge-regularised point (an SVM in
  :math:`u`), solved exactly through its dual (:mod:`.variants_hinge`).
- ``nca_pair``, ``bco_pair``, ``apo_zero``, ``apo_down``: smooth but not convex in
  :math:`\theta` in general (an increasing convex or a non-convex function of the concave
  :math:`r_y`). Newton with the Hessian's eigenvalues replaced by their absolute values
  (floored at the ridge's curvature), started at :math:`\pi_\mathrm{ref}`, returns a stationary
  point (first-order condition to rounding), not a certified global minimiser.
- ``dpop``: convex in :math:`\theta` but kinked at :math:`r_w = 0` (a chosen answer exactly at
  the reference), where its minimiser tends to sit; solved exactly by smoothing the kink and then
  Newton on the KKT system of the split it finds (:mod:`.variants_dpop`).

``l2`` must be > 0 for every member but ``sigmoid``: with ``l2=0`` the minimiser is a set (or
does not exist) and the ridge is what picks one point of it.
"""

from __future__ import annotations

import numpy as np

from .. import _checks
from .. import numpy_dpo as nd
from .checks import check_distribution, check_l2, check_number, check_pairs, log_softmax
from .fit import DEFAULT_L2, FIT_DPO_BETA_RANGE, fit_dpo
from .newton import newton_minimize
from .variants_dpop import solve_dpop
from .variants_hinge import solve_hinge

__all__ = ["fit_variant", "FIT_VARIANT_LOSSES"]


def _s(z):
    return nd.sigmoid(z)


def _s1(z):  # sigma'
    s = _s(z)
    return s * (1 - s)


def _s2(z):  # sigma''
    s = _s(z)
    return s * (1 - s) * (1 - 2 * s)


# Each: (rw, rl, beta, **options) -> (loss, d/drw, d/drl, d2/drw2, d2/drl2, d2/drw drl)


def _of_h(loss, d1, d2):
    """A member of h = r_w - r_l alone, from its loss and derivatives in h."""

    def derivs(rw, rl, beta, **o):
        h = rw - rl
        g, c = d1(h, beta, **o), d2(h, beta, **o)
        return loss(h, beta, **o), g, -g, c, c, -c

    return derivs


_ipo = _of_h(
    lambda h, b: (h - 1 / (2 * b)) ** 2,
    lambda h, b: 2 * (h - 1 / (2 * b)),
    lambda h, b: np.full_like(h, 2.0),
)
_cdpo = _of_h(
    lambda h, b, label_smoothing: (
        -(1 - label_smoothing) * nd.log_sigmoid(b * h) - label_smoothing * nd.log_sigmoid(-b * h)
    ),
    lambda h, b, label_smoothing: b * (_s(b * h) - (1 - label_smoothing)),
    lambda h, b, label_smoothing: b**2 * _s1(b * h),
)
_robust = _of_h(
    lambda h, b, label_smoothing: (
        (-(1 - label_smoothing) * nd.log_sigmoid(b * h) + label_smoothing * nd.log_sigmoid(-b * h))
        / (1 - 2 * label_smoothing)
    ),
    lambda h, b, label_smoothing: b * (_s(b * h) - (1 - label_smoothing) / (1 - 2 * label_smoothing)),
    lambda h, b, label_smoothing: b**2 * _s1(b * h),
)


def _nca_pair(rw, rl, b):
    x, y = b * rw, b * rl
    loss = -nd.log_sigmoid(x) - nd.log_sigmoid(-x) / 2 - nd.log_sigmoid(-y) / 2
    return loss, b * (1.5 * _s(x) - 1), b * _s(y) / 2, 1.5 * b**2 * _s1(x), b**2 * _s1(y) / 2, 0 * x


def _bco_pair(rw, rl, b):
    x, y = b * rw, b * rl
    loss = -nd.log_sigmoid(x) - nd.log_sigmoid(-y)
    return loss, -b * _s(-x), b * _s(y), b**2 * _s1(x), b**2 * _s1(y), 0 * x


def _apo_zero(rw, rl, b):
    x, y = b * rw, b * rl
    return 1 - _s(x) + _s(y), -b * _s1(x), b * _s1(y), -(b**2) * _s2(x), b**2 * _s2(y), 0 * x


def _apo_down(rw, rl, b):
    x, z = b * rw, b * (rw - rl)
    loss = _s(x) + 1 - _s(z)
    a, c = b**2 * _s2(x), b**2 * _s2(z)
    return loss, b * (_s1(x) - _s1(z)), b * _s1(z), a - c, -c, c


_SMOOTH = {"ipo": _ipo, "cdpo": _cdpo, "robust": _robust, "nca_pair": _nca_pair}
_SMOOTH |= {"bco_pair": _bco_pair, "apo_zero": _apo_zero, "apo_down": _apo_down}
_CONVEX = {"ipo", "cdpo", "robust"}
_OPTIONS = {"cdpo": ("label_smoothing",), "robust": ("label_smoothing",), "dpop": ("lambda_",)}
FIT_VARIANT_LOSSES = ("sigmoid", "ipo", "cdpo", "robust", "hinge", "nca_pair", "bco_pair")
FIT_VARIANT_LOSSES += ("apo_zero", "apo_down", "dpop")
DPOP_LAMBDA = 50.0  # the DPOP paper's lambda (arXiv:2402.13228), also DPOConfig.dpop_lambda


def _check_options(loss, options):
    takes = _OPTIONS.get(loss, ())
    for name in options:
        if name not in takes:
            allowed = f"it takes only {', '.join(takes)} (and l2)" if takes else "it takes only l2"
            raise ValueError(f"option {name}={options[name]!r} does not apply to loss={loss!r}: {allowed}")
    out = {}
    if "label_smoothing" in takes:
        e = check_number("label_smoothing", options.get("label_smoothing", 0.0), "the label-noise rate")
        # a label-flip probability: at 0.5 the labels carry no preference (cdpo's loss is flat;
        # robust divides by 1 - 2e), the range the twins enforce (dpo_teach.numpy_variants)
        why = "0 <= label_smoothing <= 0.5" if loss == "cdpo" else "0 <= label_smoothing < 0.5"
        if not 0 <= e <= 0.5 or (loss == "robust" and e >= 0.5):
            raise ValueError(
                f"label_smoothing={e!r} is out of range for loss={loss!r}: need {why} (the assumed "
                "share of flipped labels; robust divides by 1 - 2*label_smoothing)"
            )
        out["label_smoothing"] = e
    if "lambda_" in takes:
        lam = check_number("lambda_", options.get("lambda_", DPOP_LAMBDA), "DPOP's penalty weight")
        if not 0 <= lam <= 1e4:
            raise ValueError(f"lambda_={lam!r} is out of range for loss='dpop': need 0 <= lambda_ <= 1e4")
        out["lambda_"] = lam
    return out


def fit_variant(ref_probs, chosen, rejected, beta, loss="ipo", *, l2=DEFAULT_L2, **options) -> np.ndarray:
    r"""Minimise a pairwise DPO-family loss (docs/family.md), mean over the pairs, over a tabular
    softmax policy, plus fit_dpo's ridge :math:`\tfrac{\ell_2}{2}\lVert\beta(\theta -
    \log\pi_\mathrm{ref})\rVert^2`; float64, first-order condition to about 1e-10.

    ``loss`` is one of ``FIT_VARIANT_LOSSES``; IPO is the paper's form on summed log-ratios,
    :math:`(h - 1/(2\beta))^2`. Options: ``label_smoothing`` (``cdpo``: 0 to 0.5, ``robust``: 0 to
    < 0.5, default 0); ``lambda_`` (``dpop``, default ``DPOP_LAMBDA`` = 50); every member
    takes ``l2`` (> 0 except for ``sigmoid``, default
    ``DEFAULT_L2``). ``sigmoid`` is :func:`fit_dpo`. ``ipo``, ``cdpo``, ``robust`` and ``hinge``
    and ``dpop`` are convex and give the unique ridge minimiser (hinge: the ridge point of its flat
    minimiser set); ``nca_pair``, ``bco_pair``, ``apo_zero`` and ``apo_down`` are non-convex in the logits
    and give a stationary point reached from :math:`\pi_\mathrm{ref}`. See the module docstring.
    Returns the policy's probabilities, ``(K,)`` float64.
    """
    if not isinstance(loss, str) or loss not in FIT_VARIANT_LOSSES:
        raise ValueError(
            f"loss={loss!r} is not a pairwise member fit_variant knows; use one of {FIT_VARIANT_LOSSES}"
        )
    ref = check_distribution(ref_probs)
    k = ref.shape[0]
    chosen, rejected = check_pairs(chosen, rejected, k)
    beta = _checks.check_beta(beta)
    l2 = check_l2(l2)
    opts = _check_options(loss, options)
    if loss == "sigmoid":
        return fit_dpo(ref, chosen, rejected, beta, l2=l2)
    lo, hi = FIT_DPO_BETA_RANGE
    if not lo <= beta <= hi:
        raise ValueError(
            f"beta={beta!r} is outside [{lo:g}, {hi:g}], where the float64 solve over the logits works"
        )
    if l2 == 0:
        raise ValueError(
            f"l2=0 is not supported for loss={loss!r}: its minimiser is a set (or is at infinity) and "
            "the ridge picks one point of it; pass a small l2 > 0 such as the default 1e-6"
        )
    counts = np.bincount(chosen * k + rejected, minlength=k * k)
    flat = np.flatnonzero(counts)
    yw, yl = np.divmod(flat, k)
    weight = counts[flat] / chosen.shape[0]
    log_ref = np.log(ref)
    if loss == "dpop":
        return np.exp(log_softmax(solve_dpop(log_ref, yw, yl, weight, beta, opts["lambda_"], l2)))
    if loss == "hinge":
        u = solve_hinge(yw, yl, weight, k, l2)  # u = beta * (theta - log_ref)
        return np.exp(log_softmax(log_ref + u / beta))
    derivs = _SMOOTH[loss]
    eye = np.eye(k)

    def objective(theta):
        logp = log_softmax(theta)
        pi = np.exp(logp)
        rw, rl = logp[yw] - log_ref[yw], logp[yl] - log_ref[yl]
        f, a, b, aa, bb, ab = derivs(rw, rl, beta, **opts)
        u = beta * (theta - log_ref)
        uw, ul = eye[yw] - pi, eye[yl] - pi  # d r_y / d theta, one row per pair
        g = weight * a @ uw + weight * b @ ul
        h = (uw.T * (weight * aa)) @ uw + (ul.T * (weight * bb)) @ ul
        cross = (uw.T * (weight * ab)) @ ul
        h += cross + cross.T - weight @ (a + b) * (np.diag(pi) - np.outer(pi, pi))
        floor = l2 * beta**2
        if loss not in _CONVEX:  # saddle-free Newton: |eigenvalues|, floored
            vals, vecs = np.linalg.eigh(h)
            h = (vecs * np.abs(vals)) @ vecs.T
        return weight @ f + 0.5 * l2 * u @ u, g + l2 * beta * u, h + floor * eye

    theta = newton_minimize(objective, log_ref.copy(), np.zeros((k, k)))
    return np.exp(log_softmax(theta))
