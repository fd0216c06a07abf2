"""What a cohort of n can detect: the smallest effects with the configured power.

- Mean change (paired): the smallest standardised mean change d (in standard deviations of
  the change) that a two-sided one-sample t-test at level alpha detects with the given power,
  from the noncentral t distribution with n - 1 degrees of freedom and noncentrality d sqrt(n).
- Share improved: the smallest true share above a reference rate p0 that an exact one-sided
  binomial test at level alpha / 2 (the two-sided split) rejects with the given power.
- Two subgroups of n / 2: the smallest standardised difference a two-sample t-test detects.

Examples
--------
>>> round(smallest_mean_change(30), 2)
0.53
>>> round(smallest_mean_change(48), 2)
0.41
>>> round(smallest_share(30, 0.35), 2)
0.62
"""

from __future__ import annotations

import numpy as np


def paired_power(d: float, n: int, alpha: float = 0.05) -> float:
    """Power of the two-sided one-sample t-test for a true standardised mean ``d`` with ``n`` pairs."""
    from scipy.stats import nct, t

    df = n - 1
    crit = t.ppf(1 - alpha / 2, df)
    nc = d * np.sqrt(n)
    p = float(nct.sf(crit, df, nc) + nct.cdf(-crit, df, nc))
    return 1.0 if np.isnan(p) else p


def smallest_mean_change(n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest standardised mean change detected with ``power`` (two-sided level ``alpha``) by ``n`` pairs."""
    from scipy.optimize import brentq

    if n < 3:
        return float("nan")
    return float(brentq(lambda d: paired_power(d, n, alpha) - power, 1e-6, 20.0, xtol=1e-8))


def two_group_power(d: float, n_per_group: int, alpha: float = 0.05) -> float:
    from scipy.stats import nct, t

    df = 2 * n_per_group - 2
    crit = t.ppf(1 - alpha / 2, df)
    nc = d * np.sqrt(n_per_group / 2)
    p = float(nct.sf(crit, df, nc) + nct.cdf(-crit, df, nc))
    return 1.0 if np.isnan(p) else p


def smallest_subgroup_difference(n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest standardised difference between two halves of the cohort (n // 2 each)."""
    from scipy.optimize import brentq

    half = n // 2
    if half < 2:
        return float("nan")
    return float(brentq(lambda d: two_group_power(d, half, alpha) - power, 1e-6, 20.0, xtol=1e-8))


def binomial_power(p1: float, n: int, p0: float, alpha: float = 0.05) -> float:
    """Power of the exact one-sided binomial test of share <= p0 at level ``alpha / 2`` when the share is ``p1``."""
    from scipy.stats import binom

    ks = np.arange(n + 1)
    tail = binom.sf(ks - 1, n, p0)  # P(X >= k | p0)
    k_crit = int(ks[np.argmax(tail <= alpha / 2)]) if (tail <= alpha / 2).any() else n + 1
    return float(binom.sf(k_crit - 1, n, p1)) if k_crit <= n else 0.0


def smallest_share(n: int, p0: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest true share improved that stands out from the reference rate ``p0`` with ``power``; NaN if none."""
    from scipy.optimize import brentq

    if binomial_power(1.0, n, p0, alpha) < power:
        return float("nan")
    return float(brentq(lambda p: binomial_power(p, n, p0, alpha) - power, p0, 1.0, xtol=1e-8))
