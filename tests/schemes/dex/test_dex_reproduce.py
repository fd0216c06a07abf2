"""``toolkit dex reproduce RUN_ID`` against a real sqlite MLflow store in a temporary folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from toolkit.cli import main
from toolkit.schemes.dex.config import load_dex_config
from toolkit.schemes.dex.pipeline import run_dex_report
from toolkit.schemes.dex.reproduce import TABLES
from toolkit.schemes.dex.synth import (
    generate_dex_world,
    load_dex_synth_params,
    write_dex_world,
)


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    root = tmp_path_factory.mktemp("dex_reproduce")
    world = write_dex_world(
        generate_dex_world(5, load_dex_synth_params().model_copy(update={"organisations": 6})), root / "world"
    )
    uri = f"sqlite:///{root / 'store' / 'mlflow.db'}"
    run = run_dex_report(load_dex_config(), world, tracking_uri=uri, out_root=root / "reports", progress=False)
    return {"root": root, "world": world, "uri": uri, "run_id": run.run_id}


def test_a_tracked_report_reproduces_byte_for_byte(tracked, tmp_path, capsys):
    code = main(["dex", "reproduce", tracked["run_id"], "--tracking-uri", tracked["uri"], "--scratch", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.strip() == f"run {tracked['run_id']}: reproduced ({len(TABLES)} identical, 0 different)"
    folder = next((tracked["root"] / "reports").iterdir())
    for name in TABLES:
        assert (tmp_path / name).read_bytes() == (folder / name).read_bytes(), name


def test_a_changed_input_is_named_and_nothing_is_recomputed(tracked, tmp_path, capsys):
    changed = tmp_path / "changed"
    shutil.copytree(tracked["world"], changed)
    sessions = pd.read_parquet(changed / "sessions.parquet")
    sessions.iloc[1:].to_parquet(changed / "sessions.parquet", index=False)  # one session fewer
    scratch = tmp_path / "scratch"
    code = main(
        [
            "dex",
            "reproduce",
            tracked["run_id"],
            "--data",
            str(changed),
            "--tracking-uri",
            tracked["uri"],
            "--scratch",
            str(scratch),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "sessions.parquet (changed)" in err and "SHA-256" in err and "clients.parquet" not in err
    assert "Traceback" not in err
    assert not scratch.exists()


def test_unknown_run_and_other_scheme_are_clear_errors(tracked, capsys):
    assert main(["dex", "reproduce", "0" * 32, "--tracking-uri", tracked["uri"]]) == 2
    assert f"no run {'0' * 32}" in capsys.readouterr().err
    assert main(["cohort", "reproduce", tracked["run_id"], "--tracking-uri", tracked["uri"]]) == 2
    assert "is not a cohort evaluation" in capsys.readouterr().err


def test_a_differing_table_is_listed_with_exit_1(tracked, capsys):
    """Edit the tracked compliance table in the store: the difference is named, with its row and column."""
    from urllib.parse import urlparse

    from mlflow.tracking import MlflowClient

    run = MlflowClient(tracking_uri=tracked["uri"]).get_run(tracked["run_id"])
    path = Path(urlparse(run.info.artifact_uri).path) / "dex" / "compliance.csv"
    before = path.read_bytes()
    comp = pd.read_csv(path)
    comp.loc[0, "numerator"] += 1
    try:
        comp.to_csv(path, index=False)
        code = main(["dex", "reproduce", tracked["run_id"], "--tracking-uri", tracked["uri"]])
    finally:
        path.write_bytes(before)
    out = capsys.readouterr().out
    assert code == 1
    assert "  DIFFERENT  compliance.csv" in out
    r = comp.loc[0]
    assert (
        f"compliance.csv: column numerator differs in 1 row(s), e.g. period={r['period']}, "
        f"organisation_id={r['organisation_id']}, activity_id={r['activity_id']}, measure={r['measure']}"
    ) in out
    assert out.strip().splitlines()[-1] == (
        f"run {tracked['run_id']}: NOT reproduced ({len(TABLES) - 1} identical, 1 different)"
    )
