"""Claim rules: which claims count, and where.

Seed 001, principal performance measure rules: "DES Outcome and Service Fee claims that are
less than one dollar, including zero dollar claims, are excluded from the numerator and
denominator calculations, regardless of the claim status"; "Claim(s) that have been
identified and confirmed for recovery by the Department, will immediately be removed from
the numerator ... regardless of whether the claim has a current status of pending or
approved"; numerators count "pending or approved" claims. "Education Outcomes excluded":
13- and 26-week full or pathway outcomes for Education Placements commenced on or after
17 August 2020 count nowhere. Table 1 note b: outcomes count only for placements commenced
on or after 1 July 2018. Attachment A: "A Participant will be included in the numerator at
a Site where the eligible outcome was lodged".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from toolkit.records.derive.events import OPEN, take

if TYPE_CHECKING:
    from toolkit.records.derive.params import DeriveParams


def lodged_after_cutoff(lodged: np.ndarray, cutoff: int) -> np.ndarray:
    """Claims lodged after the release's claim cut-off (not known at the cut-off)."""
    return np.asarray(lodged) > cutoff


def under_one_dollar(amount: np.ndarray, minimum: float) -> np.ndarray:
    """Claims for less than ``minimum`` (one dollar), zero included: excluded whatever their status.

    >>> under_one_dollar(np.array([0.0, 0.99, 1.0, 250.0]), 1.0).tolist()
    [True, True, False, False]
    """
    return np.asarray(amount, dtype=float) < minimum


def status_not_countable(status: np.ndarray, countable: tuple[str, ...]) -> np.ndarray:
    """Claims whose current status is not pending or approved (rejected, withdrawn, recovered)."""
    return ~pd.Series(status).isin(list(countable)).to_numpy()


def recovery_confirmed(flag: np.ndarray) -> np.ndarray:
    """Claims identified and confirmed for recovery, whatever their status."""
    return np.asarray(flag, bool)


def claim_failures(claims: pd.DataFrame, cutoff: int, params: DeriveParams) -> np.ndarray:
    """The first claim rule each claim fails, in the order the log reports them ('' when valid).

    Order: after the cut-off, under one dollar, status, recovery.
    """
    c = params.claims
    checks = [
        ("after_cutoff", lodged_after_cutoff(claims["lodged"].to_numpy(), cutoff)),
        ("claim_under_one_dollar", under_one_dollar(claims["amount"].to_numpy(), c.minimum_amount)),
        ("claim_status", status_not_countable(claims["status"].to_numpy(), c.countable_statuses)),
        (
            "claim_recovery",
            recovery_confirmed(claims["recov"].to_numpy())
            if c.recovery_removes_everywhere
            else np.zeros(len(claims), bool),
        ),
    ]
    out = np.full(len(claims), "", dtype=object)
    for rule, bad in checks:
        out[(out == "") & bad] = rule
    return out


def education_outcome_excluded(
    ctype: np.ndarray, ptype: np.ndarray, pstart: np.ndarray, exclusion_from: int, outcome_types: tuple[str, ...]
) -> np.ndarray:
    """13/26-week full or pathway outcomes for Education Placements commenced on or after the exclusion date.

    >>> d = 18491  # 2020-08-17 as days since 1970-01-01
    >>> education_outcome_excluded(np.array(["full_13", "full_13", "full_52"]), np.array(["education"] * 3),
    ...                            np.array([d - 1, d, d]), d, ("full_13",)).tolist()
    [False, True, False]
    """
    return (
        pd.Series(ctype).isin(list(outcome_types)).to_numpy()
        & (np.asarray(ptype) == "education")
        & (np.asarray(pstart) >= exclusion_from)
    )


def placement_before_program(pstart: np.ndarray, program_start: int) -> np.ndarray:
    """Outcomes for placements commenced before the program start (Table 1 note b); unlinked claims never are."""
    p = np.asarray(pstart)
    return (p < program_start) & (p > -(10**7))


def link_placements(claims: pd.DataFrame, placements: pd.DataFrame) -> pd.DataFrame:
    """Add the linked placement's start, type and flags to each claim (unlinked: no type, start NEVER)."""
    pl = placements.set_index("placement_id")[["ps", "ptype", "app", "dre", "wa"]]
    pos = pl.index.get_indexer(claims["placement_id"])
    linked = pos >= 0
    out = claims.copy()
    out["linked"] = linked
    out["pstart"] = take(pl["ps"].to_numpy(), pos, -(10**8)).astype(np.int64)
    out["ptype"] = take(pl["ptype"].to_numpy(dtype=object), pos, "")
    return out


def map_to_stints(claims: pd.DataFrame, stints: pd.DataFrame) -> np.ndarray:
    """Index of the site commencement each claim belongs to: the latest commencement of the
    participant's period at the lodging site on or before the lodgement date (-1 if none)."""
    if claims.empty:
        return np.zeros(0, dtype=np.int64)
    left = pd.DataFrame(
        {
            "pkey": claims["pkey"].to_numpy(),
            "site": claims["site"].to_numpy(),
            "t": claims["lodged"].to_numpy(),
            "i": np.arange(len(claims)),
        }
    ).sort_values("t", kind="stable")
    right = pd.DataFrame(
        {
            "pkey": stints["pkey"].to_numpy(),
            "site": stints["site"].to_numpy(),
            "t": stints["c"].to_numpy(),
            "sid": np.arange(len(stints)),
        }
    ).sort_values("t", kind="stable")
    m = pd.merge_asof(left, right, on="t", by=["pkey", "site"], direction="backward")
    out = np.full(len(claims), -1, dtype=np.int64)
    ok = m["sid"].notna().to_numpy()
    out[m["i"].to_numpy()[ok]] = m["sid"].to_numpy()[ok].astype(np.int64)
    return out


def earliest(keys: np.ndarray, values: np.ndarray, n: int, empty: int = OPEN) -> np.ndarray:
    """Per key in ``range(n)``, the smallest value (``empty`` where a key has none)."""
    out = np.full(n, empty, dtype=np.int64)
    if len(keys):
        np.minimum.at(out, np.asarray(keys, dtype=np.int64), np.asarray(values, dtype=np.int64))
    return out
