"""Bad input to ``toolkit release`` is a clear error and exit 2, found before anything exists:
no MLflow store, run, registered model or folder is created."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from toolkit.paths import CONFIGS, ROOT

DEMO = yaml.safe_load((CONFIGS / "releases" / "demo.yaml").read_text())


def _config(tmp_path: Path, **changes) -> Path:
    raw = {k: v for k, v in DEMO.items() if k != "data"}
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    p = tmp_path / "release.yaml"
    p.write_text(yaml.safe_dump(raw))
    return p


def _release(run_cli, tmp_path: Path, data: Path, *args: str, env: dict | None = None, out: bool = True):
    store = tmp_path / "store"
    out_root = tmp_path / "out"
    r = run_cli(
        "release",
        "--data",
        data,
        "--tracking-uri",
        f"sqlite:///{store / 'mlflow.db'}",
        *(("--out", out_root) if out and "--out" not in args else ()),
        *args,
        env=env,
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    assert not store.exists(), "an MLflow store was created before the inputs were validated"
    assert not out_root.exists() or not any(out_root.iterdir()), "a release folder was created"
    return r.stderr


@pytest.mark.parametrize(
    "window, words",
    [
        ({"end": "2020-02-30"}, "window.end"),
        ({"start": "20180701"}, "window.start"),
        ({"start": "2021-01-01"}, "before window.start"),
    ],
)
def test_invalid_window_dates(window, words, tiny_world_dir, tmp_path, run_cli):
    err = _release(run_cli, tmp_path, tiny_world_dir, "--config", _config(tmp_path, window=window))
    assert words in err


@pytest.mark.parametrize(
    "tracking, words",
    [
        ({"alias": "champ/ion"}, "tracking.alias"),
        ({"alias": "latest"}, "reserved"),
        ({"experiment": ""}, "tracking.experiment"),
        ({"experiment": "   "}, "tracking.experiment"),
    ],
)
def test_invalid_alias_and_experiment_names(tracking, words, tiny_world_dir, tmp_path, run_cli):
    err = _release(run_cli, tmp_path, tiny_world_dir, "--config", _config(tmp_path, tracking=tracking))
    assert words in err


def test_out_pointing_at_a_file(tiny_world_dir, tmp_path, run_cli):
    f = tmp_path / "a-file"
    f.write_text("x")
    err = _release(run_cli, tmp_path, tiny_world_dir, "--config", "demo", "--out", f)
    assert "is a file, not a folder" in err
    err = _release(run_cli, tmp_path, tiny_world_dir, "--config", "demo", "--out", f / "below")
    assert "is a file, not a folder" in err


def test_previous_that_is_not_a_ratings_table(tiny_world_dir, tmp_path, run_cli):
    sites = tiny_world_dir / "sites.parquet"
    err = _release(run_cli, tmp_path, tiny_world_dir, "--config", "demo", "--previous", sites)
    assert "missing column(s)" in err and "sites.parquet" in err
    err = _release(run_cli, tmp_path, tiny_world_dir, "--config", "demo", "--previous", tiny_world_dir)
    assert "is not a file" in err
    junk = tmp_path / "ratings.parquet"
    junk.write_bytes(b"PAR1 not really")
    err = _release(run_cli, tmp_path, tiny_world_dir, "--config", "demo", "--previous", junk)
    assert "cannot be read as PARQUET" in err
    bad = tmp_path / "ratings.csv"
    pd.DataFrame(
        {"program": ["DMS"], "level": ["site"], "entity_id": ["S1"], "status": ["rated"], "star_percentage": [50]}
    ).assign(stars=9).to_csv(bad, index=False)
    err = _release(run_cli, tmp_path, tiny_world_dir, "--config", "demo", "--previous", bad)
    assert "stars 1-5" in err


def test_truncated_table_in_a_release(tiny_world_dir, tmp_path, run_cli):
    d = tmp_path / "world"
    shutil.copytree(tiny_world_dir, d)
    p = d / "participants.parquet"
    p.write_bytes(p.read_bytes()[:100])
    err = _release(run_cli, tmp_path, d, "--config", "demo")
    assert "participants.parquet" in err and "cannot be read" in err


def test_unknown_bayes_config_is_found_first(tiny_world_dir, tmp_path, run_cli):
    err = _release(run_cli, tmp_path, tiny_world_dir, "--config", _config(tmp_path, bayes="no_such_bayes"))
    assert "no_such_bayes" in err


@pytest.mark.parametrize("key", ["method", "models", "bayes", "previous", "output_root"])
def test_config_paths_outside_the_repository_are_refused(key, tiny_world_dir, tmp_path, run_cli):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    target = {
        "method": CONFIGS / "methods" / "des_2018.yaml",
        "models": CONFIGS / "models" / "des_2018",
        "bayes": CONFIGS / "bayes" / "des_2018.yaml",
        "previous": None,
        "output_root": None,
    }[key]
    if target is not None:
        copy = outside / target.name
        (shutil.copytree if target.is_dir() else shutil.copy)(target, copy)
    else:
        copy = outside / "x"
    out = key != "output_root"  # --out would be the user's own choice, which replaces the config's
    cfg = _config(tmp_path, **{key: str(copy)})
    err = _release(run_cli, tmp_path, tiny_world_dir, "--config", cfg, out=out)
    assert f"{key} names" in err and "outside the workspace" in err
    relative = _config(tmp_path, **{key: str(Path("..") / ".." / ".." / ".." / ".." / copy.relative_to("/"))})
    err = _release(run_cli, tmp_path, tiny_world_dir, "--config", relative, out=out)
    assert "outside the workspace" in err


def test_formula_of_the_model_set_is_checked_before_the_run(tiny_world_dir, tmp_path, run_cli):
    root = tmp_path / "root"
    shutil.copytree(ROOT / "configs", root / "configs")
    shutil.copytree(ROOT / "data_contracts", root / "data_contracts")
    terms = root / "configs" / "models" / "des_2018" / "_terms.yaml"
    raw = yaml.safe_load(terms.read_text())
    first = next(iter(raw["blocks"]))
    raw["blocks"][first] = "np.system(age)"
    terms.write_text(yaml.safe_dump(raw))
    err = _release(run_cli, tmp_path, tiny_world_dir, "--config", "demo", env={"TOOLKIT_ROOT": str(root)})
    assert "np.system(age)" in err or "not supported" in err
