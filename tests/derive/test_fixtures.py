"""Every rule of seed 001 on hand-built cases, both sides of each boundary (see fixtures/*.yaml)."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.derive.fixture_tables import build_events, load_cases, pipe_table
from toolkit.derive import derive_records

CASES = load_cases()
KEY = ["participant_id", "site_id", "measure"]
RENAME = {"participant": "participant_id", "site": "site_id", "period": "period_of_service",
          "tia": "time_in_assistance", "commenced": "commencement_date", "exit": "exit_date",
          "anchor": "anchor_date", "lodged": "outcome_lodged_date", "verification": "verification_date",
          "referral": "referral_date", "contract": "contract_id"}


def _norm(v, col):
    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NaT:
        return None
    if col == "numerator" or col == "transferred":
        return str(v).lower() in {"yes", "true", "1"} if isinstance(v, str) else bool(v)
    if col == "time_in_assistance":
        return float(v)
    if col.endswith("_date"):
        return str(pd.Timestamp(v).date())
    return str(v)


@pytest.mark.parametrize("case_id,case,sites", CASES, ids=[c[0] for c in CASES])
def test_fixture(case_id, case, sites):
    tables = build_events(case, sites)
    res = derive_records(tables, case.get("release", "March 2020"))
    exp = pipe_table(case.get("expect")).rename(columns=RENAME)
    measures = case.get("measures") or sorted(set(exp["measure"])) if len(exp) else case.get("measures")
    assert measures, f"{case_id}: say which measures the case covers"
    got = res.records[res.records["measure"].isin(measures)]
    got_keys = sorted(map(tuple, got[KEY].astype(str).to_numpy().tolist()))
    exp_keys = sorted(map(tuple, exp[KEY].astype(str).to_numpy().tolist())) if len(exp) else []
    assert got_keys == exp_keys, f"{case_id}: records differ\nexpected {exp_keys}\ngot      {got_keys}"
    if len(exp):
        merged = exp.merge(got, on=KEY, suffixes=("", "_got"))
        for col in [c for c in exp.columns if c not in KEY]:
            for _, r in merged.iterrows():
                want, have = _norm(r[col], col), _norm(r[f"{col}_got"] if f"{col}_got" in r else r[col], col)
                assert want == have, f"{case_id}: {r['participant_id']}/{r['measure']} column {col}: expected {want}, got {have}"
    excl = pipe_table(case.get("excluded"))
    for r in excl.to_dict("records") if len(excl) else []:
        hit = res.excluded[(res.excluded["participant_id"] == r["participant"]) & (res.excluded["rule"] == r["rule"])]
        if r.get("measure"):
            hit = hit[hit["measure"].astype(str) == r["measure"]]
        assert len(hit), f"{case_id}: no excluded event for {r} (rules seen: {sorted(set(res.excluded['rule'].astype(str)))})"
