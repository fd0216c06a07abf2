"""Every rule of seed 001 on hand-built cases, both sides of each boundary (see fixtures/*.yaml).

``test_fixture`` runs each case; ``test_fixtures_fail_when_a_boundary_moves`` shows the cases
can fail: moving any one date, threshold or amount of ``configs/derive/des_2018.yaml`` by one
unit (or switching a reading) breaks the case that guards it.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.records.derive.fixture_tables import build_entity_tables, build_events, load_cases, pipe_table
from toolkit.records.aggregate import entity_measure_table
from toolkit.records.derive import derive_records, load_derive_params
from toolkit.records.derive.params import DeriveParams
from toolkit.records.frame import build_frame

CASES = load_cases()
KEY = ["participant_id", "site_id", "measure"]
RENAME = {
    "participant": "participant_id",
    "site": "site_id",
    "period": "period_of_service",
    "tia": "time_in_assistance",
    "commenced": "commencement_date",
    "exit": "exit_date",
    "anchor": "anchor_date",
    "lodged": "outcome_lodged_date",
    "verification": "verification_date",
    "referral": "referral_date",
    "contract": "contract_id",
}


def _norm(v, col):
    if v is None or v is pd.NaT or (isinstance(v, float) and pd.isna(v)):
        return None
    if col in ("numerator", "transferred"):
        return str(v).lower() in {"yes", "true", "1"} if isinstance(v, str) else bool(v)
    if col == "time_in_assistance":
        return float(v)
    if col.endswith("_date"):
        return str(pd.Timestamp(v).date())
    return str(v)


def _with(params: DeriveParams, overrides: dict) -> DeriveParams:
    """``params`` with dotted keys replaced (``{"records.one_record_per": "contract"}``), validated again."""
    raw = params.model_dump(mode="json")
    for path, value in overrides.items():
        node = raw
        keys = path.split(".")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return DeriveParams.model_validate(raw)


def check_entity_measures(case_id: str, case: dict, sites: dict, records: pd.DataFrame, window: tuple) -> None:
    """The case's ``entity_measures`` rows (level, entity, measure, n and optionally actual) against the
    release's sums of the derived records (``toolkit/records/aggregate.py``: once per entity)."""
    tables = build_entity_tables(case, sites, records)
    start, end = (str(d) for d in window)
    mf = build_frame(tables, start, end)
    em = entity_measure_table(mf.frame.assign(expected_p=0.5), mf.entities, end)
    em = em.set_index(["level", "entity_id", "measure"])
    for r in pipe_table(case["entity_measures"]).to_dict("records"):
        key = (r["level"], r["entity"], r["measure"])
        assert key in em.index, f"{case_id}: no entity_measures row {key}"
        for col in ("n", "actual"):
            if r.get(col) is not None:
                want, have = int(r[col]), int(em.loc[key, col])
                assert want == have, f"{case_id}: entity_measures {key} {col}: expected {want}, got {have}"


def check_case(case_id: str, case: dict, sites: dict, params: DeriveParams | None = None) -> None:
    """Derive the case's records and compare them with its expectations (AssertionError if they differ).

    A case's ``config`` (dotted keys) changes the derivation config for that case, on top of ``params``.
    """
    tables = build_events(case, sites)
    if case.get("config"):
        params = _with(params or load_derive_params(), case["config"])
    res = derive_records(tables, case.get("release", "March 2020"), params=params)
    exp = pipe_table(case.get("expect")).rename(columns=RENAME)
    measures = case.get("measures") or (sorted(set(exp["measure"])) if len(exp) else None)
    assert measures, f"{case_id}: say which measures the case covers"
    got = res.records[res.records["measure"].isin(measures)]
    got_keys = sorted(map(tuple, got[KEY].astype(str).to_numpy().tolist()))
    exp_keys = sorted(map(tuple, exp[KEY].astype(str).to_numpy().tolist())) if len(exp) else []
    assert got_keys == exp_keys, f"{case_id}: records differ\nexpected {exp_keys}\ngot      {got_keys}"
    if len(exp):
        merged = exp.merge(got, on=KEY, suffixes=("", "_got"))
        for col in [c for c in exp.columns if c not in KEY]:
            for _, r in merged.iterrows():
                want, have = _norm(r[col], col), _norm(r[f"{col}_got"], col)
                assert want == have, (
                    f"{case_id}: {r['participant_id']}/{r['measure']} column {col}: expected {want}, got {have}"
                )
    excl = pipe_table(case.get("excluded"))
    for r in excl.to_dict("records") if len(excl) else []:
        hit = res.excluded[(res.excluded["participant_id"] == r["participant"]) & (res.excluded["rule"] == r["rule"])]
        if r.get("measure"):  # a measure, or the event table for events excluded before any measure
            hit = hit[(hit["measure"].astype(str) == r["measure"]) | (hit["table"].astype(str) == r["measure"])]
        assert len(hit), (
            f"{case_id}: no excluded event for {r} (rules seen: {sorted(set(res.excluded['rule'].astype(str)))})"
        )
    if case.get("entity_measures"):
        check_entity_measures(case_id, case, sites, res.records, res.window)


