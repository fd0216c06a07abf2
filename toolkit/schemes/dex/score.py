"""SCORE records: first and last assessment per domain, partial or complete, change, client outcome.

Pure functions over name-free tables (see :mod:`toolkit.schemes.dex.tables`); no I/O.

The rules, as configured in ``configs/schemes/dex/partnership.yaml``:

- A *domain SCORE* is the sequence of a client's assessments of one domain within one
  case (for community SCORE: of the case itself), in the configured order (date, then
  session id, then assessment id, so same-day ties always resolve the same way). Its
  *first* and *last* are the ends of that sequence; it is *partial* with one assessment and
  *complete* with two or more; change = last - first (positive, neutral or negative). The
  recorded phase (pre/post) is not used for pairing; pairs whose first is labelled post or
  whose last is labelled pre are counted as ``phase_mismatch``.
- For a reporting period, only assessments up to the period's end count, and a SCORE counts
  in the period when the client (or community) was assessed for that type, in that case,
  during the period: a follow-up in a later period makes a new, later "last".
- A client's type outcome (circumstances or goals) combines the changes of the client's
  complete domains of the type over their cases at one organisation and activity:
  ``mean_nonnegative`` (mean change >= 0) or ``none_negative`` (no change < 0).
- Satisfaction is measured once, at the end of service: a client assessed for satisfaction
  in the period is positive when more than the configured share of the statements answered
  in the period (last answer per statement) scores at least the configured score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.schemes.dex.config import Period, SatisfactionRule

PROVIDER = ["organisation_id", "activity_id"]
PAIR_KEY = PROVIDER + ["case_id", "client_id", "score_type", "domain"]


def in_period(dates: pd.Series, period: Period) -> np.ndarray:
    return ((dates >= pd.Timestamp(period.start)) & (dates <= pd.Timestamp(period.end))).to_numpy()


def domain_pairs(assessments: pd.DataFrame, order_by: tuple[str, ...], as_of: object | None = None) -> pd.DataFrame:
    """First and last assessment of every domain SCORE (assessments up to ``as_of`` if given).

    Returns one row per organisation, activity, case, client, score type and domain with
    ``n_assessments``, ``first_score``, ``last_score``, the ids, dates and phases of both ends,
    ``complete``, ``change`` (NaN when partial), ``direction`` (positive, neutral, negative,
    or partial) and ``phase_mismatch``.

    Examples
    --------
    >>> a = pd.DataFrame({"organisation_id": "O1", "activity_id": "A", "case_id": "K1", "client_id": "C1",
    ...     "score_type": "goals", "domain": "skills", "phase": ["pre", "post"], "score": [2, 4],
    ...     "assessment_date": pd.to_datetime(["2022-01-03", "2022-01-03"]),
    ...     "session_id": ["S1", "S1"], "assessment_id": ["A2", "A1"]})
    >>> domain_pairs(a, ("assessment_date", "session_id", "assessment_id"))[["first_score", "last_score", "change"]]
       first_score  last_score  change
    0            4           2    -2.0
    """
    a = assessments
    if as_of is not None:
        a = a.loc[(a["assessment_date"] <= pd.Timestamp(as_of)).to_numpy()]
    # sorted, each domain SCORE is a contiguous block: its first row opens it, its last row closes it
    a = a.sort_values(PAIR_KEY + list(order_by), kind="mergesort", na_position="last").reset_index(drop=True)
    g = a.groupby(PAIR_KEY, sort=False, dropna=False)
    pos, n = g.cumcount().to_numpy(), g["score"].transform("size").to_numpy()
    first, last = a.loc[pos == 0].reset_index(drop=True), a.loc[pos == n - 1].reset_index(drop=True)
    out = first[PAIR_KEY].copy()
    out["n_assessments"] = n[pos == 0]
    for end, frame in (("first", first), ("last", last)):
        out[f"{end}_score"] = frame["score"].astype("int64").to_numpy()
        out[f"{end}_assessment_id"] = frame["assessment_id"].to_numpy()
        out[f"{end}_date"] = frame["assessment_date"].to_numpy()
        out[f"{end}_phase"] = frame["phase"].astype("str").to_numpy()
    out["complete"] = out["n_assessments"] >= 2
    out["change"] = (out["last_score"] - out["first_score"]).astype("float64").where(out["complete"])
    out["direction"] = np.select(
        [~out["complete"], out["change"] > 0, out["change"] == 0], ["partial", "positive", "neutral"], "negative"
    )
    out["phase_mismatch"] = out["complete"] & ((out["first_phase"] == "post") | (out["last_phase"] == "pre"))
    return out


def assessed_in(
    assessments: pd.DataFrame, period: Period, score_types: tuple[str, ...], unit: list[str]
) -> pd.DataFrame:
    """Distinct ``unit`` rows assessed for one of ``score_types`` during ``period``."""
    sel = in_period(assessments["assessment_date"], period) & assessments["score_type"].isin(score_types).to_numpy()
    return assessments.loc[sel, unit].drop_duplicates().reset_index(drop=True)


def period_pairs(
    assessments: pd.DataFrame, period: Period, score_types: tuple[str, ...], order_by: tuple[str, ...]
) -> pd.DataFrame:
    """Domain SCOREs as of the period's end, for cases assessed for that type during the period."""
    sub = assessments.loc[assessments["score_type"].isin(score_types).to_numpy()]
    if sub.empty:
        return domain_pairs(sub, order_by)
    pairs = domain_pairs(sub, order_by, as_of=period.end)
    keys = PROVIDER + ["case_id", "client_id", "score_type"]
    seen = assessed_in(sub, period, score_types, keys).assign(_seen=True)
    pairs = pairs.merge(seen, on=keys, how="inner")
    return pairs.drop(columns="_seen")


def combine_changes(pairs: pd.DataFrame, rule: str, unit: list[str]) -> pd.DataFrame:
    """Per ``unit`` and score type: complete domains, mean and lowest change, ``positive_or_neutral`` by ``rule``."""
    complete = pairs.loc[pairs["complete"].to_numpy()]
    cols = unit + ["score_type"]
    if complete.empty:
        return pd.DataFrame(columns=cols + ["complete_domains", "mean_change", "min_change", "positive_or_neutral"])
    g = complete.groupby(cols, sort=True, dropna=False)["change"]
    out = g.agg(complete_domains="size", mean_change="mean", min_change="min").reset_index()
    if rule == "mean_nonnegative":
        out["positive_or_neutral"] = out["mean_change"] >= 0
    elif rule == "none_negative":
        out["positive_or_neutral"] = out["min_change"] >= 0
    else:
        raise ValueError(f"unknown change rule {rule!r}")
    return out


def client_outcomes(assessments: pd.DataFrame, period: Period, rule: str, order_by: tuple[str, ...]) -> pd.DataFrame:
    """Clients with a complete circumstances or goals SCORE counting in ``period``, with their outcome."""
    pairs = period_pairs(assessments, period, ("circumstances", "goals"), order_by)
    return combine_changes(pairs, rule, PROVIDER + ["client_id"])


def community_outcomes(assessments: pd.DataFrame, period: Period, rule: str, order_by: tuple[str, ...]) -> pd.DataFrame:
    """Cases with a complete community SCORE counting in ``period``, with their outcome (reported, no target)."""
    pairs = period_pairs(assessments, period, ("community",), order_by)
    return combine_changes(pairs, rule, PROVIDER + ["case_id"])


def client_satisfaction(
    assessments: pd.DataFrame, period: Period, rule: SatisfactionRule, order_by: tuple[str, ...]
) -> pd.DataFrame:
    """Clients assessed for satisfaction in ``period``: statements answered, positive statements, ``positive``."""
    sel = in_period(assessments["assessment_date"], period) & (assessments["score_type"] == "satisfaction").to_numpy()
    sat = assessments.loc[sel]
    cols = PROVIDER + ["client_id"]
    if sat.empty:
        return pd.DataFrame(columns=cols + ["statements", "positive_statements", "positive"])
    last = sat.sort_values(cols + ["domain", *order_by], kind="mergesort").groupby(cols + ["domain"], sort=True).tail(1)
    last = last.assign(_pos=(last["score"] >= rule.positive_min_score).astype("int64"))
    out = (
        last.groupby(cols, sort=True)
        .agg(statements=("_pos", "size"), positive_statements=("_pos", "sum"))
        .reset_index()
    )
    out["positive"] = out["positive_statements"] > rule.positive_share_above * out["statements"]
    return out


def domain_summary(assessments: pd.DataFrame, period: Period, order_by: tuple[str, ...]) -> pd.DataFrame:
    """Per provider, score type and domain: partial and complete SCOREs counting in ``period`` by direction."""
    types = ("circumstances", "goals", "community")
    pairs = period_pairs(assessments, period, types, order_by)
    cols = PROVIDER + ["score_type", "domain"]
    if pairs.empty:
        return pd.DataFrame(columns=cols + ["partial", "positive", "neutral", "negative", "phase_mismatch"])
    tab = pairs.pivot_table(index=cols, columns="direction", values="n_assessments", aggfunc="size", fill_value=0)
    tab = tab.reindex(columns=["partial", "positive", "neutral", "negative"], fill_value=0)
    tab["phase_mismatch"] = pairs.groupby(cols)["phase_mismatch"].sum()
    tab.columns.name = None
    return tab.reset_index().astype(
        dict.fromkeys(("partial", "positive", "neutral", "negative", "phase_mismatch"), "int64")
    )
