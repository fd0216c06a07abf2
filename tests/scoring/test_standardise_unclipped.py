"""Step 4's two readings: scores clipped to 0-4 (the seed's text, the default) or unclipped (its Site Y
example prints 4.15 for a ratio of 3.67). Both are tested on Site Y's figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.scoring import score_entities
from toolkit.scoring.standardise import standardise

from ._helpers import GOLDEN

SITE_Y_RATIOS = {"g13": 3.67, "g26": 1.20, "g52": 2.27}
SITE_Y_PRINTED_SCORES = {"g13": 4.15, "g26": 1.31, "g52": 2.54}
SITE_Y_GROUP_WEIGHTS = {"g13": 0.25, "g26": 0.45, "g52": 0.30}


@pytest.fixture(scope="module")
def unclipped(method):
    d = method.model_dump()
    d["standardisation"]["clip"] = None
    return type(method).model_validate(d)


def _scale_for(ratio: float, score: float, mu: float) -> float:
    """The SD that puts ``ratio`` at ``score`` around ``mu`` (centre 2)."""
    return (ratio - mu) / (score - 2.0)


def test_site_y_g13_is_4_15_unclipped_and_4_clipped(method, unclipped):
    mu = 1.0
    sd = _scale_for(SITE_Y_RATIOS["g13"], SITE_Y_PRINTED_SCORES["g13"], mu)
    clipped = standardise(np.array([[3.67]]), [mu], [sd], method.program_method("DMS"))
    free = standardise(np.array([[3.67]]), [mu], [sd], unclipped.program_method("DMS"))
    assert free[0, 0] == pytest.approx(4.15, abs=1e-12)
    assert clipped[0, 0] == 4.0


def test_site_y_performance_score_both_ways():
    w = np.array(list(SITE_Y_GROUP_WEIGHTS.values()))
    s = np.array(list(SITE_Y_PRINTED_SCORES.values()))
    assert float(w @ s) == pytest.approx(2.389, abs=1e-12)  # unclipped: the seed prints 2.38
    assert float(w @ np.minimum(s, 4.0)) == pytest.approx(2.3515, abs=1e-12)  # clipped at 4: 2.35


def test_the_golden_table_both_ways(method, unclipped):
    table = pd.read_csv(GOLDEN / "site_x_y.csv", dtype=str, keep_default_na=False)
    a = score_entities(table, method).set_index(["program", "level", "entity_id"])
    b = score_entities(table, unclipped).set_index(["program", "level", "entity_id"])
    scores = [c for c in a.columns if c.startswith("score_")]
    assert np.nanmax(a[scores].to_numpy(float)) == 4.0 and np.nanmin(a[scores].to_numpy(float)) >= 0.0
    assert np.nanmax(b[scores].to_numpy(float)) > 4.0  # the unclipped reading lets scores pass 4
    sx_a, sx_b = a.loc[("ESS", "site", "SX")], b.loc[("ESS", "site", "SX")]
    assert sx_a["score_g13"] == 4.0 and sx_b["score_g13"] > 4.0  # Site X's g13 is clipped by default
    assert sx_b["performance_score"] > sx_a["performance_score"]
