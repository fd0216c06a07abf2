"""From validated input tables to the modelling frame, with every excluded record listed.

Entity rules applied here (docs/method.md, "Publishing rules" and seed 001 "Treatment of
new and continuing Contracts"):

- records of ceased and handed-back contracts are removed;
- a novated contract's records are counted at the contract that took it over
  (``rating_contract_id``), following chains of novations;
- records outside the assessment window (none of the four inclusion conditions of
  the two-year rolling period holds) are removed.

Nothing is dropped silently: every removed record is returned in ``exclusions``
with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.errors import InputError

EXCLUSION_COLUMNS = ["participant_id", "period_of_service", "program", "measure", "site_id", "contract_id", "reason"]


@dataclass
class ModelFrame:
    """Measure records joined to participant and labour-market characteristics."""

    frame: pd.DataFrame
    exclusions: pd.DataFrame
    entities: Entities


@dataclass
class Entities:
    contracts: pd.DataFrame  # contract_id, organisation_id, program, status, rating_contract_id, start_date, ...
    sites: pd.DataFrame  # site_id, contract_id, rating_contract_id, open_date, close_date


def resolve_novations(contracts: pd.DataFrame) -> pd.Series:
    """Map each contract to the contract its records count for (itself, or the end of its novation chain)."""
    nxt = dict(
        zip(contracts["contract_id"], contracts["novated_to"].where(contracts["status"] == "novated"), strict=True)
    )
    out = {}
    for c in contracts["contract_id"]:
        seen = [c]
        cur = c
        while isinstance(nxt.get(cur), str):
            cur = nxt[cur]
            if cur in seen:
                raise InputError(
                    f"contracts: novation chain through {c} loops back on itself (rule novated_to, 1 chain)"
                )
            seen.append(cur)
        out[c] = cur
    return pd.Series(out, name="rating_contract_id")


def in_window(records: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    """The four inclusion conditions of the two-year rolling period (seed 001).

    A record counts if the participant (1) was in assistance at the end of the period,
    (2) exited during it, (3) exited before it with an outcome lodged during it, or
    (4) exited before it with an Ongoing Support verification date within it; and
    commenced no later than the end of the period.
    """
    exit_ = records["exit_date"]
    lodged = records["outcome_lodged_date"]
    verified = records["verification_date"]
    still_in = exit_.isna() | (exit_ > end)
    exited_in = exit_.between(start, end)
    lodged_in = lodged.between(start, end)
    verified_in = verified.between(start, end)
    started = records["commencement_date"] <= end
    return (started & (still_in | exited_in | lodged_in | verified_in)).fillna(False).to_numpy(dtype=bool)


def build_frame(tables: dict[str, pd.DataFrame], window_start: str, window_end: str) -> ModelFrame:
    """Join records to characteristics; apply the entity and window rules.

    Parameters
    ----------
    tables : dict of typed tables (from :func:`toolkit.contracts.load_tables`)
    window_start, window_end : the release's assessment period (ISO dates)
    """
    rec = tables["measure_records"]
    contracts = tables["contracts"].copy()
    sites = tables["sites"].copy()
    start, end = pd.Timestamp(window_start), pd.Timestamp(window_end)

    rating = resolve_novations(contracts)
    contracts["rating_contract_id"] = contracts["contract_id"].map(rating)
    contracts = contracts.merge(
        contracts[["contract_id", "organisation_id"]].rename(
            columns={"contract_id": "rating_contract_id", "organisation_id": "rating_organisation_id"}
        ),
        on="rating_contract_id",
        how="left",
    )
    sites = sites.merge(contracts[["contract_id", "rating_contract_id", "program"]], on="contract_id", how="left")

    status = contracts.set_index("contract_id")["status"]
    rec_status = status.reindex(rec["contract_id"]).to_numpy()
    reasons = np.full(len(rec), "", dtype=object)
    reasons[rec_status == "ceased"] = "contract ceased: its records are removed (seed 001, Ceased Contracts)"
    reasons[rec_status == "handed_back"] = (
        "contract handed back: its records are removed (seed 001, Contracts that hand back business)"
    )
    outside = ~in_window(rec, start, end)
    reasons[(reasons == "") & outside] = (
        f"outside the assessment window {start.date()} to {end.date()}: none of the "
        "four inclusion conditions holds (seed 001, Two Year Rolling Assessment Period)"
    )
    excluded = reasons != ""
    exclusions = rec.loc[excluded, EXCLUSION_COLUMNS[:-1]].assign(reason=reasons[excluded]).reset_index(drop=True)

    kept = rec.loc[~excluded].reset_index(drop=True)
    kept = kept.assign(
        rating_contract_id=kept["contract_id"].map(rating).to_numpy(),
    )
    kept["rating_organisation_id"] = (
        kept["rating_contract_id"]
        .map(contracts.drop_duplicates("rating_contract_id").set_index("rating_contract_id")["rating_organisation_id"])
        .to_numpy()
    )
    part = tables["participants"]
    regions = tables["regions"].drop(columns=["metro"])  # the participant's own metro flag is the covariate
    frame = kept.merge(part, on="participant_id", how="left", validate="many_to_one")
    frame = frame.merge(regions, on="esa_id", how="left", validate="many_to_one")
    if len(frame) != len(kept):
        raise AssertionError("join changed the number of records")  # a bug, not a user error
    return ModelFrame(frame=frame, exclusions=exclusions, entities=Entities(contracts=contracts, sites=sites))
