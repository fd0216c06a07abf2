"""Rule functions, invariants, input errors and the ``toolkit derive`` command."""

from __future__ import annotations

import doctest
import json
import re

import numpy as np
import pandas as pd
import pytest

import toolkit.records.derive.bonus
import toolkit.records.derive.calendar
import toolkit.records.derive.claims
import toolkit.records.derive.full_pathway
import toolkit.records.derive.ongoing
import toolkit.records.derive.spells
import toolkit.records.derive.window
from tests.records.derive.fixture_tables import build_events
from toolkit.errors import DataContractError
from toolkit.records.derive import DerivationInvariantError, derive_records
from toolkit.records.derive.invariants import check_invariants


@pytest.mark.parametrize(
    "module",
    [
        toolkit.records.derive.bonus,
        toolkit.records.derive.calendar,
        toolkit.records.derive.claims,
        toolkit.records.derive.full_pathway,
        toolkit.records.derive.ongoing,
        toolkit.records.derive.spells,
        toolkit.records.derive.window,
    ],
    ids=lambda m: m.__name__,
)
def test_docstring_examples(module):
    res = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0 and res.failed == 0


def _records(**over) -> pd.DataFrame:
    base = {
        "participant_id": ["P1", "P2"],
        "period_of_service": [1, 1],
        "program": ["DMS", "DMS"],
        "measure": ["full_13", "full_13"],
        "site_id": ["S1", "S1"],
        "contract_id": ["C1", "C1"],
        "organisation_id": ["O1", "O1"],
        "numerator": [True, False],
        "time_in_assistance": [100.0, 100.0],
        "referral_date": pd.to_datetime(["2019-01-01"] * 2),
        "commencement_date": pd.to_datetime(["2019-01-01"] * 2),
        "exit_date": pd.to_datetime([None, "2019-06-01"]),
        "anchor_date": pd.to_datetime([None, None]),
        "outcome_lodged_date": pd.to_datetime(["2019-04-10", None]),
        "verification_date": pd.to_datetime([None, None]),
        "transferred": [False, False],
    }
    base.update(over)
    return pd.DataFrame(base)


W = (pd.Timestamp("2018-10-01").date(), pd.Timestamp("2020-09-30").date())


def test_invariants_hold_on_good_records():
    check_invariants(_records(), *W, {"full_13": 1})


def test_a_record_outside_the_window_fails_loudly_without_naming_participants():
    rec = _records(exit_date=pd.to_datetime([None, "2018-09-30"]))
    with pytest.raises(DerivationInvariantError, match="no_record_outside_window: 1 record") as e:
        check_invariants(rec, *W, {"full_13": 1})
    assert "P2" not in str(e.value) and "full_13 1" in str(e.value)


def test_a_numerator_without_its_claim_fails():
    with pytest.raises(DerivationInvariantError, match="no_numerator_without_denominator"):
        check_invariants(_records(), *W, {"full_13": 2})
    with pytest.raises(DerivationInvariantError, match="no_numerator_outside_window"):
        check_invariants(_records(outcome_lodged_date=pd.to_datetime(["2020-10-01", None])), *W, {"full_13": 1})


def test_a_participant_twice_at_a_site_fails():
    rec = _records(participant_id=["P1", "P1"])
    with pytest.raises(DerivationInvariantError, match="once_per_site: 2 record"):
        check_invariants(rec, *W, {"full_13": 1})


def test_the_once_per_entity_invariant_follows_the_reading():
    """Issue 16: per site (the default), a participant at two sites of one contract is two records;
    under the earlier reading (one record per contract) the same records break the invariant."""
    rec = _records(participant_id=["P1", "P1"], site_id=["S1", "S2"])
    check_invariants(rec, *W, {"full_13": 1})
    check_invariants(rec, *W, {"full_13": 1}, one_record_per="site")
    with pytest.raises(DerivationInvariantError, match="once_per_contract: 2 record"):
        check_invariants(rec, *W, {"full_13": 1}, one_record_per="contract")
    with pytest.raises(ValueError, match="one_record_per must be one of"):
        check_invariants(rec, *W, {"full_13": 1}, one_record_per="organisation")


TRANSFER = {
    "commencements": "participant | site | commenced  | exit\n"
    "B | S1 | 2019-01-01 | 2019-04-11\n"
    "B | S2 | 2019-04-11 | 2019-07-20\n",
    "sites": "site | contract | organisation\nS1 | C1 | O1\nS2 | C1 | O1\n",
}


