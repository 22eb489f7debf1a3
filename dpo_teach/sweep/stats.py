r"""Intervals over seeds: a mean with its 95 % t-interval, and the paired difference of two settings.

With :math:`n` seeds and values :math:`v_1..v_n`, the interval is :math:`\bar v \pm t_{n-1}\,
s/\sqrt n` (:math:`s` the sample standard deviation, :math:`t_{n-1}` the 97.5 % quantile of
Student's t with :math:`n-1` degrees of freedom). Two settings run on the same seeds share each
seed's SFT model and pairs, so their comparison is **paired**: the interval of the per-seed
differences :math:`a_i - b_i`, narrower than the two intervals side by side because the seed's
own luck cancels. An ordering is *resolved* at :math:`n` seeds only when that interval excludes 0.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

__all__ = ["Interval", "T_975", "t_quantile", "mean_interval", "paired_difference"]

# 97.5 % quantiles of Student's t, degrees of freedom 1..30 (two-sided 95 %)
T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
         2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
         2.052, 2.048, 2.045, 2.042)  # fmt: skip


def t_quantile(df: int) -> float:
    """The 97.5 % quantile of Student's t with ``df`` degrees of freedom (table to 30, then a
    Cornish-Fisher expansion around the normal's 1.95996, exact to 1e-3 beyond 30)."""
    if not isinstance(df, int) or isinstance(df, bool) or df < 1:
        raise ValueError(f"degrees of freedom must be an integer >= 1, got {df!r}")
    if df <= len(T_975):
        return T_975[df - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


@dataclasses.dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int

    @property
    def excludes_zero(self) -> bool:
        """True when the whole interval lies on one side of 0 (an ordering is resolved)."""
        return self.low > 0 or self.high < 0

    def __str__(self) -> str:
        return f"{self.mean:+.3f} [{self.low:+.3f}, {self.high:+.3f}] (n={self.n})"


def mean_interval(values: Sequence[float]) -> Interval:
    """Mean of ``values`` (one per seed) with its 95 % t-interval; ``n >= 2`` finite values."""
    values = [float(v) for v in values]
    if len(values) < 2 or not all(math.isfinite(v) for v in values):
        raise ValueError(f"an interval needs at least 2 finite values (one per seed), got {values!r}")
    n = len(values)
    mean = math.fsum(values) / n
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile(n - 1) * sd / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n)


def paired_difference(a: Mapping[int, float], b: Mapping[int, float]) -> Interval:
    """The 95 % interval of ``a - b`` paired by seed: ``a`` and ``b`` map seed -> value; only the
    seeds both have count (at least 2)."""
    seeds = sorted(set(a) & set(b))
    if len(seeds) < 2:
        raise ValueError(f"a paired comparison needs at least 2 common seeds, got {seeds}")
    return mean_interval([a[s] - b[s] for s in seeds])
