"""From working records to the measure records table, and the reconciliation of outcome claims.

Every counted outcome claim either puts its record in the numerator or is listed among the
excluded events with the reason it did not (lodged before the window, its record excluded, a
second claim for the same record, no anchor): nothing is lost silently.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.records.derive.context import LINK_COLUMNS, Context
from toolkit.records.derive.events import from_days

OUTPUT_COLUMNS = [
    "participant_id",
    "period_of_service",
    "program",
    "measure",
    "site_id",
    "contract_id",
    "organisation_id",
    "numerator",
    "time_in_assistance",
    "referral_date",
    "commencement_date",
    "exit_date",
    "anchor_date",
    "outcome_lodged_date",
    "verification_date",
    "transferred",
]


def to_measure_records(ctx: Context, work: pd.DataFrame) -> pd.DataFrame:
    """Working records (integer keys and days) -> the ``measure_records`` table, sorted by
    program, measure, site, participant and period of service."""
    st, people = ctx.st, ctx.ev.people
    # sort on integer codes: participant-period keys and site codes are in identifier order
    prog_codes, _ = pd.factorize(st["program"].to_numpy()[work["sid"].to_numpy()], sort=True)
    meas_codes, _ = pd.factorize(work["measure"].to_numpy(), sort=True)
    order = np.lexsort((work["pkey"].to_numpy(), st["site"].to_numpy()[work["sid"].to_numpy()], meas_codes, prog_codes))
    work = work.iloc[order]
    sid = work["sid"].to_numpy()
    pkey = work["pkey"].to_numpy()
    site_ids = ctx.ev.sites.to_numpy(dtype=object)
    rec = pd.DataFrame(
        {
            "participant_id": people["participant_id"].to_numpy(dtype=object)[pkey],
            "period_of_service": people["period_of_service"].to_numpy(dtype="int64")[pkey],
            "program": st["program"].to_numpy(dtype=object)[sid],
            "measure": work["measure"].to_numpy(dtype=object),
            "site_id": site_ids[st["site"].to_numpy()[sid]],
            "contract_id": st["contract"].to_numpy(dtype=object)[sid],
            "organisation_id": st["org"].to_numpy(dtype=object)[sid],
            "numerator": work["numerator"].to_numpy(dtype=bool),
            "time_in_assistance": work["tia"].to_numpy().astype("float64"),
            "referral_date": from_days(st["chain_ref"].to_numpy()[sid]),
            "commencement_date": from_days(work["rec_c"].to_numpy()),
            "exit_date": from_days(st["x"].to_numpy()[sid]),
            "anchor_date": from_days(work["anchor"].to_numpy()),
            "outcome_lodged_date": from_days(work["lodged"].to_numpy()),
            "verification_date": from_days(work["verif"].to_numpy()),
            "transferred": st["transferred"].to_numpy(dtype=bool)[sid],
        }
    )
    for c in ("participant_id", "program", "measure", "site_id", "contract_id", "organisation_id"):
        rec[c] = rec[c].astype("str")
    return rec[OUTPUT_COLUMNS]


def reconcile_claims(ctx: Context, work: pd.DataFrame) -> tuple[dict[str, int], dict[str, int]]:
    """Exclude, with a reason, every counted outcome claim that is not the source of a numerator.

    Returns counts by outcome ('used', and one per exclusion rule) and, per measure, the number
    of numerator records that have a source claim.
    """
    claims = ctx.claims
    aside = np.concatenate(ctx.set_aside) if ctx.set_aside else np.zeros(0, dtype=np.int64)
    ok = claims.loc[
        claims["ok"].to_numpy()
        & claims["ctype"].isin(list(ctx.params.numerator_claim_types)).to_numpy()
        & ~claims.index.isin(aside)
    ]
    links = pd.concat(ctx.links, ignore_index=True) if ctx.links else pd.DataFrame(columns=LINK_COLUMNS)
    nums = work.loc[work["numerator"].to_numpy(), ["measure", "pkey", "sid"]].assign(final=True)
    links = links.merge(nums, on=["measure", "pkey", "sid"], how="left")
    links["final"] = links["final"].fillna(False).astype(bool)
    matched = links.loc[links["final"].to_numpy()].sort_values(
        ["measure", "pkey", "sid", "lodged", "claim"], kind="stable"
    )
    first = matched.drop_duplicates(["measure", "pkey", "sid"], keep="first")
    sources_by_measure = {str(m): int(v) for m, v in first.groupby("measure").size().items()}
    source = first["claim"].to_numpy()
    used = np.zeros(len(claims), bool)
    used[claims.index.get_indexer(source)] = True
    dup = np.zeros(len(claims), bool)
    dup[claims.index.get_indexer(matched["claim"].to_numpy())] = True
    linked = np.zeros(len(claims), bool)
    linked[claims.index.get_indexer(links["claim"].to_numpy())] = True
    pos = claims.index.get_indexer(ok.index)
    u, d, lk = used[pos], dup[pos] & ~used[pos], linked[pos]
    lodged = ok["lodged"].to_numpy()
    bonus = ok["ctype"].isin(list(ctx.params.bonus.numerator_claims)).to_numpy()
    reason = np.where(
        u,
        "",
        np.where(
            d,
            "claim_duplicate",
            np.where(
                lk,
                "claim_record_excluded",
                np.where(
                    lodged < ctx.start,
                    "claim_lodged_before_window",
                    np.where(bonus, "claim_no_anchor", "claim_record_excluded"),
                ),
            ),
        ),
    )
    counts = {"used": int(u.sum())}
    for rule in ("claim_duplicate", "claim_record_excluded", "claim_lodged_before_window", "claim_no_anchor"):
        sel = reason == rule
        c = ok.loc[sel]
        counts[rule] = int(sel.sum())
        ctx.ledger.exclude(
            "claims",
            rule,
            c["pkey"].to_numpy(),
            c["site"].to_numpy(),
            c["ctype"].to_numpy(),
            c["claim_id"].to_numpy(),
            c["lodged"].to_numpy(),
            log_measure="outcome claims",
            considered=len(ok),
        )
    return counts, sources_by_measure
