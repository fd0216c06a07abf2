"""Per-enrolment facts for the scorecard and the model: periods, timeliness, completion, results.

Pure functions of :class:`~toolkit.schemes.clientlevel.load.ClientData` frames.

- ``start_period`` / ``end_period``: the financial year of the start and of the end (None outside
  the window or while the service continues);
- ``timely``: started within ``timeliness_days`` of the referral; ``completed``: ended for a
  completion reason;
- per dimension ``d``: ``assessed_d`` (pre and post scores) and ``improved_d``
  (post - pre >= ``min_change``); ``assessed_any``/``improved``: on at least one dimension;
- ``pre_mean`` and ``n_dimensions`` over the dimensions assessed pre and post.

The comparison population (:func:`model_frame`) is every enrolment ended in the window with
at least one dimension assessed pre and post: the same clients as the scorecard's
"assessed (any)" over the whole window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from toolkit.schemes.clientlevel.config import ClientLevelConfig

if TYPE_CHECKING:
    import datetime as dt

MODEL_COLUMNS = (
    "age",
    "gender",
    "ethnicity",
    "n_dependants",
    "youngest_dependant_under5",
    "pre_mean",
    "n_dimensions",
    "service_offering",
)


def period_of(dates: pd.Series, config: ClientLevelConfig) -> pd.Series:
    """Financial-year label of each date (None outside the window or for a missing date)."""
    d = pd.to_datetime(dates)
    out = pd.Series(None, index=dates.index, dtype="object")
    for label, first, last in config.periods():
        out[(d >= pd.Timestamp(first)) & (d <= pd.Timestamp(last))] = label
    return out


def enrolment_facts(enrolments: pd.DataFrame, assessments: pd.DataFrame, config: ClientLevelConfig) -> pd.DataFrame:
    """One row per used enrolment with the facts of the module docstring."""
    e = enrolments.copy()
    e["start_period"] = period_of(e["start_date"], config)
    e["end_period"] = period_of(e["end_date"], config)
    wait = (pd.to_datetime(e["start_date"]) - pd.to_datetime(e["referral_date"])).dt.days
    e["timely"] = wait <= config.timeliness_days
    e["completed"] = e["end_reason"].isin(list(config.completed_reasons)) & e["end_date"].notna()
    a = assessments[assessments["post_score"].notna()]
    a = a.assign(
        improved=(a["post_score"].astype("int64") - a["pre_score"].astype("int64")) >= config.improvement.min_change
    )
    wide = a.pivot_table(index="enrolment_key", columns="dimension", values="improved", aggfunc="max")
    for d in config.dimensions:
        col = wide[d] if d in wide.columns else pd.Series(dtype="float64")
        got = e["enrolment_key"].map(col)
        e[f"assessed_{d}"] = got.notna()
        e[f"improved_{d}"] = got.fillna(False).astype(bool)
    a = a[a["dimension"].isin(list(config.dimensions))]
    per = a.groupby("enrolment_key").agg(
        pre_mean=("pre_score", "mean"), n_dimensions=("dimension", "size"), improved=("improved", "max")
    )
    e["pre_mean"] = e["enrolment_key"].map(per["pre_mean"]).astype("float64")
    e["n_dimensions"] = e["enrolment_key"].map(per["n_dimensions"]).fillna(0).astype("int64")
    e["assessed_any"] = e["n_dimensions"] > 0
    e["improved"] = e["enrolment_key"].map(per["improved"]).fillna(False).astype(bool)
    return e


def model_frame(facts: pd.DataFrame) -> pd.DataFrame:
    """The comparison population: ended in the window, assessed pre and post on at least one dimension.

    Returns the model's columns, ``improved`` (0/1), and the unit columns (``provider_id``,
    ``service_id``) kept apart from the model's input by name.
    """
    f = facts[facts["end_period"].notna() & facts["assessed_any"]]
    out = f[list(MODEL_COLUMNS)].copy()
    out["improved"] = f["improved"].astype("int64")
    out["provider_id"] = f["provider_id"].to_numpy()
    out["service_id"] = f["service_id"].to_numpy()
    out["consent"] = f["consent"].to_numpy()
    out["client_key"] = f["client_key"].to_numpy()
    out["end_period"] = f["end_period"].to_numpy()
    for c in ("gender", "ethnicity", "service_offering"):
        out[c] = out[c].astype("str")
    return out.reset_index(drop=True)


def check_formula_columns(columns: list[str]) -> list[str]:
    """Columns a model formula uses that are not client characteristics (empty list: fine)."""
    return [c for c in columns if c not in MODEL_COLUMNS]


def sessions_by_period(sessions: pd.DataFrame, facts: pd.DataFrame, config: ClientLevelConfig) -> pd.DataFrame:
    """Sessions scheduled and attended per service and period (dated inside the window)."""
    s = sessions.assign(period=period_of(sessions["session_date"], config))
    s = s[s["period"].notna()]
    s = s.merge(facts[["enrolment_key", "service_id"]], on="enrolment_key", how="inner")
    return (
        s.assign(attended=s["attended"].astype(bool))
        .groupby(["service_id", "period"])
        .agg(sessions=("attended", "size"), attended=("attended", "sum"))
        .reset_index()
    )


def active_in(facts: pd.DataFrame, first: dt.date, last: dt.date) -> np.ndarray:
    """Enrolments open at some time between ``first`` and ``last``."""
    st = pd.to_datetime(facts["start_date"])
    en = pd.to_datetime(facts["end_date"])
    return ((st <= pd.Timestamp(last)) & (en.isna() | (en >= pd.Timestamp(first)))).to_numpy()
