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


def _fake_posterior(chains, draws, sites, tag):
    """A posterior whose every value encodes its (chain, draw) position: tag + chain * 1e5 + draw."""
    import arviz as az
    import xarray as xr

    pos = tag + np.arange(chains)[:, None] * 1e5 + np.arange(draws)[None, :]
    post = xr.Dataset(
        {
            "shift": (("chain", "draw", "measure"), pos[..., None]),
            "sigma_site": (("chain", "draw", "measure"), pos[..., None] + 0.5),
            "b_site": (("chain", "draw", "site", "measure"), np.repeat(pos[:, :, None, None], sites, axis=2)),
        }
    )
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((chains, draws), dtype=bool))})
    return az.InferenceData(posterior=post, sample_stats=stats)


def test_combine_thins_measures_sampled_with_different_draw_counts_to_the_shortest_run():
    """Issue 15: a re-run after a failed gate samples more draws (3 x, 5 x, ...); the program posterior
    keeps the shortest run's draws per chain and thins every longer run evenly within each chain (the last
    draw of each block), whichever measure comes first. Before the fix a first measure with more draws
    than a later one crashed (could not broadcast (2,10000) into (2,6000))."""
    from toolkit.bayes.ratings import _combine
    from toolkit.bayes.twostage import cell_data

    frame, _ = _world(3, sites=12)
    frame = pd.concat([frame, frame[frame["measure"] == "a"].assign(measure="c")], ignore_index=True)
    cd_all = cell_data(frame, "DMS", ["a", "b", "c"], ["site"], 2)
    counts = {"a": 600, "b": 1000, "c": 200}  # a retried 3 x, b 5 x, c not retried
    parts = [
        (cell_data(frame, "DMS", [m], ["site"], 2), _fake_posterior(2, n, 12, 1e6 * (j + 1)))
        for j, (m, n) in enumerate(counts.items())
    ]
    idata, b = _combine(["a", "b", "c"], parts, cd_all, 100)
    post = idata["posterior"]
    assert (post.sizes["chain"], post.sizes["draw"]) == (2, 200)
    for j, (m, n) in enumerate(counts.items()):
        step = n // 200
        kept = 1e6 * (j + 1) + np.arange(2)[:, None] * 1e5 + (np.arange(200) * step + step - 1)[None, :]
        np.testing.assert_array_equal(post["shift"].sel(measure=m).values, kept)
        np.testing.assert_array_equal(post["sigma_site"].sel(measure=m).values, kept + 0.5)
        # the scored draws: the same thinned positions for every site, taken from the kept draws in chain order
        take = np.linspace(0, 399, 100).round().astype(int)
        np.testing.assert_array_equal(b[:, :, j], np.repeat(kept.reshape(-1)[take][:, None], 12, axis=1))
    np.testing.assert_array_equal(idata["sample_stats"]["diverging"].values, np.zeros((2, 3)))


def test_retried_measures_with_different_draw_counts_combine_and_rerun_identically(fast_config, monkeypatch):
    """The retry path forced: measure a fails its gate on the first run (re-run with 3 x the draws), b passes;
    the program fit completes, scores its draws and is identical on a re-run (same seed)."""
    import toolkit.bayes.ratings as ratings

    real = ratings.check_convergence
    base = fast_config.sampler.chains * fast_config.sampler.draws

    def gate_a_once(idata, gates, model, var_names=None):
        d = real(idata, gates, model, var_names)
        if "-a-" in model and d.draws == base:
            d.failures.append(f"{model}: forced failure (test)")
        return d

    monkeypatch.setattr(ratings, "check_convergence", gate_a_once)
    lenient = fast_config.gates.model_copy(
        update={"max_rhat": 2.0, "min_ess_bulk": 1, "min_ess_tail": 1, "max_divergences": 10**6}
    )  # only the forced failure re-runs a model
    config = fast_config.model_copy(
        update={"sampler": fast_config.sampler.model_copy(update={"retry_draws_factor": 3}), "gates": lenient}
    )
    frame, _ = _world(5, sites=30)
    fits = [fit_program(frame, "DMS", ["a", "b"], config, 9) for _ in range(2)]
    fit = fits[0]
    assert [d.attempts for d in fit.measure_diagnostics] == [2, 1]
    assert [d.draws for d in fit.measure_diagnostics] == [3 * base, base]
    assert fit.idata["posterior"].sizes["draw"] == fast_config.sampler.draws
    assert fit.b_draws.shape == (fast_config.scoring.draws, 30, 2) and np.isfinite(fit.b_draws).all()
    np.testing.assert_array_equal(fit.b_draws, fits[1].b_draws)


def test_every_model_scores_as_many_draws_when_its_first_runs_have_fewer_than_scoring_draws(fast_config, monkeypatch):
    """With fewer first-run draws (chains x draws) than ``scoring.draws``, a model whose measures were all re-run
    would have given more draws than one never re-run, and the site and level models' draws are scored
    together draw by draw: every model gives ``min(scoring.draws, chains x draws)``."""
    import toolkit.bayes.ratings as ratings

    real = ratings.check_convergence

    def gate_first_runs(idata, gates, model, var_names=None):
        d = real(idata, gates, model, var_names)
        if d.draws == 60:
            d.failures.append(f"{model}: forced failure (test)")
        return d

    monkeypatch.setattr(ratings, "check_convergence", gate_first_runs)
    s = fast_config.sampler.model_copy(update={"chains": 1, "cores": 1, "draws": 60, "retry_draws_factor": 3})
    lenient = fast_config.gates.model_copy(
        update={"max_rhat": 2.0, "min_ess_bulk": 1, "min_ess_tail": 1, "max_divergences": 10**6}
    )
    config = fast_config.model_copy(update={"sampler": s, "gates": lenient})
    frame, _ = _world(5, sites=20)
    fit = fit_program(frame, "DMS", ["a", "b"], config, 9)
    assert [d.draws for d in fit.measure_diagnostics] == [180, 180]
    assert ratings.scored_draws(config) == 60 and fit.b_draws.shape == (60, 20, 2)
