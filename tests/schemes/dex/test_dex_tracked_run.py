"""``toolkit dex report`` tracked like a release, against a real sqlite MLflow store in a temporary folder.

Also the privacy rule: no client name, and no linkage key, in any output file, tracked
artifact or the tracking database.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from toolkit.paths import CONFIGS
from toolkit.schemes.dex.config import load_dex_config
from toolkit.schemes.dex.pipeline import LOGGED, run_dex_report
from toolkit.schemes.dex.synth import (
    generate_dex_world,
    load_dex_synth_params,
    write_dex_world,
)


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory):
    params = load_dex_synth_params().model_copy(update={"organisations": 12})
    world = generate_dex_world(8, params)
    return write_dex_world(world, tmp_path_factory.mktemp("dex_world")), world


@pytest.fixture(scope="module")
def run(world_dir, store):
    return run_dex_report(
        load_dex_config(), world_dir[0], tracking_uri=store["uri"], out_root=store["out"], progress=False
    )


def test_parent_run_records_provenance(run, store):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=store["uri"])
    r = client.get_run(run.run_id)
    assert r.info.status == "FINISHED" and r.data.tags["toolkit.status"] == "passed"
    assert client.get_experiment(r.info.experiment_id).name == "dex-partnership"
    params = r.data.params
    for key in (
        "config_hash",
        "git_commit",
        "git_dirty",
        "seed",
        "versions.numpy",
        "versions.mlflow",
        "input_sha256.clients.parquet",
        "input_sha256.score_assessments.parquet",
        "config.measures.valid_slk.share",
    ):
        assert key in params, key
    assert params["config.measures.valid_slk.share"] == "0.9"
    assert {"share_met.valid_slk", "records_read", "records_excluded"} <= set(r.data.metrics)


def test_aggregate_outputs_logged_and_client_rows_kept_out(run, store):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=store["uri"])
    logged = {a.path for a in client.list_artifacts(run.run_id, "dex")}
    for name in LOGGED:
        assert f"dex/{name}" in logged, name
    assert "dex/exclusions.csv" not in logged
    assert (run.folder / "exclusions.csv").is_file()
    assert (run.folder / "exclusions.csv").stat().st_mode & 0o777 == 0o600  # client ids: owner only
    providers = {a.path for a in client.list_artifacts(run.run_id, "dex/providers")}
    assert len(providers) == len(list((run.folder / "providers").glob("*.html"))) > 0


def test_each_run_gets_a_new_folder(run, world_dir, store):
    again = run_dex_report(
        load_dex_config(), world_dir[0], tracking_uri=store["uri"], out_root=store["out"], progress=False
    )
    assert again.folder != run.folder and again.run_id != run.run_id
    a = pd.read_csv(run.folder / "compliance.csv")
    b = pd.read_csv(again.folder / "compliance.csv")
    pd.testing.assert_frame_equal(a, b)  # same input and config, same table


def _all_files(*roots: Path) -> list[Path]:
    return [p for r in roots for p in r.rglob("*") if p.is_file()]


def test_no_name_or_key_anywhere(run, world_dir, store):
    world = world_dir[1]
    clients = world.tables["clients"]
    names = set(clients["family_name"].dropna()) | set(clients["given_name"].dropna())
    # whole words of three letters or more ("Jo" and "Al" would match ordinary text)
    words = sorted((re.escape(n.encode()) for n in names if len(n) >= 3), key=len, reverse=True)
    name_rx = re.compile(rb"(?<![A-Za-z])(?:" + b"|".join(words) + rb")(?![A-Za-z])")
    keys = set(clients["slk"].dropna())
    from toolkit.slk import build_slk

    keys |= {
        build_slk(f, g, d, s)
        for f, g, d, s in clients[["family_name", "given_name", "birth_date", "sex"]].itertuples(index=False)
    } - {None}
    key_rx = re.compile(b"|".join(re.escape(k.encode()) for k in sorted(keys)))
    files = _all_files(run.folder, store["dir"])  # outputs, artifact store, mlflow.db (+ WAL)
    assert any(p.name == "mlflow.db" for p in files) and any("artifacts" in p.parts for p in files)
    assert len(words) >= 10 and len(keys) > 100
    assert name_rx.search(clients.to_csv().encode()) and key_rx.search(clients.to_csv().encode())  # the scan can see
    for p in files:
        blob = p.read_bytes()
        assert not name_rx.search(blob), f"a client name appears in {p}"
        assert not key_rx.search(blob), f"a linkage key appears in {p}"


def test_report_pages_show_intervals_and_trend(run):
    index = (run.folder / "report.html").read_text()
    assert "Providers by period and measure" in index and "providers/ORG001.html" in index
    page = (run.folder / "providers" / "ORG001.html").read_text()
    assert "90% interval" in page and "P(target met)" in page and page.count("<svg") >= 8
    assert "Trend over periods" in page


def test_cli_synth_and_report(tmp_path, run_cli):
    params = yaml.safe_load((CONFIGS / "schemes/dex/synth.yaml").read_text())
    params["organisations"] = 6
    (tmp_path / "synth.yaml").write_text(yaml.safe_dump(params))
    r = run_cli("dex", "synth", "--out", tmp_path / "world", "--seed", "3", "--params", tmp_path / "synth.yaml")
    assert r.returncode == 0, r.stderr
    r = run_cli(
        "dex",
        "report",
        "--data",
        tmp_path / "world",
        "--config",
        "schemes/dex/partnership_no_domain_negative",
        "--tracking-uri",
        f"sqlite:///{tmp_path / 'mlflow.db'}",
        "--out",
        tmp_path / "reports",
    )
    assert r.returncode == 0, r.stderr
    assert "compliance table:" in r.stdout and "MLflow run:" in r.stdout
    folder = next((tmp_path / "reports").iterdir())
    assert folder.name.startswith("dex-partnership-no-domain-negative-")
    assert (folder / "compliance.csv").is_file() and (folder / "report.html").is_file()
