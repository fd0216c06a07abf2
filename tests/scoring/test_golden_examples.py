"""The seed's worked examples (Site X, Site Y, Tables 6, 7 and 8), value for value.

Every expected number here is read off the seed (or docs/method.md's restatement of it);
the inputs of Steps 4 to 6 are the printed scores and the printed national average,
since the seed does not give its standardisation parameters.
"""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.scoring import (
    adjust_weights,
    group_ratios,
    performance_score,
    star_percentage,
    stars_from_percentage,
    truncate_percentage,
)

# Site X, Attachment B / Step 3 (ESS), in the program's measure order:
# full_13, full_26, pathway_26, bonus_26, full_52, pathway_52, ongoing_support.
SITE_X_A = [31, 26, 13, 6, 22, 13, 23]
SITE_X_E = [8.01, 10, 2, 1, 10, 10, 25]
SITE_X_N = [40, 40, 20, 10, 30, 20, 30]
# Site Y, Attachment C (DMS): full_13, full_26, pathway_26, bonus_26 (none), full_52, pathway_52.
SITE_Y_A = [22, 25, 8, 0, 25, 5]
SITE_Y_E = [6, 21, 6, 0, 11, 2.2]
SITE_Y_N = [30, 40, 15, 0, 35, 12]


def test_site_x_combined_ratios(ess):
    aw = adjust_weights(SITE_X_N, ess)
    assert aw.weights.tolist() == pytest.approx([0.20, 0.30, 0.05, 0.05, 0.20, 0.05, 0.15], abs=1e-15)
    r = group_ratios(SITE_X_A, SITE_X_E, aw.weights, ess)
    assert ess.groups == ("g13", "g26", "g52", "gos")
    assert round(r[1], 2) == 2.78
    assert r[1] == pytest.approx((0.30 * 26 + 0.05 * 13 + 0.05 * 6) / (0.30 * 10 + 0.05 * 2 + 0.05 * 1), rel=1e-14)
    assert round(r[2], 2) == 2.02
    assert r[2] == pytest.approx((0.20 * 22 + 0.05 * 13) / (0.20 * 10 + 0.05 * 10), rel=1e-14)
    assert [round(r[0], 2), round(r[3], 2)] == [3.87, 0.92]  # Step 4 table ratios


def test_site_x_performance_score_from_printed_scores(ess):
    s = performance_score([4.00, 3.00, 2.16, 1.97], ess.group_weights)
    assert float(s) == pytest.approx(2.8355, abs=1e-12)
    assert round(float(s), 2) == 2.84


def test_site_x_star_percentage_and_stars(method):
    p = star_percentage(2.84, 2.00, method)
    assert float(p) == 42.0
    assert stars_from_percentage(p, method).tolist() == 5


def test_site_y_weights_and_ratio(dms):
    aw = adjust_weights(SITE_Y_N, dms)
    w = dict(zip(dms.measures, aw.weights, strict=True))
    assert w["full_26"] == pytest.approx(0.39375, abs=1e-15)
    assert w["pathway_26"] == pytest.approx(0.05625, abs=1e-15)
    assert w["bonus_26"] == 0.0
    assert (round(w["full_26"] * 100, 1), round(w["pathway_26"] * 100, 1)) == (39.4, 5.6)  # Attachment C
    assert aw.group_weights.tolist() == pytest.approx([0.25, 0.45, 0.30], abs=1e-15)  # 45% kept
    r = group_ratios(SITE_Y_A, SITE_Y_E, aw.weights, dms)
    assert round(r[1], 2) == 1.20
    assert r[1] == pytest.approx((0.39375 * 25 + 0.05625 * 8) / (0.39375 * 21 + 0.05625 * 6), rel=1e-14)
    assert [round(r[0], 2), round(r[2], 2)] == [3.67, 2.27]


def test_site_y_performance_score_from_printed_scores(dms):
    s = performance_score([4.15, 1.31, 2.54], [0.25, 0.45, 0.30])
    assert round(float(s), 3) == 2.389


def test_pathway_zero_goes_to_full_and_bonus_by_weight(dms):
    # Additional Business Rules, zero in the denominator: pathway's 5% goes to Full and Bonus
    # "proportionate to the weighting of the Full and Bonus outcome measure".
    w = dict(zip(dms.measures, adjust_weights([30, 40, 0, 40, 35, 12], dms).weights, strict=True))
    assert w["pathway_26"] == 0
    assert w["full_26"] == pytest.approx(0.35 + 0.05 * 0.35 / 0.40, abs=1e-15)
    assert w["bonus_26"] == pytest.approx(0.05 + 0.05 * 0.05 / 0.40, abs=1e-15)


@pytest.mark.parametrize(
    "n, weight", [(0, 0.00), (1, 0.07), (2, 0.14), (3, 0.21), (4, 0.28), (5, 0.35), (6, 0.35), (50, 0.35)]
)
def test_table_7_dms_full_26_ladder(dms, n, weight):
    w = adjust_weights([30, n, 30, 30, 30, 30], dms).weights
    assert w[dms.measures.index("full_26")] == pytest.approx(weight, abs=1e-15)
    assert w.sum() == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize(
    "n, weight",
    [
        (0, 0.0),
        (1, 0.015),
        (2, 0.03),
        (3, 0.045),
        (4, 0.06),
        (5, 0.075),
        (6, 0.09),
        (7, 0.105),
        (8, 0.12),
        (9, 0.135),
        (10, 0.15),
        (11, 0.15),
    ],
)
def test_table_8_ess_ongoing_support_ladder(ess, n, weight):
    w = adjust_weights([30, 30, 30, 30, 30, 30, n], ess).weights
    assert w[ess.measures.index("ongoing_support")] == pytest.approx(weight, abs=1e-15)
    assert w.sum() == pytest.approx(1.0, abs=1e-15)
    # Ongoing Support is alone in its group: what it lost goes to the other groups by group weight.
    lost = 0.15 - weight
    gw = adjust_weights([30, 30, 30, 30, 30, 30, n], ess).group_weights
    assert gw.tolist() == pytest.approx(
        [0.20 + lost * 0.20 / 0.85, 0.40 + lost * 0.40 / 0.85, 0.25 + lost * 0.25 / 0.85, weight], abs=1e-15
    )


@pytest.mark.parametrize(
    "p, stars",
    [(-50, 1), (-49, 2), (-20, 2), (-19, 3), (19, 3), (20, 4), (39, 4), (40, 5), (-1000, 1), (0, 3), (1000, 5)],
)
def test_table_6_band_edges(method, p, stars):
    assert int(stars_from_percentage(p, method)) == stars


def test_step_6_truncation_examples(method):
    # "a Star Percentage of 19.82 is truncated to '+ 19', and ... -19.82 is rounded down to '- 19'"
    assert truncate_percentage([19.82, -19.82], method).tolist() == [19.0, -19.0]
    assert stars_from_percentage(truncate_percentage([19.82, -19.82], method), method).tolist() == [3, 3]


def test_no_score_without_an_unreduced_measure(dms):
    aw = adjust_weights([4, 4, 0, 0, 3, 1], dms)
    assert not aw.scorable
    assert aw.weights.sum() < 1
    assert np.isnan(performance_score([2, 2, 2], aw.group_weights, aw.scorable))
