"""The partnership-approach report: an index page, one HTML page per organisation, a Markdown summary.

Every figure is an aggregate of an organisation's program activity in a period; no client
row, id or name appears. Pages are self-contained HTML (inline SVG charts, no scripts).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import pandas as pd

from toolkit.schemes.dex.config import MEASURES, DexConfig
from toolkit.schemes.dex.figures import LEGEND, trend_svg

CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:0.6em 0 1.2em}th,td{border:1px solid #ccc;padding:3px 7px;font-size:13px}
th{background:#f3f3f3}td.num{text-align:right}.short{color:#c62828;font-weight:bold}.met{color:#1a7f37}
.charts{display:flex;flex-wrap:wrap;gap:6px}.note{color:#555;font-size:13px}"""


def _pct(v: float | None) -> str:
    return "" if v is None or pd.isna(v) else f"{100 * float(v):.1f}%"


def _page(title: str, body: list[str]) -> str:
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{CSS}</style></head><body>" + "\n".join(body) + "</body></html>\n"
    )


def _html_table(df: pd.DataFrame, classes: dict[str, pd.Series] | None = None) -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in df.columns)
    rows = []
    for i, r in enumerate(df.itertuples(index=False)):
        cells = []
        for c, v in zip(df.columns, r, strict=True):
            cls = ""
            if classes and c in classes:
                cls = f" class='{classes[c].iloc[i]}'"
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                cls = " class='num'"
            cells.append(
                f"<td{cls}>{escape('' if v is None or (isinstance(v, float) and pd.isna(v)) else str(v))}</td>"
            )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


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


def _verdict_classes(rows: pd.DataFrame) -> dict[str, pd.Series]:
    v = rows["verdict"].reset_index(drop=True)
    s = rows["status"].reset_index(drop=True)
    return {
        "verdict": v.map({"clearly short": "short", "clearly met": "met"}).fillna(""),
        "status": s.map({"not met": "short", "met": "met"}).fillna(""),
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
    body = [
        f"<h1>{escape(str(org['organisation_name']))} ({escape(oid)})</h1>",
        f"<p class='note'>{escape(run_note)}</p>",
    ]
    for act, rows in comp.groupby("activity_id", sort=True):
        body.append(f"<h2>{escape(names.get(act, act))} ({escape(act)})</h2>")
        latest = latest_assessed_period(rows)
        last = rows.loc[rows["period"] == latest].reset_index(drop=True)
        body.append(f"<h3>Period {escape(str(latest))}</h3>")
        body.append(_html_table(display_table(last, config), _verdict_classes(last)))
        charts = []
        for m in MEASURES:
            mrows = rows.loc[rows["measure"] == m].sort_values("period")
            charts.append(trend_svg(mrows, config.measures[m].label or m, config.measures[m].share))
        body += [
            "<h3>Trend over periods</h3>",
            f"<div class='charts'>{''.join(charts)}</div>",
            f"<p class='note'>{escape(LEGEND)}</p>",
        ]
        act_rows = activity.loc[(activity["organisation_id"] == oid) & (activity["activity_id"] == act)]
        if not act_rows.empty:
            body += ["<h3>Activity</h3>", _html_table(act_rows.drop(columns=["organisation_id", "activity_id"]))]
    return _page(f"{org['organisation_name']}: DEX partnership approach", body)


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
            f"<li><a href='providers/{escape(p.name)}'>{escape(str(org['organisation_name']))}</a> "
            f"({escape(org['organisation_id'])}): {n_not} not met, {n_short} clearly short in its latest period</li>"
        )
    ov = overview(compliance)
    body = [
        f"<h1>DEX partnership approach: {escape(config.name)}</h1>",
        f"<p class='note'>{escape(run_note)}</p>",
        "<h2>Providers by period and measure</h2>",
        _html_table(ov),
        "<h2>Priors learned across providers</h2>",
        _html_table(priors.round(4)),
        "<h2>Statistical linkage keys</h2>",
        _html_table(slk.loc[slk["organisation_id"] == "ALL"]),
        "<h2>Records read, used and excluded</h2>",
        _html_table(accounting),
        "<h2>Organisations</h2>",
        "<ul>" + "".join(links) + "</ul>",
    ]
    index = folder / "report.html"
    index.write_text(_page(f"DEX partnership approach: {config.name}", body), encoding="utf-8")
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
