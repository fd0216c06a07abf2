"""Oracle ratings of a synthetic world: the ratings its true probabilities deserve.

Per entity and measure, oracle actual = sum of the records' true probabilities and
oracle expected = sum of their average-site probabilities; scored with the method
like any release. They measure how well a release recovers true performance.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from toolkit.contracts import load_tables
from toolkit.records.aggregate import entity_measure_table
from toolkit.records.frame import build_frame

if TYPE_CHECKING:
    from toolkit.scoring.config import MethodConfig

TRUTH_KEY = ["participant_id", "period_of_service", "site_id", "measure"]


def oracle_entity_measures(
    tables: dict[str, pd.DataFrame],
    record_truth: pd.DataFrame,
    window_start: str,
    window_end: str,
    actual: str = "truth",
) -> pd.DataFrame:
    """The oracle entity-measure table.

    ``actual="truth"``: actual = sum of true probabilities (fractional), the oracle.
    ``actual="observed"``: actual = the observed outcomes, expected still the exact
    average-site expectation: the published method with a perfect expected-performance
    model, which isolates the noise of the outcomes themselves.
    """
    rec = tables["measure_records"].merge(
        record_truth[TRUTH_KEY + ["p_true", "p_average_site"]], on=TRUTH_KEY, how="left", validate="one_to_one"
    )
    if rec["p_true"].isna().any():
        raise ValueError("record truth does not cover every measure record")
    mf = build_frame({**tables, "measure_records": rec}, window_start, window_end)
    actual_col = {"truth": "p_true", "observed": "numerator"}[actual]
    return entity_measure_table(mf.frame, mf.entities, window_end, p_col="p_average_site", actual_col=actual_col)


def oracle_ratings(
    world_dir: str | Path, method: MethodConfig, window_start: str | None = None, window_end: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Oracle entity-measure table and ratings of a written world (window from ``world.json`` by default)."""
    import json

    from toolkit.scoring import score_entities

    d = Path(world_dir)
    info = json.loads((d / "world.json").read_text())
    ws, we = window_start or info["window_start"], window_end or info["window_end"]
    tables = load_tables(d)
    truth = pd.read_parquet(d / "truth" / "record_truth.parquet")
    em = oracle_entity_measures(tables, truth, ws, we)
    return em, score_entities(em, method, fractional_actual=True)
