"""Checks that fail loudly: a derivation that breaks one is a bug, never a result.

Once, coding let records from outside the two-year window into published DES ratings
and about 50 providers were affected. These checks run on every derivation, on the output
table itself (not on the flags that built it), and raise :class:`DerivationInvariantError`
naming the invariant, the measure and the number of records (never a participant's values).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from collections.abc import Iterable


class DerivationInvariantError(AssertionError):
    """The derived records break an invariant of the method: a bug in the derivation."""


def records_outside_window(rec: pd.DataFrame, start: dt.date, cutoff: dt.date) -> np.ndarray:
    """Records meeting none of the four conditions of the two-year rolling period, or
    commenced after the cut-off (recomputed from the record's own dates)."""
    s, k = pd.Timestamp(start), pd.Timestamp(cutoff)
    ex, lod, ver = rec["exit_date"], rec["outcome_lodged_date"], rec["verification_date"]
    ok = (ex.isna() | ex.between(s, k) | lod.between(s, k) | ver.between(s, k)) & (rec["commencement_date"] <= k)
    return ~ok.fillna(False).to_numpy(dtype=bool)


def numerators_outside_window(
    rec: pd.DataFrame, start: dt.date, cutoff: dt.date, claimed_measures: Iterable[str]
) -> np.ndarray:
    """Numerator records of ``claimed_measures`` (measures whose numerator is an outcome claim:
    not Ongoing Support) whose outcome was not lodged in the window."""
    s, k = pd.Timestamp(start), pd.Timestamp(cutoff)
    claimable = rec["measure"].isin(list(claimed_measures)).to_numpy()
    lodged_ok = rec["outcome_lodged_date"].between(s, k).fillna(False).to_numpy(dtype=bool)
    return rec["numerator"].to_numpy(dtype=bool) & claimable & ~lodged_ok


#: The entity column of each reading of ``records.one_record_per``.
ENTITY_COLUMN = {"site": "site_id", "contract": "contract_id"}


def duplicates_in(rec: pd.DataFrame, one_record_per: str) -> np.ndarray:
    """Records of a participant counted twice in one entity's denominator (a site's, or under the
    earlier reading a contract's) for a measure and period of service."""
    key = ["participant_id", "period_of_service", ENTITY_COLUMN[one_record_per], "measure"]
    return rec.duplicated(key, keep=False).to_numpy()


def contract_violations(rec: pd.DataFrame) -> list[str]:
    """Violations of ``data_contracts/measure_records.yaml`` by the records on their own (types,
    values, key, row checks; the references to other tables are the release's to check)."""
    from toolkit.contracts import check_table, load_contract
    from toolkit.paths import contract_file

    _, viol, _ = check_table(rec, load_contract(contract_file("measure_records.yaml")))
    return [f"measure_records contract: {v}" for v in viol]


def check_invariants(
    rec: pd.DataFrame,
    start: dt.date,
    cutoff: dt.date,
    numerator_claims: dict[str, int],
    release: str = "",
    one_record_per: str = "site",
) -> None:
    """Raise :class:`DerivationInvariantError` listing every broken invariant with counts by measure,
    and every violation of the ``measure_records`` data contract.

    ``numerator_claims``: per measure whose numerator is an outcome claim (every measure but
    Ongoing Support), how many counted outcome claims were used as numerator sources; it must equal
    the number of numerator records (no numerator without its denominator record, and no
    denominator record claiming a numerator it has no claim for).

    ``one_record_per``: the derivation config's ``records.one_record_per``; the invariant
    ``once_per_<entity>`` checks the same level the derivation de-duplicated at (per site, a
    participant at two sites of a contract is two records, one at each; per contract, one).
    """
    if one_record_per not in ENTITY_COLUMN:
        raise ValueError(f"one_record_per must be one of {sorted(ENTITY_COLUMN)}, not {one_record_per!r}")
    problems = []

    def report(name: str, mask: np.ndarray, what: str) -> None:
        if mask.any():
            by = pd.Series(rec["measure"].to_numpy()[mask]).value_counts().sort_index()
            detail = ", ".join(f"{m} {n:,}" for m, n in by.items())
            problems.append(f"{name}: {int(mask.sum()):,} record(s) {what} ({detail})")

    report(
        "no_record_outside_window",
        records_outside_window(rec, start, cutoff),
        f"outside the assessment window {start} to {cutoff}",
    )
    report(
        "no_numerator_outside_window",
        numerators_outside_window(rec, start, cutoff, numerator_claims),
        "in a numerator without an outcome lodged in the window",
    )
    report(
        f"once_per_{one_record_per}",
        duplicates_in(rec, one_record_per),
        f"count a participant twice in one {one_record_per}'s denominator",
    )
    nums = rec.loc[rec["numerator"].to_numpy(dtype=bool)].groupby("measure").size()
    for m, n_claims in sorted(numerator_claims.items()):
        n_rec = int(nums.get(m, 0))
        if n_rec != n_claims:
            problems.append(
                f"no_numerator_without_denominator: measure {m} has {n_rec:,} numerator record(s) "
                f"for {n_claims:,} counted outcome claim(s)"
            )
    problems += contract_violations(rec)
    if problems:
        where = f" (release {release})" if release else ""
        raise DerivationInvariantError(
            f"derived measure records break {len(problems)} invariant(s){where}:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )
