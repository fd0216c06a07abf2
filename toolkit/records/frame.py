"""From validated input tables to the modelling frame, with every excluded record listed.

Entity rules applied here (docs/method.md, "Publishing rules" and seed 001 "Treatment of
new and continuing Contracts"):

- records of ceased and handed-back contracts are removed;
- a novated contract's records are counted at the contract that took it over
  (``rating_contract_id``), following chains of novations; when that contract ceased or
  handed its business back, they are removed with its own (it inherited them);
- a ceased or handed-back contract's sites have ceased with it, whether or not the sites
  table closes them (method config ``ended_contracts.open_sites: closed``), or such an open
  site is an input error (``error``);
- records outside the assessment window (none of the four inclusion conditions of
  the two-year rolling period holds) are removed.

The records kept are joined to participants and regions by :func:`toolkit.records.join.join_records`,
the join ``toolkit predict`` and :func:`toolkit.records.model_input` use too; a record that cannot be
joined (its participant or ESA absent: only on tables whose references were not validated) is excluded
with its reason.

Nothing is dropped silently: every removed record is returned in ``exclusions``
with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from toolkit.errors import InputError
from toolkit.records.join import EXCLUSION_COLUMNS as EXCLUSION_COLUMNS  # re-exported: exclusion lists
from toolkit.records.join import join_records

#: Contract statuses whose records are removed (seed 001, Ceased Contracts; Contracts that hand back business).
ENDED_STATUSES = ("ceased", "handed_back")


@dataclass
class ModelFrame:
    """Measure records joined to participant and labour-market characteristics."""

    frame: pd.DataFrame
    exclusions: pd.DataFrame
    entities: Entities


@dataclass
class Entities:
    contracts: pd.DataFrame  # contract_id, organisation_id, program, status, rating_contract_id, start_date, ...
    sites: pd.DataFrame  # site_id, contract_id, rating_contract_id, program, contract_status, open_date, close_date


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


def open_sites_of_ended_contracts(sites: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """Sites of a ceased or handed-back contract still open at ``end`` (no ``close_date``, or a later one)."""
    open_ = sites["close_date"].isna() | (sites["close_date"] > end)
    return sites[open_ & sites["contract_status"].isin(ENDED_STATUSES)]


def _refuse_open_sites_of_ended_contracts(sites: pd.DataFrame, end: pd.Timestamp) -> None:
    """The reading ``ended_contracts.open_sites: error``: such a site is an input error, every one named."""
    bad = open_sites_of_ended_contracts(sites, end)
    if bad.empty:
        return
    shown = [f"{r.site_id} (contract {r.contract_id}, {r.contract_status})" for r in bad.head(20).itertuples()]
    more = f" and {len(bad) - 20} more" if len(bad) > 20 else ""
    raise InputError(
        f"sites: {len(bad)} site(s) of a ceased or handed-back contract are open at the window end {end.date()} "
        f"(no close_date, or one after it): {', '.join(shown)}{more}. Close them in the sites table, or read "
        "them as closed with their contract (method config ended_contracts.open_sites: closed)"
    )


def _exclusion_reasons(
    rec: pd.DataFrame, contracts: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> np.ndarray:
    """Per record, why it is removed ("" when kept): its contract's status, its successor's, or the window."""
    status = contracts.set_index("contract_id")["status"]
    rating = contracts.set_index("contract_id")["rating_contract_id"]
    own = status.reindex(rec["contract_id"]).to_numpy()
    successor = status.reindex(rating.reindex(rec["contract_id"]).to_numpy()).to_numpy()
    reasons = np.full(len(rec), "", dtype=object)
    reasons[own == "ceased"] = "contract ceased: its records are removed (seed 001, Ceased Contracts)"
    reasons[own == "handed_back"] = (
        "contract handed back: its records are removed (seed 001, Contracts that hand back business)"
    )
    novated = own == "novated"
    reasons[novated & (successor == "ceased")] = (
        "contract novated to a contract that ceased: the records it inherited are removed with its own "
        "(seed 001, Contract Novations and Ceased Contracts)"
    )
    reasons[novated & (successor == "handed_back")] = (
        "contract novated to a contract that handed back its business: the records it inherited are removed "
        "with its own (seed 001, Contract Novations and Contracts that hand back business)"
    )
    outside = ~in_window(rec, start, end)
    reasons[(reasons == "") & outside] = (
        f"outside the assessment window {start.date()} to {end.date()}: none of the "
        "four inclusion conditions holds (seed 001, Two Year Rolling Assessment Period)"
    )
    return reasons


def build_frame(
    tables: dict[str, pd.DataFrame],
    window_start: str,
    window_end: str,
    ended_contract_sites: Literal["closed", "error"] = "closed",
) -> ModelFrame:
    """Join records to characteristics; apply the entity and window rules.

    Parameters
    ----------
    tables : dict of typed tables (from :func:`toolkit.contracts.load_tables`)
    window_start, window_end : the release's assessment period (ISO dates)
    ended_contract_sites : the method config's ``ended_contracts.open_sites``: a ceased or
        handed-back contract's site still open at the window end has ceased with its contract
        (``closed``: no rating row) or is an input error (``error``)
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
    sites = sites.merge(
        contracts[["contract_id", "rating_contract_id", "program", "status"]].rename(
            columns={"status": "contract_status"}
        ),
        on="contract_id",
        how="left",
    )
    if ended_contract_sites == "error":
        _refuse_open_sites_of_ended_contracts(sites, end)

    reasons = _exclusion_reasons(rec, contracts, start, end)
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
    # the one join of every model input (toolkit.records.join): what `toolkit predict` and model_input use
    joined = join_records(kept, tables["participants"], tables["regions"])
    if not joined.excluded.empty:  # only on tables whose references were not checked: listed, never dropped
        exclusions = pd.concat([exclusions, joined.excluded], ignore_index=True)
    return ModelFrame(frame=joined.frame, exclusions=exclusions, entities=Entities(contracts=contracts, sites=sites))
