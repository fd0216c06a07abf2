"""Grouped K-fold: whole sites in a fold, and each participant's records all in one fold.

A participant can have records at several sites (transfers). Each participant has a primary site:
the site with most of their records in the frame, ties to the site of their earliest commencement,
then the smallest site id. Within each program, sites are shuffled by the seed and the shuffled list
is cut into K runs of about equal numbers of participants (folds of similar size in both programs); a
participant's records all go to the fold of their primary site. A site thus lies in one fold, except
for the records of participants transferred in from a site of another fold, which follow their person.
:func:`check_folds` verifies that no participant spans folds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.errors import InputError


def primary_sites(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per participant: ``participant_id``, ``site_id`` (their primary site) and ``program``."""
    g = (
        frame.groupby(["participant_id", "site_id"], sort=True, observed=True)
        .agg(
            records=("site_id", "size"),
            first=("commencement_date", "min"),
            program=("program", "first"),
        )
        .reset_index()
    )
    g = g.sort_values(
        ["participant_id", "records", "first", "site_id"], ascending=[True, False, True, True], kind="stable"
    )
    return g.drop_duplicates("participant_id")[["participant_id", "site_id", "program"]].reset_index(drop=True)


def assign_folds(frame: pd.DataFrame, k: int, seed: int) -> tuple[np.ndarray, pd.DataFrame]:
    """The fold (0..k-1) of every row of ``frame`` and the table of site -> fold (with its participants).

    Deterministic for a frame, ``k`` and ``seed`` (the frame's row order does not matter)."""
    prim = primary_sites(frame)
    per_site = (
        prim.groupby(["program", "site_id"], sort=True, observed=True).size().rename("participants").reset_index()
    )
    # sites that are nobody's primary site still get a fold (their records follow their participants)
    every = frame[["program", "site_id"]].drop_duplicates().sort_values(["program", "site_id"], kind="stable")
    per_site = every.merge(per_site, on=["program", "site_id"], how="left").fillna({"participants": 0})
    per_site["participants"] = per_site["participants"].astype(int)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(per_site))
    fold = np.empty(len(per_site), dtype=np.int64)
    progs = per_site["program"].to_numpy()[order]
    sizes = per_site["participants"].to_numpy()[order].astype(float)
    for prog in sorted(set(progs)):
        mine = np.flatnonzero(progs == prog)
        cum = np.cumsum(sizes[mine])
        total = max(float(cum[-1]), 1.0)
        # cut the shuffled sites into k runs of about equal participants (a site goes where its middle falls)
        fold[order[mine]] = np.minimum(k - 1, ((cum - sizes[mine] / 2) * k / total).astype(np.int64))
    sites = per_site.assign(fold=fold)[["site_id", "program", "fold", "participants"]]
    site_fold = dict(zip(sites["site_id"], sites["fold"], strict=True))
    person_fold = dict(zip(prim["participant_id"], prim["site_id"].map(site_fold), strict=True))
    rows = frame["participant_id"].map(person_fold).to_numpy(dtype=np.int64)
    check_folds(frame, rows)
    return rows, sites.sort_values("site_id", kind="stable").reset_index(drop=True)


def check_folds(frame: pd.DataFrame, folds: np.ndarray) -> None:
    """Raise when a participant's records lie in more than one fold."""
    n = pd.Series(folds, index=frame.index).groupby(frame["participant_id"].to_numpy(), sort=False).nunique()
    bad = int((n > 1).sum())
    if bad:
        raise InputError(f"{bad} participant(s) have records in more than one fold")
