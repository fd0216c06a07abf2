"""Correlated true effects across measures, for the independent per-measure models.

A site's true effects on its measures are correlated (an entity good at 13-week outcomes tends to
be good at 26-week ones), but ``cross_measure: independent`` samples each measure on its own: a
posterior led by the prior then has independent errors across measures, and a performance score
that adds the measures up is too sure (error of the posterior median score over its posterior SD:
SD 1.15 for sites on national world 1). The joint factor model captures the correlation but does
not pass the gates within the release budget (``experiments/bayes_results.md``).

This module keeps every entity's marginal posterior per measure and gives the draws the error
correlation the correlated effects imply. With ``s`` the weight of the data in an entity's posterior
(``s = V tau^2 / (1 + V tau^2)``, ``V = sum p (1 - p)`` over its records at ``b = 0``, ``tau`` the
measure's between-entity SD) and ``R`` the correlation of true effects across measures, the error of
the posterior mean, ``(1 - s) b - s noise``, has correlation

    C[m, k] = R[m, k] sqrt((1 - s_m) (1 - s_k))

between measures ``m`` and ``k`` (noise independent across measures). ``R`` is a moment estimate
from the posterior means: ``E[mean_m mean_k] = s_m s_k R[m, k] tau_m tau_k`` over entities. The
draws of each entity are reordered measure by measure to follow Gaussian scores with correlation
``C`` (a Gaussian copula on ranks): marginals unchanged, dependence added.
"""

from __future__ import annotations

import numpy as np

from toolkit.bayes.twostage import CellData, cell_information


def data_share(cd: CellData, tau: np.ndarray) -> np.ndarray:
    """(entities, measures) weight of the data in each posterior; 0 where an entity has no records."""
    info = np.zeros((len(cd.entities["site"]), len(cd.measures)))
    info[cd.cell_site, cd.cell_measure] = cell_information(cd)
    t2 = np.asarray(tau, dtype=float)[None, :] ** 2
    return info * t2 / (1.0 + info * t2)


def effect_correlation(mean: np.ndarray, share: np.ndarray, tau: np.ndarray, min_entities: int = 30) -> np.ndarray:
    """Moment estimate of the correlation of true effects across measures, projected to a correlation matrix.

    ``mean``: (entities, measures) posterior mean effects, centred per measure; ``share``: :func:`data_share`.
    Pairs with fewer than ``min_entities`` entities holding both measures get 0.
    """
    m = mean.shape[1]
    r = np.eye(m)
    for i in range(m):
        for j in range(i + 1, m):
            both = (share[:, i] > 0) & (share[:, j] > 0)
            if both.sum() < min_entities:
                continue
            den = np.sum(share[both, i] * share[both, j]) * tau[i] * tau[j]
            if den > 0:
                r[i, j] = r[j, i] = np.clip(np.sum(mean[both, i] * mean[both, j]) / den, -0.95, 0.95)
    vals, vecs = np.linalg.eigh(r)
    if vals.min() < 1e-6:  # nearest positive definite matrix with unit diagonal
        r = (vecs * np.clip(vals, 1e-6, None)) @ vecs.T
        d = np.sqrt(np.diag(r))
        r = r / np.outer(d, d)
    return r


def couple_measures(
    b: np.ndarray, shift: np.ndarray, share: np.ndarray, tau: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Reorder the draws ``b`` (draws, entities, measures) of each entity to carry the error correlation ``C``.

    ``shift``: (draws, measures) the measures' shifts in the same draws (effects are centred on them to
    estimate ``R``). Returns the coupled draws and ``R``.
    """
    d, n_e, m = b.shape
    if m < 2:
        return b, np.eye(m)
    mean = (b - shift[:, None, :]).mean(axis=0)
    mean = mean - np.where(share > 0, mean, 0).sum(axis=0) / np.maximum((share > 0).sum(axis=0), 1)
    r = effect_correlation(np.where(share > 0, mean, 0.0), share, tau)
    q = np.sqrt(np.clip(1.0 - share, 0.0, 1.0))
    c = r[None, :, :] * q[:, :, None] * q[:, None, :]
    c[:, np.arange(m), np.arange(m)] = 1.0
    low = np.linalg.cholesky(c + 1e-9 * np.eye(m)[None])  # (entities, M, M)
    rng = np.random.default_rng(seed)
    z = np.einsum("dem,ekm->dek", rng.standard_normal((d, n_e, m)), low)
    rank = np.argsort(np.argsort(z, axis=0, kind="stable"), axis=0, kind="stable")
    return np.take_along_axis(np.sort(b, axis=0), rank, axis=0), r
