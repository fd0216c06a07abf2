"""``toolkit predict`` end to end on the tiny world's release in a temporary sqlite store, and the one join
(:mod:`toolkit.records.join`) that a release's frame and a model's input share.

The release is real (``run_release`` on the tiny world, demo config), the registered models are its
pyfuncs loaded back from the store, and the CLI is ``toolkit.cli.main`` (in-process; one case runs the
command in a child process)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.cli import main
from toolkit.contracts import load_tables
from toolkit.errors import InputError
from toolkit.records import join_model_input, model_input
from toolkit.records.frame import build_frame
from toolkit.records.join import NO_PARTICIPANT, NO_REGION, RECORD_KEY
from toolkit.release.compute import compute_release
from toolkit.release.config import load_release_config
from toolkit.release.pipeline import run_release
from toolkit.release.predict import OUTPUT_COLUMNS, measure_and_program
from toolkit.tracking.registry import RegisteredModel

MODEL = "des-ess-full_26"
MARKER = "ZQX_MARKER_41"
INPUTS = ["measure_records", "participants", "regions"]


@pytest.fixture(scope="module")
def released(tiny_world_dir, tmp_path_factory) -> dict:
    """A passed release of the tiny world (champion = version 1), then a failed one (version 2, champion stays)."""
    d = tmp_path_factory.mktemp("predict_store")
    uri = f"sqlite:///{d / 'mlflow.db'}"
    config, path = load_release_config("releases/demo.yaml")
    first = run_release(config, tiny_world_dir, config_path=path, tracking_uri=uri, out_root=d / "r", progress=False)
    assert first.status == "passed", first.failed_checks
    strict = config.model_copy(update={"checks": config.checks.model_copy(update={"min_auc": 0.999})})
    second = run_release(strict, tiny_world_dir, config_path=path, tracking_uri=uri, out_root=d / "r", progress=False)
    assert second.status == "failed"
    assert (first.model_versions[MODEL], second.model_versions[MODEL]) == ("1", "2")
    return {"uri": uri, "dir": d, "world": tiny_world_dir}


@pytest.fixture(scope="module")
def tables(tiny_world_dir) -> dict[str, pd.DataFrame]:
    return load_tables(tiny_world_dir)


def _predict(capsys, *args) -> tuple[int, str, str]:
    code = main(["predict", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def _runs(uri: str) -> int:
    from mlflow.tracking import MlflowClient

    c = MlflowClient(tracking_uri=uri)
    return len(c.search_runs([e.experiment_id for e in c.search_experiments()], max_results=5000))


def test_predict_scores_every_record_like_the_model_and_the_release(released, tables, tmp_path, capsys):
    import mlflow

    runs_before = _runs(released["uri"])
    out = tmp_path / "scores.csv"
    code, stdout, err = _predict(
        capsys, "--model", MODEL, "--data", released["world"], "--out", out, "--tracking-uri", released["uri"]
    )
    assert code == 0, err
    assert "version 1 (alias champion)" in stdout and "Traceback" not in err
    assert "[predict" in err  # progress lines on stderr
    got = pd.read_csv(out, dtype={"participant_id": str, "site_id": str, "model_version": str})
    assert list(got.columns) == OUTPUT_COLUMNS
    recs = tables["measure_records"]
    mine = recs[(recs["program"] == "ESS") & (recs["measure"] == "full_26")]
    assert len(got) == len(mine) > 0  # one row per record of the model's measure and program
    assert (got["model"] == MODEL).all() and (got["model_version"] == "1").all()
    assert out.stat().st_mode & 0o777 == 0o600  # record level: owner-only

    # the same numbers as the registered model on the shared join, in process
    mlflow.set_tracking_uri(released["uri"])
    X = model_input(tables, "full_26", "ESS")
    p = np.asarray(mlflow.pyfunc.load_model(f"models:/{MODEL}@champion").predict(X))
    np.testing.assert_allclose(got["probability"].to_numpy(), p, rtol=1e-12, atol=0)
    pd.testing.assert_frame_equal(
        got[RECORD_KEY].astype(str), X[RECORD_KEY].astype(str).reset_index(drop=True), check_dtype=False
    )

    # ... and as the release's own expected probability of each record it used
    config, _ = load_release_config("releases/demo.yaml")
    comp = compute_release(tables, config)
    rel = comp.frame[(comp.frame["program"] == "ESS") & (comp.frame["measure"] == "full_26")]
    both = got.assign(period_of_service=got["period_of_service"].astype(int)).merge(
        rel[[*RECORD_KEY, "expected_p"]].astype({"period_of_service": int, "participant_id": str, "site_id": str}),
        on=RECORD_KEY,
        how="inner",
        validate="one_to_one",
    )
    assert len(both) == len(rel) > 0
    np.testing.assert_allclose(both["probability"], both["expected_p"], rtol=1e-12, atol=0)

    # nothing of it went to MLflow: scoring opens no run
    assert _runs(released["uri"]) == runs_before


def test_alias_and_explicit_version(released, tmp_path, capsys):
    """``NAME`` is the champion (version 1, although version 2 exists); ``NAME/2`` is version 2; both written."""
    outs = {}
    for ref, version in ((MODEL, "1"), (f"{MODEL}@champion", "1"), (f"{MODEL}/2", "2"), (f"models:/{MODEL}/1", "1")):
        out = tmp_path / f"{len(outs)}.parquet"
        code, stdout, err = _predict(
            capsys, "--model", ref, "--data", released["world"], "--out", out, "--tracking-uri", released["uri"]
        )
        assert code == 0, err
        assert f"version {version}" in stdout
        df = pd.read_parquet(out)
        assert list(df.columns) == OUTPUT_COLUMNS and set(df["model_version"]) == {version}
        assert out.stat().st_mode & 0o777 == 0o600
        outs[ref] = df
    # the same release fitted both versions on the same data: the same probabilities
    np.testing.assert_allclose(outs[MODEL]["probability"], outs[f"{MODEL}/2"]["probability"], rtol=1e-12)


def test_cli_in_a_child_process(released, tmp_path, run_cli):
    out = tmp_path / "s.csv"
    r = run_cli("predict", "--model", "des-dms-full_13", "--data", released["world"], "--out", out, "--tracking-uri",
                released["uri"])  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "DMS full_13" in r.stdout and "Traceback" not in r.stderr
    assert set(pd.read_csv(out)["measure"]) == {"full_13"}


def _copy(world: Path, dest: Path) -> Path:
    dest.mkdir()
    for t in INPUTS:
        shutil.copy(world / f"{t}.parquet", dest / f"{t}.parquet")
    return dest


def _edit(folder: Path, table: str, fn) -> None:
    p = folder / f"{table}.parquet"
    fn(pd.read_parquet(p)).to_parquet(p, index=False)


def _set_marker(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df.loc[df.index[:3], "education"] = MARKER
    return df


def _orphan(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df.loc[df.index[:2], "participant_id"] = "P9" + MARKER[-6:] + "x"
    return df


def _no_ess_full_26(df: pd.DataFrame) -> pd.DataFrame:
    return df[~((df["program"] == "ESS") & (df["measure"] == "full_26"))]


BAD = {
    "unknown-model": (lambda c: {"--model": "des-xxx-full_26"}, ("no registered model des-xxx-full_26",)),
    "unknown-alias": (lambda c: {"--model": f"{MODEL}@nobody"}, ("alias 'nobody'", MODEL)),
    "unknown-version": (lambda c: {"--model": f"{MODEL}/99"}, ("has no version 99",)),
    "malformed-reference": (lambda c: {"--model": f"{MODEL}@{MARKER}/3;rm"}, ("not a model reference",)),
    "store-missing": (
        lambda c: {"--tracking-uri": f"sqlite:///{c['tmp'] / 'none' / 'mlflow.db'}"},
        ("MLflow store", "does not exist"),
    ),
    "data-missing": (lambda c: {"--data": c["tmp"] / "no such folder"}, ("data folder", "does not exist")),
    "data-is-a-file": (lambda c: {"--data": c["data"] / "regions.parquet"}, ("data folder", "not a folder")),
    "table-missing": (lambda c: {"remove": "regions"}, ("regions", "missing_table")),
    "enum-broken": (lambda c: {"edit": ("participants", _set_marker)}, ("participants.education", "'enum'", "3 rows")),
    "record-without-participant": (
        lambda c: {"edit": ("measure_records", _orphan)},
        ("measure_records.participant_id", "foreign_key->participants", "2 rows"),
    ),
    "no-records-of-the-measure": (
        lambda c: {"edit": ("measure_records", _no_ess_full_26)},
        ("measure_records", "no record of program ESS and measure full_26"),
    ),
    "out-suffix": (lambda c: {"--out": c["tmp"] / "scores.xlsx"}, ("--out", "unknown extension", ".xlsx")),
    "out-is-a-folder": (lambda c: {"--out": c["tmp"]}, ("is a folder",)),
    "measure-disagrees": (lambda c: {"--measure": "full_13"}, ("--measure full_13 disagrees", "full_26")),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_exit_2_naming_what_is_wrong(case, released, tmp_path, capsys):
    data = _copy(released["world"], tmp_path / "data")
    ctx = {"tmp": tmp_path, "data": data}
    change, words = BAD[case]
    opts = {"--model": MODEL, "--data": data, "--out": tmp_path / "scores.csv", "--tracking-uri": released["uri"]}
    for k, v in change(ctx).items():
        if k == "remove":
            (data / f"{v}.parquet").unlink()
        elif k == "edit":
            _edit(data, *v)
        else:
            opts[k] = v
    runs_before = _runs(released["uri"])
    code, out, err = _predict(capsys, *[x for kv in opts.items() for x in kv])
    text = out + err
    assert code == 2, text
    assert "Traceback" not in text
    for w in words:
        assert w in text, (w, text)
    assert MARKER not in text  # no value echoed
    assert not (tmp_path / "scores.csv").exists()  # nothing written
    if case != "store-missing":
        assert _runs(released["uri"]) == runs_before
    assert not (tmp_path / "none").exists()  # a missing store is not created


def test_measure_and_program_come_from_the_model_or_the_command_line():
    tagged = RegisteredModel("m", "3", None, "run", {"model.measure": "full_26", "model.program": "ESS"})
    assert measure_and_program(tagged, None, None) == ("full_26", "ESS")
    assert measure_and_program(tagged, "full_26", "ESS") == ("full_26", "ESS")
    with pytest.raises(InputError, match="--program DMS disagrees"):
        measure_and_program(tagged, None, "DMS")
    bare = RegisteredModel("m", "3", None, "run", {})
    with pytest.raises(InputError, match="give --measure and --program"):
        measure_and_program(bare, None, None)
    assert measure_and_program(bare, "bonus_26", "DMS") == ("bonus_26", "DMS")
    with pytest.raises(InputError, match="not a measure of the measure_records contract"):
        measure_and_program(bare, "full_99", "DMS")


# --------------------------------------------------------------------------- the shared join


def test_release_frame_and_model_input_agree(tables):
    """Every record a release keeps has, in the release's frame, exactly the columns and values model_input gives."""
    mf = build_frame(tables, "2018-07-01", "2020-03-31")
    recs = tables["measure_records"]
    pairs = recs[["measure", "program"]].drop_duplicates().itertuples(index=False)
    checked = 0
    for measure, program in pairs:
        X = model_input(tables, measure, program)
        rel = mf.frame[(mf.frame["measure"] == measure) & (mf.frame["program"] == program)]
        assert set(X.columns) <= set(rel.columns)
        assert [c for c in rel.columns if c in X.columns] == list(X.columns)  # same column order
        both = rel[list(X.columns)].merge(X, on=RECORD_KEY, how="left", suffixes=("", "_input"), indicator=True)
        assert (both["_merge"] == "both").all()
        for c in X.columns:
            if c not in RECORD_KEY:
                pd.testing.assert_series_equal(both[c], both[f"{c}_input"], check_names=False)
        checked += len(rel)
    assert checked == len(mf.frame) > 0


