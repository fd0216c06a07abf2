"""Per provider, service type, KPI and quarter: value, level, target met, and the band that fired.

The rows are the *expected* submissions: every KPI that applies to a provider's contracted
service type (and its condition), every quarter of the agreement inside the assessment periods
(annual KPIs in their due quarter only). Each expected row gets a status:

``assessed``        Tier 1 with a value: level from the bands of the service type's variant;
``reported``        Tier 2 with a value (not levelled);
``no_cases``        a percentage with no eligible cases (0 / 0): no value, no level;
``not_submitted``   nothing usable was submitted; the catalogue's ``missing`` policy gives level 3
                    for the administration KPIs (``level_source = missing_policy``), else no level.
``invalid``         like ``not_submitted``, but a submission was excluded (see the exclusions).

Pure functions of tables: no I/O, deterministic row order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from toolkit.schemes.dcp.bands import Interval, classify, exact
from toolkit.schemes.dcp.catalogue import KPI, Catalogue
from toolkit.schemes.dcp.config import DcpReportConfig, quarter_index, quarter_label
from toolkit.schemes.dcp.submissions import CheckedSubmissions, applies, due

if TYPE_CHECKING:
    from fractions import Fraction

    from pandas.api.typing import NAType

KEY = ["provider_id", "service_type", "kpi_id", "stream", "quarter"]

RESULT_COLUMNS = KEY + [
    "tier",
    "domain",
    "area",
    "value_type",
    "numerator",
    "denominator",
    "answer",
    "value",
    "status",
    "level",
    "level_source",
    "target",
    "target_met",
    "variant",
    "band",
    "band_seed_text",
    "band_reading",
]


def expected_submissions(services: pd.DataFrame, catalogue: Catalogue, config: DcpReportConfig) -> pd.DataFrame:
    """One row per expected submission (provider, service type, KPI entry, quarter)."""
    first, last = quarter_index(config.periods.first), quarter_index(config.periods.last)
    rows = []
    for ag in services.itertuples(index=False):
        a0 = max(first, quarter_index(ag.first_quarter))
        lq = ag.last_quarter
        a1 = min(last, quarter_index(lq)) if isinstance(lq, str) else last
        flags = ag._asdict()
        for kpi in catalogue.kpis:
            if not applies(kpi, ag.service_type, flags):
                continue
            for qi in range(a0, a1 + 1):
                q = quarter_label(qi)
                if due(kpi, q, config):
                    rows.append((ag.provider_id, ag.service_type, kpi.id, kpi.stream, q))
    return pd.DataFrame(rows, columns=KEY)


def _target_met(kpi: KPI, value: Fraction | None) -> bool | NAType:
    t = kpi.target
    if t.value is None or t.comparison is None or value is None:
        return pd.NA
    tv = exact(t.value)
    return bool(value >= tv if t.comparison == ">=" else value <= tv if t.comparison == "<=" else value == tv)


def _band_fields(catalogue: Catalogue, kpi: KPI, service_type: str, value: Fraction) -> dict[str, object]:
    variant = kpi.variant_for(service_type)
    if variant is None:  # impossible for a validated catalogue: a Tier 1 KPI's variants cover its service types
        raise AssertionError(f"KPI {kpi.id}: no variant for service type {service_type} in a validated catalogue")
    bands = [b.interval() for b in variant.bands]
    idx = classify(value, bands)
    if idx is None:  # impossible for a validated catalogue and a value in range
        raise AssertionError(f"KPI {kpi.id}: value outside every band of a validated catalogue")
    b = variant.bands[idx]
    fmt = catalogue.value_format(kpi.value_type)
    return {
        "level": b.level,
        "level_source": "band",
        "variant": variant.name,
        "band": bands[idx].text(fmt),
        "band_seed_text": b.seed_text,
        "band_reading": b.reading,
    }


def assess(expected: pd.DataFrame, checked: CheckedSubmissions, catalogue: Catalogue) -> pd.DataFrame:
    """The result table (:data:`RESULT_COLUMNS`), sorted by provider, service type, KPI, quarter."""
    entries = {k.key: k for k in catalogue.kpis}
    u = checked.used
    used = {tuple(k): i for i, k in enumerate(u[KEY].itertuples(index=False, name=None))}
    cols = {c: u[c].tolist() for c in ("numerator", "denominator", "answer", "value_exact")}
    excluded_keys = set()
    for r in checked.exclusions.itertuples(index=False):
        excluded_keys.add((r.provider_id, r.service_type, r.kpi_id, r.quarter))
    out = []
    for r in expected.itertuples(index=False):
        kpi = entries[(r.kpi_id, r.stream)]
        key = (r.provider_id, r.service_type, r.kpi_id, r.stream, r.quarter)
        row = dict(zip(KEY, key, strict=True))
        row.update(
            tier=kpi.tier,
            domain=kpi.domain,
            area=kpi.area,
            value_type=kpi.value_type,
            target=kpi.target.text,
            level=pd.NA,
            level_source="",
            variant="",
            band="",
            band_seed_text="",
            band_reading="",
            value=None,
            target_met=pd.NA,
            numerator=None,
            denominator=None,
            answer=None,
        )
        if key in used:
            i = used[key]
            row.update(numerator=cols["numerator"][i], denominator=cols["denominator"][i], answer=cols["answer"][i])
            value = cols["value_exact"][i]
            if value is None:
                row["status"] = "no_cases"
            else:
                row["value"] = float(value)
                row["target_met"] = _target_met(kpi, value)
                if kpi.tier == 1:
                    row["status"] = "assessed"
                    row.update(_band_fields(catalogue, kpi, r.service_type, value))
                else:
                    row["status"] = "reported"
        else:
            row["status"] = (
                "invalid" if (r.provider_id, r.service_type, r.kpi_id, r.quarter) in excluded_keys else "not_submitted"
            )
            if kpi.tier == 1 and kpi.missing == "level_3":
                row.update(
                    level=3,
                    level_source="missing_policy",
                    target_met=False,
                    band="missing submission",
                    band_reading="catalogue: missing submissions are level 3",
                )
        out.append(row)
    res = pd.DataFrame(out, columns=RESULT_COLUMNS)
    res["level"] = res["level"].astype("Int64")
    res["target_met"] = res["target_met"].astype("boolean")
    res["value"] = res["value"].astype("float64")
    for c in ("numerator", "denominator"):
        res[c] = pd.to_numeric(res[c], errors="coerce").astype("float64")
    res["_k"] = res["kpi_id"].map(kpi_sort_key)
    res = res.sort_values(["provider_id", "service_type", "_k", "stream", "quarter"]).drop(columns="_k")
    return res.reset_index(drop=True)


def kpi_sort_key(kid: str) -> tuple[int, int]:
    return (1, int(kid[2:])) if kid.startswith("2-") else (0, int(kid))


def band_interval(kpi: KPI, service_type: str, level: int) -> Interval | None:
    """The band of ``level`` for a service type (None when the level has no band)."""
    v = kpi.variant_for(service_type)
    for b in v.bands if v else ():
        if b.level == level:
            return b.interval()
    return None
