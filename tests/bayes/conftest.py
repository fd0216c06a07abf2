"""Shared fixtures of the Bayesian tests: fast sampler settings (diagnostics are not the point here)."""

from __future__ import annotations

import pytest

from toolkit.bayes.config import load_bayes_config


@pytest.fixture(scope="session")
def fast_config():
    cfg = load_bayes_config()
    return cfg.model_copy(
        update={
            "sampler": cfg.sampler.model_copy(update={"tune": 200, "draws": 300, "retry_draws_factor": 1}),
            "scoring": cfg.scoring.model_copy(update={"draws": 100}),
        }
    )
