"""A release whose training records separate on a sparse level (issue 15): the model spec's sparse-level rule
pools the level, the release passes, and the pooling is in the design state, the model's run, the report and
the registered model."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from toolkit.contracts import load_tables
from toolkit.records.frame import build_frame
from toolkit.release.config import load_release_config
from toolkit.release.pipeline import run_release

WINDOW = ("2018-07-01", "2020-03-31")


@pytest.fixture(scope="module")
def separated_world(small_world_dir, tmp_path_factory):
    """The small world with ``homeless`` true for 60 participants only, each with ESS 52-week pathway records
    and no such outcome: ``homeless`` has no event in that model (quasi-complete separation), as income
    support type ``other``, ``indigenous`` and ``homeless`` had on 3 of 13 small worlds."""
    out = tmp_path_factory.mktemp("separated_world") / "world"
    shutil.copytree(small_world_dir, out)
    frame = build_frame(load_tables(out), *WINDOW).frame
    rec = frame[(frame["program"] == "ESS") & (frame["measure"] == "pathway_52")]
    never = rec.groupby("participant_id")["numerator"].any()
    chosen = sorted(never[~never].index)[:60]
    part = pd.read_parquet(out / "participants.parquet")
    part["homeless"] = part["participant_id"].isin(chosen)
    part.to_parquet(out / "participants.parquet", index=False)
    return out


@pytest.fixture(scope="module")
def release(separated_world, tmp_path_factory):
    d = tmp_path_factory.mktemp("mlflow_sparse")
    config, path = load_release_config("releases/demo.yaml")
    uri = f"sqlite:///{d / 'mlflow.db'}"
    res = run_release(config, separated_world, config_path=path, tracking_uri=uri, out_root=d / "out", progress=False)
    return res, uri


def test_release_passes_with_the_separating_level_pooled_and_recorded(release):
    from mlflow.tracking import MlflowClient

    res, uri = release
    assert res.status == "passed", res.failed_checks
    state = json.loads((res.folder / "models" / "ess_pathway_52" / "design_state.json").read_text())
    pooled = {(p["term"], p["level"]): p for p in state["pooled"]}
    assert pooled["homeless", "True"]["into"] == "False" and pooled["homeless", "True"]["events"] == 0
    homeless = next(f for f in state["factors"] if f["name"] == "homeless")
    assert homeless["levels"] == [False] and homeless["pooled"] == [[True, False]]
    report = (res.folder / "report.md").read_text()
    assert "## Sparse levels" in report and "min 1 events, 1 non-events (13 models)" in report
    assert "| des-ess-pathway_52 | homeless | True | False | 0 |" in report
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(res.run_id)
    children = client.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{res.run_id}'")
    child = next(
        c for c in children if c.data.tags["model.measure"] == "pathway_52" and c.data.tags["model.program"] == "ESS"
    )
    assert child.data.params["sparse_levels.pooled"].startswith("homeless True -> False (0 events, ")
    assert child.data.params["spec.sparse_levels.min_events"] == "1"
    assert child.data.metrics["pooled_levels"] >= 1


def test_registered_model_scores_new_records_with_the_pooled_design(release, separated_world):
    import mlflow

    res, uri = release
    mlflow.set_tracking_uri(uri)
    loaded = mlflow.pyfunc.load_model(f"models:/des-ess-pathway_52/{res.model_versions['des-ess-pathway_52']}")
    frame = build_frame(load_tables(separated_world), *WINDOW).frame
    sub = frame[(frame["program"] == "ESS") & (frame["measure"] == "pathway_52")]
    assert sub["homeless"].sum() >= 60
    p = np.asarray(loaded.predict(sub))
    np.testing.assert_allclose(p.sum(), sub["numerator"].sum(), rtol=1e-9)  # the release's fit: O = E
    # a pooled level is scored as its reference, not as an unseen level
    q = np.asarray(loaded.predict(sub.assign(homeless=False)))
    np.testing.assert_array_equal(p, q)
