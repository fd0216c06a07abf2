"""Frequentist coverage of the cohort evaluation's credible intervals on simulated cohorts.

Draws ``reps`` cohorts of ``n`` participants from the config's simulation model, runs the
same posterior functions the evaluation uses (vectorised over cohorts) and counts how often
each interval covers the population truth (:func:`~toolkit.schemes.cohort.simulate.population_truth`).

Examples
--------
>>> from toolkit.schemes.cohort.config import load_cohort_config
>>> cov = interval_coverage(load_cohort_config(), n=30, reps=200, seed=1)
>>> sorted(cov["quantity"].unique())
['mean_improvement', 'share_improved']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.schemes.cohort.config import CohortConfig
from toolkit.schemes.cohort.evaluate import (
    _tag,
    improvement,
    mean_posterior,
    share_posterior,
)
from toolkit.schemes.cohort.simulate import _simulation, draw_measures, population_truth


def interval_coverage(
    config: CohortConfig, n: int, reps: int, seed: int, truth: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Coverage per domain, quantity (mean improvement, share improved) and level, with its Monte Carlo SE."""
    sim = _simulation(config)
    truth = truth if truth is not None else population_truth(config, seed)
    rows = []
    for i, (code, sd) in enumerate(sorted(sim.domains.items())):
        spec = config.domains[code]
        rng = np.random.default_rng(np.random.SeedSequence([seed, 2, n, i]))
        pre, post = draw_measures(spec, sd, (reps, n), rng)
        imp = improvement(pre, post, spec)
        t = truth.set_index("domain").loc[code]
        mp = mean_posterior(
            imp.mean(axis=1), imp.std(axis=1, ddof=1), np.full(reps, n), levels=config.levels, threshold=spec.threshold
        )
        k = (imp >= spec.improved_by - 1e-12).sum(axis=1)
        sp = share_posterior(
            k, np.full(reps, n), prior=config.share_prior, levels=config.levels, reference=spec.reference_rate
        )
        for quantity, post_, true in (
            ("mean_improvement", mp, t["true_mean_improvement"]),
            ("share_improved", sp, t["true_share_improved"]),
        ):
            for lv in config.levels:
                lo, hi = post_[f"lower_{_tag(lv)}"], post_[f"upper_{_tag(lv)}"]
                ok = np.isfinite(lo) & np.isfinite(hi)
                cov = float(((lo <= true) & (true <= hi) & ok).mean())
                rows.append(
                    {
                        "domain": code,
                        "quantity": quantity,
                        "n": n,
                        "reps": reps,
                        "level": lv,
                        "truth": float(true),
                        "coverage": cov,
                        "mc_se": float(np.sqrt(lv * (1 - lv) / reps)),
                        "mean_width": float(np.mean((hi - lo)[ok])),
                    }
                )
    return pd.DataFrame(rows)
