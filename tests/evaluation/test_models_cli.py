"""``toolkit models evaluate`` and ``toolkit models reproduce`` end to end on the tiny world, into a temporary
sqlite store: artifacts, no participant ids in the store, byte-identical tables on a second run, bad configs."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
import yaml

from toolkit.evaluation.outputs import PLOTS, TABLES

PARTICIPANT_ID = re.compile(rb"(?<![A-Za-z0-9])P\d{7}(?![0-9])")
CONFIG = {
    "name": "tiny_eval",
    "window": {"start": "2018-07-01", "end": "2020-03-31"},
    "measures": ["dms_full_13", "ess_full_26"],
    "folds": {"k": 2, "seed": 7},
    "candidates": [
        {"name": "des_2018", "models": "des_2018", "role": "baseline"},
        {"name": "des_2018_lean", "models": "des_2018_lean"},
        {
            "name": "trees",
            "family": "lightgbm",
            "models": "des_2018",
            "role": "yardstick",
            "lightgbm": {"n_estimators": 20},
        },
    ],
    "subgroups": [
        {"name": "indigenous", "column": "indigenous"},
        {"name": "primary_condition", "column": "primary_condition"},
        {"name": "state", "column": "state"},
    ],
    "tracking": {"experiment": "eval-test"},
}


def _write(tmp: Path, data: dict, name: str = "eval.yaml") -> Path:
    p = tmp / name
    p.write_text(yaml.safe_dump(data))
    return p


@pytest.fixture(scope="module")
def runs(tiny_world_dir, tmp_path_factory):
    import subprocess
    import sys

    d = tmp_path_factory.mktemp("models_cli")
    cfg = _write(d, CONFIG)
    uri = f"sqlite:///{d / 'mlflow.db'}"
    out = []
    # the second run distributes its fold tasks on a Dask LocalCluster of two workers: its tables must be
    # byte-identical to the serial run's (seeds per task, not per worker)
    for scheduler in ("serial", "local:2"):
        res = subprocess.run(
            [
                sys.executable,
                "-m",
                "toolkit",
                "models",
                "evaluate",
                "--data",
                str(tiny_world_dir),
                "--config",
                str(cfg),
                "--out",
                str(d / "runs"),
                "--tracking-uri",
                uri,
                "--quiet",
                "--scheduler",
                scheduler,
            ],
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert res.returncode == 0, res.stderr[-3000:]
        folder = Path(re.search(r"evaluation folder: (\S+)", res.stdout).group(1))
        run_id = json.loads((folder / "run.json").read_text())["run_id"]
        out.append((folder, run_id, res))
    return {"dir": d, "uri": uri, "runs": out}


def test_folder_and_artifacts(runs):
    from mlflow.tracking import MlflowClient

    folder, run_id, res = runs["runs"][0]
    for name in [*TABLES, *PLOTS, "report.md", "run.json"]:
        assert (folder / name).is_file(), name
    assert json.loads((folder / "run.json").read_text())["status"] == "passed"
    client = MlflowClient(tracking_uri=runs["uri"])
    run = client.get_run(run_id)
    assert run.data.tags["toolkit.kind"] == "evaluate-models" and run.data.tags["toolkit.status"] == "passed"
    arts = {a.path for a in client.list_artifacts(run_id, "evaluation")}
    for name in [
        "cv_metrics.csv",
        "cv_differences.csv",
        "subgroup_calibration.csv",
        "rating_impact.csv",
        "star_transitions.csv",
        "folds.csv",
        "report.md",
        "model_specs.json",
        "config.json",
    ]:
        assert f"evaluation/{name}" in arts, name
    children = client.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{run_id}'")
    assert sorted(c.info.run_name for c in children) == ["des_2018", "des_2018_lean", "trees"]
    assert all("dms_full_13.fold0.log_loss" in c.data.metrics for c in children)
    assert "des_2018_lean" in res.stdout and "trees" in res.stdout


def test_no_participant_ids_in_the_store(runs):
    d = runs["dir"]
    hits = [
        str(p)
        for p in d.rglob("*")
        if p.is_file() and "runs" not in p.relative_to(d).parts and PARTICIPANT_ID.search(p.read_bytes())
    ]
    assert not hits, hits[:5]
    con = sqlite3.connect(d / "mlflow.db")
    for (table,) in con.execute("select name from sqlite_master where type='table'"):
        for row in con.execute(f"select * from '{table}'"):
            assert not PARTICIPANT_ID.search(" ".join(map(str, row)).encode()), table
    # nor in the folder's tables
    folder = runs["runs"][0][0]
    assert not any(PARTICIPANT_ID.search((folder / n).read_bytes()) for n in TABLES)


def test_same_data_config_and_seed_give_byte_identical_tables(runs):
    (a, _, _), (b, _, _) = runs["runs"]
    for name in TABLES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_reproduce(runs, run_cli):
    _, run_id, _ = runs["runs"][0]
    res = run_cli("models", "reproduce", run_id, "--tracking-uri", runs["uri"])
    assert res.returncode == 0, res.stdout + res.stderr
    assert "reproduced" in res.stdout and f"{len(TABLES)} identical" in res.stdout


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"folds": {"k": 1}}, "folds.k"),
        ({"candidates": [{"name": "a", "models": "des_2018", "role": "alternative"}]}, "baseline"),
        ({"candidates": [*CONFIG["candidates"][:1], {"name": "b", "models": "no_such_set"}]}, "candidates.1.models"),
        ({"measures": ["dms_full_99"]}, "measures"),
        ({"colour": "blue"}, "colour"),
        (
            {"candidates": [*CONFIG["candidates"][:1], {"name": "t", "family": "lightgbm", "role": "alternative"}]},
            "yardstick",
        ),
    ],
)
def test_bad_config_is_exit_2_naming_the_key(change, words, tmp_path, tiny_world_dir, run_cli):
    cfg = _write(tmp_path, {**CONFIG, **change})
    res = run_cli(
        "models",
        "evaluate",
        "--data",
        tiny_world_dir,
        "--config",
        cfg,
        "--out",
        tmp_path / "runs",
        "--tracking-uri",
        f"sqlite:///{tmp_path / 'm.db'}",
    )
    assert res.returncode == 2, res.stderr
    assert words in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "runs").exists() and not (tmp_path / "m.db").exists()


def test_bad_scheduler_is_exit_2(tmp_path, tiny_world_dir, run_cli):
    res = run_cli(
        "models",
        "evaluate",
        "--data",
        tiny_world_dir,
        "--config",
        _write(tmp_path, CONFIG),
        "--scheduler",
        "carrier-pigeon",
        "--tracking-uri",
        f"sqlite:///{tmp_path / 'm.db'}",
    )
    assert res.returncode == 2 and "--scheduler" in res.stderr
