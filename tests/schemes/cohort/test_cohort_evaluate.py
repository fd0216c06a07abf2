"""The cohort evaluation's figures against scipy and statsmodels, on hand-made cohorts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from toolkit.schemes.cohort import power as pw
from toolkit.schemes.cohort.config import load_cohort_config
from toolkit.schemes.cohort.evaluate import (
    evaluate_cohort,
    evaluate_domain,
    improvement,
)

CFG = load_cohort_config()


def cohort(domain: str, pre, post) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "participant_id": [f"P{i:03d}" for i in range(len(pre))],
            "domain": domain,
            "pre": np.asarray(pre, float),
            "post": np.asarray(post, float),
        }
    )


def test_mean_improvement_interval_is_the_t_interval():
    rng = np.random.default_rng(1)
    pre = rng.normal(50, 10, 30).round()
    post = (pre + rng.normal(4, 9, 30)).round()
    r = evaluate_domain(pre, post, CFG.domains["wellbeing"], CFG)
    d = post - pre
    for lv, tag in ((0.9, "90"), (0.95, "95")):
        lo, hi = stats.t.interval(lv, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
        assert r[f"mean_lower_{tag}"] == pytest.approx(lo) and r[f"mean_upper_{tag}"] == pytest.approx(hi)
    p = stats.t.sf((3 - d.mean()) / stats.sem(d), len(d) - 1)  # threshold 3 points
    assert r["mean_p_above_threshold"] == pytest.approx(p)


def test_share_improved_is_jeffreys_beta():
    # improved_by 5: changes 5 and 7 count (5 is on the boundary), 4 does not
    pre = np.array([50, 50, 50, 50, 50, 50, 50, 50, 50, 50])
    post = np.array([55, 57, 54, 50, 45, 60, 50, 49, 51, 50])
    r = evaluate_domain(pre, post, CFG.domains["wellbeing"], CFG)
    assert r["improved"] == 3 and r["share_improved"] == 0.3
    a, b = 0.5 + 3, 0.5 + 7
    assert r["share_lower_95"] == pytest.approx(stats.beta.ppf(0.025, a, b))
    assert r["share_upper_95"] == pytest.approx(stats.beta.ppf(0.975, a, b))
    assert r["share_p_above_reference"] == pytest.approx(stats.beta.sf(0.35, a, b))


def test_lower_is_better_flips_the_sign():
    spec = CFG.domains["distress"]
    assert not spec.higher_is_better
    np.testing.assert_array_equal(improvement(np.array([30, 30]), np.array([25, 33]), spec), [5, -3])
    r = evaluate_domain(np.array([30.0, 30, 30, 30]), np.array([25.0, 27, 33, 30]), spec, CFG)
    assert r["mean_improvement"] == pytest.approx(1.25) and r["improved"] == 2  # (5 + 3 - 3 + 0) / 4; drops of 5 and 3


def test_power_figures_match_statsmodels():
    from statsmodels.stats.power import TTestIndPower, TTestPower

    for n in (30, 48):
        assert pw.smallest_mean_change(n) == pytest.approx(
            TTestPower().solve_power(nobs=n, alpha=0.05, power=0.8), rel=1e-4
        )
        assert pw.smallest_subgroup_difference(n) == pytest.approx(
            TTestIndPower().solve_power(nobs1=n // 2, alpha=0.05, power=0.8), rel=1e-4
        )


@pytest.mark.parametrize("n,p0", [(30, 0.35), (48, 0.35), (30, 0.30)])
def test_smallest_share_is_where_the_exact_test_reaches_the_power(n, p0):
    p1 = pw.smallest_share(n, p0)
    assert pw.binomial_power(p1, n, p0) == pytest.approx(0.8, abs=1e-6)
    assert pw.binomial_power(p1 - 0.01, n, p0) < 0.8
    # the test's size: P(reject | p0) is at most alpha / 2
    assert pw.binomial_power(p0, n, p0) <= 0.025


def test_missing_post_is_listed_not_used():
    t = cohort("housing", [2, 3, 3, 4, 1], [3, np.nan, 4, 4, 2])
    ev, ex = evaluate_cohort(t, CFG)
    row = ev.iloc[0]
    assert (row["participants"], row["without_post"], row["n"]) == (5, 1, 4)
    assert ex.to_dict("records") == [{"participant_id": "P001", "domain": "housing", "reason": "no post measure"}]


def test_domains_are_evaluated_separately_and_only_when_present():
    t = pd.concat([cohort("housing", [2, 3, 3], [3, 3, 4]), cohort("wellbeing", [50, 60, 55], [58, 61, 60])])
    ev, _ = evaluate_cohort(t, CFG)
    assert ev["domain"].tolist() == ["wellbeing", "housing"]  # config order; distress absent
    assert ev.set_index("domain").loc["housing", "mean_improvement"] == pytest.approx(2 / 3)
