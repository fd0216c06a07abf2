"""Uncertainty of the expected outcomes: the risk model's coefficients are estimates too.

The two-stage model takes each record's expected probability from the frequentist fit as
known. For a large organisation the posterior of its actual outcomes is narrow, and the
error of its expected outcomes ``E`` then dominates: on national world 1, the SD of
``log(E / E_true)`` over organisations is 0.032 (DMS full_13) against a model-based
standard error of 0.009 from the fit's covariance. Residuals are correlated within
providers (that is what provider effects are), so the fit's model-based covariance is too
small; the cluster-robust (sandwich) covariance with organisations as clusters gives 0.028,
most of the observed error (``experiments/bayes_results.md``).

Each scored draw ``d`` therefore divides by ``E_d = E * exp(J (beta_d - beta_hat))``, with
``beta_d`` drawn from ``Normal(beta_hat, V)``, ``V`` the cluster-robust covariance (CR1) and
``J`` each entity's gradient of ``log E`` in the coefficients (first order in
``beta_d - beta_hat``, whose effect on ``log E`` has an SD of a few hundredths).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from toolkit.bayes.twostage import LEVEL_COLUMNS
from toolkit.errors import InputError

if TYPE_CHECKING:
    from toolkit.bayes.posterior import EntityRecords
    from toolkit.expected.fitting import FittedMeasure


def cluster_robust_cov(x: np.ndarray, y: np.ndarray, p: np.ndarray, clusters: np.ndarray | None) -> np.ndarray:
    """Sandwich covariance of logistic coefficients, ``B M B`` with ``B = (X'WX)^-1``.

    ``clusters`` (codes per row): ``M = c sum_g s_g s_g'`` with ``s_g`` the cluster's score
    ``sum_i x_i (y_i - p_i)`` and the CR1 factor ``c = G/(G-1) (N-1)/(N-K)``; ``None``: the
    model-based covariance ``B``.
    """
    w = p * (1.0 - p)
    bread = np.linalg.pinv((x * w[:, None]).T @ x, hermitian=True)
    if clusters is None:
        return bread
    codes, _ = pd.factorize(clusters)
    g = int(codes.max()) + 1
    scores = sp.csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(g, len(codes))) @ (
        x * (y - p)[:, None]
    )
    n, k = x.shape
    c = g / max(g - 1, 1) * (n - 1) / max(n - k, 1)
    return c * bread @ (scores.T @ scores) @ bread


def _draws(cov: np.ndarray, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """(n_draws, K) draws of Normal(0, cov), cov positive semi-definite."""
    vals, vecs = np.linalg.eigh((cov + cov.T) / 2)
    root = vecs * np.sqrt(np.clip(vals, 0, None))
    return rng.standard_normal((n_draws, len(vals))) @ root.T


def expected_factors(
    frame: pd.DataFrame,
    fits: dict[str, FittedMeasure],
    program: str,
    measures: list[str],
    records: EntityRecords,
    n_draws: int,
    cluster: str,
    random_seed: int,
) -> dict[str, np.ndarray]:
    """Per level, (draws, entities, measures) factors ``E_d / E`` for one program's entities.

    Parameters
    ----------
    frame : the release's records with ``expected_p`` (the rows :class:`~toolkit.bayes.posterior.EntityRecords`
        was built from).
    fits : the release's fitted measures (``ComputedRelease.fits``: spec and :class:`ExpectedModel` each).
    records : :class:`~toolkit.bayes.posterior.EntityRecords` of the program (entity indicators, de-duplicated
        as the release counts them).
    cluster : ``organisation``, ``contract``, ``site`` (cluster-robust covariance) or ``model`` (model-based).
    """
    rec = frame.loc[(frame["program"] == program) & frame["measure"].isin(measures)].reset_index(drop=True)
    by_measure = {(f.spec.records.program, f.spec.records.measure): f for f in fits.values()}
    m_count = len(measures)
    out = {lv: np.ones((n_draws, len(ids), m_count)) for lv, ids in records.ids.items()}
    seeds = np.random.SeedSequence(random_seed).generate_state(m_count)
    for j, (measure, seed) in enumerate(zip(measures, seeds, strict=True)):
        fit = by_measure.get((program, measure))
        if fit is None:
            raise InputError(
                f"program {program}, measure {measure}: no fitted risk model for the expected outcomes' "
                f"uncertainty (scoring.expected_uncertainty); fitted: {sorted(by_measure)}"
            )
        rows = np.flatnonzero(rec["measure"].to_numpy() == measure)
        sub = rec.iloc[rows]
        x = fit.model.design_matrix(sub).to_numpy(dtype=np.float64)
        p = sub["expected_p"].to_numpy(dtype=np.float64)
        y = sub[fit.spec.outcome].to_numpy(dtype=np.float64)
        groups = None if cluster == "model" else sub[LEVEL_COLUMNS[cluster]].astype(str).to_numpy()
        delta = _draws(cluster_robust_cov(x, y, p, groups), n_draws, np.random.default_rng(int(seed)))
        grad = x * (p * (1.0 - p))[:, None]  # d p_i / d beta
        for lv, ind in records.indicator.items():
            cols = np.arange(len(records.ids[lv])) * m_count + j
            pick = ind[rows][:, cols]  # (records of the measure, entities)
            e = np.asarray(pick.T @ p).ravel()
            jac = pick.T @ grad  # (entities, K): d E / d beta
            with np.errstate(invalid="ignore", divide="ignore"):
                jac = np.where(e[:, None] > 0, jac / e[:, None], 0.0)
            out[lv][:, :, j] = np.exp(delta @ jac.T)
    return out
