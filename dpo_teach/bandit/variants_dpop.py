r"""The ridge-regularised DPOP fit of :func:`dpo_teach.bandit.variants.fit_variant`, exactly.

DPOP (arXiv:2402.13228) adds a penalty on a chosen answer that falls below the reference:

.. math:: \ell_i = -\log\sigma\big(\beta\, g_i\big), \qquad
    g_i = r_{w_i} - r_{l_i} + \lambda \min(0, r_{w_i}),

with :math:`r_y = \log\pi_\theta(y) - \log\pi_\mathrm{ref}(y)`.

**Convex in the logits** :math:`\theta`: :math:`r_w - r_l = \theta_w - \theta_l + \mathrm{const}`
is linear, :math:`r_y` is concave (a linear term minus log-sum-exp) and :math:`\min(0, \cdot)` is
concave and non-decreasing, so :math:`g_i` is concave; :math:`-\log\sigma` is convex and
decreasing, so each :math:`\ell_i` is convex. With fit_dpo's ridge the minimiser is unique.

**Kinked at** :math:`r_w = 0`, i.e. at :math:`\pi_\theta(y_w) = \pi_\mathrm{ref}(y_w)`, where the
minimiser tends to sit (the penalty stops a chosen answer's probability just at the reference).
Newton on a smoothed kink, :math:`\min(0, r) \approx -t\log(1 + e^{-r/t})`, with :math:`t\to 0`
(warm starts, down to :math:`t = 10^{-8}`), finds which chosen answers end below, at or above the
reference; one Newton solve of the KKT system on that split (answers at the kink held at
:math:`r_y = 0` with a multiplier) then gives the exact minimiser, accepted when a subgradient
of norm < ``FOC_TOL`` exists there (coefficients of the held kinks in
:math:`\partial\min(0, r)|_{r=0} = [0, 1]`).
"""

from __future__ import annotations

import numpy as np

from .. import numpy_dpo as nd
from .checks import log_softmax
from .newton import newton_minimize

__all__ = ["solve_dpop", "dpop_subgradient_residual"]

SMOOTHING = 10.0 ** -np.arange(0, 9)  # t = 1 ... 1e-8: below, the 1/t curvature swamps the ridge's
FOC_TOL = 1e-10  # the smallest subgradient's norm accepted as the minimiser
KINK_TOL = 1e-6  # |r_y| below this after smoothing (about t away from the kink): at the kink


def _terms(theta, log_ref, yw, yl, beta, lam, kink):
    """Per-pair pieces at ``theta``: logp, pi, r, g, and d(min-part)/dr of each chosen answer
    under ``kink(r) -> (m, m', m'')`` (the smoothed or the split min(0, r))."""
    logp = log_softmax(theta)
    pi = np.exp(logp)
    r = logp - log_ref
    m, m1, m2 = kink(r[yw])
    g = r[yw] - r[yl] + lam * m
    return pi, r, g, m1, m2


def _objective(log_ref, yw, yl, weight, beta, lam, l2, kink):
    k = log_ref.shape[0]
    eye = np.eye(k)

    def f(theta):
        pi, _, g, m1, m2 = _terms(theta, log_ref, yw, yl, beta, lam, kink)
        u = beta * (theta - log_ref)
        p1 = -nd.sigmoid(-beta * g)  # phi'(beta g) for phi = -log sigma
        p2 = nd.sigmoid(beta * g) * nd.sigmoid(-beta * g)
        dw = eye[yw] - pi  # d r_w / d theta
        dg = eye[yw] - eye[yl] + (lam * m1)[:, None] * dw
        grad = (weight * beta * p1) @ dg + l2 * beta * u
        cov = np.diag(pi) - np.outer(pi, pi)  # -(d^2 r_y / d theta^2), the same for every y
        hess = (dg.T * (weight * beta**2 * p2)) @ dg
        hess += (dw.T * (weight * beta * p1 * lam * m2)) @ dw
        hess -= (weight @ (beta * p1 * lam * m1)) * cov
        value = weight @ (-nd.log_sigmoid(beta * g)) + 0.5 * l2 * u @ u
        return value, grad, hess + l2 * beta**2 * eye

    return f


def _smoothed(t):
    def kink(r):
        z = -r / t
        s = nd.sigmoid(z)
        return t * nd.log_sigmoid(-z), s, -s * (1 - s) / t  # -t softplus(-r/t) and derivatives

    return kink


