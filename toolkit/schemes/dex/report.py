"""The partnership-approach report: an index page, one HTML page per organisation, a Markdown summary.

Every figure is an aggregate of an organisation's program activity in a period; no client
row, id or name appears. Pages are self-contained HTML written from the templates ``dex_report.html.j2`` and
``dex_provider.html.j2`` (inline SVG charts, no scripts, no network request).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from toolkit.html import render
from toolkit.html.frames import frame_table
from toolkit.schemes.dex.config import MEASURES, DexConfig
from toolkit.schemes.dex.figures import LEGEND, trend_chart


def _pct(v: float | None) -> str:
    return "" if v is None or pd.isna(v) else f"{100 * float(v):.1f}%"


def display_table(rows: pd.DataFrame, config: DexConfig) -> pd.DataFrame:
    """The reviewer's columns of compliance rows, formatted."""
    level = round(config.bayes.interval * 100)
    return pd.DataFrame(
        {
            "measure": [config.measures[m].label or m for m in rows["measure"]],
            "kind": rows["kind"].to_numpy(),
            "target": [_pct(v) for v in rows["target"]],
            "clients": [f"{a} / {b}" for a, b in zip(rows["numerator"], rows["denominator"], strict=True)],
            "share": [_pct(v) for v in rows["share"]],
            f"{level}% interval": [
                "" if pd.isna(lo) else f"{_pct(lo)} - {_pct(hi)}"
                for lo, hi in zip(rows["lower"], rows["upper"], strict=True)
            ],
            "P(target met)": ["" if pd.isna(p) else f"{p:.2f}" for p in rows["p_target_met"]],
            "verdict": rows["verdict"].to_numpy(),
            "status": rows["status"].to_numpy(),
        }
    )


def _verdict_classes(rows: pd.DataFrame) -> dict[str, list[str]]:
    v = rows["verdict"].reset_index(drop=True)
    s = rows["status"].reset_index(drop=True)
    return {
        "verdict": v.map({"clearly short": "short", "clearly met": "met"}).fillna("").tolist(),
        "status": s.map({"not met": "short", "met": "met"}).fillna("").tolist(),
    }


def latest_assessed_period(compliance: pd.DataFrame) -> str | None:
    assessed = compliance.loc[~compliance["transition"].astype(bool), "period"]
    if not assessed.empty:
        return str(assessed.max())
    return None if compliance.empty else str(compliance["period"].max())


def provider_page(
    org: pd.Series, comp: pd.DataFrame, activity: pd.DataFrame, names: dict[str, str], config: DexConfig, run_note: str
) -> str:
    """One organisation's page: per program activity, the latest period's table and the trend charts."""
    oid = org["organisation_id"]
    sections = []
    for act, rows in comp.groupby("activity_id", sort=True):
        latest = latest_assessed_period(rows)
        last = rows.loc[rows["period"] == latest].reset_index(drop=True)
        charts = []
        for m in MEASURES:
            mrows = rows.loc[rows["measure"] == m].sort_values("period")
            charts.append(trend_chart(mrows, config.measures[m].label or m, config.measures[m].share))
        act_rows = activity.loc[(activity["organisation_id"] == oid) & (activity["activity_id"] == act)]
        sections.append(
            {
                "name": names.get(str(act), str(act)),
                "id": str(act),
                "period": str(latest),
                "table": frame_table(display_table(last, config), _verdict_classes(last)),
                "charts": charts,
                "activity": None
                if act_rows.empty
                else frame_table(act_rows.drop(columns=["organisation_id", "activity_id"])),
            }
        )
    return render(
        "dex_provider.html.j2",
        title=f"{org['organisation_name']} ({oid}): DEX partnership approach",
        run_note=run_note,
        activities=sections,
        legend=LEGEND,
    )


def overview(compliance: pd.DataFrame) -> pd.DataFrame:
    """Providers per period and measure by status and verdict."""
    if compliance.empty:
        return pd.DataFrame()
    st = compliance.pivot_table(
        index=["period", "measure"], columns="status", values="denominator", aggfunc="size", fill_value=0
    )
    vd = compliance.pivot_table(
        index=["period", "measure"], columns="verdict", values="denominator", aggfunc="size", fill_value=0
    )
    vd = vd.drop(columns=[c for c in ("no denominator",) if c in vd.columns])
    out = st.join(vd).reset_index()
    out.columns.name = None
    order = {m: i for i, m in enumerate(MEASURES)}
    return out.assign(_m=out["measure"].map(order)).sort_values(["period", "_m"]).drop(columns="_m")


def write_report(
    folder: Path,
    config: DexConfig,
    compliance: pd.DataFrame,
    priors: pd.DataFrame,
    activity: pd.DataFrame,
    slk: pd.DataFrame,
    accounting: pd.DataFrame,
    organisations: pd.DataFrame,
    activities: pd.DataFrame,
    run_note: str,
) -> list[Path]:
    """Write ``report.html``, ``providers/<organisation_id>.html`` and ``report.md``; return the paths."""
    names = dict(zip(activities["activity_id"], activities["activity_name"], strict=True))
    pdir = folder / "providers"
    pdir.mkdir(exist_ok=True)
    written = []
    links = []
    for _, org in organisations.sort_values("organisation_id").iterrows():
        comp = compliance.loc[compliance["organisation_id"] == org["organisation_id"]]
        if comp.empty:
            continue
        p = pdir / f"{org['organisation_id']}.html"
        p.write_text(provider_page(org, comp, activity, names, config, run_note), encoding="utf-8")
        written.append(p)
        latest = comp.loc[comp["period"] == latest_assessed_period(comp)]
        n_short = int((latest["verdict"] == "clearly short").sum())
        n_not = int((latest["status"] == "not met").sum())
        links.append(
            {
                "href": f"providers/{p.name}",
                "name": str(org["organisation_name"]),
                "id": str(org["organisation_id"]),
                "not_met": n_not,
                "short": n_short,
            }
        )
    ov = overview(compliance)
    page = render(
        "dex_report.html.j2",
        title=f"DEX partnership approach: {config.name}",
        run_note=run_note,
        overview=frame_table(ov),
        priors=frame_table(priors.round(4)),
        slk=frame_table(slk.loc[slk["organisation_id"] == "ALL"]),
        accounting=frame_table(accounting),
        organisations=links,
    )
    index = folder / "report.html"
    index.write_text(page, encoding="utf-8")
    md = folder / "report.md"
    md.write_text(markdown_summary(config, compliance, ov, run_note), encoding="utf-8")
    return [index, md, *written]


def markdown_summary(config: DexConfig, compliance: pd.DataFrame, ov: pd.DataFrame, run_note: str) -> str:
    latest = latest_assessed_period(compliance)
    lines = [
        f"# DEX partnership approach: {config.name}",
        "",
        run_note,
        "",
        f"Latest assessed period: {latest}. Providers by status and verdict:",
        "",
    ]
    if not ov.empty:
        sub = ov.loc[ov["period"] == latest]
        lines += ["| " + " | ".join(sub.columns) + " |", "|" + "---|" * len(sub.columns)]
        lines += ["| " + " | ".join(str(v) for v in r) + " |" for r in sub.itertuples(index=False)]
    lines += ["", "Per organisation: `providers/<organisation_id>.html`; every row: `compliance.csv`.", ""]
    return "\n".join(lines)
