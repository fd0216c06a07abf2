"""The accuracy comparison against oracle ratings."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit.synth.accuracy import accuracy_table, paired


def _ratings(stars, scores, n13, calculated=None):
    k = len(stars)
    return pd.DataFrame(
        {
            "program": "DMS",
            "level": "contract",
            "entity_id": [f"C{i}" for i in range(k)],
            "calculated": calculated if calculated is not None else [True] * k,
            "performance_score": scores,
            "calculated_star_percentage": [int(20 * (s - 3)) for s in stars],
            "calculated_stars": pd.array(stars, dtype="Int64"),
            "n_full_13": n13,
        }
    )


def test_accuracy_numbers():
    oracle = _ratings([1, 2, 3, 4, 5], [0.5, 1.0, 2.0, 3.0, 3.5], [30, 60, 120, 250, 40])
    rated = _ratings([1, 3, 3, 4, 4], [0.4, 1.5, 1.9, 3.1, 3.0], [30, 60, 120, 250, 40])
    t = accuracy_table(rated, oracle, by_band=False).iloc[0]
    assert t["entities"] == 5
    assert t["same_stars"] == pytest.approx(3 / 5)
    assert t["mean_abs_star_error"] == pytest.approx(2 / 5)
    assert t["spearman"] == pytest.approx(
        pd.Series([0.4, 1.5, 1.9, 3.1, 3.0]).corr(pd.Series([0.5, 1.0, 2.0, 3.0, 3.5]), method="spearman")
    )
    bands = accuracy_table(rated, oracle).set_index("band")
    assert bands.loc["n13 < 50", "entities"] == 2 and bands.loc["200+", "same_stars"] == 1.0


def test_only_entities_calculated_in_both():
    oracle = _ratings([1, 2, 3], [1.0, 2.0, 3.0], [30, 60, 90], calculated=[True, True, False])
    rated = _ratings([1, 2, 3], [1.0, 2.0, 3.0], [30, 60, 90], calculated=[False, True, True])
    assert paired(rated, oracle)["entity_id"].tolist() == ["C1"]
