"""Small builders of entity-measure tables for the scoring tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

GOLDEN = Path(__file__).parent / "golden"
COLUMNS = ["program", "level", "entity_id", "parent_id", "measure", "n", "actual", "expected", "months_operating"]
DMS_MEASURES = ("full_13", "full_26", "pathway_26", "bonus_26", "full_52", "pathway_52")


def entity_rows(program, level, eid, parent, measures, months=float("nan")):
    """Rows of one entity; ``measures`` maps measure -> (n, actual, expected); NaN months: established."""
    return [(program, level, eid, parent, m, n, a, e, months) for m, (n, a, e) in measures.items()]


def uniform(n, ratio, measures=DMS_MEASURES, actual_share=0.3):
    """Every measure with denominator ``n`` and actual/expected = ``ratio``."""
    a = round(n * actual_share)
    return dict.fromkeys(measures, (n, a, a / ratio))


def table(rows):
    return pd.DataFrame(rows, columns=COLUMNS)
