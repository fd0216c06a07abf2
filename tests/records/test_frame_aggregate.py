"""Entity rules and aggregation on hand-built records: once per entity, novations, exclusions with reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.records.aggregate import entity_measure_table, months_between
from toolkit.records.frame import build_frame, in_window, resolve_novations

D = pd.Timestamp


def _tables():
    orgs = pd.DataFrame({"organisation_id": ["O1", "O2"], "organisation_name": ["a", "b"]})
    contracts = pd.DataFrame(
        {
            "contract_id": ["C1", "C2", "C3", "C4"],
            "organisation_id": ["O1", "O1", "O2", "O2"],
            "program": ["DMS"] * 4,
            "esa_id": ["E1"] * 4,
            "specialty": ["All Client Types"] * 4,
            "start_date": [D("2018-07-01")] * 3 + [D("2019-09-01")],
            "end_date": [pd.NaT, D("2019-06-30"), D("2019-12-31"), pd.NaT],
            "status": ["active", "novated", "ceased", "active"],
            "novated_to": [None, "C1", None, None],
        }
    )
    sites = pd.DataFrame(
        {
            "site_id": ["S1a", "S1b", "S2", "S3", "S4"],
            "contract_id": ["C1", "C1", "C2", "C3", "C4"],
            "location_id": ["L1", "L2", "L3", "L4", "L5"],
            "open_date": [D("2018-07-01")] * 4 + [D("2019-09-01")],
            "close_date": [pd.NaT, pd.NaT, D("2019-06-30"), D("2019-12-31"), pd.NaT],
        }
    )
    regions = pd.DataFrame({"esa_id": ["E1"], "metro": [True], "ivi_growth": [1.0]})
    participants = pd.DataFrame(
        {"participant_id": [f"P{i}" for i in range(1, 8)], "esa_id": ["E1"] * 7, "metro": [False] * 7}
    )

    def rec(pid, site, contract, org, num, exit_=None, lodged=None):
        return {
            "participant_id": pid,
            "period_of_service": 1,
            "program": "DMS",
            "measure": "full_13",
            "site_id": site,
            "contract_id": contract,
            "organisation_id": org,
            "numerator": num,
            "time_in_assistance": 100.0,
            "referral_date": D("2018-01-01"),
            "commencement_date": D("2018-02-01"),
            "exit_date": D(exit_) if exit_ else pd.NaT,
            "anchor_date": pd.NaT,
            "outcome_lodged_date": D(lodged) if lodged else pd.NaT,
            "verification_date": pd.NaT,
            "transferred": False,
        }

    records = pd.DataFrame(
        [
            rec("P1", "S1a", "C1", "O1", False),  # moved between two sites of C1 ...
            rec("P1", "S1b", "C1", "O1", True, lodged="2019-05-01"),  # ... and achieved the outcome at the second
            rec("P2", "S1a", "C1", "O1", False),
            rec("P3", "S2", "C2", "O1", True, lodged="2019-01-10"),  # novated contract C2 -> C1
            rec("P4", "S3", "C3", "O2", True, lodged="2019-02-01"),  # ceased contract: removed
            rec("P5", "S1a", "C1", "O1", False, exit_="2018-03-01"),  # exited before the window, no outcome in it
            rec("P6", "S1a", "C1", "O1", True, exit_="2018-03-01", lodged="2018-08-01"),  # outcome lodged in window
            rec("P7", "S4", "C4", "O2", False),
        ]
    )
    return {
        "organisations": orgs,
        "contracts": contracts,
        "sites": sites,
        "regions": regions,
        "participants": participants,
        "measure_records": records,
    }


def test_novation_chain_and_loop():
    c = pd.DataFrame(
        {"contract_id": ["A", "B", "C"], "status": ["novated", "novated", "active"], "novated_to": ["B", "C", None]}
    )
    assert resolve_novations(c).to_dict() == {"A": "C", "B": "C", "C": "C"}
    loop = pd.DataFrame({"contract_id": ["A", "B"], "status": ["novated", "novated"], "novated_to": ["B", "A"]})
    with pytest.raises(Exception, match="loops back"):
        resolve_novations(loop)


def test_window_conditions():
    t = _tables()["measure_records"]
    keep = in_window(t, D("2018-07-01"), D("2020-03-31"))
    assert keep.tolist() == [True, True, True, True, True, False, True, True]


def test_frame_exclusions_have_reasons():
    mf = build_frame(_tables(), "2018-07-01", "2020-03-31")
    ex = mf.exclusions.set_index("participant_id")["reason"]
    assert set(ex.index) == {"P4", "P5"}
    assert "ceased" in ex["P4"] and "window" in ex["P5"]
    assert len(mf.frame) + len(mf.exclusions) == len(_tables()["measure_records"])  # nothing lost
    assert mf.frame.loc[mf.frame["participant_id"] == "P3", "rating_contract_id"].item() == "C1"


def test_participant_counted_once_per_entity():
    mf = build_frame(_tables(), "2018-07-01", "2020-03-31")
    frame = mf.frame.assign(expected_p=np.where(mf.frame["participant_id"] == "P1", 0.25, 0.5))
    em = entity_measure_table(frame, mf.entities, "2020-03-31").set_index(["level", "entity_id"])
    # contract C1: P1 (once, with the outcome), P2, P3 (novated in), P6 -> n = 4, actual = 3
    c1 = em.loc[("contract", "C1")]
    assert (c1["n"], c1["actual"]) == (4, 3)
    assert c1["expected"] == pytest.approx(0.25 + 0.5 + 0.5 + 0.5)
    # sites keep their own records; the novated contract's closed site is not rated
    assert em.loc[("site", "S1a"), "n"] == 3 and em.loc[("site", "S1b"), "actual"] == 1
    assert ("site", "S2") not in em.index and ("contract", "C2") not in em.index
    # organisation O1 counts P1 once too
    assert em.loc[("organisation", "O1"), "n"] == 4
    # C4 is new: months operating from its start
    assert em.loc[("contract", "C4"), "months_operating"] == 6
    assert em.loc[("site", "S1a"), "parent_id"] == "C1"


def test_months_between():
    s = pd.Series([D("2019-06-15"), D("2019-06-30"), D("2018-07-01")])
    assert months_between(s, D("2020-03-31")).tolist() == [9, 9, 20]
    assert months_between(pd.Series([D("2019-07-31")]), D("2020-03-30")).tolist() == [7]


def _with_novation_to_ceased(t: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """``t`` plus contract C5 of O2, novated to C3 (which ceased), with site S5 and one record (P8)."""
    t = dict(t)
    c5 = t["contracts"].iloc[[1]].assign(contract_id="C5", organisation_id="O2", novated_to="C3")
    t["contracts"] = pd.concat([t["contracts"], c5], ignore_index=True)
    s5 = t["sites"].iloc[[2]].assign(site_id="S5", contract_id="C5", location_id="L6")
    t["sites"] = pd.concat([t["sites"], s5], ignore_index=True)
    p8 = (
        t["measure_records"].iloc[[3]].assign(participant_id="P8", site_id="S5", contract_id="C5", organisation_id="O2")
    )
    t["measure_records"] = pd.concat([t["measure_records"], p8], ignore_index=True)
    t["participants"] = pd.concat(
        [t["participants"], t["participants"].iloc[[0]].assign(participant_id="P8")], ignore_index=True
    )
    return t


def test_records_of_a_contract_novated_to_a_ceased_one_are_excluded_with_their_reason():
    """Issue 15: the successor inherited the novated contract's records, so they leave with its own."""
    t = _with_novation_to_ceased(_tables())
    mf = build_frame(t, "2018-07-01", "2020-03-31")
    assert "P8" not in set(mf.frame["participant_id"])
    ex = mf.exclusions.set_index("participant_id")["reason"]
    assert "novated" in ex["P8"] and "ceased" in ex["P8"]
    assert len(mf.frame) + len(mf.exclusions) == len(t["measure_records"])
    # handed back in place of ceased: the same, with its own reason
    t["contracts"].loc[t["contracts"]["contract_id"] == "C3", "status"] = "handed_back"
    ex = build_frame(t, "2018-07-01", "2020-03-31").exclusions.set_index("participant_id")["reason"]
    assert "novated" in ex["P8"] and "handed back" in ex["P8"]


