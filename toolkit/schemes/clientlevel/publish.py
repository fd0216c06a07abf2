"""What a client-level run publishes, with small-cell suppression applied to every table.

:func:`build_publication` turns the unsuppressed results into the published tables:

- ``scorecard.csv``: every count of :mod:`~toolkit.schemes.clientlevel.scorecard` protected by
  :func:`toolkit.privacy.protect` (primary and complementary suppression over all relations);
- ``comparison.csv``: one row per service (``level`` = service), then one per provider
  (``level`` = provider, blank ``service_id`` and ``service_offering``); n and observed are the
  scorecard's ``assessed_any`` and ``improved_any`` of that service or provider for the whole
  window, hidden exactly when the scorecard hides them (the scorecard's suppression covers the
  provider = sum of its services relations, so a hidden service count cannot be recovered from its
  provider's row either); every statistic a hidden count could be recovered from (O/E, funnel
  flag, shrunken effect and O/E, intervals) is blank then too;
- ``calibration.csv`` and ``data_quality.csv`` (the record ledger): protected the same way;
- ``manifest.json``: the disclosure rule of each CSV, read by :func:`toolkit.privacy.scan_outputs`.

Record-level tables (consenting people only) go to ``restricted/``, which is never tracked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.privacy import Protection, Relation, TableRule, protect
from toolkit.schemes.clientlevel.compare import Comparison
from toolkit.schemes.clientlevel.config import ClientLevelConfig
from toolkit.schemes.clientlevel.scorecard import (
    ALL,
    published_measures,
    rates,
    scorecard_table,
)

COMPARISON_STATS = (
    "oe",
    "funnel",
    "effect_mean",
    "effect_sd",
    "effect_lower",
    "effect_upper",
    "oe_shrunk",
    "oe_shrunk_lower",
    "oe_shrunk_upper",
)


@dataclass
class Publication:
    tables: dict[str, pd.DataFrame]  # file name -> published table
    rules: dict[str, TableRule]
    protection: Protection  # of the scorecard cells
    funnel_units: pd.DataFrame  # services whose O/E may be plotted
    funnel_providers: pd.DataFrame  # providers whose O/E may be plotted
    restricted: dict[str, pd.DataFrame]  # record level, consenting people only


def _protect_simple(
    counts: pd.DataFrame, key: str, count: str, part: str, config: ClientLevelConfig
) -> dict[tuple[str, str], bool]:
    """Protect a one-way table of ``count`` (with its part ``part`` and the implied rest) and totals."""
    cells: dict[tuple[str, str], int] = {}
    rel: list[Relation] = []
    rows = list(counts[key])
    for r in counts.itertuples(index=False):
        k = getattr(r, key)
        n, o = int(getattr(r, count)), int(getattr(r, part))
        cells |= {(count, k): n, (part, k): o, ("rest", k): n - o}
        rel.append(Relation((count, k), ((part, k), ("rest", k))))
    for m in (count, part, "rest"):
        cells[(m, ALL)] = sum(cells[(m, k)] for k in rows)
        rel.append(Relation((m, ALL), tuple((m, k) for k in rows)))
    values = pd.Series(cells)
    pub = pd.Series([c[0] != "rest" for c in values.index], index=values.index)
    p = protect(
        values,
        rel,
        config.privacy.threshold,
        published=pub,
        suppress_zero=config.privacy.suppress_zero,
        min_values=config.privacy.min_values,
    )
    return {c: bool(v) for c, v in p.suppressed.items()}


def _ledger_table(ledger: pd.DataFrame, config: ClientLevelConfig) -> pd.DataFrame:
    cells, rel = {}, []
    for t, g in ledger.groupby("table", sort=False):
        items = dict(zip(g["item"], g["rows"], strict=True))
        for i, v in items.items():
            cells[(t, i)] = int(v)
        rel.append(Relation((t, "read"), tuple((t, i) for i in items if i != "read")))
    p = protect(
        pd.Series(cells),
        rel,
        config.privacy.threshold,
        suppress_zero=config.privacy.suppress_zero,
        min_values=config.privacy.min_values,
    )
    out = ledger.copy().astype({"rows": "object"})
    out["rows"] = [
        config.privacy.marker if p.suppressed[(t, i)] else v
        for t, i, v in zip(ledger["table"], ledger["item"], ledger["rows"], strict=True)
    ]
    return out


def build_publication(
    values: pd.Series,
    published: pd.Series,
    relations: list[Relation],
    comp: Comparison,
    services: pd.DataFrame,
    ledger: pd.DataFrame,
    exclusions: pd.DataFrame,
    config: ClientLevelConfig,
) -> Publication:
    pv = config.privacy
    prot = protect(
        values, relations, pv.threshold, published=published, suppress_zero=pv.suppress_zero, min_values=pv.min_values
    )
    hidden = prot.suppressed | ~published
    scorecard = scorecard_table(values, hidden, services, config)

    # comparison: the same cells as the scorecard's whole-window "any dimension" counts
    svc_part, funnel_units = _comparison_rows(
        comp.table.assign(level="service"), "service", "service_id", values, hidden, config
    )
    prov = comp.providers.drop(columns="services").assign(level="provider", service_id="", service_offering="")
    prov_part, funnel_providers = _comparison_rows(
        prov[svc_part.columns], "provider", "provider_id", values, hidden, config
    )
    comparison = pd.concat([svc_part, prov_part], ignore_index=True)
    stats = [c for c in comparison.columns if c in COMPARISON_STATS]

    cal = comp.calibration[["group", "n", "observed", "expected", "observed_rate", "expected_rate", "oe"]].copy()
    cal = cal.astype({"n": "int64", "observed": "int64"}).round(
        {"expected": 3, "observed_rate": 4, "expected_rate": 4, "oe": 4}
    )
    cal_hidden = _protect_simple(
        cal.assign(group=cal["group"].astype(str), n=cal["n"].astype(int), observed=cal["observed"].astype(int)),
        "group",
        "n",
        "observed",
        config,
    )
    cal = cal.astype(dict.fromkeys(cal.columns, "object"))
    for i, g in enumerate(cal["group"].astype(str)):
        if cal_hidden[("n", g)]:
            cal.at[i, "n"] = pv.marker
        if cal_hidden[("observed", g)] or cal_hidden[("rest", g)]:
            cal.at[i, "observed"] = pv.marker
            cal.at[i, "observed_rate"] = cal.at[i, "oe"] = ""

    rate_map = rates(config)
    rules = {
        "scorecard.csv": TableRule(counts=tuple(published_measures(config)), rates=rate_map),
        "comparison.csv": TableRule(counts=("n", "observed"), rates=dict.fromkeys(stats, ("observed", "n"))),
        "calibration.csv": TableRule(
            counts=("n", "observed"), rates={"observed_rate": ("observed", "n"), "oe": ("observed", "n")}
        ),
        "data_quality.csv": TableRule(counts=("rows",), rates={}),
        "model/coefficients.csv": TableRule(counts=(), rates={}),
    }
    consenting = comp.frame[comp.frame["consent"]]
    restricted = {
        "client_results.csv": consenting[
            ["client_key", "provider_id", "service_id", "end_period", "improved", "expected_p"]
        ]
        .sort_values(["provider_id", "service_id", "client_key"])
        .reset_index(drop=True),
        "exclusions.csv": exclusions.loc[exclusions["consent"], ["table", "row", "reason"]].reset_index(drop=True),
    }
    return Publication(
        tables={
            "scorecard.csv": scorecard,
            "comparison.csv": comparison,
            "calibration.csv": cal,
            "data_quality.csv": _ledger_table(ledger, config),
        },
        rules=rules,
        protection=prot,
        funnel_units=funnel_units,
        funnel_providers=funnel_providers,
        restricted=restricted,
    )


def _comparison_rows(
    t: pd.DataFrame, level: str, key: str, values: pd.Series, hidden: pd.Series, config: ClientLevelConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rounded, suppressed comparison rows of one level (``level`` first), and the rows that may be plotted."""
    marker = config.privacy.marker
    t = t.copy()
    t["observed"] = t["observed"].round().astype("int64")
    t = t.round({c: 4 for c in t.columns if c.startswith(("effect_", "oe", "lower_", "upper_"))} | {"expected": 3})
    t = t[["level"] + [c for c in t.columns if c != "level"]]
    key_n = [("assessed_any", level, u, ALL) for u in t[key]]
    key_o = [("improved_any", level, u, ALL) for u in t[key]]
    if not (
        np.array_equal(values.loc[key_n].to_numpy(), t["n"].to_numpy())
        and np.array_equal(values.loc[key_o].to_numpy(), t["observed"].to_numpy())
    ):
        raise AssertionError(f"{level} comparison counts differ from the scorecard's")
    hide_n = hidden.loc[key_n].to_numpy()
    hide_o = hidden.loc[key_o].to_numpy()
    out = t.astype(dict.fromkeys(t.columns, "object"))
    out.loc[hide_n, "n"] = marker
    out.loc[hide_o, "observed"] = marker
    out.loc[hide_o | hide_n, [c for c in out.columns if c in COMPARISON_STATS]] = ""
    return out.reset_index(drop=True), t.loc[~(hide_o | hide_n)]
