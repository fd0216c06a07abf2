"""``toolkit dcp ...`` end to end against a real sqlite MLflow store in a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from toolkit.config import file_sha256


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[3]
    root = tmp_path_factory.mktemp("dcp_cli")
    uri = f"sqlite:///{root / 'store' / 'mlflow.db'}"

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "toolkit", *map(str, args)], cwd=repo, capture_output=True, text=True, timeout=600
        )

    synth = run("dcp", "synth", "--out", root / "world", "--seed", "3")
    assert synth.returncode == 0, synth.stderr
    rep = run("dcp", "report", "--data", root / "world", "--tracking-uri", uri, "--out", root / "out")
    return {"root": root, "uri": uri, "run": run, "report": rep}


def test_report_is_tracked_like_a_release(cli_run):
    from mlflow.tracking import MlflowClient

    rep = cli_run["report"]
    assert rep.returncode == 0, rep.stderr
    folder = next((cli_run["root"] / "out").iterdir())
    meta = json.loads((folder / "run.json").read_text())
    client = MlflowClient(tracking_uri=cli_run["uri"])
    run = client.get_run(meta["run_id"])
    assert run.info.status == "FINISHED" and run.data.tags["toolkit.status"] == "passed"
    p = run.data.params
    for key in ("config_hash", "catalogue_hash", "git_commit", "git_dirty", "versions.numpy", "seed"):
        assert key in p, key
    world = cli_run["root"] / "world"
    assert p["input_sha256.kpi_submissions.csv"] == file_sha256(world / "kpi_submissions.csv")
    arts = {a.path for a in client.list_artifacts(meta["run_id"], "outputs")}
    assert {
        "outputs/kpi_results.csv",
        "outputs/level3_runs.csv",
        "outputs/rollup.csv",
        "outputs/exclusions.csv",
        "outputs/report.md",
    } <= arts
    assert {a.path for a in client.list_artifacts(meta["run_id"], "inputs")} >= {
        "inputs/config.json",
        "inputs/catalogue.json",
    }
    res = pd.read_csv(folder / "kpi_results.csv", dtype={"kpi_id": str})
    assert set(res["status"]) >= {"assessed", "reported", "not_submitted", "invalid"}


def test_bad_input_is_a_clear_error_and_nothing_is_written(cli_run, tmp_path):
    world = cli_run["root"] / "world"
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("providers.csv", "provider_services.csv"):
        (bad / name).write_bytes((world / name).read_bytes())
    subs = pd.read_csv(world / "kpi_submissions.csv", dtype=str, keep_default_na=False)
    subs.loc[[3, 8, 9], "numerator"] = "twelve"
    subs.loc[5, "quarter"] = "2024-Q1"
    subs.to_csv(bad / "kpi_submissions.csv", index=False)
    before = (bad / "kpi_submissions.csv").read_bytes()
    out = tmp_path / "out"
    rep = cli_run["run"]("dcp", "report", "--data", bad, "--tracking-uri", cli_run["uri"], "--out", out)
    assert rep.returncode == 2
    assert "Traceback" not in rep.stderr
    assert "kpi_submissions.numerator: rule 'type' broken by 3 rows (rows 4, 9, 10)" in rep.stderr
    assert "kpi_submissions.quarter: rule 'pattern' broken by 1 row (row 6)" in rep.stderr
    assert "twelve" not in rep.stderr  # values are never echoed
    assert not out.exists()  # no run folder
    assert (bad / "kpi_submissions.csv").read_bytes() == before


def test_raw_catalogue_is_refused_by_the_report(cli_run, tmp_path):
    rep = cli_run["run"](
        "dcp",
        "report",
        "--data",
        cli_run["root"] / "world",
        "--catalogue",
        "schemes/dcp/catalogue_raw.yaml",
        "--tracking-uri",
        cli_run["uri"],
        "--out",
        tmp_path / "o",
    )
    assert rep.returncode == 2 and "Traceback" not in rep.stderr
    for kid in ("1", "17", "124", "126", "180", "181", "182"):
        assert f"KPI {kid} (" in rep.stderr
    assert not (tmp_path / "o").exists()


def test_tracked_run_reproduces_byte_for_byte_and_refuses_changed_inputs(cli_run, tmp_path):
    folder = next((cli_run["root"] / "out").iterdir())
    run_id = json.loads((folder / "run.json").read_text())["run_id"]
    rep = cli_run["run"]("dcp", "reproduce", run_id, "--tracking-uri", cli_run["uri"])
    assert rep.returncode == 0, rep.stdout + rep.stderr
    assert "reproduced (8 identical, 0 different)" in rep.stdout
    changed = tmp_path / "changed"
    changed.mkdir()
    for f in (cli_run["root"] / "world").glob("*.csv"):
        (changed / f.name).write_bytes(f.read_bytes())
    with open(changed / "kpi_submissions.csv", "a") as fh:
        fh.write("\n")
    rep = cli_run["run"]("dcp", "reproduce", run_id, "--data", changed, "--tracking-uri", cli_run["uri"])
    assert rep.returncode == 2 and "kpi_submissions.csv" in rep.stderr and "SHA-256" in rep.stderr
