"""Readable fixtures: pipe tables of a few participants' events and the records expected from them.

A fixture file (``tests/records/derive/fixtures/*.yaml``) holds ``sites`` (optional) and ``cases``.
A case has a ``release``, event tables and expectations, each a pipe table::

    commencements: |
      participant | site | commenced  | exit
      A           | S1   | 2019-01-01 | 2019-04-01   # comments are allowed
    expect: |
      participant | site | measure | numerator
      A           | S1   | full_13 | no

Defaults keep cases short and are the same everywhere (so a case states only what it tests):

- a site not in ``sites`` belongs to contract ``C<site>`` of organisation ``O1``, program DMS;
- a commencement's referral is its commencement date; its exit reason is ``transfer`` when
  the participant commences elsewhere on the exit date, ``other`` otherwise;
- a participant-period without ``phases`` rows has one EA spell from its first commencement
  to its last exit (open if still in assistance);
- a participant-period without an ``ea_service_fee`` claim gets a valid one ($500, approved)
  at each commencement, on the commencement date, unless the case says ``auto_fee: false``;
- a participant-period without ``benchmarks`` rows has a 15-hour benchmark from referral;
- claims default to $1,000, approved, not confirmed for recovery, no placement.

``expect`` lists every record of the case's ``measures`` (default: the measures in
``expect``); ``excluded`` lists (participant, measure, rule) rows that must be among the
excluded events.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

FIXTURES = Path(__file__).parent / "fixtures"
TRUE = {"yes", "true", "y", "1"}


def pipe_table(text: str | None) -> pd.DataFrame:
    """Parse a pipe table (first row: header; ``#`` starts a comment; blank cells are empty)."""
    if not text:
        return pd.DataFrame()
    rows = []
    for line in str(text).splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        rows.append([c.strip() for c in line.split("|")])
    header, body = rows[0], rows[1:]
    for r in body:
        if len(r) > len(header):
            raise ValueError(f"row {r} has {len(r)} cells, header has {len(header)}")
        r += [""] * (len(header) - len(r))  # trailing empty cells may be left out
    df = pd.DataFrame(body, columns=header, dtype=object)
    return df.where(df != "", None)


def _d(v):
    return None if v is None else pd.Timestamp(v)


def _b(v, default=False):
    return default if v is None else str(v).lower() in TRUE


def build_events(case: dict, sites: dict) -> dict[str, pd.DataFrame]:
    """Event tables (contract columns) for one case."""
    sc = pipe_table(case.get("commencements"))
    site_map = {**sites, **{r["site"]: r for r in pipe_table(case.get("sites")).to_dict("records")}}

    def site_info(s):
        info = site_map.get(s, {})
        return (info.get("contract") or f"C{s}", info.get("organisation") or "O1", info.get("program") or "DMS")

    com = []
    for r in sc.to_dict("records"):
        contract, org, prog = site_info(r["site"])
        com.append(
            {
                "participant_id": r["participant"],
                "period_of_service": int(r.get("period") or 1),
                "program": r.get("program") or prog,
                "organisation_id": r.get("organisation") or org,
                "contract_id": r.get("contract") or contract,
                "site_id": r["site"],
                "referral_date": _d(r.get("referral") or r["commenced"]),
                "commencement_date": _d(r["commenced"]),
                "exit_date": _d(r.get("exit")),
                "exit_reason": r.get("reason"),
                "indigenous": _b(r.get("indigenous")),
                "transition_phase": r.get("transition") or "none",
            }
        )
    com = pd.DataFrame(com)
    for i, r in com.iterrows():
        if pd.notna(r["exit_date"]) and r["exit_reason"] is None:
            later = com[
                (com["participant_id"] == r["participant_id"])
                & (com["period_of_service"] == r["period_of_service"])
                & (com["commencement_date"] == r["exit_date"])
                & (com.index != i)
            ]
            com.at[i, "exit_reason"] = "transfer" if len(later) else "other"
    keys = com[["participant_id", "period_of_service"]].drop_duplicates()

    def pp(df):
        df = df.copy()
        df["participant_id"] = df.pop("participant")
        df["period_of_service"] = df.pop("period").astype(int) if "period" in df else 1
        return df

    ph = pipe_table(case.get("phases"))
    phases = []
    if len(ph):
        ph = pp(ph)
        for r in ph.to_dict("records"):
            phases.append(
                {
                    "participant_id": r["participant_id"],
                    "period_of_service": r["period_of_service"],
                    "phase": r["phase"],
                    "start_date": _d(r["start"]),
                    "end_date": _d(r.get("end")),
                    "os_funding_level": r.get("level") or ("moderate" if r["phase"] == "OS" else "none"),
                }
            )
    have = {(p["participant_id"], p["period_of_service"]) for p in phases}
    for k in keys.itertuples(index=False):
        if (k.participant_id, k.period_of_service) in have:
            continue
        rows = com[(com["participant_id"] == k.participant_id) & (com["period_of_service"] == k.period_of_service)]
        end = None if rows["exit_date"].isna().any() else rows["exit_date"].max()
        phases.append(
            {
                "participant_id": k.participant_id,
                "period_of_service": k.period_of_service,
                "phase": "EA",
                "start_date": rows["commencement_date"].min(),
                "end_date": end,
                "os_funding_level": "none",
            }
        )
    cl = pipe_table(case.get("claims"))
    claims = []
    if len(cl):
        cl = pp(cl)
        for r in cl.to_dict("records"):
            claims.append(
                {
                    "participant_id": r["participant_id"],
                    "period_of_service": r["period_of_service"],
                    "site_id": r["site"],
                    "claim_type": r["type"],
                    "amount": float(r.get("amount") or 1000),
                    "status": r.get("status") or "approved",
                    "recovery_confirmed": _b(r.get("recovery")),
                    "lodged_date": _d(r["lodged"]),
                    "placement_id": r.get("placement"),
                }
            )
    fees = {(c["participant_id"], c["period_of_service"]) for c in claims if c["claim_type"] == "ea_service_fee"}
    if case.get("auto_fee", True):
        for r in com.to_dict("records"):
            if (r["participant_id"], r["period_of_service"]) not in fees:
                claims.append(
                    {
                        "participant_id": r["participant_id"],
                        "period_of_service": r["period_of_service"],
                        "site_id": r["site_id"],
                        "claim_type": "ea_service_fee",
                        "amount": 500.0,
                        "status": "approved",
                        "recovery_confirmed": False,
                        "lodged_date": r["commencement_date"],
                        "placement_id": None,
                    }
                )
    claims = pd.DataFrame(
        claims,
        columns=[
            "participant_id",
            "period_of_service",
            "site_id",
            "claim_type",
            "amount",
            "status",
            "recovery_confirmed",
            "lodged_date",
            "placement_id",
        ],
    )
    claims.insert(0, "claim_id", [f"CL{i:04d}" for i in range(len(claims))])
    pl = pipe_table(case.get("placements"))
    placements = pd.DataFrame(
        columns=[
            "placement_id",
            "participant_id",
            "period_of_service",
            "site_id",
            "start_date",
            "placement_type",
            "apprenticeship_traineeship",
            "directly_related_employment",
            "work_assist",
        ]
    )
    if len(pl):
        pl = pp(pl)
        placements = pd.DataFrame(
            {
                "placement_id": pl["id"],
                "participant_id": pl["participant_id"],
                "period_of_service": pl["period_of_service"],
                "site_id": pl["site"],
                "start_date": pl["start"].map(_d),
                "placement_type": pl.get("type", pd.Series(["employment"] * len(pl))).fillna("employment"),
                "apprenticeship_traineeship": [_b(v) for v in pl.get("apprenticeship", [None] * len(pl))],
                "directly_related_employment": [_b(v) for v in pl.get("dre", [None] * len(pl))],
                "work_assist": [_b(v) for v in pl.get("work_assist", [None] * len(pl))],
            }
        )
    su = pipe_table(case.get("suspensions"))
    suspensions = pd.DataFrame(columns=["participant_id", "period_of_service", "start_date", "end_date"])
    if len(su):
        su = pp(su)
        suspensions = pd.DataFrame(
            {
                "participant_id": su["participant_id"],
                "period_of_service": su["period_of_service"],
                "start_date": su["start"].map(_d),
                "end_date": su["end"].map(_d),
            }
        )
    bm = pipe_table(case.get("benchmarks"))
    bench = []
    if len(bm):
        bm = pp(bm)
        bench = [
            {
                "participant_id": r["participant_id"],
                "period_of_service": r["period_of_service"],
                "assessment_date": _d(r["date"]),
                "employment_benchmark": int(r["hours"]),
            }
            for r in bm.to_dict("records")
        ]
    have = {(b["participant_id"], b["period_of_service"]) for b in bench}
    for r in com.to_dict("records"):
        k = (r["participant_id"], r["period_of_service"])
        if k not in have:
            have.add(k)
            bench.append(
                {
                    "participant_id": k[0],
                    "period_of_service": k[1],
                    "assessment_date": r["referral_date"],
                    "employment_benchmark": 15,
                }
            )
    oa = pipe_table(case.get("assessments"))
    assessments = pd.DataFrame(
        columns=["participant_id", "period_of_service", "site_id", "assessment_date", "recommendation"]
    )
    if len(oa):
        oa = pp(oa)
        assessments = pd.DataFrame(
            {
                "participant_id": oa["participant_id"],
                "period_of_service": oa["period_of_service"],
                "site_id": oa["site"],
                "assessment_date": oa["date"].map(_d),
                "recommendation": oa["recommendation"],
            }
        )
    ve = pipe_table(case.get("verifications"))
    verifications = pd.DataFrame(
        columns=["participant_id", "period_of_service", "exit_date", "verified_date", "result", "method"]
    )
    if len(ve):
        ve = pp(ve)
        verifications = pd.DataFrame(
            {
                "participant_id": ve["participant_id"],
                "period_of_service": ve["period_of_service"],
                "exit_date": ve["exit"].map(_d),
                "verified_date": ve["verified"].map(_d),
                "result": ve["result"],
                "method": ve.get("method", "earnings_declaration"),
            }
        )
    tables = {
        "site_commencements": com,
        "phases": pd.DataFrame(phases),
        "suspensions": suspensions,
        "placements": placements,
        "claims": claims,
        "benchmarks": pd.DataFrame(bench),
        "os_assessments": assessments,
        "employment_verifications": verifications,
    }
    for _name, df in tables.items():  # typed empty columns so that the validator sees dates and booleans
        for c in df.columns:
            if df[c].isna().all() and ("date" in c):
                df[c] = pd.to_datetime(df[c])
    return tables


def load_cases() -> list[tuple[str, dict, dict]]:
    """Every case of every fixture file: (id, case, sites)."""
    out = []
    for p in sorted(FIXTURES.glob("*.yaml")):
        doc = yaml.safe_load(p.read_text())
        sites = {r["site"]: r for r in pipe_table(doc.get("sites")).to_dict("records")}
        for case in doc["cases"]:
            out.append((f"{p.stem}::{case['case']}", case, sites))
    return out


def build_entity_tables(case: dict, sites: dict, records: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The release's contract tables for a case's derived ``records``: every site of the case's
    commencements open from 1 July 2018, its contract active (same defaults as :func:`build_events`)."""
    site_map = {**sites, **{r["site"]: r for r in pipe_table(case.get("sites")).to_dict("records")}}
    sc = pipe_table(case.get("commencements"))
    rows = []
    for s in dict.fromkeys(sc["site"]):
        info = site_map.get(s, {})
        rows.append(
            (s, info.get("contract") or f"C{s}", info.get("organisation") or "O1", info.get("program") or "DMS")
        )
    site_df = pd.DataFrame(rows, columns=["site_id", "contract_id", "organisation_id", "program"])
    start = pd.Timestamp("2018-07-01")
    contracts = site_df.drop_duplicates("contract_id")[["contract_id", "organisation_id", "program"]].assign(
        esa_id="E1",
        specialty="All Client Types",
        start_date=start,
        end_date=pd.NaT,
        status="active",
        novated_to=None,
    )
    return {
        "organisations": pd.DataFrame({"organisation_id": sorted(set(site_df["organisation_id"]))}),
        "contracts": contracts.reset_index(drop=True),
        "sites": site_df[["site_id", "contract_id"]].assign(
            location_id=site_df["site_id"], open_date=start, close_date=pd.NaT
        ),
        "regions": pd.DataFrame({"esa_id": ["E1"], "metro": [True]}),
        "participants": pd.DataFrame(
            {"participant_id": sorted(set(sc["participant"])), "esa_id": "E1", "metro": False}
        ),
        "measure_records": records,
    }