@pytest.mark.parametrize("case_id,case,sites", CASES, ids=[c[0] for c in CASES])
def test_fixture(case_id, case, sites):
    check_case(case_id, case, sites)


def _mutate(path: str, value) -> DeriveParams:
    return _with(load_derive_params(), {path: value})


MUTATIONS = [  # (config key, moved value, the case that guards that boundary)
    ("threshold_weeks.full_13", 14, "duration::full_13 needs 13 weeks"),
    ("threshold_weeks.full_26", 27, "duration::26 weeks is 182 days"),
    ("threshold_weeks.full_52", 53, "duration::52 weeks is 364 days"),
    ("claims.minimum_amount", 1.01, "claims::a fee under one dollar"),
    ("claims.countable_statuses", ["approved"], "claims::outcome claims count when pending or approved"),
    ("claims.recovery_removes_everywhere", False, "claims::outcome claims count when pending or approved"),
    ("dates.program_start", "2018-07-02", "claims::outcomes for placements from 1 July 2018"),
    ("dates.program_start", "2018-07-02", "bonus::anchors from 1 July 2018"),
    ("dates.education_exclusion_from", "2020-08-18", "exclusions::education placements up to 16 August 2020"),
    ("eight_hour_benchmark", 15, "exclusions::an eight-hour benchmark"),
    ("bonus.anchor_weeks_before_end", 25, "bonus::anchors at least 26 weeks"),
    ("bonus.tracking_weeks", 11, "bonus::a transfer while tracking"),
    ("dates.ongoing_support_from", "2019-01-03", "ongoing_support::in the OS phase on or after 2 January 2019"),
    ("ongoing_support.min_weeks_in_os", 27, "ongoing_support::26 calendar weeks in OS"),
    ("ongoing_support.verification_weeks", 5, "ongoing_support::Independent Worker exits"),
    ("ongoing_support.verification_grace_days", 27, "ongoing_support::a verification date 28 days or less"),
    ("ongoing_support.transfer_out_between_organisations_in_numerator", False, "ongoing_support::transfers within"),
    ("records.one_record_per", "contract", "transfers::a transfer within the contract"),
    ("records.one_record_per", "contract", "transfers::the losing site within the contract"),
    ("threshold_weeks.full_13", 14, "transfers::the losing site within the contract"),
    ("records.one_record_per", "contract", "bonus::one record per participant, site and period"),
    ("window.drop_records_with_outcome_before_window", False, "window::an outcome lodged before the window"),
    # note b applies to the configured outcome claim types only: without full_13 among them, a
    # 13-week outcome for a placement that started before 1 July 2018 counts
    (
        "claims.outcome_types",
        ["pathway_13", "full_26", "pathway_26", "full_52", "pathway_52", "bonus_26", "work_assist_26"],
        "claims::outcomes for placements from 1 July 2018",
    ),
]


@pytest.mark.parametrize("path,value,case_prefix", MUTATIONS, ids=[f"{m[0]}->{m[2].split('::')[0]}" for m in MUTATIONS])
def test_fixtures_fail_when_a_boundary_moves(path, value, case_prefix):
    cases = [c for c in CASES if c[0].startswith(case_prefix)]
    assert len(cases) == 1, f"no single case named {case_prefix!r}"
    case_id, case, sites = cases[0]
    check_case(case_id, case, sites)  # passes with the configured boundary
    with pytest.raises(AssertionError):
        check_case(case_id, case, sites, params=_mutate(path, value))  # and fails when it moves


def test_measure_and_claim_lists_come_from_the_config():
    """The full/pathway measures and the claim types are config values, checked against each
    other and against the claim types of data_contracts/events/claims.yaml."""
    p = load_derive_params()
    assert p.full_pathway_measures == ("full_13", "full_26", "pathway_26", "full_52", "pathway_52")
    assert set(p.numerator_claim_types) == {
        "full_13",
        "full_26",
        "pathway_26",
        "full_52",
        "pathway_52",
        "bonus_26",
        "work_assist_26",
    }
    with pytest.raises(ValueError, match="threshold_weeks must list exactly the full_pathway_measures"):
        _mutate("full_pathway_measures", ["full_13", "full_26", "pathway_26", "full_52"])
    with pytest.raises(ValueError, match=r"unknown claim types \['full_99'\]"):
        _mutate("claims.outcome_types", ["full_99"])
