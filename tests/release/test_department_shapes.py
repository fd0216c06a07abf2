"""Categories, sizes and shapes a department's data has (issue 16), each built with pandas/pyarrow on the
foreign world (``tests/fixtures/foreign_world.py``), never with ``toolkit synth``.

Each case either works (the release computes, with what it did said) or gets a clear error naming what to
change. The releases here are computed without tracking (``compute_release``): what is tested is how the
data is read and rated, not MLflow.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.fixtures.foreign_world import write_foreign_world
from toolkit.contracts import validate_dir
from toolkit.expected import UnseenLevelWarning, fit_expected
from toolkit.release.compute import check_release, compute_release
from toolkit.release.config import load_release_config
from toolkit.release.inputs import load_release_inputs


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("foreign_base")
    write_foreign_world(d, seed=11)
    return d


@pytest.fixture()
def world(base, tmp_path) -> Path:
    d = tmp_path / "world"
    shutil.copytree(base, d)
    return d


@pytest.fixture(scope="module")
def config():
    return load_release_config("demo")[0]


def _read(d: Path, name: str) -> pd.DataFrame:
    p = d / f"{name}.parquet"
    return pd.read_parquet(p) if p.exists() else pd.read_csv(d / f"{name}.csv", dtype=str, keep_default_na=False)


def _write(d: Path, name: str, df: pd.DataFrame) -> None:
    for suffix in (".parquet", ".csv"):
        (d / f"{name}{suffix}").unlink(missing_ok=True)
    df.to_parquet(d / f"{name}.parquet", index=False)


def _release(d: Path, config):
    inputs = load_release_inputs(d, config.window.start, config.window.end, "auto")
    comp = compute_release(inputs.tables, config)
    return comp, check_release(comp.fits, comp.ratings, config)


def test_a_level_held_by_two_participants_is_pooled(world, config):
    people = _read(world, "participants")
    rec = _read(world, "measure_records")
    never = sorted(set(people["participant_id"]) - set(rec.loc[rec["numerator"], "participant_id"]))[:2]
    people.loc[people["participant_id"].isin(never), "income_support_type"] = "parenting_payment"
    people.loc[
        ~people["participant_id"].isin(never) & (people["income_support_type"] == "parenting_payment"),
        "income_support_type",
    ] = "jobseeker"
    _write(world, "participants", people)
    comp, failed = _release(world, config)
    assert not failed
    pooled = [p.describe() for f in comp.fits.values() for p in f.model.design_state_.pooled]
    assert any("parenting_payment" in p for p in pooled)


def test_every_dms_contract_new_leaves_ess_rated(world, config):
    c = _read(world, "contracts")
    c.loc[c["program"] == "DMS", "start_date"] = pd.Timestamp("2019-10-15")
    _write(world, "contracts", c)
    s = _read(world, "sites").merge(c[["contract_id", "start_date"]], on="contract_id")
    s["open_date"] = s[["open_date", "start_date"]].max(axis=1)
    _write(world, "sites", s.drop(columns="start_date"))
    comp, failed = _release(world, config)
    assert not failed  # a re-tendered program is not a failed release
    r = comp.ratings
    dms, ess = r[r["program"] == "DMS"], r[(r["program"] == "ESS") & (r["level"] == "contract")]
    assert (ess["status"] == "rated").all() and ess["stars"].notna().all()
    assert not dms["calculated"].any() and set(dms.loc[dms["level"] == "contract", "status"]) == {"new_contract"}
    assert "no contract can set the national scale" in dms["audit"].iat[0]


def test_continuing_contracts_started_before_the_2018_program(world, config):
    c = _read(world, "contracts")
    c["start_date"] = pd.Timestamp("2016-03-01")
    _write(world, "contracts", c)
    s = _read(world, "sites")
    s["open_date"] = pd.Timestamp("2016-03-01")
    _write(world, "sites", s)
    _, report = validate_dir(world)
    assert report.ok, report.summary()
    comp, failed = _release(world, config)
    contracts = comp.ratings[comp.ratings["level"] == "contract"]
    assert not failed and (contracts["status"] == "rated").all()
    assert (comp.entity_measures["months_operating"].dropna() >= 48).all()


def test_department_codes_are_read_through_the_contract_aliases(world, config):
    people = _read(world, "participants")
    people["gender"] = people["gender"].map({"female": "Female", "male": "M", "other": "x"})
    _write(world, "participants", people)
    typed, report = validate_dir(world)
    assert report.ok, report.summary()
    assert any("read through the contract's aliases" in n for n in report.notes)
    assert set(typed["participants"]["gender"]) == {"female", "male", "other"}
    people["gender"] = people["gender"].replace({"x": "unknown"})
    _write(world, "participants", people)
    _, report = validate_dir(world)
    assert not report.ok and "participants.gender" in report.summary() and "unknown" not in report.summary()


def test_optional_columns_absent_are_read_as_empty(world, config):
    c = _read(world, "contracts").drop(columns=["end_date", "novated_to"])
    _write(world, "contracts", c)
    _write(world, "sites", _read(world, "sites").drop(columns=["close_date"]))
    _write(world, "measure_records", _read(world, "measure_records").drop(columns=["verification_date"]))
    _, report = validate_dir(world)
    assert report.ok, report.summary()
    assert sum("optional column" in n for n in report.notes) == 4
    _, failed = _release(world, config)
    assert not failed
    _write(world, "participants", _read(world, "participants").drop(columns=["age"]))
    _, report = validate_dir(world)
    assert not report.ok and "participants.age" in report.summary() and "missing_column" in report.summary()


def test_parquet_written_by_another_tool(world, config):
    """Categoricals, nullable integers, pyarrow strings and nanosecond/millisecond timestamps."""
    people = _read(world, "participants")
    for c in ("gender", "education", "cald_group"):
        people[c] = people[c].astype("category")
    people["age"] = pd.to_numeric(people["age"]).astype("Int64")
    people["jsci_score"] = pd.to_numeric(people["jsci_score"]).astype("int32")
    people["participant_id"] = people["participant_id"].astype("string[pyarrow]")
    _write(world, "participants", people)
    rec = _read(world, "measure_records")
    table = pa.Table.from_pandas(rec, preserve_index=False)
    cols = [
        pa.compute.cast(col, pa.timestamp("ms")) if pa.types.is_timestamp(col.type) else col for col in table.columns
    ]
    (world / "measure_records.parquet").unlink()
    pq.write_table(pa.Table.from_arrays(cols, names=table.column_names), world / "measure_records.parquet")
    _, report = validate_dir(world)
    assert report.ok, report.summary()
    _, failed = _release(world, config)
    assert not failed


def test_csv_with_semicolons_and_a_byte_order_mark(world, config):
    regions = _read(world, "regions")
    (world / "regions.csv").write_text("\ufeff" + regions.to_csv(index=False, sep=";"), encoding="utf-8")
    typed, report = validate_dir(world)
    assert report.ok, report.summary()
    assert list(typed["regions"].columns[:2]) == ["esa_id", "esa_name"]


def test_small_entities_one_participant_one_contract_all_sites_unrated(world, config):
    """A new organisation with one contract whose one site has a single participant."""
    orgs, c, s = _read(world, "organisations"), _read(world, "contracts"), _read(world, "sites")
    orgs = pd.concat([orgs, pd.DataFrame({"organisation_id": ["FORGX"], "organisation_name": ["Tiny"]})])
    new = c.iloc[[0]].assign(contract_id="FX99D", organisation_id="FORGX")
    site = s.iloc[[0]].assign(site_id="FX99D-S0", contract_id="FX99D", location_id="LOCX")
    rec = _read(world, "measure_records")
    one = rec[rec["participant_id"] == rec.loc[rec["program"] == "DMS", "participant_id"].iat[0]]
    one = one.assign(site_id="FX99D-S0", contract_id="FX99D", organisation_id="FORGX")
    rec = pd.concat([rec[rec["participant_id"] != one["participant_id"].iat[0]], one], ignore_index=True)
    for name, df in (
        ("organisations", orgs),
        ("contracts", pd.concat([c, new])),
        ("sites", pd.concat([s, site])),
        ("measure_records", rec),
    ):
        _write(world, name, df.reset_index(drop=True))
    comp, failed = _release(world, config)
    assert not failed
    r = comp.ratings.set_index(["level", "entity_id"])
    for key in (("site", "FX99D-S0"), ("contract", "FX99D"), ("organisation", "FORGX")):
        assert r.loc[key, "status"] == "insufficient_data" and pd.isna(r.loc[key, "stars"])


def test_a_level_the_model_never_saw_is_scored_at_the_reference(world):
    people = _read(world, "participants")
    rec = _read(world, "measure_records").merge(people, on="participant_id")
    rec = rec[rec["measure"] == "full_13"]
    train = rec[rec["gender"] != "other"]
    model = fit_expected(train, "numerator ~ age + C(gender, Treatment('female'))", unseen_level="reference")
    unseen = rec[rec["gender"] == "other"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        p = model.predict(unseen)
    assert np.isfinite(p).all() and len(p) > 0
    assert any(issubclass(w.category, UnseenLevelWarning) for w in caught)
