"""The release report: a Markdown page a reviewer reads beside the ratings."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def _md_table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def star_distribution(ratings: pd.DataFrame) -> pd.DataFrame:
    """Entities per program, level and published status/stars."""
    r = ratings.copy()
    r["stars"] = ["-" if pd.isna(v) else str(int(v)) for v in r["stars"]]
    tab = r.pivot_table(index=["program", "level"], columns="stars", values="entity_id", aggfunc="count", fill_value=0)
    tab.columns = [("no stars" if c == "-" else f"{c} star" + ("" if c == "1" else "s")) for c in tab.columns]
    status = r.pivot_table(index=["program", "level"], columns="status", values="entity_id", aggfunc="count", fill_value=0)
    return tab.join(status).reset_index()


def write_report(folder: Path, config, ratings: pd.DataFrame, metrics: pd.DataFrame, exclusions: pd.DataFrame,
                 failed: list[str], run_id: str, uri: str) -> Path:
    lines = [f"# Release {config.name}", "", config.description, "",
             f"- MLflow run: `{run_id}` in `{uri}`",
             f"- assessment window: {config.window.start} to {config.window.end}",
             f"- method: `{config.method}`; models: `{config.models}`; variant: `{config.variant}`; seed {config.seed}",
             f"- status: **{'FAILED' if failed else 'passed'}**", ""]
    if failed:
        lines += ["## Failed checks", ""] + [f"- {f}" for f in failed] + [""]
    lines += ["## Ratings", "", _md_table(star_distribution(ratings)), ""]
    nat = ratings[(ratings["level"] == "contract")].groupby("program")["national_average"].first().reset_index()
    lines += ["National average performance score (contract level):", "", _md_table(nat), ""]
    cols = ["model", "terms", "n", "events", "auc", "brier", "calibration_slope", "deviance_explained", "n_params", "seconds"]
    shown = metrics[cols].astype({"n": int, "events": int, "n_params": int})
    lines += ["## Models", "", _md_table(shown), "",
              "Calibration and funnel plots: `plots/`. Coefficients, knots and levels: `models/<program>_<measure>/`.", ""]
    lines += ["## Exclusions", ""]
    if exclusions.empty:
        lines += ["No record was excluded.", ""]
    else:
        ex = exclusions.groupby("reason").size().rename("records").reset_index()
        lines += [_md_table(ex), "", "Every excluded record is listed in `exclusions.csv` (kept out of MLflow).", ""]
    path = folder / "report.md"
    path.write_text("\n".join(lines))
    return path
