"""The results-based accountability scorecard as count cells with their additive relations.

Per service, provider (sum of its services), offering (sum of its services) and nationally, per
financial year and for the whole window ("all"):

- *How much*: ``clients`` (distinct people with an enrolment open in the period; at provider,
  offering and national level the sum over services, i.e. client-services: a distinct count per
  provider would differ from that sum by the number of people in two of its services, a small
  count a reader could compute, so it is not published), ``starts``, ``sessions``, ``attended``;
- *How well*: ``ended``, ``completed``, ``timely`` (of ``starts``);
- *Is anyone better off*: per dimension and for ``any`` dimension, ``assessed_<d>`` (ended in
  the period, scored pre and post) and ``improved_<d>``.

Each count is a cell ``(measure, level, unit, period)``. Complements a reader can compute
(``late = starts - timely``, ``missed``, ``not_completed``, ``not_improved_<d>``) are cells too,
unpublished, so that suppression protects them. Relations: a period total is the sum of its
years (not for ``clients``: a person can be open in two years), a provider and an offering the
sum of their services, the nation the sum of the offerings and the sum of the providers, and each
count the sum of its parts. Services are the cells of a provider x offering table, so the
complementary suppression of :func:`toolkit.privacy.protect` sees both margins at once: a small
service count cannot be recovered from its provider's total nor from its offering's. Pure
functions, deterministic order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.privacy import Relation
from toolkit.schemes.clientlevel.config import ClientLevelConfig
from toolkit.schemes.clientlevel.features import active_in

ALL = "all"
#: count -> (part shown, part implied) of each partition
PARTS = {"starts": ("timely", "late"), "sessions": ("attended", "missed"), "ended": ("completed", "not_completed")}
#: rate -> (numerator, denominator)
RATES = {
    "timeliness_rate": ("timely", "starts"),
    "attendance_rate": ("attended", "sessions"),
    "completion_rate": ("completed", "ended"),
}


def result_dims(config: ClientLevelConfig) -> list[str]:
    return [*config.dimensions, "any"]


def published_measures(config: ClientLevelConfig) -> list[str]:
    out = ["clients", "starts", "timely", "sessions", "attended", "ended", "completed"]
    for d in result_dims(config):
        out += [f"assessed_{d}", f"improved_{d}"]
    return out


def rates(config: ClientLevelConfig) -> dict[str, tuple[str, str]]:
    out = dict(RATES)
    for d in result_dims(config):
        out[f"share_improved_{d}"] = (f"improved_{d}", f"assessed_{d}")
    return out


def partitions(config: ClientLevelConfig) -> dict[str, tuple[str, str]]:
    out = dict(PARTS)
    for d in result_dims(config):
        out[f"assessed_{d}"] = (f"improved_{d}", f"not_improved_{d}")
    return out


def service_counts(facts: pd.DataFrame, sessions: pd.DataFrame, config: ClientLevelConfig) -> pd.DataFrame:
    """Counts per service and period (and ``all``), every measure including the implied parts."""
    periods = [(label, a, b) for label, a, b in config.periods()] + [(ALL, config.window.start, config.window.end)]
    rows = []
    dims = result_dims(config)
    for sid, f in facts.groupby("service_id", sort=True):
        s = sessions[sessions["service_id"] == sid]
        for label, a, b in periods:
            in_start = f["start_period"].notna() if label == ALL else f["start_period"] == label
            in_end = f["end_period"].notna() if label == ALL else f["end_period"] == label
            ss = s if label == ALL else s[s["period"] == label]
            r = {
                "service_id": sid,
                "period": label,
                "clients": int(f.loc[active_in(f, a, b), "client_key"].nunique()),
                "starts": int(in_start.sum()),
                "timely": int((in_start & f["timely"]).sum()),
                "sessions": int(ss["sessions"].sum()),
                "attended": int(ss["attended"].sum()),
                "ended": int(in_end.sum()),
                "completed": int((in_end & f["completed"]).sum()),
            }
            for d in dims:
                ass = f["assessed_any"] if d == "any" else f[f"assessed_{d}"]
                imp = f["improved"] if d == "any" else f[f"improved_{d}"]
                r[f"assessed_{d}"] = int((in_end & ass).sum())
                r[f"improved_{d}"] = int((in_end & ass & imp).sum())
            for total, (shown, implied) in partitions(config).items():
                r[implied] = r[total] - r[shown]
            rows.append(r)
    return pd.DataFrame(rows)


def count_cells(
    counts: pd.DataFrame, services: pd.DataFrame, config: ClientLevelConfig
) -> tuple[pd.Series, pd.Series, list[Relation]]:
    """All cells (values, published flags, indexed by ``(measure, level, unit, period)``) and their relations."""
    offering = services.set_index("service_id")["service_offering"]
    provider = services.set_index("service_id")["provider_id"]
    measures = [c for c in counts.columns if c not in ("service_id", "period")]
    implied = {p[1] for p in partitions(config).values()}
    long = counts.melt(id_vars=["service_id", "period"], var_name="measure", value_name="value")
    long["offering"] = long["service_id"].map(offering)
    long["provider"] = long["service_id"].map(provider)
    cells: dict[tuple, int] = {}
    for r in long.itertuples(index=False):
        cells[(r.measure, "service", r.service_id, r.period)] = int(r.value)
    prov = long.groupby(["measure", "provider", "period"])["value"].sum()
    for (m, u, p), v in prov.items():
        cells[(m, "provider", u, p)] = int(v)
    off = long.groupby(["measure", "offering", "period"])["value"].sum()
    for (m, o, p), v in off.items():
        cells[(m, "offering", o, p)] = int(v)
    nat = long.groupby(["measure", "period"])["value"].sum()
    for (m, p), v in nat.items():
        cells[(m, "national", ALL, p)] = int(v)
    values = pd.Series(cells).sort_index()
    values.index = pd.MultiIndex.from_tuples(values.index, names=["measure", "level", "unit", "period"])
    published = pd.Series([m not in implied for m in values.index.get_level_values("measure")], index=values.index)
    rel: list[Relation] = []
    periods = [p for p, _, _ in config.periods()]
    by_off = {o: sorted(s.index) for o, s in offering.groupby(offering)}
    by_prov = {u: sorted(s.index) for u, s in provider.groupby(provider)}
    units = (
        [("service", s) for s in sorted(offering.index)]
        + [("provider", u) for u in sorted(by_prov)]
        + [("offering", o) for o in sorted(by_off)]
        + [("national", ALL)]
    )
    for m in measures:
        if m != "clients":
            for lvl, u in units:
                rel.append(Relation((m, lvl, u, ALL), tuple((m, lvl, u, p) for p in periods)))
        for p in periods + [ALL]:
            for o, sids in by_off.items():
                rel.append(Relation((m, "offering", o, p), tuple((m, "service", s, p) for s in sids)))
            for u, sids in by_prov.items():
                rel.append(Relation((m, "provider", u, p), tuple((m, "service", s, p) for s in sids)))
            rel.append(Relation((m, "national", ALL, p), tuple((m, "offering", o, p) for o in sorted(by_off))))
            rel.append(Relation((m, "national", ALL, p), tuple((m, "provider", u, p) for u in sorted(by_prov))))
    for total, (shown, hidden) in partitions(config).items():
        for lvl, u in units:
            for p in periods + [ALL]:
                rel.append(Relation((total, lvl, u, p), ((shown, lvl, u, p), (hidden, lvl, u, p))))
    rel = [r for r in rel if r.total in cells and all(x in cells for x in r.parts)]
    return values, published, rel


def scorecard_table(
    values: pd.Series, hidden: pd.Series, services: pd.DataFrame, config: ClientLevelConfig
) -> pd.DataFrame:
    """The published scorecard: one row per (level, unit, period), counts or the marker, rates.

    Rows in the order service, provider, offering, national; a provider row has its
    ``provider_id`` and blank ``service_id`` and ``service_offering``.

    A rate is shown only when its numerator and denominator are shown (and the denominator > 0).
    """
    marker = config.privacy.marker
    shown = values.astype("object").where(~hidden, marker)
    pub = published_measures(config)
    wide = shown.unstack("measure")[pub]
    raw = values.unstack("measure")
    hid = hidden.unstack("measure")
    for r, (n, d) in rates(config).items():
        ok = ~hid[n] & ~hid[d] & (raw[d] > 0)
        wide[r] = np.where(ok, np.round(raw[n] / raw[d].where(raw[d] > 0, 1), 4), "")
    wide = wide.reset_index()
    svc = services.set_index("service_id")
    is_svc = wide["level"] == "service"
    wide.insert(
        2,
        "provider_id",
        np.where(is_svc, wide["unit"].map(svc["provider_id"]), np.where(wide["level"] == "provider", wide["unit"], "")),
    )
    wide.insert(3, "service_id", np.where(is_svc, wide["unit"], ""))
    wide.insert(
        4,
        "service_offering",
        np.where(
            is_svc, wide["unit"].map(svc["service_offering"]), np.where(wide["level"] == "offering", wide["unit"], "")
        ),
    )
    order = {"service": 0, "provider": 1, "offering": 2, "national": 3}
    periods = {p: i for i, (p, _, _) in enumerate(config.periods())} | {ALL: 99}
    wide = wide.assign(_l=wide["level"].map(order), _p=wide["period"].map(periods))
    wide = wide.sort_values(["_l", "service_offering", "provider_id", "service_id", "_p"]).drop(
        columns=["_l", "_p", "unit"]
    )
    return wide.reset_index(drop=True)
