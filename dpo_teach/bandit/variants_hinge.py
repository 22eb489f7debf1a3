r"""The ridge-regularised hinge fit of :func:`dpo_teach.bandit.variants.fit_variant`, exactly.

In the implicit reward :math:`u = \beta(\theta - \log\pi_\mathrm{ref})` the hinge loss of a pair is
:math:`\max(0, 1 - (u_w - u_l))`, so the fit

.. math:: \min_u\; \sum_i c_i \max\big(0, 1 - d_i^\top u\big) + \tfrac{\ell_2}{2}\lVert u\rVert^2,
    \qquad d_i = e_{w_i} - e_{l_i},

is a linear SVM without bias (:math:`c_i` the pair's share of the data). Its dual is
:math:`\max_{0\le\alpha\le c} \mathbf 1^\top\alpha - \tfrac{1}{2\ell_2}\lVert D^\top\alpha\rVert^2`,
with :math:`u = D^\top\alpha/\ell_2`. Newton on a smoothed hinge,
:math:`t\log(1 + e^{(1-m)/t})` with :math:`t\to 0` (warm starts), finds which pairs sit below,
at or beyond the margin; one linear solve of the KKT conditions on that split then gives
:math:`u` to rounding (the ridge minimiser of the active hinges, projected onto the pairs held at
margin 1).
"""

from __future__ import annotations

import numpy as np

from .. import numpy_dpo as nd
from .newton import newton_minimize

__all__ = ["solve_hinge"]


def _polish(d, weight, u, l2, tol):
    """Given the split of pairs by margin (below 1, at 1 within ``tol``, beyond), the exact
    minimiser: the ridge minimiser of the linear part, projected onto the pairs held at margin 1
    (the KKT conditions; the dual's multipliers of those pairs are left implicit). None if the
    projection breaks the split or moves far from ``u`` (the split was wrong)."""
    m = d @ u
    under, at = m < 1 - tol, np.abs(m - 1) <= tol
    new = weight[under] @ d[under] / l2  # minimiser of the ridge minus the active hinges' slopes
    if at.any():
        # KKT: new - free lies in the row space of d[at] and d[at] @ new = 1, so new is free's
        # part in the null space of d[at] plus the least-norm solution of d[at] @ new = 1. The
        # null-space part is taken through an orthonormal basis: |free| is of order c / l2
        # (3e5 at l2 = 1e-6), and subtracting its row-space part instead cancels to ~1e-10.
        _, sv, vt = np.linalg.svd(d[at])
        null = vt[(sv > sv[0] * 1e-12).sum() :]
        new = null.T @ (null @ new) + np.linalg.lstsq(d[at], np.ones(at.sum()), rcond=None)[0]
    m = d @ new
    ok = (m[under] < 1).all() and (m[~under & ~at] > 1).all() and np.abs(m[at] - 1).max(initial=0) < 1e-12
    return new if ok and np.abs(new - u).max() < 1e3 * tol else None


def solve_hinge(yw, yl, weight, k, l2):
    """The unique minimiser ``u`` (shape ``(k,)``, summing to 0) of the ridge hinge fit above."""
    n = yw.shape[0]
    d = np.zeros((n, k))
    d[np.arange(n), yw] = 1.0
    d[np.arange(n), yl] = -1.0
    u = np.zeros(k)
    for t in 10.0 ** -np.arange(0, 13):  # smoothed hinge t*softplus((1 - m)/t), t -> 0, warm starts

        def objective(u, t=t):
            z = (1 - d @ u) / t
            s = nd.sigmoid(z)
            f = weight @ (-t * nd.log_sigmoid(-z)) + 0.5 * l2 * u @ u
            return f, -(weight * s) @ d + l2 * u, (d.T * (weight * s * (1 - s) / t)) @ d + l2 * np.eye(k)

        try:
            u = newton_minimize(objective, u, np.zeros((k, k)))
        except (RuntimeError, np.linalg.LinAlgError):  # t below what float64 resolves (in f, or
            break  # in the Hessian, whose 1/t part swamps the ridge): the split is known by now
        if t <= 1e-7:  # the smoothed margins are within ~t of the exact ones: split at 1e3 t
            polished = _polish(d, weight, u, l2, 1e3 * t)
            if polished is not None:
                return polished
    return u  # no consistent split found: the smoothed solution, within about 1e-12 of the exact one