@pytest.mark.parametrize("per, sites", [("site", ["S1", "S2"]), ("contract", ["S2"])])
def test_each_reading_derives_records_that_keep_its_own_invariant(per, sites):
    """Both values of records.one_record_per derive (the invariant runs inside derive_records), and
    only the site reading keeps the losing site's record."""
    params = _derive_params(one_record_per=per)
    res = derive_records(build_events(TRANSFER, {}), "March 2020", params=params)
    full13 = res.records[res.records["measure"] == "full_13"]
    assert full13["site_id"].tolist() == sites


def _derive_params(**records):
    from toolkit.records.derive import load_derive_params
    from toolkit.records.derive.params import DeriveParams

    raw = load_derive_params().model_dump(mode="json")
    raw["records"].update(records)
    return DeriveParams.model_validate(raw)


def test_the_config_refuses_the_replaced_key_and_unknown_readings():
    """records.once_per_contract (before issue 16; false kept every record and failed the invariant)
    is refused at load with what to write instead; one_record_per takes site or contract only."""
    from pydantic import ValidationError

    for old in (True, False):
        with pytest.raises(ValidationError, match=r"records\.once_per_contract is no longer a key") as e:
            _derive_params(once_per_contract=old)
        assert "one_record_per" in str(e.value) and "failed its own invariant" in str(e.value)
    with pytest.raises(ValidationError, match="one_record_per"):
        _derive_params(one_record_per="organisation")
    assert _derive_params().records.one_record_per == "site"  # the default reading


CASE = {"commencements": "participant | site | commenced  | exit\nA | S1 | 2019-01-01 | 2019-06-01\n"}


def test_overlapping_spells_are_a_data_contract_error_naming_table_rule_and_count():
    case = {
        "commencements": "participant | site | commenced  | exit\nQX77 | S1 | 2019-01-01 | 2019-06-01\n",
        "phases": "participant | phase | start | end\nQX77 | EA | 2019-01-01 | 2019-04-01\n"
        "QX77 | PPS | 2019-03-01 | 2019-06-01\n",
    }
    with pytest.raises(DataContractError, match=r"phases.start_date,end_date: rule 'no_overlap' broken by 1 row") as e:
        derive_records(build_events(case, {}), "March 2020")
    assert "QX77" not in str(e.value) and "2019-03-01" not in str(e.value)  # no participant values


def test_events_breaking_their_contracts_are_reported_together():
    tables = build_events(CASE, {})
    tables["claims"].loc[0, "status"] = "lost"
    tables["site_commencements"].loc[0, "program"] = "XYZ"
    with pytest.raises(DataContractError) as e:
        derive_records(tables, "March 2020")
    msg = str(e.value)
    assert "claims.status: rule 'enum'" in msg and "site_commencements.program: rule 'enum'" in msg


def test_missing_event_table(tmp_path):
    with pytest.raises(DataContractError, match="lacks 8 table"):
        derive_records(tmp_path, "March 2020")


