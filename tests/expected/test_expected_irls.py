"""The IRLS engine on its own: offsets, badly scaled columns, covariance accuracy."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from toolkit.expected.irls import fit_logistic


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(11)
    n = 20_000
    x = np.column_stack([np.ones(n), rng.normal(size=n), rng.random(n) < 0.1, rng.gamma(2, 900, n)])
    beta = np.array([-1.0, 0.5, 0.8, 2e-4])
    off = rng.normal(0, 0.3, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(x @ beta + off)))).astype(float)
    return np.asfortranarray(x), y, off


def test_offset_fit_matches_statsmodels(problem):
    x, y, off = problem
    res = fit_logistic(x, y, offset=off)
    ref = sm.GLM(y, x, family=sm.families.Binomial(), offset=off).fit(tol=1e-14, maxiter=100)
    np.testing.assert_allclose(res.coef, ref.params, rtol=1e-9)
    assert res.deviance == pytest.approx(ref.deviance, rel=1e-12)
    assert res.null_deviance == pytest.approx(ref.null_deviance, rel=1e-9)


def test_covariance_is_the_inverse_information_at_the_solution(problem):
    x, y, _ = problem
    res = fit_logistic(x, y)
    mu = 1 / (1 + np.exp(-(x @ res.coef)))
    _q, r = np.linalg.qr(x * np.sqrt(mu * (1 - mu))[:, None])  # stable QR route, no normal equations
    r_inv = np.linalg.inv(r)
    np.testing.assert_allclose(res.cov, r_inv @ r_inv.T, rtol=1e-9)
    grad = x.T @ (y - mu)
    assert np.max(np.abs(grad)) < 1e-6 * np.sqrt(len(y))  # score equations hold
    assert res.converged and 3 <= res.n_iter <= 12
