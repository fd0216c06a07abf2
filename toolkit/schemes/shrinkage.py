"""Beta-binomial shrinkage: a prior learned across providers, posteriors per provider.

Each provider j has an underlying share p_j; its count is x_j of n_j. Across the providers
of one measure and period, p_j ~ Beta(mu kappa, (1 - mu) kappa). Two ways to learn
(mu, kappa) are offered:

``hierarchical`` (the default)
    Full Bayes over (mu, kappa) by quadrature: a fixed grid in (logit mu, log kappa) with
    mu uniform and p(kappa) proportional to kappa^(-1/2) on the log scale (Gelman et al.,
    *BDA*, the rat-tumour hyperprior ``(alpha + beta)^(-5/2)``), kappa within the configured
    range. Each provider's posterior is then a mixture of Beta(mu kappa + x_j,
    (1 - mu) kappa + n_j - x_j) over the grid, weighted by p(mu, kappa | all counts). This
    is the two-parameter hierarchical model a PyMC sampler would fit, integrated
    deterministically (no sampling noise, about 0.1 s per measure and period). Measured on
    the synthetic DEX world (2023-H1): against PyMC NUTS (2 x 2,000 draws) for goals (47
    providers) and circumstances assessed (54), posterior means differ by at most 0.006,
    interval ends by at most 0.025 (the Monte Carlo error of a 5% quantile) and P(target met)
    by at most 0.015, in 0.05 s against 9 to 41 s.
``empirical_bayes``
    (mu, kappa) at the maximum of the beta-binomial marginal likelihood, plugged in. When
    providers barely differ the likelihood keeps rising with kappa and the plug-in shrinks
    small providers completely onto the common level, so that a provider with 1 of 2 can
    look "clearly met"; the hierarchical fit keeps that uncertainty. On the same two cases the
    plug-in's interval ends differ from PyMC's by up to 0.094, and in simulated worlds its 90%
    intervals cover the true shares 86% of the time against 89% for the hierarchical fit
    (``tests/schemes/dex/test_dex_shrinkage.py``).

With fewer providers than ``min_groups`` the fallback prior (Jeffreys by default) is used.
Every posterior is a mixture of Betas; P(share >= target) is exact, interval ends are found
by Newton steps on the mixture CDF from the moment-matched Beta (error below 1e-9).

Examples
--------
>>> import numpy as np
>>> x, n = np.array([8, 40, 2, 30, 45, 9]), np.array([10, 50, 5, 40, 50, 12])
>>> prior = fit_prior(x, n)
>>> round(prior.mean, 2), prior.method
(0.76, 'hierarchical')
>>> post = mixture_posterior(np.array([2]), np.array([5]), prior, level=0.9, target=0.8)
>>> bool(post["p_target_met"].iloc[0] < 0.5)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Grids of the hierarchical fit (logit mu x log kappa points): a coarse one over logit(mu) in [-8, 8] and
#: the configured kappa range, then a finer one over the cells that hold the weight.
COARSE_GRID = (49, 33)
FINE_GRID = (24, 16)
#: Components carrying this share of the weight are kept (the rest is renormalised away).
KEPT_MASS = 0.99995


@dataclass(frozen=True)
class BetaMixture:
    """A prior for the share of each provider as a mixture of Betas (one component unless hierarchical)."""

    alpha: np.ndarray
    beta: np.ndarray
    weight: np.ndarray
    method: str  # "hierarchical", "empirical_bayes", "capped" (EB at the kappa bound) or "fallback"
    n_groups: int

    @property
    def mean(self) -> float:
        return float(np.sum(self.weight * self.alpha / (self.alpha + self.beta)))

    @property
    def concentration(self) -> float:
        """Weighted median of kappa = alpha + beta (the prior's worth in clients)."""
        k = self.alpha + self.beta
        o = np.argsort(k)
        return float(k[o][np.searchsorted(np.cumsum(self.weight[o]), 0.5)])


def _single(a: float, b: float, method: str, n: int) -> BetaMixture:
    return BetaMixture(np.array([float(a)]), np.array([float(b)]), np.array([1.0]), method, n)


def _loglik(a: np.ndarray, b: np.ndarray, x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Beta-binomial log marginal likelihood of all groups at each (a, b), without the binomial coefficients."""
    from scipy.special import betaln

    return (betaln(x[None, :] + a[:, None], (n - x)[None, :] + b[:, None]) - betaln(a, b)[:, None]).sum(axis=1)


def fit_prior(
    successes: np.ndarray,
    trials: np.ndarray,
    *,
    method: str = "hierarchical",
    min_groups: int = 5,
    fallback: tuple[float, float] = (0.5, 0.5),
    concentration_range: tuple[float, float] = (0.2, 1e4),
) -> BetaMixture:
    """Learn the prior of the providers' shares from their counts (groups without trials are ignored)."""
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    keep = n > 0
    x, n = x[keep], n[keep]
    if method == "fixed" or len(n) < min_groups:
        return _single(fallback[0], fallback[1], "fallback", len(n))
    lo, hi = np.log(concentration_range[0]), np.log(concentration_range[1])
    if method == "empirical_bayes":
        return _fit_eb(x, n, lo, hi)
    if method != "hierarchical":
        raise ValueError(f"unknown prior method {method!r}")
    # two passes: a coarse grid over the whole range finds where the weight is, a finer one integrates there
    box = ((-8.0, 8.0), (lo, hi))
    for points in (COARSE_GRID, FINE_GRID):
        a, b, w, cells = _grid(x, n, box, points)
        box = cells
    order = np.argsort(w)[::-1]
    kept = order[: int(np.searchsorted(np.cumsum(w[order]), KEPT_MASS)) + 1]
    return BetaMixture(a[kept], b[kept], w[kept] / w[kept].sum(), "hierarchical", len(n))


def _grid(
    x: np.ndarray, n: np.ndarray, box: tuple[tuple[float, float], tuple[float, float]], points: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple]:
    """Hyperposterior weights on a grid over ``box`` = ((logit mu range), (log kappa range)); also the
    bounding box (one cell wider) of the cells holding all but 1e-6 of the weight."""
    from scipy.special import expit

    u = np.linspace(*box[0], points[0])
    v = np.linspace(*box[1], points[1])
    uu, vv = (g.ravel() for g in np.meshgrid(u, v, indexing="ij"))
    m, k = expit(uu), np.exp(vv)
    a, b = m * k, (1 - m) * k
    # uniform prior on mu: Jacobian mu (1 - mu) on the logit grid; kappa^(-1/2) on the log grid
    logw = _loglik(a, b, x, n) + np.log(m * (1 - m)) - 0.5 * np.log(k)
    w = np.exp(logw - logw.max())
    w /= w.sum()
    order = np.argsort(w)[::-1]
    mass = order[: int(np.searchsorted(np.cumsum(w[order]), 1 - 1e-6)) + 1]
    du, dv = (u[1] - u[0]) if len(u) > 1 else 0.0, (v[1] - v[0]) if len(v) > 1 else 0.0
    cells = (
        (max(box[0][0], uu[mass].min() - du), min(box[0][1], uu[mass].max() + du)),
        (max(box[1][0], vv[mass].min() - dv), min(box[1][1], vv[mass].max() + dv)),
    )
    return a, b, w, cells


def _fit_eb(x: np.ndarray, n: np.ndarray, lo: float, hi: float) -> BetaMixture:
    from scipy.optimize import minimize
    from scipy.special import expit, logit

    def neg(theta: np.ndarray) -> float:
        mu, kappa = expit(theta[0]), np.exp(theta[1])
        return -float(_loglik(np.array([mu * kappa]), np.array([(1 - mu) * kappa]), x, n)[0])

    p = (x.sum() + 0.5) / (n.sum() + 1.0)
    var = max(float(np.var((x + 0.5) / (n + 1.0))), 1e-4)
    start = np.clip(np.log(max(p * (1 - p) / var - 1, 1e-3)), lo, hi)
    res = minimize(neg, np.array([logit(p), start]), method="L-BFGS-B", bounds=[(-9.0, 9.0), (lo, hi)])
    mu, kappa = float(expit(res.x[0])), float(np.exp(res.x[1]))
    return _single(mu * kappa, (1 - mu) * kappa, "capped" if res.x[1] >= hi - 1e-6 else "empirical_bayes", len(n))


def mixture_posterior(
    successes: np.ndarray,
    trials: np.ndarray,
    prior: BetaMixture,
    *,
    level: float = 0.9,
    target: float | None = None,
    newton_steps: int = 3,
) -> pd.DataFrame:
    """Posterior mean, equal-tailed ``level`` interval and, with a ``target``, P(share >= target), per group."""
    from scipy.special import betainc, betaln
    from scipy.stats import beta as beta_dist

    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    A = prior.alpha[:, None] + x[None, :]
    B = prior.beta[:, None] + (n - x)[None, :]
    W = prior.weight[:, None]
    mean = (W * A / (A + B)).sum(axis=0)
    var = np.maximum((W * A * (A + 1) / ((A + B) * (A + B + 1))).sum(axis=0) - mean**2, 1e-15)
    k = np.maximum(mean * (1 - mean) / var - 1, 1e-6)
    log_b = betaln(A, B)

    def quantile(q: float) -> np.ndarray:
        z = beta_dist.ppf(q, mean * k, (1 - mean) * k)  # moment-matched start
        for _ in range(newton_steps):
            z = np.clip(z, 1e-12, 1 - 1e-12)
            cdf = (W * betainc(A, B, z[None, :])).sum(axis=0)
            pdf = (W * np.exp((A - 1) * np.log(z) + (B - 1) * np.log1p(-z) - log_b)).sum(axis=0)
            z = z - (cdf - q) / np.maximum(pdf, 1e-300)
        return np.clip(z, 0.0, 1.0)

    tail = (1 - level) / 2
    out = pd.DataFrame({"posterior_mean": mean, "lower": quantile(tail), "upper": quantile(1 - tail)})
    if target is not None:
        out["p_target_met"] = 1.0 - (W * betainc(A, B, target)).sum(axis=0)
    return out
