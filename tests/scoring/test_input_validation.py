"""Bad input is one clear error listing every problem with its rows; nothing is dropped."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit.errors import InputError, ToolkitError
from toolkit.scoring import score_entities, validate_entity_measures

from ._helpers import entity_rows, table, uniform


def good() -> pd.DataFrame:
    rows = entity_rows("DMS", "organisation", "O1", "", uniform(80, 1.0))
    for i, ratio in enumerate([0.8, 1.0, 1.2], start=1):
        rows += entity_rows("DMS", "contract", f"C{i}", "O1", uniform(40, ratio))
    rows += entity_rows("DMS", "site", "S1", "C1", uniform(30, 0.9))
    return table(rows)


def _error(df, method) -> str:
    with pytest.raises(InputError) as exc:
        score_entities(df, method)
    assert isinstance(exc.value, ToolkitError)
    return str(exc.value)


def test_good_table_passes(method):
    out = validate_entity_measures(good(), method)
    assert len(out) == len(good())
    assert str(out["n"].dtype) == "int64" and str(out["expected"].dtype) == "float64"


def test_every_problem_is_listed_with_rows(method):
    df = good()
    # Data rows are 1-based: DataFrame position i is row i + 1 of the file.
    df.loc[0, "program"] = "XYZ"  # row 1: unknown program
    df.loc[1, "measure"] = "ongoing_support"  # row 2: not a DMS measure
    df.loc[6, "n"] = -3  # row 7: negative count (and actual > n, expected > n)
    df.loc[8, "actual"] = 41  # row 9: actual > n
    df.loc[9, "expected"] = 40.5  # row 10: expected > n
    df.loc[10, "expected"] = -0.1  # row 11: expected < 0
    df = pd.concat([df, df.iloc[[12]]], ignore_index=True)  # row 31: duplicates row 13
    msg = _error(df, method)
    assert "rule 'one of ['DMS', 'ESS']' broken by 1 row (rows 1)" in msg
    assert "entity_measures.measure: rule 'a measure of the row's program" in msg and "(rows 2)" in msg
    assert "entity_measures.n: rule 'a non-negative whole number' broken by 1 row (rows 7)" in msg
    assert "entity_measures.actual: rule 'actual <= n' broken by 2 rows (rows 7, 9)" in msg
    assert "entity_measures.expected: rule '0 <= expected <= n' broken by 3 rows (rows 7, 10, 11)" in msg
    assert "(duplicate rows)' broken by 2 rows (rows 13, 31)" in msg


def test_site_without_its_contract(method):
    df = good()
    df.loc[df["entity_id"] == "S1", "parent_id"] = "C9"
    msg = _error(df, method)
    assert "a site without its contract" in msg and "broken by 6 rows (rows 25, 26, 27, 28, 29, ...)" in msg


def test_site_under_another_programs_contract(method):
    df = good()
    df.loc[df["entity_id"] == "S1", "program"] = "ESS"
    msg = _error(df, method)
    assert "a site without its contract" in msg


def test_contract_without_its_organisation(method):
    df = good()
    df.loc[df["entity_id"] == "C2", "parent_id"] = "O9"
    assert "contract's organisation is in the table" in _error(df, method)


def test_entity_rows_must_agree(method):
    df = good()
    df.loc[df.index[df["entity_id"] == "C3"][0], "months_operating"] = 5
    df.loc[df.index[df["entity_id"] == "C2"][0], "parent_id"] = "O2"
    msg = _error(df, method)
    assert "the same months on every row of an entity" in msg
    assert "the same parent on every row of an entity" in msg


def test_text_cells_from_csv_are_checked(method):
    df = good().astype(str)
    df["months_operating"] = ""
    df.loc[3, "n"] = "twelve"
    df.loc[4, "actual"] = "2.5"
    df.loc[5, "expected"] = ""
    msg = _error(df, method)
    assert "entity_measures.n: rule 'a non-negative whole number' broken by 1 row (rows 4)" in msg
    assert "entity_measures.actual: rule 'a non-negative whole number' broken by 1 row (rows 5)" in msg
    assert "entity_measures.expected: rule '0 <= expected <= n' broken by 1 row (rows 6)" in msg


def test_missing_and_unexpected_columns(method):
    msg = _error(good().drop(columns="expected").assign(comment="x"), method)
    assert "missing column(s) ['expected']" in msg and "unexpected column(s) ['comment']" in msg


def test_bad_levels_and_organisation_parents(method):
    df = good()
    df.loc[0, "level"] = "region"
    df.loc[df["entity_id"] == "O1", "parent_id"] = ""
    df.loc[1, "parent_id"] = "X"
    msg = _error(df, method)
    assert "entity_measures.level" in msg and "empty for an organisation" in msg


def test_zero_expected_with_records(method):
    df = good()
    df.loc[3, "expected"] = 0.0
    assert "expected > 0 where n > 0" in _error(df, method)


def test_too_few_rated_contracts_to_standardise(method):
    df = good()
    df = df[~df["entity_id"].isin(["C2", "C3"])]
    assert "cannot standardise" in _error(df, method)


def test_previous_table_is_checked(method):
    prev = score_entities(good(), method)
    bad = prev.copy()
    bad["status"] = bad["status"].astype(object)
    bad.loc[0, "status"] = "great"
    bad.loc[1, "stars"] = pd.NA
    with pytest.raises(InputError) as exc:
        score_entities(good(), method, bad)
    msg = str(exc.value)
    assert "previous.status" in msg and "(rows 1)" in msg and "previous.stars" in msg and "(rows 2)" in msg
    with pytest.raises(InputError, match="missing column"):
        score_entities(good(), method, prev.drop(columns="status"))
