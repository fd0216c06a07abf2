"""``toolkit cohort reproduce RUN_ID`` (a tracked ``toolkit evaluate`` run) against a real sqlite store."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from toolkit.cli import main
from toolkit.schemes.cohort.config import load_cohort_config
from toolkit.schemes.cohort.pipeline import run_evaluation
from toolkit.schemes.cohort.reproduce import OUTPUTS
from toolkit.schemes.cohort.simulate import simulate_cohort

CFG = load_cohort_config()


@pytest.fixture(scope="module")
def file_run(store):
    path = store["dir"] / "cohort.csv"
    simulate_cohort(30, CFG, seed=12).to_csv(path, index=False)
    return path, run_evaluation(CFG, data=path, tracking_uri=store["uri"], out_root=store["out"], progress=False)


def test_file_and_synthetic_runs_reproduce_byte_for_byte(file_run, store, tmp_path, capsys):
    path, run = file_run
    code = main(["cohort", "reproduce", run.run_id, "--tracking-uri", store["uri"], "--scratch", str(tmp_path)])
    assert code == 0
    assert capsys.readouterr().out.strip() == f"run {run.run_id}: reproduced ({len(OUTPUTS)} identical, 0 different)"
    for name in OUTPUTS:
        assert (tmp_path / name).read_bytes() == (run.folder / name).read_bytes(), name
    syn = run_evaluation(CFG, synthetic=30, seed=5, tracking_uri=store["uri"], out_root=store["out"], progress=False)
    assert main(["cohort", "reproduce", syn.run_id, "--tracking-uri", store["uri"]]) == 0
    assert "reproduced (3 identical, 0 different)" in capsys.readouterr().out
    assert main(["cohort", "reproduce", syn.run_id, "--data", str(path), "--tracking-uri", store["uri"]]) == 2
    assert "synthetic cohort of 30 (seed 5)" in capsys.readouterr().err


def test_a_changed_cohort_file_is_named(file_run, store, tmp_path, capsys):
    path, run = file_run
    changed = pd.read_csv(path)
    changed.loc[0, "post"] = changed.loc[0, "pre"]
    other = tmp_path / "cohort_v2.csv"
    changed.to_csv(other, index=False)
    code = main(["cohort", "reproduce", run.run_id, "--data", str(other), "--tracking-uri", store["uri"]])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "the cohort file in" in err and "cohort_v2.csv (changed)" in err and "SHA-256" in err
    code = main(
        ["cohort", "reproduce", run.run_id, "--data", str(tmp_path / "gone.csv"), "--tracking-uri", store["uri"]]
    )
    assert code == 2 and "gone.csv (missing)" in capsys.readouterr().err


def test_a_run_without_recorded_domain_order_takes_it_from_its_evaluation(file_run, store, capsys):
    """``config.json`` has sorted keys (distress, housing, wellbeing); the config lists wellbeing first."""
    import json
    from urllib.parse import urlparse

    from mlflow.tracking import MlflowClient

    _path, run = file_run
    assert list(CFG.domains) == ["wellbeing", "distress", "housing"]
    art = Path(urlparse(MlflowClient(tracking_uri=store["uri"]).get_run(run.run_id).info.artifact_uri).path)
    meta_path = art / "evaluate" / "run.json"
    before = meta_path.read_bytes()
    meta = json.loads(before)
    assert meta["key_order"]["domains"] == ["wellbeing", "distress", "housing"]
    del meta["key_order"]
    try:
        meta_path.write_text(json.dumps(meta))
        code = main(["cohort", "reproduce", run.run_id, "--tracking-uri", store["uri"]])
    finally:
        meta_path.write_bytes(before)
    assert code == 0 and "reproduced (3 identical, 0 different)" in capsys.readouterr().out
