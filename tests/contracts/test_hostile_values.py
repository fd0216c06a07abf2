"""Values that used to pass silently or crash the validator: integer dates, implausible years,
infinite numbers, truncated files. Each is a violation naming table, column, rule and count."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from toolkit.contracts import load_contracts, validate_dir
from toolkit.errors import ConfigError
from toolkit.paths import DATA_CONTRACTS


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("truth", "events"))
    return dst


def _edit(d: Path, table: str, fn) -> None:
    p = d / f"{table}.parquet"
    df = fn(pd.read_parquet(p))
    p.unlink()
    df.to_parquet(p, index=False)


def _hits(report, rule: str, column: str):
    return [v for v in report.violations if v.rule == rule and v.column == column]


def test_integer_dates_are_refused_not_read_as_1970(tiny_world_dir, tmp_path):
    """20200331 stored as a number used to become 1970-01-01 00:00:00.020200331 and pass."""
    d = _copy(tiny_world_dir, tmp_path / "w")

    def fn(df):
        df["open_date"] = pd.to_datetime(df["open_date"]).dt.strftime("%Y%m%d").astype("int64")
        return df

    _edit(d, "sites", fn)
    typed, report = validate_dir(d)
    (v,) = _hits(report, "type", "open_date")
    assert (v.table, v.n_rows) == ("sites", len(typed["sites"]))
    assert "yyyymmdd" in str(v) and "int64" in str(v)
    assert typed["sites"]["open_date"].isna().all()  # never a 1970 date


def test_integer_dates_in_csv_text_are_refused(tiny_world_dir, tmp_path):
    d = _copy(tiny_world_dir, tmp_path / "w")
    df = pd.read_parquet(d / "sites.parquet")
    df["open_date"] = pd.to_datetime(df["open_date"]).dt.strftime("%Y%m%d")
    (d / "sites.parquet").unlink()
    df.to_csv(d / "sites.csv", index=False)
    _, report = validate_dir(d)
    (v,) = _hits(report, "type", "open_date")
    assert v.n_rows == len(df)


@pytest.mark.parametrize("year", [2999, 9999, 1066])
def test_implausible_years_break_the_date_range(year, tiny_world_dir, tmp_path):
    d = _copy(tiny_world_dir, tmp_path / "w")

    def fn(df):
        df["close_date"] = pd.to_datetime(df["close_date"]).astype("datetime64[s]")
        df.loc[[1, 4], "close_date"] = pd.Timestamp(f"{year}-06-30")
        return df

    _edit(d, "sites", fn)
    _, report = validate_dir(d)
    (v,) = _hits(report, "date_range", "close_date")
    assert (v.table, v.n_rows, v.rows) == ("sites", 2, (2, 5))
    assert "1900-01-01 to 2100-12-31" in str(v)
    assert str(year) not in str(v)  # the value is never echoed


def test_a_contract_declares_its_own_date_range(tiny_world_dir, tmp_path):
    d = _copy(tiny_world_dir, tmp_path / "w")
    _edit(d, "sites", lambda df: df.assign(close_date=pd.NaT).astype({"close_date": "datetime64[s]"}))
    cdir = tmp_path / "contracts"
    shutil.copytree(DATA_CONTRACTS, cdir, ignore=shutil.ignore_patterns("*/"))
    raw = yaml.safe_load((cdir / "sites.yaml").read_text())
    raw["dateRange"] = {"minimum": "2030-01-01"}
    (cdir / "sites.yaml").write_text(yaml.safe_dump(raw))
    _, report = validate_dir(d, contracts_dir=cdir)
    (v,) = _hits(report, "date_range", "open_date")
    assert "2030-01-01 to 2100-12-31" in str(v)
    raw["dateRange"] = {"maximum": "not a date"}
    (cdir / "sites.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=r"sites.yaml: dateRange.maximum must be a date"):
        load_contracts(cdir)


@pytest.mark.parametrize("value", [np.inf, -np.inf, 1e30])
def test_infinite_or_huge_integers_are_type_violations(value, tiny_world_dir, tmp_path):
    """inf in an integer column raised OverflowError (a traceback) in the validator."""
    d = _copy(tiny_world_dir, tmp_path / "w")

    def fn(df):
        df["age"] = df["age"].astype("float64")
        df.loc[[0, 2], "age"] = value
        return df

    _edit(d, "participants", fn)
    _, report = validate_dir(d)
    (v,) = _hits(report, "type", "age")
    assert (v.n_rows, v.rows) == (2, (1, 3))


def test_infinite_numbers_are_type_violations(tiny_world_dir, tmp_path):
    d = _copy(tiny_world_dir, tmp_path / "w")
    df = pd.read_parquet(d / "regions.parquet")
    col = next(c for c in df.columns if df[c].dtype.kind == "f")
    df = df.astype({col: str})
    df.loc[0, col] = "inf"
    (d / "regions.parquet").unlink()
    df.to_csv(d / "regions.csv", index=False)
    _, report = validate_dir(d)
    (v,) = _hits(report, "type", col)
    assert v.rows == (1,)


def test_truncated_parquet_is_reported_by_the_cli(tiny_world_dir, tmp_path, run_cli):
    d = _copy(tiny_world_dir, tmp_path / "w")
    p = d / "participants.parquet"
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    r = run_cli("validate", d)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "participants" in r.stderr and "unreadable" in r.stderr


def test_lists_in_a_text_column_are_type_violations(tiny_world_dir, tmp_path):
    """A Parquet list column in a string field used to be read as the text "[1 2]" and pass."""
    d = _copy(tiny_world_dir, tmp_path / "w")
    _edit(d, "sites", lambda df: df.assign(location_id=[[1, 2]] * len(df)))
    typed, report = validate_dir(d)
    (v,) = _hits(report, "type", "location_id")
    assert v.n_rows == len(typed["sites"]) and "not text" in str(v)


def test_a_value_of_the_wrong_type_is_reported_once(tiny_world_dir, tmp_path):
    d = _copy(tiny_world_dir, tmp_path / "w")
    _edit(d, "participants", lambda df: df.assign(age=True))
    _, report = validate_dir(d)
    assert [v.rule for v in report.violations if v.column == "age"] == ["type"]


def test_a_contracts_folder_without_contracts_is_an_error(tiny_world_dir, tmp_path, run_cli):
    """An empty --contracts folder used to validate nothing and say 'valid'."""
    (tmp_path / "contracts").mkdir()
    with pytest.raises(ConfigError, match="holds no contract"):
        load_contracts(tmp_path / "contracts")
    r = run_cli("validate", tiny_world_dir, "--contracts", tmp_path / "contracts")
    assert r.returncode == 2 and "holds no contract" in r.stderr and "Traceback" not in r.stderr
