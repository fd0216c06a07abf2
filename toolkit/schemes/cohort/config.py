"""The small-cohort evaluation config (``configs/schemes/cohort/*.yaml``).

Examples
--------
>>> cfg = load_cohort_config("default")
>>> cfg.domains["distress"].higher_is_better
False
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, field_validator, model_validator

from toolkit.config import ExperimentName, FrozenConfig, inside_root, validate_model
from toolkit.schemes.config import load_scheme_yaml


class DomainSpec(FrozenConfig):
    """One outcome domain: its direction, scale, and the questions asked of it."""

    label: str
    higher_is_better: bool = True
    scale: tuple[float, float]
    improved_by: float = Field(gt=0)
    threshold: float
    reference_rate: float = Field(gt=0, lt=1)

    @model_validator(mode="after")
    def _scale(self) -> Self:
        if self.scale[1] <= self.scale[0]:
            raise ValueError("scale must be [low, high] with low < high")
        return self


class PowerSpec(FrozenConfig):
    alpha: float = Field(0.05, gt=0, lt=1)
    power: float = Field(0.8, gt=0, lt=1)


class SimDomain(FrozenConfig):
    pre_mean: float
    pre_sd: float = Field(gt=0)
    change_mean: float
    change_sd: float = Field(gt=0)
    rounding: float = Field(1.0, ge=0)


class Simulation(FrozenConfig):
    dropout: float = Field(0.0, ge=0, lt=1)
    population_draws: int = Field(400_000, ge=10_000)
    domains: dict[str, SimDomain]


class Tracking(FrozenConfig):
    experiment: ExperimentName = "cohort-evaluation"


class CohortConfig(FrozenConfig):
    """Everything that defines a cohort evaluation besides the data."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    contract: str = "schemes/cohort/contracts/cohort_outcomes.yaml"
    domains: dict[str, DomainSpec]
    levels: tuple[float, ...] = (0.9, 0.95)
    share_prior: tuple[float, float] = (0.5, 0.5)
    power: PowerSpec = PowerSpec()
    simulation: Simulation | None = None
    tracking: Tracking = Tracking()
    output_root: str = "out/cohort"
    seed: int = 0

    @field_validator("levels")
    @classmethod
    def _levels(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if not v or any(not 0 < x < 1 for x in v) or len(set(v)) != len(v):
            raise ValueError("levels must be distinct numbers between 0 and 1")
        return tuple(sorted(v))

    @field_validator("share_prior")
    @classmethod
    def _prior(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[0] <= 0 or v[1] <= 0:
            raise ValueError("share_prior must be two positive numbers")
        return v

    @model_validator(mode="after")
    def _simulated_domains(self) -> Self:
        if self.simulation is not None:
            unknown = set(self.simulation.domains) - set(self.domains)
            if unknown:
                raise ValueError(f"simulation.domains has domains not in domains: {sorted(unknown)}")
        return self


def load_cohort_config(path: str | Path = "default") -> CohortConfig:
    data, p = load_scheme_yaml(path, "schemes/cohort")
    cfg = validate_model(CohortConfig, data, p)
    inside_root(cfg.output_root, "output_root", p)
    return cfg