def test_open_site_of_a_ceased_contract_gets_no_row():
    """Issue 15: a ceased contract's site with no close date passed validation but broke scoring
    (``entity_measures.parent_id: a site's contract is in the table``); it has ceased with its contract."""
    from toolkit.scoring import load_method
    from toolkit.scoring.validate import validate_entity_measures

    t = _tables()
    t["sites"].loc[t["sites"]["site_id"] == "S3", "close_date"] = pd.NaT
    mf = build_frame(t, "2018-07-01", "2020-03-31")
    em = entity_measure_table(mf.frame.assign(expected_p=0.5), mf.entities, "2020-03-31")
    assert "S3" not in set(em["entity_id"]) and "C3" not in set(em["entity_id"])
    validate_entity_measures(em, load_method("des_2018"))  # before issue 15: parent_id of S3 not in the table


def test_open_site_of_a_ceased_contract_is_an_input_error_when_configured():
    """The other reading (method config ``ended_contracts.open_sites: error``): a clear message naming the sites."""
    from toolkit.errors import InputError

    t = _tables()
    t["sites"].loc[t["sites"]["site_id"] == "S3", "close_date"] = pd.NaT
    with pytest.raises(InputError, match=r"S3 \(contract C3, ceased\)"):
        build_frame(t, "2018-07-01", "2020-03-31", ended_contract_sites="error")
    build_frame(_tables(), "2018-07-01", "2020-03-31", ended_contract_sites="error")  # closed: no error