def test_a_plain_merge_is_not_the_model_input(tables):
    """The issue's symptom: participants and regions both hold metro; the join keeps the participant's."""
    plain = (
        tables["measure_records"]
        .merge(tables["participants"], on="participant_id")
        .merge(tables["regions"], on="esa_id")
    )
    assert "metro" not in plain.columns and {"metro_x", "metro_y"} <= set(plain.columns)
    X = model_input(tables, "full_26", "ESS")
    assert "metro" in X.columns and not any(c.endswith(("_x", "_y")) for c in X.columns)
    part = tables["participants"].set_index("participant_id")["metro"]
    assert (X["metro"].to_numpy() == part.reindex(X["participant_id"]).to_numpy()).all()


def test_records_that_cannot_be_joined_are_listed_never_dropped(tables):
    recs = tables["measure_records"]
    sub = recs[(recs["program"] == "ESS") & (recs["measure"] == "full_26")]
    gone_participant = sub["participant_id"].iloc[0]
    gone_esa = (
        tables["participants"]
        .set_index("participant_id")
        .loc[sub["participant_id"].iloc[-1], "esa_id"]
    )  # fmt: skip
    bad = dict(tables)
    bad["participants"] = tables["participants"][tables["participants"]["participant_id"] != gone_participant]
    bad["regions"] = tables["regions"][tables["regions"]["esa_id"] != gone_esa]
    joined = join_model_input(bad, "full_26", "ESS")
    assert len(joined.frame) + len(joined.excluded) == len(sub)
    reasons = joined.excluded["reason"].value_counts()
    assert reasons[NO_PARTICIPANT] == (sub["participant_id"] == gone_participant).sum()
    assert reasons[NO_REGION] > 0
    assert not joined.frame["participant_id"].isin(joined.excluded["participant_id"]).any()
    with pytest.raises(InputError, match=r"cannot be joined: .*participant not in the participants table"):
        model_input(bad, "full_26", "ESS")
    # the release's frame lists them among its exclusions, with the same reasons
    mf = build_frame(bad, "2018-07-01", "2020-03-31")
    assert len(mf.frame) + len(mf.exclusions) == len(recs)
    assert {NO_PARTICIPANT, NO_REGION} <= set(mf.exclusions["reason"])


def test_model_input_refuses_what_it_cannot_join(tables):
    with pytest.raises(InputError, match="absent: regions"):
        model_input({k: v for k, v in tables.items() if k != "regions"}, "full_26", "ESS")
    dup = dict(tables)
    dup["participants"] = pd.concat([tables["participants"], tables["participants"].head(2)])
    with pytest.raises(InputError, match=r"participants.participant_id: rule 'unique' broken by 4 rows"):
        model_input(dup, "full_26", "ESS")
    with pytest.raises(InputError, match="no record of program DMS and measure ongoing_support"):
        model_input(tables, "ongoing_support", "DMS")
