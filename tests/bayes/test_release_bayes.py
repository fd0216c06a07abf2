"""``variant: bayes`` end to end: columns beside the published ratings, gates, artifacts, registered models."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from toolkit.release.config import load_release_config

# a participant id as a token (binary database pages can hold "P" next to a long number)
PARTICIPANT_ID = re.compile(rb"(?<![A-Za-z0-9])P\d{7}(?![0-9])")


@pytest.fixture(scope="module")
def bayes_yaml(tmp_path_factory, fast_config):
    p = tmp_path_factory.mktemp("bayes_cfg") / "fast.yaml"
    p.write_text(yaml.safe_dump(fast_config.model_dump(mode="json")))
    return p


@pytest.fixture(scope="module")
def release(small_world_dir, bayes_yaml, tmp_path_factory):
    from toolkit.release.pipeline import run_release

    d = tmp_path_factory.mktemp("mlflow_bayes")
    config, path = load_release_config("releases/demo.yaml")
    config = config.model_copy(update={"variant": "bayes", "bayes": str(bayes_yaml)})
    res = run_release(
        config,
        small_world_dir,
        config_path=path,
        tracking_uri=f"sqlite:///{d / 'mlflow.db'}",
        out_root=d / "releases",
        progress=False,
    )
    return res, f"sqlite:///{d / 'mlflow.db'}", d


@pytest.mark.slow
def test_published_columns_unchanged_and_bayes_columns_added(release, small_world_dir):
    from toolkit.contracts import load_tables
    from toolkit.release.compute import compute_release

    res = release[0]
    config, _ = load_release_config("releases/demo.yaml")
    freq = compute_release(load_tables(small_world_dir), config).ratings
    pd.testing.assert_frame_equal(res.ratings[list(freq.columns)], freq)
    r = res.ratings
    calc = r["calculated"].to_numpy(bool)
    p = r.loc[calc, [f"p_star_{k}" for k in range(1, 6)]].to_numpy()
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert r.loc[~calc, "p_star_3"].isna().all()
    for stem in ("bayes_performance_score", "bayes_star_percentage", "bayes_ratio_g26"):
        lo, mid, hi = (r.loc[calc, f"{stem}{s}"] for s in ("_q5", "", "_q95"))
        assert (lo <= mid + 1e-9).all() and (mid <= hi + 1e-9).all()
    on_disk = pd.read_csv(res.folder / "ratings.csv")
    assert {"p_star_1", "bayes_stars", "bayes_star_percentage_q95"} <= set(on_disk.columns)


@pytest.mark.slow
def test_gates_decide_the_status_and_artifacts_are_written(release):
    res = release[0]
    diag = pd.read_csv(res.folder / "bayes_diagnostics.csv")
    # the site model, and (rating_models: per_level) a contract and an organisation model: per program and measure
    assert len(diag) == 3 * (2 + 13)
    for suffix in ("", "-contract", "-organisation"):
        names = set(diag["model"])
        assert f"des-ess-full_26-bayes{suffix}" in names and f"des-dms-pathway_52-bayes{suffix}" in names
    failed_models = diag.loc[~diag["passed"] & diag["model"].str.startswith("des-"), "model"]
    for m in failed_models:
        assert any(f.startswith(m) for f in res.failed_checks)
    assert (res.status == "failed") == bool(res.failed_checks)
    plots = {p.name for p in (res.folder / "plots" / "bayes").iterdir()}
    assert "caterpillar_ess_full_26.png" in plots and "star_bands_dms.png" in plots and "sd_posterior_ess.png" in plots
    assert "## Bayesian variant" in (res.folder / "report.md").read_text()
    # two_stage.couple_measures: the correlation of true effects each model's draws were given, per measure pair
    corr = pd.read_csv(res.folder / "bayes_effect_correlation.csv")
    assert set(corr["model"]) == {"site", "contract", "organisation"} and set(corr["program"]) == {"DMS", "ESS"}
    assert len(corr) == 3 * (15 + 21)  # pairs of 6 DMS and 7 ESS measures
    assert corr["effect_correlation"].between(-0.95, 0.95).all()


@pytest.mark.slow
def test_registered_bayes_model_scores_records_with_posterior_mean_probabilities(release, small_world_dir):
    import mlflow
    from mlflow.tracking import MlflowClient

    from toolkit.contracts import load_tables
    from toolkit.records.frame import build_frame

    res, uri, store = release
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri)
    names = {m.name for m in client.search_registered_models()}
    assert "des-dms-full_13-bayes" in names and "des-ess-ongoing_support-bayes" in names
    model = mlflow.pyfunc.load_model(f"models:/des-dms-full_13-bayes/{res.model_versions['des-dms-full_13-bayes']}")
    config, _ = load_release_config("releases/demo.yaml")
    mf = build_frame(load_tables(small_world_dir), config.window.start, config.window.end)
    rec = mf.frame[(mf.frame["program"] == "DMS") & (mf.frame["measure"] == "full_13")].head(400)
    p = np.asarray(model.predict(rec))
    assert p.shape == (400,) and np.all((p > 0) & (p < 1))
    # against a Monte Carlo posterior mean from the summary the model carries: a site with a clearly
    # positive effect gets a higher probability than the frequentist model gives it
    freq = mlflow.pyfunc.load_model(f"models:/des-dms-full_13/{res.model_versions['des-dms-full_13']}")
    q = np.asarray(freq.predict(rec))
    assert np.corrcoef(p, q)[0, 1] > 0.8 and not np.allclose(p, q)
    # no participant rows or ids in anything tracked (the record-level exclusion list stays in the release folder)
    hits = [
        str(f)
        for f in Path(store).rglob("*")
        if f.is_file() and "releases" not in f.parts and f.suffix != ".db" and PARTICIPANT_ID.search(f.read_bytes())
    ]
    assert not hits, hits[:5]


@pytest.mark.slow
def test_same_inputs_give_byte_identical_ratings(small_world_dir, bayes_yaml, tmp_path):
    from toolkit.contracts import load_tables
    from toolkit.release.compute import compute_release_variant

    config, _ = load_release_config("releases/demo.yaml")
    config = config.model_copy(update={"variant": "bayes", "bayes": str(bayes_yaml)})
    tables = load_tables(small_world_dir)
    a = compute_release_variant(tables, config).ratings
    b = compute_release_variant(tables, config).ratings
    a.to_csv(tmp_path / "a.csv", index=False)
    b.to_csv(tmp_path / "b.csv", index=False)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert a["p_star_3"].notna().any()


@pytest.mark.slow
def test_demo_world_release_combines_models_re_run_with_different_draw_counts(tmp_path_factory):
    """Issue 15: on the demo world (small, seed 2020) the ESS organisation model re-ran full_13 with 3 x and
    full_26 with 5 x the draws after failed gates, and combining them crashed ("could not broadcast input
    array from shape (2,10000) into shape (2,6000)"). With the release's own Bayesian config (the re-runs
    are what this test needs) every model's draws now combine and are scored."""
    from toolkit.contracts import load_tables
    from toolkit.release.compute import compute_release_variant
    from toolkit.synth import generate_world, write_world

    world = tmp_path_factory.mktemp("demo_world")
    write_world(generate_world("small", seed=2020), world, overwrite=True)
    config, _ = load_release_config("releases/demo.yaml")
    comp = compute_release_variant(load_tables(world), config.model_copy(update={"variant": "bayes"}))
    assert comp.bayes is not None
    res, bc = comp.bayes.result, comp.bayes.config
    fits = list(res.fits.values()) + list(res.level_fits.values())
    draws = {f.diagnostics.model: [d.draws for d in f.measure_diagnostics] for f in fits}
    # the path that crashed: a program's first measure re-run with more draws than a later measure
    assert any(d[0] > min(d) for d in draws.values()), draws
    for f in fits:
        per_chain = min(draws[f.diagnostics.model]) // bc.sampler.chains
        assert f.idata["posterior"].sizes["draw"] == per_chain
        assert f.b_draws.shape[0] == bc.scoring.draws and np.isfinite(f.b_draws).all()
    r = comp.ratings
    calc = r["calculated"].to_numpy(bool)
    p = r.loc[calc, [f"p_star_{k}" for k in range(1, 6)]].to_numpy()
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
