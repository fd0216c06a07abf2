"""``toolkit score`` as a user runs it: the golden CSV, re-runs, releases, and bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ._helpers import GOLDEN

TOOLKIT = Path(sys.executable).with_name("toolkit")
INPUT = GOLDEN / "site_x_y.csv"


def score(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(TOOLKIT), "score", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("score")
    runs = {}
    for name in ("a.csv", "b.csv", "a.parquet", "b.parquet"):
        runs[name] = score("--input", str(INPUT), "--out", str(d / name))
    return d, runs


def test_golden_csv_scores(outputs):
    d, runs = outputs
    r = runs["a.csv"]
    assert r.returncode == 0, r.stderr
    assert "scored 24 entities" in r.stdout and "ESS site" in r.stdout
    t = pd.read_csv(d / "a.csv", keep_default_na=False, na_values=[""]).set_index("entity_id")
    x = t.loc["SX"]
    assert (round(x["ratio_g26"], 2), round(x["ratio_g52"], 2)) == (2.78, 2.02)
    assert round(x["performance_score"], 2) == 2.84 and round(x["national_average"], 2) == 2.00
    assert (x["star_percentage"], x["stars"], x["status"]) == (42, 5, "rated")
    y = t.loc["SY"]
    assert (y["weight_full_26"], y["weight_pathway_26"]) == pytest.approx((0.39375, 0.05625), abs=1e-15)
    assert round(y["ratio_g26"], 2) == 1.20


def test_reruns_are_byte_identical(outputs):
    d, runs = outputs
    assert all(r.returncode == 0 for r in runs.values())
    assert (d / "a.csv").read_bytes() == (d / "b.csv").read_bytes()
    assert (d / "a.parquet").read_bytes() == (d / "b.parquet").read_bytes()


def test_parquet_keeps_dtypes(outputs):
    d, _ = outputs
    t = pd.read_parquet(d / "a.parquet")
    assert str(t["stars"].dtype) == "Int64" and str(t["star_percentage"].dtype) == "Int64"
    assert t["calculated"].dtype == bool and t["performance_score"].dtype == "float64"
    c = pd.read_csv(d / "a.csv", keep_default_na=False, na_values=[""])
    assert list(t.columns) == list(c.columns) and len(t) == len(c)
    pd.testing.assert_series_equal(t["performance_score"], c["performance_score"])


def test_parquet_input_and_previous_release(outputs, tmp_path):
    d, _ = outputs
    pd.read_csv(INPUT, dtype=str, keep_default_na=False).to_parquet(tmp_path / "in.parquet")
    r = score(
        "--input", str(tmp_path / "in.parquet"), "--out", str(tmp_path / "next.csv"), "--previous", str(d / "a.csv")
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "next.csv").read_bytes() == (d / "a.csv").read_bytes()  # same data: same release


def test_method_option_takes_a_name(tmp_path):
    r = score("--input", str(INPUT), "--out", str(tmp_path / "o.csv"), "--method", "des_2018_interim")
    assert r.returncode == 0, r.stderr
    assert "interim" in r.stdout


def test_bad_input_exits_2_naming_rows(tmp_path):
    df = pd.read_csv(INPUT, dtype=str, keep_default_na=False)
    df.loc[4, "actual"] = "999"  # row 5: actual > n
    df.loc[7, "measure"] = "full_99"  # row 8: unknown measure
    df.loc[df["entity_id"] == "SX", "parent_id"] = "CQ"  # Site X without its contract
    df.to_csv(tmp_path / "bad.csv", index=False)
    r = score("--input", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "o.csv"))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert "\ntoolkit score: error: entity_measures: 3 problem(s)" in r.stderr  # after the reads/writes lines
    assert "entity_measures.actual: rule 'actual <= n' broken by 1 row (rows 5)" in r.stderr
    assert (
        "entity_measures.measure: rule 'a measure of the row's program in the method' broken by 1 row (rows 8)"
        in r.stderr
    )
    assert "(a site without its contract)' broken by 7 rows (rows 74, 75, 76, 77, 78, ...)" in r.stderr
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize(
    "args, match",
    [
        (("--input", "in.txt", "--out", "o.csv"), "unknown extension '.txt'"),
        (("--input", str(INPUT), "--out", "o.xlsx"), "unknown extension '.xlsx'"),
        (("--input", "missing.csv", "--out", "o.csv"), "no such file"),
        (("--input", str(INPUT), "--out", "o.csv", "--method", "nope"), "not found"),
    ],
)
def test_usage_errors_exit_2(tmp_path, args, match):
    r = subprocess.run([str(TOOLKIT), "score", *args], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 2 and match in r.stderr and "Traceback" not in r.stderr


def test_out_that_cannot_be_written_is_refused_before_scoring(tmp_path, run_cli):
    """``--out`` below a file was a FileExistsError traceback after the scoring."""
    f = tmp_path / "a-file"
    f.write_text("x")
    r = run_cli("score", "--input", INPUT, "--out", f / "ratings.csv")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "is a file, not a folder" in r.stderr
    (tmp_path / "ratings.csv").mkdir()
    r = run_cli("score", "--input", INPUT, "--out", tmp_path / "ratings.csv")
    assert r.returncode == 2 and "is a folder, not a file" in r.stderr and "Traceback" not in r.stderr
