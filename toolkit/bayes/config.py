"""Bayesian variant configs (``configs/bayes/<name>.yaml``): priors, sampler, gates, scoring of draws.

Frozen pydantic models with ``extra="forbid"``; :func:`load_bayes_config` turns a
malformed file into a :class:`~toolkit.errors.ConfigError` naming every bad key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeAlias

from pydantic import Field, field_validator

from toolkit.config import FrozenConfig, load_yaml, resolve_config, validate_model

Level: TypeAlias = Literal["organisation", "contract", "site"]
LEVELS: tuple[Level, ...] = ("organisation", "contract", "site")


class Priors(FrozenConfig):
    """Weakly informative priors on the log-odds scale."""

    intercept_sd: float = Field(default=2.5, gt=0)
    coef_sd: float = Field(default=2.5, gt=0)
    offset_intercept_sd: float = Field(default=0.5, gt=0)
    group_sd: float = Field(default=1.0, gt=0)
    lkj_eta: float = Field(default=2.0, gt=0)


class TwoStage(FrozenConfig):
    """The two-stage model: offsets from the frequentist fit, nested random intercepts."""

    levels: tuple[Level, ...] = LEVELS
    cross_measure: Literal["factor", "independent", "lkj"] = "factor"
    nodes_per_cell: int = Field(default=4, ge=0)
    centre_information: float | Literal["auto"] = "auto"
    # site: every level is scored from the site model (contracts and organisations from their sites' draws);
    # per_level: contracts and organisations from models whose random intercept is at their own level
    rating_models: Literal["site", "per_level"] = "site"
    # independent measures: reorder each entity's draws to carry the correlation of true effects across
    # measures where the prior leads its posterior (toolkit.bayes.coupling)
    couple_measures: bool = False

    @field_validator("centre_information")
    @classmethod
    def _nonneg(cls, v: float | Literal["auto"]) -> float | Literal["auto"]:
        if not isinstance(v, str) and v < 0:  # a str is "auto"
            raise ValueError("centre_information must be 'auto' or a number >= 0")
        return v

    @field_validator("levels")
    @classmethod
    def _ordered(cls, v: tuple[Level, ...]) -> tuple[Level, ...]:
        if not v or "site" not in v:
            raise ValueError("levels must include 'site'")
        if list(v) != [x for x in LEVELS if x in v]:
            raise ValueError(f"levels must be listed outer to inner: {list(LEVELS)}")
        return v


class Sampler(FrozenConfig):
    """The sampler and its settings; a model that fails its gate is re-run once (``retry_*``)."""

    backend: Literal["nutpie", "pymc"] = "nutpie"
    # nutpie's calls into the two-stage density: "native" (numba C callbacks, no Python per gradient) or
    # "python" (nutpie's Python-function models; the same draws, about 1.5-2x slower)
    callbacks: Literal["native", "python"] = "native"
    chains: int = Field(default=2, ge=1)
    cores: int = Field(default=2, ge=1)
    tune: int = Field(default=600, ge=50)
    draws: int = Field(default=1000, ge=50)
    target_accept: float = Field(default=0.8, gt=0, lt=1)
    low_rank_mass_matrix: bool = False
    retry_target_accept: float = Field(default=0.95, gt=0, lt=1)
    retry_draws_factor: int = Field(default=3, ge=1)  # a model that fails its gate is re-run once with this many
    # times the draws (a fresh seed); 1 = no retry
    retry_max_draws_factor: int = Field(default=10, ge=1)  # ... or more, up to this, when its ESS says it needs more:
    retry_ess_margin: float = Field(default=2.0, ge=1)  # this many times the draws the first run's ESS asks for
    retry_non_centred: bool = True  # a re-run after divergences samples every effect non-centred


class Gates(FrozenConfig):
    """Convergence gates (Vehtari et al. 2021)."""

    max_rhat: float = Field(default=1.01, ge=1)
    min_ess_bulk: float = Field(default=400, ge=0)
    min_ess_tail: float = Field(default=400, ge=0)
    max_divergences: int = Field(default=0, ge=0)


class Scoring(FrozenConfig):
    """How posterior draws are scored by the method and summarised."""

    draws: int = Field(default=400, ge=10)
    # the risk model's coefficient uncertainty in each draw's expected outcomes (toolkit.bayes.expected):
    # covariance clustered by this level, "model" = the fit's model-based covariance, "none" = E taken as known
    expected_uncertainty: Literal["organisation", "contract", "site", "model", "none"] = "none"
    interval: float = Field(default=0.90, gt=0, lt=1)
    small_denominator: int = Field(default=50, ge=1)


class BayesConfig(FrozenConfig):
    """Everything the Bayesian variant uses besides the data and the seed."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    release_model: Literal["two_stage"] = "two_stage"
    priors: Priors = Priors()
    two_stage: TwoStage = TwoStage()
    sampler: Sampler = Sampler()
    gates: Gates = Gates()
    scoring: Scoring = Scoring()


def load_bayes_config(path: str | Path = "des_2018") -> BayesConfig:
    """Read ``configs/bayes/<name>.yaml`` (or a path) into a :class:`BayesConfig`."""
    p = resolve_config(path, "bayes")
    return validate_model(BayesConfig, load_yaml(p), p)
