"""A release end to end against a real sqlite MLflow store in a temporary folder."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.contracts import load_tables
from toolkit.errors import DataContractError
from toolkit.expected import fit_expected
from toolkit.expected.fitting import choose_formula
from toolkit.expected.spec import load_model_set
from toolkit.records.frame import build_frame
from toolkit.release.config import load_release_config
from toolkit.release.pipeline import run_release

# a participant id as a token (binary database pages can hold "P" next to a long number, e.g. a timestamp)
PARTICIPANT_ID = re.compile(rb"(?<![A-Za-z0-9])P\d{7}(?![0-9])")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    d = tmp_path_factory.mktemp("mlflow")
    return {"uri": f"sqlite:///{d / 'mlflow.db'}", "dir": d, "out": d / "releases"}


@pytest.fixture(scope="module")
def release(small_world_dir, store):
    config, path = load_release_config("releases/demo.yaml")
    return run_release(
        config, small_world_dir, config_path=path, tracking_uri=store["uri"], out_root=store["out"], progress=False
    )


def test_release_passes_and_registers_champions(release, store, small_world_dir):
    from mlflow.tracking import MlflowClient

    assert release.status == "passed", release.failed_checks
    oe = pd.read_csv(release.folder / "entity_oe.csv")
    np.testing.assert_allclose(oe["oe"], oe["observed"] / oe["expected"])
    assert set(oe["level"]) == {"site", "contract", "organisation"}
    client = MlflowClient(tracking_uri=store["uri"])
    names = sorted(m.name for m in client.search_registered_models())
    assert len(names) == 13 and "des-ess-full_26" in names and "des-ess-ongoing_support" in names
    for name in names:
        assert str(client.get_model_version_by_alias(name, "champion").version) == release.model_versions[name]
    run = client.get_run(release.run_id)
    assert run.info.status == "FINISHED" and run.data.tags["toolkit.status"] == "passed"
    for key in (
        "config_hash",
        "git_commit",
        "git_dirty",
        "seed",
        "versions.numpy",
        "input_sha256.measure_records.parquet",
    ):
        assert key in run.data.params, key
    children = client.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{release.run_id}'")
    assert len(children) == 13
    child = next(
        c for c in children if c.data.tags["model.measure"] == "full_26" and c.data.tags["model.program"] == "ESS"
    )
    assert {"auc", "brier", "calibration_slope", "deviance_explained", "n", "events"} <= set(child.data.metrics)
    for key in ("config_hash", "git_commit", "git_dirty", "versions.numpy", "input_sha256.measure_records.parquet"):
        assert child.data.params[key] == run.data.params[key], key  # each model run carries its provenance
    arts = {a.path for a in client.list_artifacts(child.info.run_id)}
    assert {"coefficients.csv", "design_state.json", "calibration_ess_full_26.png", "funnel_ess_full_26.png"} <= arts
    # issue 15: every record's place, in the folder and logged with the other aggregate tables
    assert "release/accounting.csv" in {a.path for a in client.list_artifacts(release.run_id, "release")}
    acc = pd.read_csv(release.folder / "accounting.csv", keep_default_na=False)
    n_in = acc.loc[(acc["program"] == "all") & (acc["stage"] == "in"), "records"].item()
    assert n_in == len(pd.read_parquet(small_world_dir / "measure_records.parquet"))


def test_registered_model_predicts_like_the_in_process_fit(release, store, small_world_dir):
    import mlflow

    mlflow.set_tracking_uri(store["uri"])
    loaded = mlflow.pyfunc.load_model("models:/des-ess-full_26@champion")
    tables = load_tables(small_world_dir)
    frame = build_frame(tables, "2018-07-01", "2020-03-31").frame
    sub = frame[(frame["program"] == "ESS") & (frame["measure"] == "full_26")]
    spec = load_model_set("des_2018")["ess_full_26"]
    formula, _ = choose_formula(spec, sub)
    model = fit_expected(sub, formula, spec.outcome, out_of_range="clip", unseen_level="reference")
    sample = sub.sample(500, random_state=1)
    cols = model.design_state_.source_columns
    p_registry = loaded.predict(sample[cols])
    np.testing.assert_allclose(np.asarray(p_registry), model.predict(sample), rtol=1e-12, atol=0)
    # the release's expected outcomes come from the same model: summed over contracts, every record once
    em = release.entity_measures
    sel = (em["level"] == "contract") & (em["measure"] == "full_26") & (em["program"] == "ESS")
    assert em.loc[sel, "expected"].sum() == pytest.approx(model.predict(sub).sum(), rel=1e-9)
    assert em.loc[sel, "n"].sum() == len(sub)


def test_registered_model_rejects_bad_input(release, store, small_world_dir):
    import mlflow

    mlflow.set_tracking_uri(store["uri"])
    loaded = mlflow.pyfunc.load_model("models:/des-dms-full_13@champion")
    tables = load_tables(small_world_dir)
    frame = build_frame(tables, "2018-07-01", "2020-03-31").frame.head(20)
    with pytest.raises(DataContractError, match=r"lack 1 column\(s\) the model needs: jsci_score"):
        loaded.predict(frame.drop(columns=["jsci_score"]))
    bad = frame.copy()
    bad.loc[bad.index[:3], "education"] = "doctorate"
    with pytest.raises(DataContractError, match=r"education: rule 'enum' broken by 3 rows"):
        loaded.predict(bad)


def test_no_participant_level_data_in_the_store(release, store):
    hits = []
    for p in Path(store["dir"]).rglob("*"):
        if p.is_file() and "releases" not in p.parts and PARTICIPANT_ID.search(p.read_bytes()):
            hits.append(str(p))
    assert not hits, f"participant ids found in tracked files: {hits[:5]}"
    # the scan covers the dossier: report.html and the entity pages are tracked artifacts
    html = [p for p in Path(store["dir"]).rglob("*.html") if "releases" not in p.parts]
    assert any(p.name == "report.html" for p in html), "report.html not among the tracked artifacts scanned"
    assert sum("entities" in p.parts for p in html) > 10, "entity pages not among the tracked artifacts scanned"
    con = sqlite3.connect(Path(store["dir"]) / "mlflow.db")
    for (table,) in con.execute("select name from sqlite_master where type='table'"):
        for row in con.execute(f"select * from '{table}'"):
            text = " ".join(map(str, row)).encode()
            assert not PARTICIPANT_ID.search(text), f"participant id in MLflow table {table}"
    # the record-level exclusion list exists in the release folder only, readable by its owner only
    assert (release.folder / "exclusions.csv").is_file()
    assert (release.folder / "exclusions.csv").stat().st_mode & 0o777 == 0o600


def test_same_inputs_give_byte_identical_ratings(release, small_world_dir, store):
    config, path = load_release_config("releases/demo.yaml")
    again = run_release(
        config, small_world_dir, config_path=path, tracking_uri=store["uri"], out_root=store["out"], progress=False
    )
    assert again.folder != release.folder and release.folder.is_dir()
    for name in ("ratings.csv", "entity_measures.csv", "ratings.parquet", "accounting.csv"):
        assert (again.folder / name).read_bytes() == (release.folder / name).read_bytes(), name


def test_failed_checks_do_not_move_champion(release, small_world_dir, store):
    from mlflow.tracking import MlflowClient

    config, path = load_release_config("releases/demo.yaml")
    strict = config.model_copy(update={"checks": config.checks.model_copy(update={"min_auc": 0.99})})
    client = MlflowClient(tracking_uri=store["uri"])
    before = str(client.get_model_version_by_alias("des-ess-full_13", "champion").version)
    res = run_release(
        strict, small_world_dir, config_path=path, tracking_uri=store["uri"], out_root=store["out"], progress=False
    )
    assert res.status == "failed" and any("AUC" in f for f in res.failed_checks)
    assert str(client.get_model_version_by_alias("des-ess-full_13", "champion").version) == before
    assert int(res.model_versions["des-ess-full_13"]) > int(before)
    assert client.get_run(res.run_id).data.tags["toolkit.status"] == "failed"
    assert "FAILED" in (res.folder / "report.md").read_text()


def test_cli_release_bad_data_exit_2(tiny_world_dir, tmp_path, run_cli):
    import shutil

    d = tmp_path / "bad"
    shutil.copytree(tiny_world_dir, d)
    p = d / "contracts.parquet"
    df = pd.read_parquet(p)
    df.loc[0, "program"] = "JSA"
    df.to_parquet(p, index=False)
    res = run_cli(
        "release", "--data", d, "--tracking-uri", f"sqlite:///{tmp_path / 'db.sqlite'}", "--out", tmp_path / "r"
    )
    assert res.returncode == 2, res.stderr
    assert "contracts.program: rule 'enum' broken by 1 row" in res.stderr and "Traceback" not in res.stderr
