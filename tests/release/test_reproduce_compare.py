"""Reproduce and compare tracked releases (real sqlite store in a temporary folder)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from toolkit.release.compare import (
    coefficient_differences,
    compare_runs,
    transition_matrix,
)
from toolkit.release.config import load_release_config
from toolkit.release.pipeline import run_release
from toolkit.release.reproduce import check_inputs, reproduce


@pytest.fixture(scope="module")
def tracked(small_world_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("repro")
    uri = f"sqlite:///{d / 'mlflow.db'}"
    config, path = load_release_config("releases/demo.yaml")
    res = run_release(
        config, small_world_dir, config_path=path, tracking_uri=uri, out_root=d / "releases", progress=False
    )
    return {"uri": uri, "dir": d, "result": res, "config": config, "path": path}


def _quiet(msg):
    pass


def test_reproduce_is_identical_even_without_the_release_folder(tracked):
    shutil.rmtree(tracked["result"].folder)
    res = reproduce(tracked["result"].run_id, tracking_uri=tracked["uri"], allow_code_drift=True, say=_quiet)
    assert res.reproduced, res.differences
    assert res.verdict.startswith("REPRODUCED") and "byte-identical" in res.verdict
    assert "13 models' coefficients within rtol 1e-09" in res.verdict


def test_changed_or_missing_data_is_named(tracked, small_world_dir, tmp_path):
    d = tmp_path / "data"
    shutil.copytree(small_world_dir, d)
    p = d / "participants.parquet"
    df = pd.read_parquet(p)
    df.loc[0, "age"] = int(df.loc[0, "age"]) + 1
    df.to_parquet(p, index=False)
    (d / "regions.parquet").unlink()
    res = reproduce(
        tracked["result"].run_id, tracking_uri=tracked["uri"], data_dir=d, allow_code_drift=True, say=_quiet
    )
    assert not res.reproduced and res.verdict.startswith("NOT REPRODUCIBLE")
    text = "\n".join(res.drift.data)
    assert "participants.parquet differs" in text and "regions.parquet is missing" in text


def test_code_drift_is_named():
    params = {"git_commit": "0" * 40, "git_dirty": "true", "versions.numpy": "0.0.1", "input_sha256.x.csv": "ab"}
    d = check_inputs(params, Path("/nonexistent"))
    text = "\n".join(d.code)
    assert "git commit differs" in text and "dirty working tree" in text and "package numpy" in text
    assert d.data == ["data folder /nonexistent does not exist"]


def test_a_changed_tracked_output_is_reported(tracked, small_world_dir):
    """Corrupt the tracked ratings artifact: reproduction must report the cell, not pass."""
    config, path = load_release_config("releases/demo.yaml")
    res = run_release(
        config,
        small_world_dir,
        config_path=path,
        tracking_uri=tracked["uri"],
        out_root=tracked["dir"] / "releases",
        progress=False,
    )
    art = next((tracked["dir"] / "artifacts").rglob(f"{res.run_id}/artifacts/release/ratings.csv"))
    df = pd.read_csv(art, keep_default_na=False, dtype=str)
    i = df.index[df["stars"] != ""][0]
    df.loc[i, "stars"] = "5" if df.loc[i, "stars"] != "5" else "1"
    df.to_csv(art, index=False)
    out = reproduce(res.run_id, tracking_uri=tracked["uri"], allow_code_drift=True, say=_quiet)
    assert not out.reproduced and out.verdict.startswith("NOT REPRODUCED")
    assert any("ratings.csv: column stars differs in 1 row(s)" in d for d in out.differences), out.differences


def test_cli_reproduce_one_line_verdict(tracked, run_cli):
    res = run_cli("reproduce", tracked["result"].run_id, "--tracking-uri", tracked["uri"], "--allow-code-drift")
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("REPRODUCED")
    bad = run_cli("reproduce", "0" * 32, "--tracking-uri", tracked["uri"])
    assert bad.returncode == 2 and "not found" in bad.stderr and "Traceback" not in bad.stderr


def test_compare_method_variants(tracked, small_world_dir, run_cli):
    config = tracked["config"].model_copy(update={"method": "des_2018_interim"})
    b = run_release(
        config,
        small_world_dir,
        config_path=tracked["path"],
        tracking_uri=tracked["uri"],
        out_root=tracked["dir"] / "releases",
        progress=False,
    )
    a = tracked["result"]
    c = compare_runs(a.run_id, b.run_id, tracked["uri"])
    n_entities = len(a.ratings)
    assert int(c.transitions["entities"].sum()) == n_entities
    mat = transition_matrix(c.transitions, "DMS", "contract")
    assert int(mat.to_numpy().sum()) == int(
        ((a.ratings["program"] == "DMS") & (a.ratings["level"] == "contract")).sum()
    )
    changed = c.changed
    assert len(changed) > 0 and changed["drivers"].str.contains("g52").any()  # the interim weights drop g52
    assert (changed["stars_a"] != changed["stars_b"]).all()
    assert "config.method" in set(c.inputs["parameter"]) and "method_hash" in set(c.inputs["parameter"])
    assert (c.coefficients["largest_change"].fillna(0) < 1e-12).all()  # same data, same models
    out = run_cli("compare", a.run_id, b.run_id, "--tracking-uri", tracked["uri"], "--out", tracked["dir"] / "cmp")
    assert out.returncode == 0, out.stderr
    assert "entities keep their stars" in out.stdout and "config.method" in out.stdout
    folder = next((tracked["dir"] / "cmp").iterdir())
    assert {
        "transitions.csv",
        "changed_entities.csv",
        "standardisation_changes.csv",
        "coefficient_changes.csv",
        "input_differences.csv",
        "coefficient_diffs.csv",
        "comparison.txt",
        "comparison.html",
    } <= {p.name for p in folder.iterdir()}
    html = (folder / "comparison.html").read_text()
    assert html.count('class="heat"') == c.transitions.groupby(["program", "level"]).ngroups
    start = html.index('id="moved-table"')
    moved = html[start : html.index("</table>", start)]
    assert moved.count("<tr>") == len(changed) + 1  # + the header row
    diffs = pd.read_csv(folder / "coefficient_diffs.csv")
    assert set(diffs["model"]) == set(c.coefficients["model"]) and len(diffs) > 13
    assert (diffs["difference"].abs() < 1e-12).all()


def test_coefficient_differences_per_term():
    a = {"m1": pd.Series({"Intercept": 0.5, "age": 0.1, "gone": 1.0})}
    b = {"m1": pd.Series({"Intercept": 0.7, "age": 0.1, "new": -1.0}), "m2": pd.Series({"Intercept": 0.0})}
    d = coefficient_differences(a, b)
    m1 = d[d["model"] == "m1"].set_index("term")
    assert m1.loc["Intercept", "difference"] == pytest.approx(0.2)
    assert m1.loc["age", "difference"] == 0.0
    assert pd.isna(m1.loc["gone", "coef_b"]) and pd.isna(m1.loc["new", "coef_a"])
    # absent terms first (unknown difference), then by size of the change
    assert list(m1.index[:2]) == ["gone", "new"] and list(m1.index[2:]) == ["Intercept", "age"]
    assert d[d["model"] == "m2"]["coef_a"].isna().all()


def test_a_synthetic_world_that_is_gone_is_regenerated(small_world_dir, tmp_path, run_cli):
    """A reviewer with a clone and the tracking store alone: the small world the release read is deleted,
    reproduce regenerates it from the tracked generator, scale and seed, and the hashes still match."""
    world = tmp_path / "world"
    shutil.copytree(small_world_dir, world)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config, path = load_release_config("releases/demo.yaml")
    res = run_release(config, world, config_path=path, tracking_uri=uri, out_root=tmp_path / "releases", progress=False)
    shutil.rmtree(world)
    out = run_cli("reproduce", res.run_id, "--tracking-uri", uri, "--allow-code-drift")
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().startswith("REPRODUCED")
    assert "regenerating the small synthetic world (seed 7)" in out.stdout + out.stderr


def test_allow_data_drift_compares_and_names_the_inputs(tracked, small_world_dir, tmp_path):
    d = tmp_path / "data"
    shutil.copytree(small_world_dir, d)
    p = d / "measure_records.parquet"
    df = pd.read_parquet(p)
    df.drop(index=df.index[::10]).to_parquet(p, index=False)  # one record in ten gone: the ratings must move
    res = reproduce(
        tracked["result"].run_id,
        tracking_uri=tracked["uri"],
        data_dir=d,
        allow_code_drift=True,
        allow_data_drift=True,
        say=_quiet,
    )
    assert not res.reproduced and res.verdict.startswith("NOT REPRODUCED") and "1 of them in the inputs" in res.verdict
    assert res.differences[0].startswith("input: data file measure_records.parquet differs")
    assert any(x.startswith("ratings.csv") for x in res.differences[1:]), res.differences
