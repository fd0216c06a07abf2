"""Rank-normalised split R-hat and bulk/tail ESS (Vehtari et al. 2021), vectorised over parameters.

The same estimators as :func:`arviz.rhat` (``method="rank"``) and :func:`arviz.ess`
(``"bulk"``, ``"tail"``), computed for tens of thousands of parameters at once (ArviZ
loops over them one by one, minutes for a national model). ``tests/bayes`` checks the
numbers against ArviZ.
"""

from __future__ import annotations

import numba
import numpy as np
from scipy import stats


def _split(a: np.ndarray) -> np.ndarray:
    """(P, chains, draws) -> (P, 2 chains, draws // 2): first and last halves of each chain."""
    half = a.shape[2] // 2
    return np.concatenate([a[:, :, :half], a[:, :, a.shape[2] - half :]], axis=1)


def _z_scale(a: np.ndarray) -> np.ndarray:
    """Rank-normalise each parameter's draws (Blom offset 3/8).

    Every parameter has the same number of draws, so the normal scores are computed once and
    placed by each row's sort order. Tied draws (which continuous samplers do not produce) get
    consecutive rather than averaged ranks.
    """
    p = a.shape[0]
    flat = a.reshape(p, -1)
    n = flat.shape[1]
    scores = stats.norm.ppf((np.arange(1, n + 1) - 0.375) / (n + 0.25))
    order = np.argsort(flat, axis=1, kind="stable")
    z = np.empty_like(flat)
    np.put_along_axis(z, order, np.broadcast_to(scores, flat.shape), axis=1)
    return z.reshape(a.shape)


def _rhat(a: np.ndarray) -> np.ndarray:
    """Split R-hat of (P, chains, draws) from the between- and within-chain variances."""
    n = a.shape[2]
    chain_mean = a.mean(axis=2)
    b = n * chain_mean.var(axis=1, ddof=1)
    w = a.var(axis=2, ddof=1).mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt((b / w + n - 1) / n)


def _autocov(a: np.ndarray) -> np.ndarray:
    """Autocovariance of each chain along the last axis, by FFT (biased, divided by the draws)."""
    n = a.shape[-1]
    m = 1 << int(np.ceil(np.log2(2 * n)))
    x = a - a.mean(axis=-1, keepdims=True)
    f = np.fft.rfft(x, n=m, axis=-1)
    return np.fft.irfft(f * np.conjugate(f), n=m, axis=-1)[..., :n] / n


@numba.njit(nogil=True, cache=True)
def _geyer(acov: np.ndarray, chain_var_of_means: np.ndarray, n_draw: int, n_chain: int) -> np.ndarray:
    """Geyer's initial monotone sequence ESS of each parameter from its chains' autocovariances ``acov``
    (P, chains, draws) and the variance of its chain means (as :func:`arviz.ess`)."""
    p_count = acov.shape[0]
    out = np.empty(p_count)
    for p in range(p_count):
        mean_acov = np.zeros(n_draw)
        for c in range(n_chain):
            mean_acov += acov[p, c]
        mean_acov /= n_chain
        mean_var = mean_acov[0] * n_draw / (n_draw - 1.0)
        var_plus = mean_var * (n_draw - 1.0) / n_draw
        if n_chain > 1:
            var_plus += chain_var_of_means[p]
        rho = np.zeros(n_draw)
        rho[0] = 1.0
        even = 1.0
        odd = 1.0 - (mean_var - mean_acov[1]) / var_plus
        rho[1] = odd
        t = 1
        while t < (n_draw - 3) and (even + odd) > 0.0:
            even = 1.0 - (mean_var - mean_acov[t + 1]) / var_plus
            odd = 1.0 - (mean_var - mean_acov[t + 2]) / var_plus
            if (even + odd) >= 0:
                rho[t + 1] = even
                rho[t + 2] = odd
            t += 2
        max_t = t - 2
        if even > 0:
            rho[max_t + 1] = even
        t = 1
        while t <= max_t - 2:
            if (rho[t + 1] + rho[t + 2]) > (rho[t - 1] + rho[t]):
                rho[t + 1] = (rho[t - 1] + rho[t]) / 2.0
                rho[t + 2] = rho[t + 1]
            t += 2
        ess = n_chain * n_draw
        tau = -1.0 + 2.0 * np.sum(rho[: max_t + 1]) + np.sum(rho[max_t + 1 : max_t + 2])
        tau = max(tau, 1.0 / np.log10(ess))
        out[p] = ess / tau
    return out


def _ess(a: np.ndarray) -> np.ndarray:
    """Geyer ESS of (P, chains, draws); constant parameters get the number of draws."""
    n_chain, n_draw = a.shape[1], a.shape[2]
    out = np.full(a.shape[0], float(n_chain * n_draw))
    rng = a.max(axis=(1, 2)) - a.min(axis=(1, 2))
    live = rng >= np.finfo(float).resolution
    if live.any():
        x = a[live]
        out[live] = _geyer(_autocov(x), x.mean(axis=2).var(axis=1, ddof=1), n_draw, n_chain)
    return out


def rhat_rank(a: np.ndarray) -> np.ndarray:
    """Rank-normalised split R-hat of draws (P, chains, draws): max of bulk and folded."""
    s = _split(np.asarray(a, dtype=float))
    bulk = _rhat(_z_scale(s))
    folded = _rhat(_z_scale(np.abs(s - np.median(s.reshape(s.shape[0], -1), axis=1)[:, None, None])))
    return np.maximum(bulk, folded)


def ess_bulk(a: np.ndarray) -> np.ndarray:
    """Bulk ESS of draws (P, chains, draws)."""
    return _ess(_z_scale(_split(np.asarray(a, dtype=float))))


def ess_tail(a: np.ndarray) -> np.ndarray:
    """Tail ESS: the smaller ESS of the indicators of the 5% and 95% quantiles."""
    a = np.asarray(a, dtype=float)
    flat = a.reshape(a.shape[0], -1)
    out = []
    for prob in (0.05, 0.95):
        q = np.quantile(flat, prob, axis=1)
        out.append(_ess(_split((a <= q[:, None, None]).astype(float))))
    return np.minimum(out[0], out[1])


def summaries(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rhat_rank, ess_bulk, ess_tail)`` of draws (P, chains, draws), sharing the rank normalisation."""
    a = np.asarray(a, dtype=float)
    s = _split(a)
    z = _z_scale(s)
    folded = _z_scale(np.abs(s - np.median(s.reshape(s.shape[0], -1), axis=1)[:, None, None]))
    return np.maximum(_rhat(z), _rhat(folded)), _ess(z), ess_tail(a)
