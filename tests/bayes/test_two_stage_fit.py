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
        rows.append(
            pd.DataFrame(
                {
                    "program": "DMS",
                    "measure": m,
                    "site_id": [f"S{i:03d}" for i in s],
                    "rating_contract_id": [f"C{i // 4}" for i in s],
                    "rating_organisation_id": [f"O{i // 20}" for i in s],
                    "expected_p": p0,
                    "numerator": y,
                }
            )
        )
    return pd.concat(rows, ignore_index=True), b


@pytest.fixture(scope="module")
def fitted(fast_config):
    frame, truth = _world()
    return frame, truth, fit_program(frame, "DMS", ["a", "b"], fast_config, 5)


def test_recovers_site_effects_and_their_spread(fitted):
    _, truth, fit = fitted
    for _j, m in enumerate(["a", "b"]):
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


def test_level_model_estimates_shared_contract_effects_and_maps_them_onto_sites(fast_config):
    """rating_models: per_level. Four sites share each contract's effect: the contract model recovers it, and
    its draws reach every site of the contract unchanged."""
    rng = np.random.default_rng(21)
    contracts, per = 40, 4
    eff = rng.normal(0, 0.5, contracts)
    rows = []
    for c in range(contracts):
        for s in range(per):
            n = int(rng.integers(5, 60))
            p0 = rng.uniform(0.1, 0.6, n)
            y = rng.random(n) < 1 / (1 + np.exp(-(np.log(p0 / (1 - p0)) + eff[c])))
            rows.append(
                pd.DataFrame(
                    {
                        "program": "DMS",
                        "measure": "a",
                        "site_id": f"S{c:02d}{s}",
                        "rating_contract_id": f"C{c:02d}",
                        "rating_organisation_id": f"O{c // 8}",
                        "expected_p": p0,
                        "numerator": y,
                    }
                )
            )
    frame = pd.concat(rows, ignore_index=True)
    from toolkit.bayes.ratings import fit_level_model
    from toolkit.bayes.twostage import cell_data

    sites = cell_data(frame, "DMS", ["a"], ["site"], 2)
    fit, b = fit_level_model(frame, "DMS", ["a"], fast_config, "contract", 3, sites)
    assert list(fit.cells.entities["site"]) == [f"C{c:02d}" for c in range(contracts)]
    est = fit.site_effects("a")["mean"]
    assert np.corrcoef(est.to_numpy(), eff)[0, 1] > 0.8
    assert b.shape == (fit.b_draws.shape[0], contracts * per, 1)
    site_contract = np.array([int(s[1:3]) for s in sites.entities["site"]])
    np.testing.assert_array_equal(b[:, :, 0], fit.b_draws[:, site_contract, 0])
    assert fit.diagnostics.model.startswith("DMS-contract")
