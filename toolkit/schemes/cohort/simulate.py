"""Simulated cohorts with a known truth, for ``toolkit evaluate --synthetic`` and the coverage checks.

Per domain: pre ~ Normal(pre_mean, pre_sd), post = pre + Normal(change_mean, change_sd), both
rounded to the instrument's unit and clipped to its scale (so the data look like real scores).
The *truth* of a domain is the population mean improvement and share improved of that same
model, from ``population_draws`` draws: what a cohort's intervals should cover. Participants
leave before follow-up at the configured dropout rate (completely at random). The first 30
participants form wave ``2017`` and the rest wave ``2018``, like the trial of seed 003.

Examples
--------
>>> from toolkit.schemes.cohort.config import load_cohort_config
>>> cfg = load_cohort_config()
>>> cohort = simulate_cohort(30, cfg, seed=1)
>>> sorted(cohort["domain"].unique())
['distress', 'housing', 'wellbeing']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from toolkit.errors import ConfigError
from toolkit.schemes.cohort.config import CohortConfig, DomainSpec, SimDomain
from toolkit.schemes.cohort.evaluate import improvement

if TYPE_CHECKING:
    from toolkit.schemes.cohort.config import Simulation

FIRST_WAVE = 30


def draw_measures(
    spec: DomainSpec, sim: SimDomain, size: tuple[int, ...] | int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Pre and post scores of ``size`` participants (rounded and clipped like the instrument)."""
    pre = rng.normal(sim.pre_mean, sim.pre_sd, size)
    post = pre + rng.normal(sim.change_mean, sim.change_sd, size)
    if sim.rounding > 0:
        pre, post = (np.round(v / sim.rounding) * sim.rounding for v in (pre, post))
    lo, hi = spec.scale
    return np.clip(pre, lo, hi), np.clip(post, lo, hi)


def _simulation(config: CohortConfig) -> Simulation:
    if config.simulation is None:
        raise ConfigError(f"config {config.name} has no 'simulation' section: --synthetic needs one")
    return config.simulation


def population_truth(config: CohortConfig, seed: int) -> pd.DataFrame:
    """True mean improvement and share improved of each simulated domain."""
    sim = _simulation(config)
    rows = []
    for i, (code, sd) in enumerate(sorted(sim.domains.items())):
        rng = np.random.default_rng(np.random.SeedSequence([seed, 1, i]))
        spec = config.domains[code]
        pre, post = draw_measures(spec, sd, sim.population_draws, rng)
        imp = improvement(pre, post, spec)
        rows.append(
            {
                "domain": code,
                "true_mean_improvement": float(imp.mean()),
                "true_share_improved": float((imp >= spec.improved_by - 1e-12).mean()),
            }
        )
    return pd.DataFrame(rows)


#: The largest synthetic cohort (the method is for small cohorts; more would only exhaust memory).
MAX_SYNTHETIC = 100_000


def simulate_cohort(n: int, config: CohortConfig, seed: int) -> pd.DataFrame:
    """A cohort of ``n`` participants in the contract's long format (participant_id, domain, pre, post, wave)."""
    if n < 2:
        raise ConfigError(f"a synthetic cohort needs at least 2 participants, got {n}")
    if n > MAX_SYNTHETIC:
        raise ConfigError(f"a synthetic cohort has at most {MAX_SYNTHETIC:,} participants (small cohorts), got {n:,}")
    sim = _simulation(config)
    ss_drop, *ss_domains = np.random.SeedSequence([seed, 0]).spawn(1 + len(sim.domains))
    left = np.random.default_rng(ss_drop).random(n) < sim.dropout
    ids = [f"P{i + 1:03d}" for i in range(n)]
    waves = np.where(np.arange(n) < FIRST_WAVE, "2017", "2018")
    frames = []
    for (code, sd), ss in zip(sorted(sim.domains.items()), ss_domains, strict=True):
        pre, post = draw_measures(config.domains[code], sd, n, np.random.default_rng(ss))
        frames.append(
            pd.DataFrame(
                {"participant_id": ids, "domain": code, "pre": pre, "post": np.where(left, np.nan, post), "wave": waves}
            )
        )
    return pd.concat(frames, ignore_index=True)
