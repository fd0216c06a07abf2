"""Diagnostics: AUC against a pair count, Brier, calibration, O/E, funnel limits, plots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import InputError
from toolkit.expected import diagnostics as dg


def _pair_count_auc(y, p):
    pos, neg = p[y == 1], p[y == 0]
    diff = pos[:, None] - neg[None, :]
    return ((diff > 0).sum() + 0.5 * (diff == 0).sum()) / (len(pos) * len(neg))


def test_c_statistic_equals_brute_force_pair_count_with_ties():
    rng = np.random.default_rng(0)
    y = (rng.random(700) < 0.3).astype(float)
    p = np.round(rng.random(700) * 0.5 + 0.3 * y, 2)  # rounding makes many ties
    assert len(np.unique(p)) < 100
    assert dg.c_statistic(y, p) == pytest.approx(_pair_count_auc(y, p), abs=1e-14)
    assert dg.c_statistic([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert dg.c_statistic([0, 1], [0.5, 0.5]) == 0.5
    with pytest.raises(InputError):
        dg.c_statistic([1, 1], [0.2, 0.3])


def test_brier_and_deviance_explained():
    y = np.array([0, 1, 1, 0.0])
    p = np.array([0.2, 0.7, 0.9, 0.4])
    assert dg.brier_score(y, p) == pytest.approx(np.mean([0.04, 0.09, 0.01, 0.16]))
    dev = -2 * np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))
    null = -2 * 4 * np.log(0.5)
    assert dg.deviance_explained(y, p) == pytest.approx(1 - dev / null, rel=1e-12)


@pytest.fixture(scope="module")
def from_the_model():
    rng = np.random.default_rng(5)
    lp = rng.normal(-1, 1.2, 40_000)
    p = 1 / (1 + np.exp(-lp))
    y = (rng.random(lp.size) < p).astype(float)
    return y, p


def test_calibration_slope_is_one_on_data_from_the_model(from_the_model):
    y, p = from_the_model
    cal = dg.calibration_slope(y, p)
    assert abs(cal["slope"] - 1) < 3 * cal["slope_se"] + 1e-9
    assert abs(cal["intercept"]) < 3 * cal["intercept_se"] + 1e-9
    assert abs(cal["citl"]) < 0.05
    lp = np.log(p / (1 - p))
    over = dg.calibration_slope(y, 1 / (1 + np.exp(-2 * lp)))  # overfitted predictions: slope ~ 1/2
    assert over["slope"] == pytest.approx(0.5, abs=0.03)


def test_calibration_table_sums_and_groups(from_the_model):
    y, p = from_the_model
    t = dg.calibration_table(y, p)
    assert len(t) == 10 and t["n"].sum() == y.size and t["n"].max() - t["n"].min() <= 1
    assert t["observed"].sum() == y.sum() and t["expected"].sum() == pytest.approx(p.sum())
    assert (t["p_max"].to_numpy()[:-1] <= t["p_min"].to_numpy()[1:]).all()
    np.testing.assert_allclose(t["observed_rate"], t["expected_rate"], atol=0.03)


def test_observed_expected_by_entity():
    frame = pd.DataFrame({"site": ["b", "a", "b", "a", "c"], "y": [1, 0, 1, 1, 0]})
    p = np.array([0.5, 0.25, 0.5, 0.25, 0.1])
    oe = dg.observed_expected(frame, "site", "y", p)
    assert list(oe.index) == ["a", "b", "c"]
    assert oe.loc["a"].to_dict() == pytest.approx(
        {"n": 2, "observed": 1, "expected": 0.5, "variance": 2 * 0.1875, "oe": 2.0}
    )
    assert oe.loc["c", "oe"] == 0.0
    with pytest.raises(InputError, match="'region'"):
        dg.observed_expected(frame, ["region"], "y", p)


def test_funnel_limits_by_hand():
    lim = dg.funnel_limits([4.0, 25.0, 100.0])
    # 95 %: z = 1.959964; 99.8 %: z = 3.090232 (two-sided)
    np.testing.assert_allclose(lim["upper_0.95"], [1 + 1.959964 / 2, 1 + 1.959964 / 5, 1 + 1.959964 / 10], atol=1e-6)
    np.testing.assert_allclose(lim["lower_0.95"], [1 - 1.959964 / 2, 1 - 1.959964 / 5, 1 - 1.959964 / 10], atol=1e-6)
    np.testing.assert_allclose(lim["upper_0.998"], [1 + 3.090232 / 2, 1 + 3.090232 / 5, 1 + 3.090232 / 10], atol=1e-6)
    np.testing.assert_allclose(lim["lower_0.998"], [0.0, 1 - 3.090232 / 5, 1 - 3.090232 / 10], atol=1e-6)


def test_plots_are_written(tmp_path, from_the_model):
    y, p = from_the_model
    out = dg.calibration_plot(dg.calibration_table(y, p), tmp_path / "cal.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    sites = np.random.default_rng(1).integers(0, 60, y.size)
    oe = dg.observed_expected(pd.DataFrame({"site": sites, "y": y}), "site", "y", p)
    out = dg.funnel_plot(oe, tmp_path / "funnel.png")
    assert out.exists() and out.stat().st_size > 1000