def _accounting(t: dict[str, pd.DataFrame]):
    from toolkit.records.accounting import record_accounting

    mf = build_frame(t, "2018-07-01", "2020-03-31")
    frame = mf.frame.assign(expected_p=0.5)
    em = entity_measure_table(frame, mf.entities, "2020-03-31")
    return record_accounting(t["measure_records"], mf.exclusions, frame, em, mf.entities, "2020-03-31"), em


def test_accounting_places_every_record_once():
    """Issue 15: records in, excluded per reason, used; per level counted, collapsed duplicates and records
    at a site with no row (here the novated contract's closed site S2), and nothing else."""
    from toolkit.records.accounting import ACCOUNTING_COLUMNS, check_accounting

    acc, _ = _accounting(_tables())
    check_accounting(acc)
    assert list(acc.columns) == ACCOUNTING_COLUMNS
    dms = acc[acc["program"] == "DMS"].set_index(["stage", "level"])
    got = {k: int(v) for k, v in dms["records"].groupby(level=[0, 1]).sum().items()}
    assert got == {
        ("in", ""): 8,
        ("excluded", ""): 2,  # P4 (ceased contract), P5 (outside the window)
        ("used", ""): 6,
        ("counted", "site"): 5,  # S1a: P1, P2, P6; S1b: P1; S4: P7
        ("collapsed", "site"): 0,
        ("no_row", "site"): 1,  # P3 at S2, a site of novated C2
        ("counted", "contract"): 5,  # C1: P1, P2, P3, P6; C4: P7
        ("collapsed", "contract"): 1,  # P1's second record at C1
        ("counted", "organisation"): 5,
        ("collapsed", "organisation"): 1,
    }
    assert "novated" in dms.loc[("no_row", "site"), "description"]
    assert acc[acc["program"] == "all"]["records"].tolist() == dms["records"].tolist()
    ids = set(_tables()["measure_records"][["participant_id", "site_id", "contract_id", "organisation_id"]].stack())
    assert not ids & set(acc.astype(str).stack())  # aggregate: no id anywhere


def test_accounting_closes_with_a_novation_to_a_ceased_contract():
    """Before issue 15, P8's record (contract C5, novated to ceased C3) went to no contract, into no list."""
    from toolkit.records.accounting import check_accounting

    acc, _ = _accounting(_with_novation_to_ceased(_tables()))
    check_accounting(acc)
    ex = acc[(acc["program"] == "DMS") & (acc["stage"] == "excluded")].set_index("description")["records"]
    assert [n for d, n in ex.items() if d.startswith("contract novated to a contract that ceased")] == [1]


def test_accounting_that_does_not_close_fails_loudly_naming_the_counts():
    from toolkit.records.accounting import AccountingInvariantError, check_accounting, record_accounting

    t = _tables()
    mf = build_frame(t, "2018-07-01", "2020-03-31")
    frame = mf.frame.assign(expected_p=0.5)
    em = entity_measure_table(frame, mf.entities, "2020-03-31")
    lost = em[~((em["level"] == "contract") & (em["entity_id"] == "C4"))]  # P7's contract row goes missing
    acc = record_accounting(t["measure_records"], mf.exclusions, frame, lost, mf.entities, "2020-03-31")
    with pytest.raises(
        AccountingInvariantError, match=r"DMS, contract level: 6 records used != 4 counted \+ 1 collapsed"
    ):
        check_accounting(acc)
    dropped = record_accounting(t["measure_records"], mf.exclusions.iloc[1:], frame, em, mf.entities, "2020-03-31")
    with pytest.raises(
        AccountingInvariantError, match=r"DMS: 8 records in != 6 used \+ 1 excluded \(\+1 without a place\)"
    ):
        check_accounting(dropped)
