"""Aggregate record-level probabilities to the entity-measure table the scoring module takes.

A participant record counts once per entity (docs/method.md): a participant who moved
between two sites of one contract is one denominator record at the contract. When a
participant has several records for one measure and period of service within an
entity, the record in the numerator is kept if there is one, otherwise the latest
commencement.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.records.frame import Entities

ENTITY_MEASURE_COLUMNS = [
    "program",
    "level",
    "entity_id",
    "parent_id",
    "measure",
    "n",
    "actual",
    "expected",
    "months_operating",
]


def months_between(start: pd.Series, end: pd.Timestamp) -> np.ndarray:
    """Whole months from ``start`` to ``end`` (a site opened 2019-06-15 has 9 months at 2020-03-31)."""
    s = pd.to_datetime(start)
    months = (end.year - s.dt.year) * 12 + (end.month - s.dt.month) - (end.day < s.dt.day).astype(int)
    return months.to_numpy(dtype=float)


#: Why a site has no row in the entity-measure table (its records still count at its contract and
#: organisation, or, for a novated contract's site, at the contract that took it over).
SITE_CLOSED = (
    "closed site: not rated, its records count at its contract and organisation "
    "(seed 001, Ceased Sites with Continuing Contracts)"
)
SITE_OF_NOVATED = (
    "site of a novated contract: not rated, its records count at the contract that took it over "
    "(seed 001, Contract Novations)"
)
SITE_OF_ENDED = "site of a ceased or handed-back contract: not rated, it ceased with its contract"


def site_row_reasons(sites: pd.DataFrame, end: pd.Timestamp) -> pd.Series:
    """Per site (index ``site_id``): "" when it gets a row in the entity-measure table, else why not.

    A site gets a row when its contract is active and it is open at ``end`` (no ``close_date``, or a
    later one). A ceased or handed-back contract's site has ceased with its contract, closed or not
    (the ``closed`` reading of ``ended_contracts.open_sites``; under ``error`` the frame refused it).
    """
    status = sites["contract_status"].to_numpy()
    closed = (sites["close_date"].notna() & (sites["close_date"] <= end)).to_numpy()
    reason = np.where(
        status == "novated",
        SITE_OF_NOVATED,
        np.where(status != "active", SITE_OF_ENDED, np.where(closed, SITE_CLOSED, "")),
    )
    return pd.Series(reason, index=sites["site_id"].to_numpy(), name="reason", dtype=object)


def dedupe(df: pd.DataFrame, entity_col: str) -> pd.DataFrame:
    """One record per participant, measure and period of service within each entity of ``entity_col``:
    the one in the numerator if there is one, otherwise the latest commencement (docs/method.md)."""
    key = ["program", entity_col, "measure", "participant_id", "period_of_service"]
    order = df.sort_values(
        key + ["numerator", "commencement_date"], ascending=[True] * len(key) + [False, False], kind="stable"
    )
    return order.drop_duplicates(key, keep="first")


def _sum(df: pd.DataFrame, entity_col: str, level: str, p_col: str, actual_col: str) -> pd.DataFrame:
    g = df.groupby(["program", entity_col, "measure"], sort=True, observed=True)
    out = g.agg(n=("numerator", "size"), actual=(actual_col, "sum"), expected=(p_col, "sum")).reset_index()
    out = out.rename(columns={entity_col: "entity_id"})
    out["level"] = level
    out["n"] = out["n"].astype("int64")
    out["actual"] = out["actual"].astype("int64" if actual_col == "numerator" else "float64")
    return out


def _with_empty_rows(agg: pd.DataFrame, ids: pd.Series, programs: pd.Series, level: str) -> pd.DataFrame:
    """Add a ``full_13`` row with ``n = 0`` for each entity that has no records, so every entity is rated or
    reported (insufficient data, substituted) rather than missing from the ratings."""
    have = set(zip(agg["program"], agg["entity_id"], strict=True))
    missing = [(p, e) for p, e in zip(programs, ids, strict=True) if (p, e) not in have]
    if not missing:
        return agg
    empty = pd.DataFrame(
        {
            "program": [p for p, _ in missing],
            "entity_id": [e for _, e in missing],
            "measure": "full_13",
            "n": 0,
            "actual": 0,
            "expected": 0.0,
            "level": level,
        }
    )
    empty["actual"] = empty["actual"].astype(agg["actual"].dtype)
    return pd.concat([agg, empty], ignore_index=True)


def entity_measure_table(
    frame: pd.DataFrame, entities: Entities, window_end: str, p_col: str = "expected_p", actual_col: str = "numerator"
) -> pd.DataFrame:
    """Sites, contracts and organisations x measures: ``n``, ``actual``, ``expected``.

    Closed sites are not rated (seed 001, Ceased Sites) but their records count at
    their contract; nor are the sites of a contract that is not active
    (:func:`site_row_reasons`). Open sites with no records appear with ``n = 0`` so that
    every site of the release has a row in the ratings.
    """
    end = pd.Timestamp(window_end)
    site = _sum(dedupe(frame, "site_id"), "site_id", "site", p_col, actual_col)
    contract = _sum(dedupe(frame, "rating_contract_id"), "rating_contract_id", "contract", p_col, actual_col)
    org = _sum(dedupe(frame, "rating_organisation_id"), "rating_organisation_id", "organisation", p_col, actual_col)

    sites = entities.sites
    open_sites = sites[(site_row_reasons(sites, end) == "").to_numpy()]
    site = _with_empty_rows(
        site[site["entity_id"].isin(open_sites["site_id"])], open_sites["site_id"], open_sites["program"], "site"
    )
    site_parent = sites.set_index("site_id")["rating_contract_id"]
    site["parent_id"] = site["entity_id"].map(site_parent).to_numpy()
    site["months_operating"] = months_between(site["entity_id"].map(sites.set_index("site_id")["open_date"]), end)

    contracts = entities.contracts
    active = contracts[contracts["status"] == "active"]
    contract = _with_empty_rows(
        contract[contract["entity_id"].isin(active["contract_id"])],
        active["contract_id"],
        active["program"],
        "contract",
    )
    cidx = contracts.set_index("contract_id")
    contract["parent_id"] = contract["entity_id"].map(cidx["organisation_id"]).to_numpy()
    contract["months_operating"] = months_between(contract["entity_id"].map(cidx["start_date"]), end)

    orgs = active[["organisation_id", "program"]].drop_duplicates()
    org = _with_empty_rows(org, orgs["organisation_id"], orgs["program"], "organisation")
    org["parent_id"] = ""
    org["months_operating"] = np.nan

    out = pd.concat([org, contract, site], ignore_index=True)[ENTITY_MEASURE_COLUMNS]
    out["expected"] = out["expected"].astype("float64")
    return out.sort_values(["program", "level", "entity_id", "measure"], kind="stable").reset_index(drop=True)
