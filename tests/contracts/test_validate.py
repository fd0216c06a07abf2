"""The validator: every rule broken on a copy of a valid world is reported, with table, column, rule and count."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from toolkit.contracts import load_contracts, validate_dir
from toolkit.errors import DataContractError


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("truth"))
    return dst


def _edit(d: Path, table: str, fn) -> None:
    p = d / f"{table}.parquet"
    df = pd.read_parquet(p)
    df = fn(df)
    p.unlink()
    df.to_parquet(p, index=False)


def _only(report, rule: str):
    hits = [v for v in report.violations if v.rule == rule]
    assert hits, f"rule {rule} not reported; got {[str(v) for v in report.violations]}"
    return hits


def test_contracts_load_and_reference_each_other():
    contracts = load_contracts()
    assert {"organisations", "contracts", "sites", "regions", "participants", "measure_records"} <= set(contracts)
    fk_targets = {fk.resource for c in contracts.values() for fk in c.foreign_keys}
    assert fk_targets <= set(contracts)
    for c in contracts.values():
        for f in c.fields:
            assert f.description, f"{c.table}.{f.name} has no description"


def test_generated_world_is_valid(tiny_world_dir):
    typed, report = validate_dir(tiny_world_dir)
    assert report.ok, report.summary()
    assert set(typed) == {"organisations", "contracts", "sites", "regions", "participants", "measure_records"}
    assert typed["measure_records"]["commencement_date"].dtype.kind == "M"
    assert str(typed["participants"]["homeless"].dtype) == "boolean"


def test_wrong_type(tiny_world_dir, tmp_path):
    d = _copy(tiny_world_dir, tmp_path / "w")

    def fn(df):
        df["age"] = df["age"].astype(object)
        df.loc[[3, 8], "age"] = "forty"
        df["age"] = df["age"].astype(str)
        return df

    _edit(d, "participants", fn)
    _, report = validate_dir(d)
    v = _only(report, "type")[0]
    assert (v.table, v.column, v.n_rows, v.rows) == ("participants", "age", 2, (4, 9))


def test_missing_column(tiny_world_dir, tmp_path):
    d = _copy(tiny_world_dir, tmp_path / "w")
    _edit(d, "participants", lambda df: df.drop(columns=["gender"]))
    _, report = validate_dir(d)
    v = _only(report, "missing_column")[0]
    assert (v.table, v.column) == ("participants", "gender")


def test_null_key(tiny_world_dir, tmp_path):
    d = _copy(tiny_world_dir, tmp_path / "w")

    def fn(df):
        df.loc[5, "site_id"] = None
        return df

    _edit(d, "sites", fn)
    _, report = validate_dir(d)
    v = _only(report, "primary_key_null")[0]
    assert (v.table, v.column, v.n_rows, v.rows) == ("sites", "site_id", 1, (6,))
    assert _only(report, "required")[0].column == "site_id"


def test_duplicate_key(tiny_world_dir, tmp_path):
    d = _copy(tiny_world_dir, tmp_path / "w")
    _edit(d, "measure_records", lambda df: pd.concat([df, df.iloc[[0, 1, 2]]], ignore_index=True))
    _, report = validate_dir(d)
    v = _only(report, "primary_key")[0]
    assert v.table == "measure_records"
    assert v.column == "participant_id,site_id,measure,period_of_service"
    assert v.n_rows == 6  # three keys, each on two rows
    assert v.rows[:3] == (1, 2, 3)


def test_out_of_range(tiny_world_dir, tmp_path):
    d = _copy(tiny_world_dir, tmp_path / "w")

    def fn(df):
        df.loc[[0, 1, 2], "unemployment_rate"] = [55.0, 41.0, -1.0]
        return df

    _edit(d, "regions", fn)
    _, report = validate_dir(d)
    assert _only(report, "maximum")[0].n_rows == 2
    assert _only(report, "minimum")[0].n_rows == 1


def test_unknown_category(tiny_world_dir, tmp_path):
    d = _copy(tiny_world_dir, tmp_path / "w")

    def fn(df):
        df.loc[[10, 20, 30, 40], "education"] = "postdoc"
        return df

    _edit(d, "participants", fn)
    _, report = validate_dir(d)
    v = _only(report, "enum")[0]
    assert (v.column, v.n_rows, v.rows) == ("education", 4, (11, 21, 31, 41))
    assert "postdoc" not in report.summary()  # values never echoed


def test_orphan_reference(tiny_world_dir, tmp_path):
    d = _copy(tiny_world_dir, tmp_path / "w")

    def fn(df):
        df.loc[[7, 9], "site_id"] = "NOSUCHSITE"
        return df

    _edit(d, "measure_records", fn)
    _, report = validate_dir(d)
    v = _only(report, "foreign_key->sites(site_id, contract_id)")[0]
    assert (v.table, v.column, v.n_rows, v.rows) == ("measure_records", "site_id,contract_id", 2, (8, 10))


def test_row_check_and_pattern(tiny_world_dir, tmp_path):
    d = _copy(tiny_world_dir, tmp_path / "w")

    def fn(df):
        df.loc[0, "exit_date"] = df.loc[0, "commencement_date"] - pd.Timedelta(days=3)
        return df

    _edit(d, "measure_records", fn)

    def fn2(df):
        df.loc[1, "participant_id"] = "has space"
        return df

    _edit(d, "participants", fn2)
    _, report = validate_dir(d)
    assert _only(report, "check:exit_after_commencement")[0].rows == (1,)
    assert "(row 1)" in str(_only(report, "check:exit_after_commencement")[0])
    assert _only(report, "pattern")[0].rows == (2,)
    # the renamed participant's records become orphans too: everything is reported, nothing dropped
    assert any(v.rule.startswith("foreign_key->participants") for v in report.violations)


def test_all_violations_collected_before_failing(tiny_world_dir, tmp_path):
    d = _copy(tiny_world_dir, tmp_path / "w")
    _edit(d, "participants", lambda df: df.drop(columns=["gender"]).assign(age=lambda x: x["age"] + 100))
    _edit(d, "contracts", lambda df: df.assign(program="JSA"))
    _, report = validate_dir(d)
    rules = {(v.table, v.rule) for v in report.violations}
    assert {("participants", "missing_column"), ("participants", "maximum"), ("contracts", "enum")} <= rules
    with pytest.raises(DataContractError) as exc:
        report.raise_if_invalid()
    assert len(exc.value.violations) == len(report.violations)


def test_csv_tables_are_typed_and_checked(tiny_world_dir, tmp_path):
    d = tmp_path / "csv"
    d.mkdir()
    for p in tiny_world_dir.glob("*.parquet"):
        df = pd.read_parquet(p)
        for c in df.columns:
            if df[c].dtype.kind == "M" or str(df[c].dtype).startswith("date"):
                df[c] = pd.to_datetime(df[c]).dt.strftime("%Y-%m-%d")
        df.to_csv(d / f"{p.stem}.csv", index=False)
    typed, report = validate_dir(d)
    assert report.ok, report.summary()
    assert typed["participants"]["age"].dtype == "Int64"
    df = pd.read_csv(d / "sites.csv", dtype=str)
    df.loc[2, "open_date"] = "31/12/2019"
    df.to_csv(d / "sites.csv", index=False)
    _, report = validate_dir(d)
    v = _only(report, "type")[0]
    assert (v.table, v.column, v.rows) == ("sites", "open_date", (3,))


def test_missing_table(tiny_world_dir, tmp_path):
    d = _copy(tiny_world_dir, tmp_path / "w")
    (d / "regions.parquet").unlink()
    _, report = validate_dir(d)
    assert _only(report, "missing_table")[0].table == "regions"


def test_cli_exit_codes_and_message(tiny_world_dir, tmp_path, run_cli):
    ok = run_cli("validate", tiny_world_dir)
    assert ok.returncode == 0, ok.stderr
    assert "valid: 6 table(s)" in ok.stdout
    d = _copy(tiny_world_dir, tmp_path / "w")

    def fn(df):
        df.loc[[3, 4, 5], "education"] = "unknown_level"
        return df

    _edit(d, "participants", fn)
    bad = run_cli("validate", d)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert "participants.education: rule 'enum' broken by 3 rows (rows 4, 5, 6)" in bad.stderr
    assert "unknown_level" not in bad.stderr
    missing = run_cli("validate", tmp_path / "nowhere")
    assert missing.returncode == 2 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr
