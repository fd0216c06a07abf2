"""The partnership approach's measures per organisation, program activity and reporting period.

Pure functions over a :class:`~toolkit.schemes.dex.tables.DexData`; no I/O, no randomness.

Denominators and numerators (all counts of distinct clients of one organisation's
program activity in one period):

- *identified clients*: clients attending a session of the activity in the period;
- ``assessed_<type>``: identified clients with a SCORE assessment of the type in the period
  (over identified clients; minimum requirement);
- ``circumstances_positive_or_neutral`` / ``goals_positive_or_neutral``: clients whose
  complete SCORE of the type counts in the period (:mod:`~toolkit.schemes.dex.score`) and
  whose changes combine, by the configured rule, into a positive or neutral change;
- ``satisfaction_positive``: clients assessed for satisfaction in the period who report
  positive satisfaction;
- ``complete_demographics`` and ``valid_slk``: identified clients with complete demographic
  data, with a valid key.

A measure is met when numerator >= share x denominator. Periods overlapping the transition
period are reported with their figures but have status ``not assessed (transition)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.schemes.dex import score
from toolkit.schemes.dex.config import MEASURES, DexConfig, Period
from toolkit.schemes.dex.tables import DexData
from toolkit.schemes.shrinkage import fit_prior, mixture_posterior

PROVIDER = score.PROVIDER


def reporting_periods(data: DexData, config: DexConfig) -> list[Period]:
    dates = pd.concat([data.attendance["session_date"], data.assessments["assessment_date"]])
    if dates.empty:
        return []
    return config.periods(dates.min(), dates.max())


def _count(df: pd.DataFrame, flag: str | None = None, name: str = "n") -> pd.Series:
    if df.empty:
        return pd.Series(dtype="int64", name=name)
    d = df if flag is None else df.loc[df[flag].astype(bool).to_numpy()]
    return d.groupby(PROVIDER).size().rename(name)


def period_counts(data: DexData, period: Period, config: DexConfig) -> pd.DataFrame:
    """Numerator and denominator of every measure for every provider with identified clients in ``period``."""
    att = data.attendance.loc[score.in_period(data.attendance["session_date"], period)]
    ident = (
        att[PROVIDER + ["client_id"]]
        .drop_duplicates()
        .merge(data.clients[["client_id", "slk_valid", "demographics_complete"]], on="client_id", how="left")
    )
    a = data.assessments
    order, rules = config.score.order_by, config.score
    outcomes = score.client_outcomes(a, period, rules.change_rule, order)
    sat = score.client_satisfaction(a, period, rules.satisfaction, order)
    n_ident = _count(ident)
    rows: dict[str, tuple[pd.Series, pd.Series]] = {}
    for t in ("circumstances", "goals", "satisfaction"):
        assessed = score.assessed_in(a, period, (t,), PROVIDER + ["client_id"])
        assessed = assessed.merge(ident[PROVIDER + ["client_id"]], on=PROVIDER + ["client_id"], how="inner")
        rows[f"assessed_{t}"] = (_count(assessed), n_ident)
    for t in ("circumstances", "goals"):
        o = outcomes.loc[(outcomes["score_type"] == t).to_numpy()]
        rows[f"{t}_positive_or_neutral"] = (_count(o, "positive_or_neutral"), _count(o))
    rows["satisfaction_positive"] = (_count(sat, "positive"), _count(sat))
    rows["complete_demographics"] = (_count(ident, "demographics_complete"), n_ident)
    rows["valid_slk"] = (_count(ident, "slk_valid"), n_ident)
    units = n_ident.index
    frames = []
    for m in MEASURES:
        num, den = rows[m]
        frames.append(
            pd.DataFrame(
                {
                    "measure": m,
                    "numerator": num.reindex(units, fill_value=0).to_numpy(),
                    "denominator": den.reindex(units, fill_value=0).to_numpy(),
                },
                index=units,
            )
        )
    out = (
        pd.concat(frames).reset_index()
        if frames and len(units)
        else pd.DataFrame(columns=PROVIDER + ["measure", "numerator", "denominator"])
    )
    out.insert(0, "period", period.label)
    return out


def compliance_table(data: DexData, config: DexConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The long compliance table (one row per period, provider and measure) and the fitted priors.

    Columns: period, period_start, period_end, transition, organisation_id, activity_id, measure,
    kind, target, numerator, denominator, share, met, status, prior_mean, posterior_mean,
    lower, upper, p_target_met, verdict.
    """
    periods = reporting_periods(data, config)
    parts = [period_counts(data, p, config) for p in periods]
    tab = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["period"] + PROVIDER + ["measure", "numerator", "denominator"])
    )
    info = pd.DataFrame(
        [
            {
                "period": p.label,
                "period_start": p.start.isoformat(),
                "period_end": p.end.isoformat(),
                "transition": p.transition,
            }
            for p in periods
        ],
        columns=["period", "period_start", "period_end", "transition"],
    )
    tab = tab.merge(info, on="period", how="left")
    spec = config.measures
    tab["kind"] = tab["measure"].map({m: s.kind for m, s in spec.items()})
    tab["target"] = tab["measure"].map({m: s.share for m, s in spec.items()}).astype("float64")
    tab = tab.astype({"numerator": "int64", "denominator": "int64"})
    den = tab["denominator"].to_numpy()
    tab["share"] = np.where(den > 0, tab["numerator"] / np.maximum(den, 1), np.nan)
    met = tab["numerator"].to_numpy() >= tab["target"].to_numpy() * den - 1e-9
    tab["met"] = pd.array(np.where(den > 0, met, False), dtype="boolean")
    tab.loc[den == 0, "met"] = pd.NA
    tab["status"] = np.select(
        [den == 0, tab["transition"].to_numpy(dtype=bool), met],
        ["no denominator", "not assessed (transition)", "met"],
        "not met",
    )
    tab, priors = add_intervals(tab, config)
    cols = [
        "period",
        "period_start",
        "period_end",
        "transition",
        *PROVIDER,
        "measure",
        "kind",
        "target",
        "numerator",
        "denominator",
        "share",
        "met",
        "status",
        "prior_mean",
        "posterior_mean",
        "lower",
        "upper",
        "p_target_met",
        "verdict",
    ]
    order = {m: i for i, m in enumerate(MEASURES)}
    tab = tab.assign(_m=tab["measure"].map(order)).sort_values(["period", *PROVIDER, "_m"], kind="mergesort")
    return tab[cols].reset_index(drop=True), priors


def add_intervals(tab: pd.DataFrame, config: DexConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per measure and period: fit the prior across providers, add posterior mean, interval, P(target met), verdict.

    Returns the table and the priors (one row per period and measure).
    """
    b = config.bayes
    tab = tab.copy()
    for c in ("prior_mean", "posterior_mean", "lower", "upper", "p_target_met"):
        tab[c] = np.nan
    tab["verdict"] = "no denominator"
    priors = []
    for (period, measure), idx in tab.groupby(["period", "measure"], sort=True).groups.items():
        sub = tab.loc[idx]
        x, n = sub["numerator"].to_numpy(), sub["denominator"].to_numpy()
        prior = fit_prior(
            x,
            n,
            method=b.method,
            min_groups=b.min_providers,
            fallback=b.fallback_prior,
            concentration_range=b.concentration_range,
        )
        target = float(sub["target"].iloc[0])
        post = mixture_posterior(x, n, prior, level=b.interval, target=target)
        has = n > 0
        for c in ("posterior_mean", "lower", "upper", "p_target_met"):
            tab.loc[idx[has], c] = post[c].to_numpy()[has]
        tab.loc[idx[has], "prior_mean"] = prior.mean
        p = post["p_target_met"].to_numpy()
        verdict = np.select(
            [p < b.clearly_short_below, p > b.clearly_met_above], ["clearly short", "clearly met"], "uncertain"
        )
        tab.loc[idx[has], "verdict"] = verdict[has]
        priors.append(
            {
                "period": period,
                "measure": measure,
                "method": prior.method,
                "providers": prior.n_groups,
                "prior_mean": prior.mean,
                "concentration": prior.concentration,
            }
        )
    return tab, pd.DataFrame(
        priors, columns=["period", "measure", "method", "providers", "prior_mean", "concentration"]
    )


def provider_periods(data: DexData, config: DexConfig) -> pd.DataFrame:
    """Activity per provider and period: identified and unidentified clients, cases, sessions, community SCORE."""
    rows = []
    sessions = data.tables["sessions"].merge(
        data.tables["cases"].merge(data.tables["outlets"][["outlet_id", "organisation_id"]], on="outlet_id")[
            ["case_id", "organisation_id", "activity_id"]
        ],
        on="case_id",
    )
    for p in reporting_periods(data, config):
        s = sessions.loc[score.in_period(sessions["session_date"], p)]
        att = data.attendance.loc[score.in_period(data.attendance["session_date"], p)]
        g = s.groupby(PROVIDER)
        tab = pd.DataFrame(
            {
                "sessions": g.size(),
                "cases": g["case_id"].nunique(),
                "unidentified_session_attendances": g["unidentified_clients"].sum(),
            }
        )
        tab["identified_clients"] = att.groupby(PROVIDER)["client_id"].nunique()
        comm = score.community_outcomes(data.assessments, p, config.score.change_rule, config.score.order_by)
        tab["community_complete"] = _count(comm)
        tab["community_positive_or_neutral"] = _count(comm, "positive_or_neutral")
        tab = tab.fillna(0).astype("int64").reset_index()
        tab.insert(0, "period", p.label)
        rows.append(tab)
    cols = [
        "period",
        *PROVIDER,
        "identified_clients",
        "unidentified_session_attendances",
        "cases",
        "sessions",
        "community_complete",
        "community_positive_or_neutral",
    ]
    return pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)


def slk_summary(data: DexData) -> pd.DataFrame:
    """Per organisation (and ``ALL``): client records, valid keys, invalid keys by reason, keys shared within
    the organisation; for ``ALL`` also distinct people across organisations and keys held at several."""
    c = data.clients
    reasons = sorted(set(c["slk_invalid_reason"].dropna()))

    def summarise(d: pd.DataFrame, org: str) -> dict:
        row = {
            "organisation_id": org,
            "client_records": len(d),
            "valid_keys": int(d["slk_valid"].sum()),
            "shared_key_records": int(d["slk_shared_in_organisation"].sum()),
        }
        row.update({f"invalid_{r}": int((d["slk_invalid_reason"] == r).sum()) for r in reasons})
        return row

    rows = [summarise(d, org) for org, d in c.groupby("organisation_id", sort=True)]
    total = summarise(c, "ALL")
    linked = c.loc[c["link_key"].notna()]
    orgs_per_key = linked.groupby("link_key")["organisation_id"].nunique()
    total["distinct_people"] = int(linked["link_key"].nunique() + (c["link_key"].isna()).sum())
    total["keys_at_several_organisations"] = int((orgs_per_key > 1).sum())
    rows.append(total)
    return pd.DataFrame(rows)
