"""The risk model's coefficient uncertainty carried into each draw's expected outcomes
(``scoring.expected_uncertainty``, :mod:`toolkit.bayes.expected`), and the adaptive retry of a failed model."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from toolkit.bayes.config import load_bayes_config
from toolkit.bayes.diagnostics import Diagnostics
from toolkit.bayes.expected import cluster_robust_cov, expected_factors
from toolkit.bayes.posterior import EntityRecords
from toolkit.bayes.ratings import retry_factor
from toolkit.bayes.twostage import cell_data


def _logit_data(seed=0, n=4000, clusters=60):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, clusters, n)
    x = np.column_stack([np.ones(n), rng.normal(size=n), rng.normal(size=n) + 0.3 * (g % 5)])
    y = (rng.random(n) < expit(x @ [-0.5, 0.8, -0.4] + rng.normal(0, 0.5, clusters)[g])).astype(float)
    return x, y, g


def test_sandwich_matches_statsmodels():
    """CR1 cluster-robust and model-based covariances equal statsmodels' GLM ones at the same fit."""
    import statsmodels.api as sm

    x, y, g = _logit_data()
    res = sm.GLM(y, x, family=sm.families.Binomial()).fit(cov_type="cluster", cov_kwds={"groups": g})
    p = res.predict(x)
    np.testing.assert_allclose(cluster_robust_cov(x, y, p, g), res.cov_params(), rtol=1e-6)
    plain = sm.GLM(y, x, family=sm.families.Binomial()).fit()
    np.testing.assert_allclose(cluster_robust_cov(x, y, plain.predict(x), None), plain.cov_params(), rtol=1e-6)
    # clustered residuals (a shared effect per cluster) inflate the variance of the intercept and of the
    # covariate that varies between clusters, not of the one that varies within them
    ratio = np.diag(res.cov_params()) / np.diag(plain.cov_params())
    assert ratio[0] > 1.5 and ratio[2] > 1.3 and 0.7 < ratio[1] < 1.3


@pytest.fixture(scope="module")
def release(small_world_dir):
    from toolkit.contracts import load_tables
    from toolkit.release.compute import compute_release
    from toolkit.release.config import load_release_config

    config, _ = load_release_config("releases/demo.yaml")
    return compute_release(load_tables(small_world_dir), config)


def test_expected_factors_follow_the_coefficient_covariance(release):
    """Each entity's log factor has mean ~0 and the SD the delta method gives, J V J', and its first-order
    form matches the exact E(beta_d) / E(beta_hat) for a small coefficient shift."""
    frame, program, measures = release.frame, "DMS", ["full_13"]
    fit = next(
        f for f in release.fits.values() if (f.spec.records.program, f.spec.records.measure) == ("DMS", "full_13")
    )
    cd = cell_data(frame, program, measures, ("site",), 2)
    recs = EntityRecords(frame, cd)
    fac = expected_factors(frame, release.fits, program, measures, recs, 4000, "model", 5)
    rec = frame.loc[(frame["program"] == program) & frame["measure"].isin(measures)].reset_index(drop=True)
    x = fit.model.design_matrix(rec).to_numpy(float)
    p = rec["expected_p"].to_numpy(float)
    cov = cluster_robust_cov(x, rec[fit.spec.outcome].to_numpy(float), p, None)
    ind = recs.indicator["contract"]
    e = np.asarray(ind.T @ p).ravel()
    jac = (ind.T @ (x * (p * (1 - p))[:, None])) / e[:, None]
    sd = np.sqrt(np.einsum("ij,jk,ik->i", jac, cov, jac))
    log_f = np.log(fac["contract"][:, :, 0])
    assert log_f.shape == (4000, len(recs.ids["contract"]))
    np.testing.assert_allclose(log_f.std(axis=0), sd, rtol=0.06)
    assert np.all(np.abs(log_f.mean(axis=0)) < 4 * sd / np.sqrt(4000) + 1e-12)
    # first order against exact for a shift of one standard error along the first eigenvector
    vals, vecs = np.linalg.eigh(cov)
    delta = vecs[:, -1] * np.sqrt(vals[-1])
    exact = np.asarray(ind.T @ expit(np.log(p / (1 - p)) + x @ delta)).ravel() / e
    np.testing.assert_allclose(np.exp(jac @ delta), exact, rtol=2e-3)


def test_expected_uncertainty_needs_the_risk_models(release):
    from toolkit.bayes.ratings import bayes_ratings
    from toolkit.errors import InputError
    from toolkit.scoring import load_method

    cfg = load_bayes_config()
    cfg = cfg.model_copy(update={"scoring": cfg.scoring.model_copy(update={"expected_uncertainty": "organisation"})})
    with pytest.raises(InputError, match="expected_uncertainty is 'organisation'"):
        bayes_ratings(release.frame, release.entity_measures, release.ratings, load_method("des_2018"), cfg, 1)


def _diag(bulk, tail, rhat=1.0, div=0):
    return Diagnostics(
        model="m",
        max_rhat=rhat,
        min_ess_bulk=bulk,
        min_ess_tail=tail,
        divergences=div,
        parameters=1,
        draws=4000,
        worst_rhat="",
        worst_ess="",
    )


def test_retry_takes_the_draws_the_ess_asks_for():
    cfg = load_bayes_config()  # gates 400 / 400; retry 3 x, at most 10 x
    assert retry_factor(_diag(1000, 1000, rhat=1.02), cfg) == 3  # R-hat failure: the configured factor
    assert retry_factor(_diag(390, 900), cfg) == 3  # 2 x 400 / 390 = 2.05 -> at least 3
    assert retry_factor(_diag(900, 200), cfg) == 4  # 2 x 400 / 200
    assert retry_factor(_diag(900, 108), cfg) == 8  # 7.4 -> 8
    assert retry_factor(_diag(60, 900), cfg) == 10  # capped
    assert retry_factor(_diag(float("nan"), 900), cfg) == 10
    assert retry_factor(_diag(900, float("nan")), cfg) == 10


def test_retry_after_divergences_samples_every_effect_non_centred():
    from tests.bayes.test_density import _records
    from toolkit.bayes.ratings import retry_config
    from toolkit.bayes.twostage import cell_data, centring_flags, compile_two_stage

    cfg = load_bayes_config()
    same, how = retry_config(_diag(900, 900, rhat=1.02), cfg)
    assert same is cfg and how == ""
    changed, how = retry_config(_diag(900, 900, div=3), cfg)
    assert changed.two_stage.centre_information == float("inf") and "non-centred" in how
    off = cfg.model_copy(update={"sampler": cfg.sampler.model_copy(update={"retry_non_centred": False})})
    assert retry_config(_diag(900, 900, div=3), off)[0] is off
    cd = cell_data(_records(), "DMS", ["a", "b"], ("site",), 2)
    _, lay = compile_two_stage(cd, changed, "independent")
    assert centring_flags(cd, lay, changed.two_stage.centre_information).sum() == 0
    assert centring_flags(cd, lay, 0.0).sum() > 0
