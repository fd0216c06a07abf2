"""Folds and statistics of the model evaluation against hand computations and statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from toolkit.evaluation.folds import assign_folds, primary_sites
from toolkit.evaluation.metrics import fold_metrics, log_loss, oe_interval, paired_interval, wilson_interval
from toolkit.records.frame import build_frame
from toolkit.release.inputs import load_release_inputs


@pytest.fixture(scope="module")
def frame(tiny_world_dir):
    inp = load_release_inputs(tiny_world_dir, "2018-07-01", "2020-03-31", "table")
    return build_frame(inp.tables, "2018-07-01", "2020-03-31").frame


def test_folds_keep_participants_whole_and_sites_together(frame):
    assert (frame.groupby("participant_id")["site_id"].nunique() > 1).any(), "the world should have transfers"
    folds, sites = assign_folds(frame, 3, seed=4)
    f = pd.Series(folds, index=frame.index)
    # no participant in two folds
    assert (f.groupby(frame["participant_id"]).nunique() == 1).all()
    # every site in exactly one fold, and every participant in the fold of their primary site
    assert sites["site_id"].is_unique and set(sites["fold"]) == {0, 1, 2}
    site_fold = dict(zip(sites["site_id"], sites["fold"], strict=True))
    prim = primary_sites(frame).set_index("participant_id")["site_id"]
    assert (f.to_numpy() == frame["participant_id"].map(prim).map(site_fold).to_numpy()).all()
    # a site's records lie in its fold, but for participants transferred in whose primary site is elsewhere
    away = f.to_numpy() != frame["site_id"].map(site_fold).to_numpy()
    assert (frame.loc[away, "participant_id"].map(prim) != frame.loc[away, "site_id"]).all()
    assert away.mean() < 0.02
    # fixed by the seed, whatever the row order; another seed deals differently
    shuffled = frame.sample(frac=1.0, random_state=1)
    again, sites2 = assign_folds(shuffled, 3, seed=4)
    pd.testing.assert_frame_equal(sites, sites2)
    assert (pd.Series(again, index=shuffled.index).loc[frame.index].to_numpy() == folds).all()
    assert not sites.equals(assign_folds(frame, 3, seed=5)[1])
    # folds of similar size within each program: each within a site of its share
    sizes = sites.groupby(["program", "fold"])["participants"].sum().unstack()
    largest = sites.groupby("program")["participants"].max()
    assert ((sizes.sub(sizes.sum(axis=1) / 3, axis=0)).abs().max(axis=1) <= largest).all()


def test_metrics_against_hand_computations_and_statsmodels():
    import statsmodels.api as sm

    y = np.array([1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 0], dtype=float)
    p = np.array([0.8, 0.3, 0.6, 0.4, 0.2, 0.5, 0.7, 0.1, 0.4, 0.35, 0.6, 0.2])
    m = fold_metrics(y, p)
    assert m["log_loss"] == pytest.approx(
        -np.mean([math.log(q) if t else math.log(1 - q) for t, q in zip(y, p, strict=True)])
    )
    assert m["brier"] == pytest.approx(np.mean((p - y) ** 2))
    pos, neg = p[y == 1], p[y == 0]
    pairs = [(a > b) + 0.5 * (a == b) for a in pos for b in neg]
    assert m["auc"] == pytest.approx(np.mean(pairs))
    lp = np.log(p / (1 - p))
    fit = sm.Logit(y, sm.add_constant(lp)).fit(disp=0)
    assert m["calibration_intercept"] == pytest.approx(fit.params[0], rel=1e-6)
    assert m["calibration_slope"] == pytest.approx(fit.params[1], rel=1e-6)
    assert m["oe"] == pytest.approx(y.sum() / p.sum())
    assert log_loss(np.array([1.0]), np.array([1.0])) < 1e-9  # clipped, finite


def test_wilson_matches_statsmodels():
    from statsmodels.stats.proportion import proportion_confint

    for events, n in [(0, 10), (3, 10), (45, 200), (10, 10)]:
        lo, hi = wilson_interval(events, n, 0.95)
        slo, shi = proportion_confint(events, n, alpha=0.05, method="wilson")
        assert (lo, hi) == pytest.approx((slo, shi), abs=1e-12)


def test_paired_interval_is_a_t_interval_over_folds():
    from scipy import stats

    d = np.array([0.010, 0.004, 0.007, 0.012, 0.006])
    mean, se, lo, hi = paired_interval(d, 0.95)
    assert mean == pytest.approx(d.mean())
    assert se == pytest.approx(d.std(ddof=1) / math.sqrt(5))
    t = stats.t.ppf(0.975, 4)
    assert (lo, hi) == pytest.approx((d.mean() - t * se, d.mean() + t * se))
    assert lo > 0  # consistently worse in every fold: more than noise
    noisy = np.array([0.010, -0.012, 0.007, -0.009, 0.003])
    _, _, lo, hi = paired_interval(noisy)
    assert lo < 0 < hi
    assert all(math.isnan(v) for v in paired_interval(np.array([0.1]))[1:])


def test_oe_interval_and_flag():
    p = np.full(400, 0.25)  # E = 100, var(O) = 75
    ok = oe_interval(105.0, p)
    assert ok["oe"] == pytest.approx(1.05)
    half = 1.959963984540054 * math.sqrt(75) / 100
    assert (ok["oe_lower"], ok["oe_upper"]) == pytest.approx((1.05 - half, 1.05 + half))
    assert not ok["flagged"]
    low = oe_interval(80.0, p)  # z = -20 / sqrt(75) = -2.31
    assert low["flagged"] and low["oe_upper"] < 1
    assert low["z"] == pytest.approx(-20 / math.sqrt(75))
