"""Two-stage shrinkage of service effects (empirical Bayes on a grid; no sampling, deterministic).

Stage 1 is the expected-performance model: each client ``i`` gets ``p_i`` from client
characteristics only, and its offset ``o_i = logit(p_i)``. Stage 2 gives each service ``u`` an
effect ``b_u`` on the log-odds,

    y_i ~ Bernoulli(expit(o_i + b_u)),    b_u ~ Normal(0, tau^2),

with ``tau`` estimated by maximising the marginal likelihood, each service's likelihood
integrated over ``b`` on a fixed grid (``shrinkage.grid`` of the config; the trapezoid rule).
Given ``tau``, the posterior of ``b_u`` on the grid gives its mean, sd and equal-tailed interval,
and the shrunken O/E: ``sum_i expit(o_i + b) / E_u`` averaged over that posterior (its
interval maps through the same quantiles, as it increases with ``b``).

This is a small stand-in for :mod:`toolkit.bayes` (the full hierarchical model sampled with
PyMC): the same model with ``tau`` plugged in rather than integrated, so its intervals are a
little too narrow when there are few services.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.special import expit, logsumexp

from toolkit.errors import ConvergenceError

if TYPE_CHECKING:
    import numpy.typing as npt


@dataclass
class ShrinkageResult:
    tau_: float
    effects_: pd.DataFrame  # per unit: n, observed, expected, effect_mean, effect_sd, effect_lower/upper,
    # oe_shrunk, oe_shrunk_lower, oe_shrunk_upper


def _loglik_grid(
    y: np.ndarray, offset: np.ndarray, unit: np.ndarray, n_units: int, grid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per unit and grid point: log-likelihood, and expected count sum expit(o + b)."""
    ll = np.zeros((n_units, grid.size))
    ex = np.zeros((n_units, grid.size))
    order = np.argsort(unit, kind="stable")
    bounds = np.searchsorted(unit[order], np.arange(n_units + 1))
    for u in range(n_units):
        idx = order[bounds[u] : bounds[u + 1]]
        eta = offset[idx][:, None] + grid[None, :]
        ll[u] = (y[idx][:, None] * eta - np.logaddexp(0.0, eta)).sum(axis=0)
        ex[u] = expit(eta).sum(axis=0)
    return ll, ex


def shrink_effects(
    y: npt.ArrayLike,
    p: npt.ArrayLike,
    units: npt.ArrayLike,
    *,
    grid: tuple[float, float, int] = (-3.0, 3.0, 601),
    interval: float = 0.9,
) -> ShrinkageResult:
    """Empirical-Bayes service effects from outcomes ``y``, expected probabilities ``p`` and unit labels.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> units = np.repeat(["a", "b", "c", "d"], 400)
    >>> b = np.repeat([-0.5, 0.0, 0.2, 0.5], 400)
    >>> p = np.full(1600, 0.4)
    >>> y = rng.random(1600) < 1 / (1 + np.exp(-(np.log(0.4 / 0.6) + b)))
    >>> res = shrink_effects(y, p, units)
    >>> res.effects_["effect_mean"].round(1).tolist()
    [-0.6, -0.0, 0.1, 0.5]
    """
    yv = np.asarray(y, dtype=float)
    pv = np.clip(np.asarray(p, dtype=float), 1e-9, 1 - 1e-9)
    labels, unit = np.unique(np.asarray(units).astype(str), return_inverse=True)
    g = np.linspace(grid[0], grid[1], int(grid[2]))
    w = np.full(g.size, g[1] - g[0])
    w[[0, -1]] /= 2
    offset = np.log(pv) - np.log1p(-pv)
    ll, ex = _loglik_grid(yv, offset, unit, len(labels), g)

    def neg_marginal(log_tau: float) -> float:
        tau = np.exp(log_tau)
        lp = -0.5 * (g / tau) ** 2 - np.log(tau * np.sqrt(2 * np.pi)) + np.log(w)
        return -float(logsumexp(ll + lp[None, :], axis=1).sum())

    opt = minimize_scalar(
        neg_marginal, bounds=(np.log(1e-3), np.log((g[-1] - g[0]) / 4)), method="bounded", options={"xatol": 1e-6}
    )
    if not opt.success:
        raise ConvergenceError("the marginal likelihood of the service-effect spread did not converge")
    tau = float(np.exp(opt.x))
    lp = -0.5 * (g / tau) ** 2 + np.log(w)
    post = ll + lp[None, :]
    post = np.exp(post - post.max(axis=1, keepdims=True))
    post /= post.sum(axis=1, keepdims=True)
    cdf = np.cumsum(post, axis=1)
    lo_q, hi_q = (1 - interval) / 2, 1 - (1 - interval) / 2
    ilo = np.array([np.searchsorted(c, lo_q) for c in cdf]).clip(0, g.size - 1)
    ihi = np.array([np.searchsorted(c, hi_q) for c in cdf]).clip(0, g.size - 1)
    mean = (post * g).sum(axis=1)
    sd = np.sqrt(np.maximum((post * g**2).sum(axis=1) - mean**2, 0))
    e0 = ex[:, g.size // 2] if np.isclose(g[g.size // 2], 0) else np.array([np.interp(0.0, g, row) for row in ex])
    ratio = ex / e0[:, None]
    rows = np.arange(len(labels))
    obs = np.bincount(unit, weights=yv, minlength=len(labels))
    effects = pd.DataFrame(
        {
            "unit": labels,
            "n": np.bincount(unit, minlength=len(labels)),
            "observed": obs,
            "expected": np.bincount(unit, weights=pv, minlength=len(labels)),
            "effect_mean": mean,
            "effect_sd": sd,
            "effect_lower": g[ilo],
            "effect_upper": g[ihi],
            "oe_shrunk": (post * ratio).sum(axis=1),
            "oe_shrunk_lower": ratio[rows, ilo],
            "oe_shrunk_upper": ratio[rows, ihi],
        }
    )
    return ShrinkageResult(tau_=tau, effects_=effects)
