"""The two-stage model recovers known site effects, and a re-run gives identical draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.bayes.ratings import fit_program


def _world(seed=11, sites=80, sd=0.5):
    rng = np.random.default_rng(seed)
    n_site = rng.integers(10, 300, sites)
    b = {"a": rng.normal(0, sd, sites), "b": rng.normal(0, 0.3, sites)}
    rows = []
    for m in ("a", "b"):
        s = np.repeat(np.arange(sites), n_site)
        p0 = rng.uniform(0.1, 0.6, len(s))
        y = rng.random(len(s)) < 1 / (1 + np.exp(-(np.log(p0 / (1 - p0)) + b[m][s])))
        rows.append(pd.DataFrame({"program": "DMS", "measure": m, "site_id": [f"S{i:03d}" for i in s],
                                  "rating_contract_id": [f"C{i // 4}" for i in s],
                                  "rating_organisation_id": [f"O{i // 20}" for i in s],
                                  "expected_p": p0, "numerator": y}))
    return pd.concat(rows, ignore_index=True), b


@pytest.fixture(scope="module")
def fitted(fast_config):
    frame, truth = _world()
    return frame, truth, fit_program(frame, "DMS", ["a", "b"], fast_config, 5)


def test_recovers_site_effects_and_their_spread(fitted):
    frame, truth, fit = fitted
    for j, m in enumerate(["a", "b"]):
        est = fit.site_effects(m)
        true = pd.Series(truth[m], index=[f"S{i:03d}" for i in range(len(truth[m]))]).reindex(est.index)
        shift = float(fit.idata.posterior["shift"].sel(measure=m).mean())
        assert np.corrcoef(est["mean"] - shift, true)[0, 1] > 0.7
        sigma = fit.idata.posterior["sigma_site"].sel(measure=m).values.ravel()
        lo, hi = np.quantile(sigma, [0.01, 0.99])
        assert lo < {"a": 0.5, "b": 0.3}[m] < hi
        # shrinkage: posterior means spread less than the truth, sites with few records most
        assert (est["mean"] - shift).std() < true.std() * 1.05
    assert fit.b_draws.shape[1:] == (80, 2)


def test_identical_draws_on_rerun(fitted, fast_config):
    frame, _, fit = fitted
    again = fit_program(frame, "DMS", ["a", "b"], fast_config, 5)
    np.testing.assert_array_equal(fit.b_draws, again.b_draws)
    np.testing.assert_array_equal(fit.idata.posterior["sigma_site"].values, again.idata.posterior["sigma_site"].values)
    other = fit_program(frame, "DMS", ["a"], fast_config, 6)
    assert not np.array_equal(fit.site_effects("a")["mean"], other.site_effects("a")["mean"])


def test_factor_model_runs_and_reports_correlation(fast_config):
    frame, _ = _world(3, sites=40)
    fit = fit_program(frame, "DMS", ["a", "b"], fast_config, 1, cross_measure="factor")
    assert "corr_site" in fit.idata.posterior
    assert len(fit.measure_diagnostics) == 2 and fit.b_draws.shape == (100, 40, 2)
