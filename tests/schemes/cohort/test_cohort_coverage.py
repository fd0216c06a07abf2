"""Simulated cohorts of 30 and 48 with a known truth: the 90% and 95% intervals cover it at their rate.

10,000 cohorts per size and domain (the posteriors are vectorised over cohorts), so a coverage's
Monte Carlo standard error is 0.22 points at 95% and 0.30 at 90%. The mean-improvement intervals
are t intervals; on exactly normal data they are exact, so they must sit within 3.5 standard
errors of the nominal rate (a normal-quantile interval, at 94.0% for n = 30, would fail). On the rounded,
clipped scores of the configured instruments, and for the share improved (a Jeffreys interval
on a discrete count, whose coverage oscillates with n by a point or two), they must sit within
3 points. ``experiments/cohort_coverage.py`` runs the same check with 100,000 cohorts and more sizes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.schemes.cohort.config import load_cohort_config
from toolkit.schemes.cohort.coverage import interval_coverage
from toolkit.schemes.cohort.evaluate import (
    evaluate_cohort,
    improvement,
    mean_posterior,
    share_posterior,
)
from toolkit.schemes.cohort.simulate import (
    draw_measures,
    population_truth,
    simulate_cohort,
)

CFG = load_cohort_config()
REPS = 10_000


@pytest.fixture(scope="module")
def truth():
    return population_truth(CFG, seed=11)


@pytest.mark.parametrize("n", [30, 48])
def test_intervals_cover_the_truth_at_their_rate(n, truth):
    cov = interval_coverage(CFG, n=n, reps=REPS, seed=11, truth=truth)
    assert len(cov) == 3 * 2 * 2  # 3 domains x 2 quantities x 2 levels
    off = (cov["coverage"] - cov["level"]).abs()
    assert (off < 0.03).all(), cov.loc[off >= 0.03].to_string()
    # and not trivially: the intervals are informative
    assert (cov.loc[cov["quantity"] == "share_improved", "mean_width"] < 0.45).all()


@pytest.mark.parametrize("n", [30, 48])
def test_t_intervals_are_exact_on_normal_data(n):
    sim = CFG.simulation.model_copy(
        update={"domains": {"wellbeing": CFG.simulation.domains["wellbeing"].model_copy(update={"rounding": 0.0})}}
    )
    dom = CFG.domains["wellbeing"].model_copy(update={"scale": (-1e9, 1e9)})
    cfg = CFG.model_copy(update={"simulation": sim, "domains": {"wellbeing": dom}})
    truth = pd.DataFrame(
        {
            "domain": ["wellbeing"],
            "true_mean_improvement": [sim.domains["wellbeing"].change_mean],
            "true_share_improved": [np.nan],
        }
    )
    cov = interval_coverage(cfg, n=n, reps=REPS, seed=5, truth=truth)
    cov = cov.loc[cov["quantity"] == "mean_improvement"]
    assert ((cov["coverage"] - cov["level"]).abs() < 3.5 * cov["mc_se"]).all(), cov.to_string()


def test_the_evaluation_uses_the_same_posteriors_as_the_coverage_check():
    """What the coverage check measures is what ``toolkit evaluate`` reports."""
    c = simulate_cohort(30, CFG, seed=3)
    ev, _ = evaluate_cohort(c, CFG)
    for _, r in ev.iterrows():
        d = c.loc[(c["domain"] == r["domain"]) & c["post"].notna()]
        imp = improvement(d["pre"].to_numpy(), d["post"].to_numpy(), CFG.domains[r["domain"]])
        spec = CFG.domains[r["domain"]]
        mp = mean_posterior(
            np.array([imp.mean()]),
            np.array([imp.std(ddof=1)]),
            np.array([len(imp)]),
            levels=CFG.levels,
            threshold=spec.threshold,
        )
        sp = share_posterior(
            np.array([(imp >= spec.improved_by).sum()]),
            np.array([len(imp)]),
            prior=CFG.share_prior,
            levels=CFG.levels,
            reference=spec.reference_rate,
        )
        for tag in ("90", "95"):
            assert r[f"mean_lower_{tag}"] == pytest.approx(mp[f"lower_{tag}"][0])
            assert r[f"share_upper_{tag}"] == pytest.approx(sp[f"upper_{tag}"][0])


def test_simulated_scores_look_like_the_instruments():
    rng = np.random.default_rng(0)
    pre, post = draw_measures(CFG.domains["housing"], CFG.simulation.domains["housing"], 1000, rng)
    assert set(np.unique(np.concatenate([pre, post]))) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    c = simulate_cohort(48, CFG, seed=2)
    assert c["participant_id"].nunique() == 48 and set(c["wave"]) == {"2017", "2018"}
    assert (c.groupby("wave")["participant_id"].nunique().to_dict()) == {"2017": 30, "2018": 18}