def _split(below):
    def kink(r):  # min(0, r) on a fixed split: r where below, 0 elsewhere (kinks held at r = 0)
        return np.where(below, r, 0.0), below.astype(float), np.zeros_like(r)

    return kink


def _kkt_polish(theta, log_ref, yw, yl, weight, beta, lam, l2, r_tol):
    """Newton on the KKT system of the split found at ``theta`` (least squares: the held
    constraints can be dependent); the polished ``theta``, or None if it breaks the split."""
    r = log_softmax(theta) - log_ref
    chosen = np.unique(yw)
    at = chosen[np.abs(r[chosen]) <= r_tol]
    below = r[yw] < -r_tol
    f = _objective(log_ref, yw, yl, weight, beta, lam, l2, _split(below))
    k, n = theta.shape[0], at.shape[0]
    nu = np.zeros(n)
    for _ in range(50):
        _, grad, hess = f(theta)
        pi = np.exp(log_softmax(theta))
        jac = np.eye(k)[at] - pi  # d r_y / d theta for the held answers
        res = np.concatenate([grad + nu @ jac, r[at]])
        if np.abs(res).max() < 1e-14:
            break
        cov = np.diag(pi) - np.outer(pi, pi)  # the Lagrangian's curvature: nu_y d^2 r_y = -nu_y cov
        kkt = np.block([[hess - nu.sum() * cov, jac.T], [jac, np.zeros((n, n))]])
        step = np.linalg.lstsq(kkt, -res, rcond=None)[0]
        theta, nu = theta + step[:k], nu + step[k:]
        r = log_softmax(theta) - log_ref
    free = ~below & ~np.isin(yw, at)
    return theta if (r[yw][below] < 0).all() and (r[yw][free] > 0).all() else None


def _box_lsq(cols, target, sweeps=5000):
    """min ||s @ cols - target|| over s in [0, 1]^n, by exact coordinate descent (n is small)."""
    s = np.zeros(len(cols))
    norms = (cols**2).sum(axis=1)
    resid = -target.copy()
    for _ in range(sweeps):
        old = s.copy()
        for j in np.flatnonzero(norms > 0):
            new = np.clip(s[j] - cols[j] @ resid / norms[j], 0.0, 1.0)
            resid += (new - s[j]) * cols[j]
            s[j] = new
        if np.abs(s - old).max() < 1e-16:
            break
    return s


def solve_dpop(log_ref, yw, yl, weight, beta, lam, l2):
    """The unique minimiser ``theta`` (logits, the ridge's gauge) of the mean DPOP loss over the
    distinct pairs ``(yw, yl)`` with shares ``weight``, plus fit_dpo's ridge."""
    theta = log_ref.copy()
    null = np.zeros((theta.shape[0],) * 2)
    for t in SMOOTHING:
        theta = newton_minimize(_objective(log_ref, yw, yl, weight, beta, lam, l2, _smoothed(t)), theta, null)
    for r_tol in (KINK_TOL, 1e-4, 1e-8):
        polished = _kkt_polish(theta, log_ref, yw, yl, weight, beta, lam, l2, r_tol)
        if polished is not None:
            residual = dpop_subgradient_residual(polished, log_ref, yw, yl, weight, beta, lam, l2)
            if residual < FOC_TOL:
                return polished
    raise RuntimeError("DPOP fit: no consistent split of the chosen answers at the kink was found")


def dpop_subgradient_residual(theta, log_ref, yw, yl, weight, beta, lam, l2, tol=1e-9):
    """The smallest norm of a subgradient of the ridge DPOP objective at ``theta`` (0 exactly at
    the minimiser): a chosen answer within ``tol`` of the kink contributes its penalty's slope
    times a coefficient in [0, 1] (the subdifferential of min(0, r) at 0), chosen to minimise."""
    r = log_softmax(theta) - log_ref
    below = r[yw] < -tol
    _, grad, _ = _objective(log_ref, yw, yl, weight, beta, lam, l2, _split(below))(theta)
    pi, _, g, _, _ = _terms(theta, log_ref, yw, yl, beta, lam, _split(below))
    slope = weight * beta * lam * -nd.sigmoid(-beta * g)  # d loss_i / d min(0, r_w) <= 0
    at = np.unique(yw[np.abs(r[yw]) <= tol])
    if not len(at):
        return float(np.linalg.norm(grad))
    cols = np.array([slope[yw == y].sum() * (np.eye(len(pi))[y] - pi) for y in at])
    s = _box_lsq(cols, -grad)
    return float(np.linalg.norm(grad + s @ cols))
