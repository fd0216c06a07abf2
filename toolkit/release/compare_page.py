"""``comparison.html``: a :class:`~toolkit.release.compare.Comparison` as one self-contained page
(template ``comparison.html.j2``): the transition matrices as colour-scaled tables (a heat map), the
entities that moved with their drivers, the standardisation and coefficient changes, the inputs that
differ. Numbers and colours are computed here; every value is escaped by the template."""

from __future__ import annotations

from typing import Any

import pandas as pd

from toolkit.html import render
from toolkit.release.compare import Comparison, transition_matrix

#: The accent colour of the stylesheet (``--accent``) as RGB, the heat map's hue.
HEAT_RGB = "31, 95, 153"


def _cell(v: Any) -> Any:
    """A table cell: numpy scalars as Python numbers, missing values as None."""
    if v is None or v is pd.NA:
        return None
    if hasattr(v, "item"):
        v = v.item()
    return None if isinstance(v, float) and v != v else v


def _rows(df: pd.DataFrame) -> list[list[Any]]:
    return [[_cell(v) for v in r] for r in df.itertuples(index=False)]


def heat_maps(c: Comparison) -> list[dict[str, Any]]:
    """One heat map per program and level: ``labels`` (stars), ``rows`` of cells ``{n, alpha, dark,
    same}`` (alpha: the count over the largest count of the matrix), row and column totals."""
    maps = []
    for (prog, level), _ in c.transitions.groupby(["program", "level"], sort=True):
        mat = transition_matrix(c.transitions, str(prog), str(level))
        top = max(int(mat.to_numpy().max()), 1)
        rows = []
        for a in mat.index:
            cells = []
            for b in mat.columns:
                n = int(mat.at[a, b])
                alpha = round(0.08 + 0.92 * n / top, 3) if n else 0.0
                cells.append({"n": n, "alpha": alpha, "dark": alpha > 0.55, "same": a == b})
            rows.append({"label": str(a), "cells": cells, "total": int(mat.loc[a].sum())})
        total = int(mat.to_numpy().sum())
        same = int(sum(mat.at[s, s] for s in mat.index if s in mat.columns))
        maps.append(
            {
                "program": str(prog),
                "level": str(level),
                "labels": [str(s) for s in mat.columns],
                "rows": rows,
                "col_totals": [int(mat[b].sum()) for b in mat.columns],
                "total": total,
                "same": same,
                "rgb": HEAT_RGB,
            }
        )
    return maps


MOVED_COLUMNS = {
    "program": "program",
    "level": "level",
    "entity_id": "entity",
    "stars_a": "stars A",
    "stars_b": "stars B",
    "star_percentage_a": "star % A",
    "star_percentage_b": "star % B",
    "status_a": "status A",
    "status_b": "status B",
    "drivers": "drivers (change in weighted group score)",
}


def largest_coefficient_differences(diffs: pd.DataFrame | None, per_model: int = 5) -> pd.DataFrame:
    """Each model's ``per_model`` terms with the largest absolute difference (terms in one run only first),
    leaving out differences of exactly zero."""
    cols = ["model", "term", "coef_a", "coef_b", "difference"]
    if diffs is None or diffs.empty:
        return pd.DataFrame(columns=cols)
    d = diffs[diffs["difference"].isna() | (diffs["difference"] != 0)]
    return d.groupby("model", sort=True).head(per_model)[cols].reset_index(drop=True)


def comparison_context(c: Comparison, per_model: int = 5) -> dict[str, Any]:
    moved = c.changed[[k for k in MOVED_COLUMNS if k in c.changed.columns]]
    std_cols = ["program", "group", "mu_a", "mu_b", "sd_a", "sd_b", "national_average_a", "national_average_b"]
    std = c.standardisation[[x for x in std_cols if x in c.standardisation.columns]]
    coef = c.coefficients
    top = largest_coefficient_differences(c.coefficient_diffs, per_model)
    return {
        "title": f"Comparison of releases {c.run_a[:8]} and {c.run_b[:8]}",
        "run_a": c.run_a,
        "run_b": c.run_b,
        "heat_maps": heat_maps(c),
        "moved": ([MOVED_COLUMNS[k] for k in moved.columns], _rows(moved)),
        "standardisation": (list(std.columns), _rows(std)),
        "coefficients": (list(coef.columns), _rows(coef)),
        "top_coefficients": (list(top.columns), _rows(top)),
        "per_model": per_model,
        "inputs": (list(c.inputs.columns), _rows(c.inputs)),
    }


def comparison_page(c: Comparison) -> str:
    """The comparison as one HTML page (no network request)."""
    return render("comparison.html.j2", **comparison_context(c))