def test_cli_writes_records_log_and_excluded_events(tiny_world_dir, tmp_path, run_cli):
    out = tmp_path / "derived"
    r = run_cli("derive", "--events", tiny_world_dir, "--release", "March 2020", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "[derive" in r.stderr and "invariants hold" in r.stderr
    rec = pd.read_parquet(out / "measure_records.parquet")
    want = pd.read_parquet(tiny_world_dir / "measure_records.parquet")
    assert len(rec) == len(want) and rec["numerator"].sum() == want["numerator"].sum()
    log = pd.read_csv(out / "derivation_log.csv")
    assert {"measure", "rule", "considered", "excluded", "kept", "kept_by_outcome"} <= set(log.columns)
    meta = json.loads((out / "derivation.json").read_text())
    assert meta["cutoff"] == "2020-03-31" and meta["records"] == len(rec) and len(meta["events_sha256"]) == 8
    ex = pd.read_parquet(out / "excluded_events.parquet")
    assert len(ex) == meta["excluded_events"] and ex["reason"].notna().all()
    for name in ("excluded_events.parquet", "measure_records.parquet"):  # participant ids: owner only
        assert (out / name).stat().st_mode & 0o777 == 0o600, name


def test_cli_bad_release_is_exit_2(tiny_world_dir, tmp_path, run_cli):
    r = run_cli("derive", "--events", tiny_world_dir, "--release", "April 2020", "--out", tmp_path / "x")
    assert r.returncode == 2 and "release" in r.stderr and "Traceback" not in r.stderr


def test_empty_event_tables_give_empty_records():
    tables = {name: df.iloc[0:0] for name, df in build_events(CASE, {}).items()}
    res = derive_records(tables, "March 2020")
    assert res.records.empty and next(iter(res.records.columns)) == "participant_id"


def test_window_is_returned_as_dates():
    res = derive_records(build_events(CASE, {}), "December 2020")
    assert [str(d) for d in res.window] == ["2019-01-01", "2021-01-08"]
    assert np.issubdtype(res.records["commencement_date"].dtype, np.datetime64)


def test_a_placement_whose_commencement_is_after_the_cutoff_has_no_tracking_site():
    case = {
        "commencements": "participant | site | commenced\nA | S1 | 2020-03-01\n",
        "placements": "id | participant | site | start | apprenticeship\nP1 | A | S1 | 2019-01-01 | yes\n",
    }
    res = derive_records(build_events(case, {}), "December 2019")  # cut-off 13 January 2020
    assert res.records.empty
    assert set(res.excluded["rule"].astype(str)) >= {"after_cutoff", "anchor_no_tracking_site"}


def test_records_breaking_their_contract_fail_loudly():
    rec = _records(time_in_assistance=[100.0, -1.0])
    with pytest.raises(
        DerivationInvariantError, match=re.escape("measure_records contract: measure_records.time_in_assistance")
    ):
        check_invariants(rec, *W, {"full_13": 1})


# Events of a participant and period of service without a site commencement: the foreign keys of
# data_contracts/events/ reject them loudly (there is no exclusion rule for them, so they can
# never be dropped silently), and the working form refuses them even without validation.
EVERY_EVENT = {
    "commencements": "participant | site | commenced  | exit\nA | S1 | 2019-01-01 | 2019-07-20\n",
    "suspensions": "participant | start | end\nA | 2019-02-01 | 2019-02-10\n",
    "placements": "id | participant | site | start\nP1 | A | S1 | 2019-03-01\n",
    "claims": "participant | site | type | lodged | placement\nA | S1 | full_13 | 2019-06-01 | P1\n",
    "assessments": "participant | site | date | recommendation\nA | S1 | 2019-05-01 | further_ongoing_support\n",
    "verifications": "participant | exit | verified | result\nA | 2019-07-20 | 2019-08-31 | employed\n",
}
PARTICIPANT_TABLES = [
    "phases",
    "suspensions",
    "placements",
    "claims",
    "benchmarks",
    "os_assessments",
    "employment_verifications",
]


def _with_unknown_participant(table: str) -> dict[str, pd.DataFrame]:
    tables = build_events(EVERY_EVENT, {})
    assert len(tables[table]), table
    tables[table].loc[0, "participant_id"] = "ZZ9"
    return tables


@pytest.mark.parametrize("table", PARTICIPANT_TABLES)
def test_events_of_an_unknown_participant_are_a_data_contract_error(table):
    with pytest.raises(
        DataContractError,
        match=rf"{table}\.participant_id,period_of_service[^\n]*"
        r"foreign_key->site_commencements",
    ):
        derive_records(_with_unknown_participant(table), "March 2020")


@pytest.mark.parametrize("table", PARTICIPANT_TABLES)
def test_the_working_form_refuses_an_unknown_participant_even_unvalidated(table):
    from toolkit.records.derive.events import to_working

    with pytest.raises(
        DataContractError,
        match=rf"{table}\.participant_id,period_of_service: rule "
        r"'foreign_key->site_commencements' broken by 1 row",
    ):
        to_working(_with_unknown_participant(table))
    to_working(build_events(EVERY_EVENT, {}))  # the same tables with the participant known are fine


def test_cli_truncated_events_file_is_exit_2(tiny_world_dir, tmp_path, run_cli):
    """A truncated Parquet file of events was a pyarrow traceback."""
    import shutil

    ev = tmp_path / "events"
    shutil.copytree(tiny_world_dir / "events", ev)
    p = ev / "phases.parquet"
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    (ev / "claims.parquet").write_bytes(b"")
    out = tmp_path / "derived"
    r = run_cli("derive", "--events", ev, "--release", "March 2020", "--out", out)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "phases: rule 'unreadable'" in r.stderr and "claims: rule 'unreadable'" in r.stderr
    assert not out.exists()
