"""Roll-ups of KPI results by tier and domain, and runs of consecutive quarters at level 3.

Pure functions over the result table of :func:`toolkit.schemes.dcp.assess.assess`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.schemes.dcp.assess import kpi_sort_key
from toolkit.schemes.dcp.config import Escalation, quarter_index

ROLLUP_COLUMNS = [
    "provider_id",
    "quarter",
    "tier",
    "domain",
    "expected",
    "assessed",
    "level_1",
    "level_2",
    "level_3",
    "not_submitted",
    "no_cases",
    "target_met",
    "target_assessed",
    "worst_level",
    "share_level_1",
]


def rollup(results: pd.DataFrame) -> pd.DataFrame:
    """Per provider, quarter, tier and domain (and ``domain = "all"`` per tier): counts of levels and statuses.

    ``assessed`` counts rows with a level (Tier 1, including level 3 from a missing
    administration submission) or a reported value (Tier 2); ``not_submitted`` counts
    ``not_submitted`` and ``invalid`` rows; ``share_level_1`` is level 1 over rows with a level.
    """
    lvl = results["level"]
    r = results.assign(
        _lvl=lvl.astype("float64"),
        _l1=lvl.eq(1).fillna(False).astype(int),
        _l2=lvl.eq(2).fillna(False).astype(int),
        _l3=lvl.eq(3).fillna(False).astype(int),
        _assessed=results["level"].notna() | (results["status"] == "reported"),
        _missing=results["status"].isin(["not_submitted", "invalid"]),
        _nocases=results["status"] == "no_cases",
        _met=results["target_met"].fillna(False).astype(bool),
        _tgt=results["target_met"].notna(),
    )
    parts = []
    for all_domains in (False, True):
        g = r.assign(domain="all") if all_domains else r
        agg = (
            g.groupby(["provider_id", "quarter", "tier", "domain"], sort=True)
            .agg(
                expected=("kpi_id", "size"),
                assessed=("_assessed", "sum"),
                level_1=("_l1", "sum"),
                level_2=("_l2", "sum"),
                level_3=("_l3", "sum"),
                not_submitted=("_missing", "sum"),
                no_cases=("_nocases", "sum"),
                target_met=("_met", "sum"),
                target_assessed=("_tgt", "sum"),
                worst_level=("_lvl", "max"),
            )
            .reset_index()
        )
        parts.append(agg)
    out = pd.concat(parts, ignore_index=True)
    levelled = out["level_1"] + out["level_2"] + out["level_3"]
    out["share_level_1"] = np.where(levelled > 0, out["level_1"] / levelled.where(levelled > 0, 1), np.nan)
    out["worst_level"] = out["worst_level"].round().astype("Int64")
    for c in (
        "expected",
        "assessed",
        "level_1",
        "level_2",
        "level_3",
        "not_submitted",
        "no_cases",
        "target_met",
        "target_assessed",
    ):
        out[c] = out[c].astype("int64")
    out["_d"] = (out["domain"] == "all").astype(int)
    out = out.sort_values(["provider_id", "quarter", "tier", "_d", "domain"]).drop(columns="_d")
    return out[ROLLUP_COLUMNS].reset_index(drop=True)


def level3_runs(results: pd.DataFrame, escalation: Escalation) -> tuple[pd.DataFrame, pd.Series]:
    """Runs of consecutive quarters at level 3 per provider, service type and Tier 1 KPI.

    A quarter at level 3 extends the run; a quarter at level 1 or 2, or with no cases, ends it.
    A ``not_submitted``/``invalid`` quarter without a level (KPIs whose missing policy is not
    level 3) follows ``escalation.not_submitted``: ``break`` ends the run, ``bridge`` neither
    ends nor extends it, ``count`` extends it. Quarters missing from the table (outside the
    agreement) end a run; a run still open at its KPI's last row is ``ongoing``. A run
    escalates once it holds ``consecutive_level_3`` quarters.

    Returns the runs table and, aligned with ``results``, the running count of consecutive
    level-3 quarters at each row (0 where the row is not at level 3).
    """
    t1 = results[results["tier"] == 1]
    running = pd.Series(0, index=results.index, dtype="int64")
    runs = []
    for key, g in t1.groupby(["provider_id", "service_type", "kpi_id", "stream"], sort=True):
        g = g.sort_values("quarter")
        count, start, end, prev_q = 0, None, None, None
        for idx, quarter, lvl, status in zip(g.index, g["quarter"], g["level"], g["status"], strict=True):
            qi = quarter_index(quarter)
            if prev_q is not None and qi != prev_q + 1 and count:
                runs.append((*key, start, end, count, False))
                count, start = 0, None
            prev_q = qi
            missing = pd.isna(lvl) and status in ("not_submitted", "invalid")
            if (not pd.isna(lvl) and lvl == 3) or (missing and escalation.not_submitted == "count"):
                count += 1
                start = start or quarter
                end = quarter
                running[idx] = count
            elif missing and escalation.not_submitted == "bridge":
                continue
            elif count:
                runs.append((*key, start, end, count, False))
                count, start = 0, None
        if count:
            runs.append((*key, start, end, count, True))
    cols = ["provider_id", "service_type", "kpi_id", "stream", "first_quarter", "last_quarter", "quarters", "ongoing"]
    out = pd.DataFrame(runs, columns=cols)
    out.insert(len(cols) - 1, "escalated", out["quarters"] >= escalation.consecutive_level_3)
    out = out.sort_values(
        ["provider_id", "service_type", "kpi_id", "stream", "first_quarter"],
        key=lambda s: s.map(kpi_sort_key) if s.name == "kpi_id" else s,
    )
    return out.reset_index(drop=True), running
