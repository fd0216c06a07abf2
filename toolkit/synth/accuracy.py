"""How well ratings recover true performance: comparisons of a ratings table with the oracle's.

Used by ``experiments/rating_accuracy.py``; pure functions over ratings tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KEY = ["program", "level", "entity_id"]
#: Denominator bands (n of full_13) for the breakdown.
SIZE_BANDS = [(0, 50, "n13 < 50"), (50, 100, "50-99"), (100, 200, "100-199"), (200, np.inf, "200+")]


def size_band(n: pd.Series) -> pd.Series:
    out = pd.Series("", index=n.index, dtype=object)
    for lo, hi, label in SIZE_BANDS:
        out[(n >= lo) & (n < hi)] = label
    return out


def paired(ratings: pd.DataFrame, oracle: pd.DataFrame) -> pd.DataFrame:
    """Entities with a calculated rating in both tables, side by side (``_r`` rating, ``_o`` oracle)."""
    cols = KEY + ["calculated", "performance_score", "calculated_star_percentage", "calculated_stars", "n_full_13"]
    both = ratings[cols].merge(oracle[cols], on=KEY, suffixes=("_r", "_o"))
    both = both[both["calculated_r"] & both["calculated_o"]].copy()
    both["band"] = size_band(both["n_full_13_r"].astype(float))
    return both


def accuracy_table(ratings: pd.DataFrame, oracle: pd.DataFrame, by_band: bool = True) -> pd.DataFrame:
    """Per level (and denominator band): entities, Spearman of performance scores, share with the oracle's
    stars, mean absolute star error, RMSE of the star percentage."""
    both = paired(ratings, oracle)
    groups = ["level", "band"] if by_band else ["level"]
    rows = []
    for key, g in both.groupby(groups, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        s_r = g["calculated_stars_r"].astype(float).to_numpy()
        s_o = g["calculated_stars_o"].astype(float).to_numpy()
        p_r = g["calculated_star_percentage_r"].astype(float).to_numpy()
        p_o = g["calculated_star_percentage_o"].astype(float).to_numpy()
        rows.append(
            {
                **dict(zip(groups, key, strict=True)),
                "entities": len(g),
                "spearman": float(g["performance_score_r"].corr(g["performance_score_o"], method="spearman"))
                if len(g) > 2
                else np.nan,
                "same_stars": float(np.mean(s_r == s_o)),
                "mean_abs_star_error": float(np.mean(np.abs(s_r - s_o))),
                "star_pct_rmse": float(np.sqrt(np.mean((p_r - p_o) ** 2))),
            }
        )
    return pd.DataFrame(rows)
