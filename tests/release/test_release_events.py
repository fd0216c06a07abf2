"""A release accepts measure records or raw events: derived records give the same ratings."""

from __future__ import annotations

import re
import shutil

import pytest

from toolkit.errors import DataContractError, ToolkitError
from toolkit.release.config import load_release_config
from toolkit.release.inputs import calendar_release_for, load_release_inputs
from toolkit.release.pipeline import run_release
from toolkit.release.reproduce import reproduce


def test_events_and_table_give_identical_ratings_and_reproduce(small_world_dir, tmp_path):
    assert (small_world_dir / "events").is_dir()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config, path = load_release_config("releases/demo.yaml")
    results = {}
    for source in ("table", "events"):
        cfg = config.model_copy(update={"data": config.data.model_copy(update={"records": source})})
        results[source] = run_release(
            cfg, small_world_dir, config_path=path, tracking_uri=uri, out_root=tmp_path / source, progress=False
        )
    a, b = results["table"], results["events"]
    assert a.status == b.status == "passed"
    assert (a.folder / "ratings.csv").read_bytes() == (b.folder / "ratings.csv").read_bytes()
    assert (b.folder / "derivation_log.csv").is_file() and not (a.folder / "derivation_log.csv").exists()
    assert (b.folder / "excluded_events.csv").stat().st_mode & 0o777 == 0o600  # participant ids: owner only
    import mlflow

    params = mlflow.tracking.MlflowClient(uri).get_run(b.run_id).data.params
    assert params["records_source"] == "events"
    assert any(k.startswith("input_sha256.events/") for k in params)
    res = reproduce(b.run_id, tracking_uri=uri, allow_code_drift=True, say=lambda m: None)
    assert res.reproduced, res.differences


def test_calendar_release_must_match_the_window():
    assert calendar_release_for("2018-07-01", "2020-03-31") == "2020-03"
    with pytest.raises(ToolkitError, match="no release of the calendar"):
        calendar_release_for("2018-07-01", "2020-03-30")


def test_no_records_at_all_is_a_clear_error(small_world_dir, tmp_path):
    d = tmp_path / "w"
    shutil.copytree(small_world_dir, d, ignore=shutil.ignore_patterns("events", "measure_records.parquet"))
    with pytest.raises(DataContractError, match=re.escape("neither measure_records.parquet nor an events/ folder")):
        load_release_inputs(d, "2018-07-01", "2020-03-31")
