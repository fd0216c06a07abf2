"""Fixtures of the hostile-input suite: the worlds bad inputs are made from (once per session) and the
tracked runs that reproduce and compare cases point at (once per module, in the module's store)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hostile_harness import Ctx, store_state

from toolkit.paths import ROOT

PUBLICATION = ROOT / "tests" / "data" / "published" / "des-star-ratings-march-2020.xlsx"
#: A folder name with spaces and non-ASCII characters: commands must work in it.
ODD = "wörld ✓ with spaces"
SECRET_ENV = "HOSTILE_CI_SECRET"
SECRET = "hostile-suite-secret-0123456789"


def _main(argv: list[str], capsys=None) -> None:
    from toolkit.cli import main

    code = main([str(a) for a in argv])
    assert code == 0, f"{argv}: exit {code}"


@pytest.fixture(scope="session")
def hostile_worlds(tiny_world_dir, tmp_path_factory) -> dict[str, Path]:
    """The tiny DES world, and the scheme worlds written once (``dex``/``dcp``/``clients synth``), a cohort
    table and a small publication."""
    import pandas as pd

    from toolkit.published.read import _grid
    from toolkit.schemes.cohort.config import load_cohort_config
    from toolkit.schemes.cohort.simulate import simulate_cohort

    root = tmp_path_factory.mktemp("hostile_worlds")
    worlds = {"des": tiny_world_dir}
    for scheme in ("dex", "dcp", "clients"):
        _main([scheme, "synth", "--out", root / scheme])
        worlds[scheme] = root / scheme
    cohort = root / "cohort"
    cohort.mkdir()
    simulate_cohort(24, load_cohort_config("schemes/cohort/default.yaml"), 3).to_csv(cohort / "cohort.csv", index=False)
    worlds["cohort"] = cohort
    pub = root / "publication"
    pub.mkdir()
    grid = _grid(PUBLICATION).head(120)
    grid.to_csv(pub / "publication.csv", index=False, header=False)
    shutil.copy(PUBLICATION, pub / "publication.xlsx")
    worlds["publication"] = pub
    assert pd.read_csv(pub / "publication.csv", header=None).shape[0] == 120
    return worlds


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory) -> str:
    """The module's own sqlite store (created empty)."""
    d = tmp_path_factory.mktemp("hostile_store")
    uri = f"sqlite:///{d / 'mlflow.db'}"
    from toolkit.tracking.store import connect

    connect(uri)
    store_state(uri)
    return uri


@pytest.fixture(scope="module")
def hostile_runs(hostile_worlds, hostile_store, tmp_path_factory) -> dict:
    """Tracked runs in the module's store, made once: a release read from and written to folders whose
    names have spaces and non-ASCII characters (a success case: it must work), and a cohort evaluation
    (a run of another kind)."""
    import os

    import mlflow

    base = tmp_path_factory.mktemp("hostile_runs") / ODD
    data = base / "data"
    shutil.copytree(hostile_worlds["des"], data, ignore=shutil.ignore_patterns("truth"))
    old = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = hostile_store
    try:
        _main(["release", "--data", data, "--config", "demo", "--out", base / "releases"])
        _main(["evaluate", "--synthetic", "20", "--out", base / "evaluations"])
    finally:
        if old is None:
            del os.environ["MLFLOW_TRACKING_URI"]
        else:
            os.environ["MLFLOW_TRACKING_URI"] = old
    runs, _ = store_state(hostile_store)
    by_kind = {}
    for r in runs.values():
        if r.data.tags.get("mlflow.parentRunId") is None:
            by_kind[r.data.tags.get("toolkit.kind")] = r
    release, evaluation = by_kind["release"], by_kind["evaluate"]
    assert release.info.status == "FINISHED" and release.data.tags["toolkit.status"] == "passed"
    (folder,) = (base / "releases").iterdir()
    child = next(r for r in runs.values() if r.data.tags.get("mlflow.parentRunId") == release.info.run_id)
    assert mlflow.active_run() is None
    return {
        "release": release.info.run_id,
        "release_folder": folder,
        "release_data": data,
        "evaluation": evaluation.info.run_id,
        "child": child.info.run_id,
    }


@pytest.fixture()
def ctx(request, tmp_path, hostile_worlds, hostile_store) -> Ctx:
    runs = request.getfixturevalue("hostile_runs") if "hostile_runs" in request.fixturenames else {}
    return Ctx(tmp=tmp_path / "case", worlds=hostile_worlds, store=hostile_store, runs=runs)
