"""The DEX partnership-approach config (``configs/schemes/dex/*.yaml``) and its reporting periods.

Examples
--------
>>> cfg = load_dex_config("partnership")
>>> cfg.measures["valid_slk"].share
0.9
>>> [p.label for p in cfg.periods("2021-08-01", "2022-02-01")]
['2021-H2', '2022-H1']
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal, Self

import pandas as pd
from pydantic import Field, field_validator, model_validator

from toolkit.config import (
    ConfigDate,
    ExperimentName,
    FrozenConfig,
    config_reference,
    inside_root,
    load_yaml,
    validate_model,
)
from toolkit.errors import ConfigError
from toolkit.schemes.config import load_scheme_yaml

#: The measures of the partnership approach; a config gives each its kind and share.
MEASURES = (
    "assessed_circumstances",
    "assessed_goals",
    "assessed_satisfaction",
    "circumstances_positive_or_neutral",
    "goals_positive_or_neutral",
    "satisfaction_positive",
    "complete_demographics",
    "valid_slk",
)
SCORE_TYPES = ("circumstances", "goals", "satisfaction", "community")
OrderColumn = Literal["assessment_date", "session_id", "assessment_id"]


class DateRange(FrozenConfig):
    start: ConfigDate
    end: ConfigDate

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end < self.start:
            raise ValueError("end is before start")
        return self


class Reporting(FrozenConfig):
    first_period_start: ConfigDate
    period_start_months: tuple[int, ...] = (1, 7)
    transition: DateRange | None = None

    @field_validator("period_start_months")
    @classmethod
    def _months(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or sorted(set(v)) != list(v) or v[0] < 1 or v[-1] > 12:
            raise ValueError("period_start_months must be increasing months 1..12")
        return v


class MeasureSpec(FrozenConfig):
    kind: Literal["minimum", "target"]
    share: float = Field(ge=0, le=1)
    label: str = ""


class SatisfactionRule(FrozenConfig):
    positive_min_score: int = Field(4, ge=1, le=5)
    positive_share_above: float = Field(0.5, ge=0, lt=1)


class ScoreRules(FrozenConfig):
    order_by: tuple[OrderColumn, ...] = (
        "assessment_date",
        "session_id",
        "assessment_id",
    )
    change_rule: Literal["mean_nonnegative", "none_negative"] = "mean_nonnegative"
    satisfaction: SatisfactionRule = SatisfactionRule()

    @field_validator("order_by")
    @classmethod
    def _complete(cls, v: tuple[OrderColumn, ...]) -> tuple[OrderColumn, ...]:
        if not v or v[0] != "assessment_date" or len(set(v)) != 3:
            raise ValueError("order_by must start with assessment_date and name each of the three columns once")
        return v


class Demographics(FrozenConfig):
    items: tuple[str, ...]
    not_stated: dict[str, tuple[str, ...]] = Field(default_factory=dict)


class SlkRules(FrozenConfig):
    placeholder_names_valid: bool = False
    estimated_birth_date_valid: bool = True
    # the department's sex codes -> the key's digit (lower-cased; default: toolkit.slk.SEX_DIGITS)
    sex_codes: dict[str, Literal["1", "2", "3", "9"]] | None = None
    # text dates of birth as DD/MM/YYYY (Australian forms); false: MM/DD/YYYY
    day_first: bool = True


class BayesSpec(FrozenConfig):
    method: Literal["hierarchical", "empirical_bayes", "fixed"] = "hierarchical"
    interval: float = Field(0.9, gt=0, lt=1)
    min_providers: int = Field(5, ge=2)
    fallback_prior: tuple[float, float] = (0.5, 0.5)
    concentration_range: tuple[float, float] = (0.2, 1e4)
    clearly_short_below: float = Field(0.1, ge=0, le=1)
    clearly_met_above: float = Field(0.9, ge=0, le=1)

    @field_validator("concentration_range", "fallback_prior")
    @classmethod
    def _positive(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[0] <= 0 or v[1] <= 0:
            raise ValueError("must be positive")
        return v


class Tracking(FrozenConfig):
    experiment: ExperimentName = "dex-partnership"


class DexConfig(FrozenConfig):
    """Everything that defines a partnership-approach report besides the data."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    domains: dict[str, dict[str, str]]  # score type -> domain code -> label (read from the domains file)
    contracts: str = "dex"
    reporting: Reporting
    measures: dict[str, MeasureSpec]
    score: ScoreRules = ScoreRules()
    demographics: Demographics
    slk: SlkRules = SlkRules()
    bayes: BayesSpec = BayesSpec()
    tracking: Tracking = Tracking()
    output_root: str = "out/dex"
    seed: int = 0

    @field_validator("measures")
    @classmethod
    def _all_measures(cls, v: dict[str, MeasureSpec]) -> dict[str, MeasureSpec]:
        missing, unknown = set(MEASURES) - set(v), set(v) - set(MEASURES)
        if missing or unknown:
            raise ValueError(
                f"measures must be exactly {', '.join(MEASURES)} "
                f"(missing: {sorted(missing)}, unknown: {sorted(unknown)})"
            )
        return {m: v[m] for m in MEASURES}

    @field_validator("domains")
    @classmethod
    def _types(cls, v: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        if set(v) != set(SCORE_TYPES):
            raise ValueError(f"domains must list the score types {', '.join(SCORE_TYPES)}")
        codes = [c for t in v.values() for c in t]
        if len(codes) != len(set(codes)):
            raise ValueError("a domain code appears under two score types")
        return v

    def periods(self, first: object, last: object) -> list[Period]:
        """Reporting periods from the one holding ``first`` (not before ``first_period_start``) to the one
        holding ``last``."""
        start = max(pd.Timestamp(first).date(), self.reporting.first_period_start)
        end = pd.Timestamp(last).date()
        months = self.reporting.period_start_months
        out: list[Period] = []
        before = [i for i, m in enumerate(months) if m <= start.month]
        year, idx = (start.year, before[-1]) if before else (start.year - 1, len(months) - 1)
        while True:
            p_start = date(year, months[idx], 1)
            ny, ni = (year, idx + 1) if idx + 1 < len(months) else (year + 1, 0)
            p_end = (pd.Timestamp(date(ny, months[ni], 1)) - pd.Timedelta(days=1)).date()
            if p_start > end:
                break
            tr = self.reporting.transition
            transition = tr is not None and p_start <= tr.end and p_end >= tr.start
            label = f"{year}-H{idx + 1}" if len(months) == 2 else f"{year}-P{idx + 1}"
            out.append(Period(label, p_start, p_end, transition))
            year, idx = ny, ni
        return out


@dataclass(frozen=True)
class Period:
    """One reporting period; ``transition`` periods are reported but not assessed."""

    label: str
    start: ConfigDate
    end: ConfigDate
    transition: bool


def load_dex_config(path: str | Path = "partnership") -> DexConfig:
    """Read a partnership-approach config (following ``extends``) and its domains file."""
    data, p = load_scheme_yaml(path, "schemes/dex")
    dom_ref = data.get("domains")
    if not isinstance(dom_ref, str):
        raise ConfigError(f"config {p}: 'domains' must name a domains file (e.g. schemes/dex/domains.yaml)")
    dom_path = config_reference(dom_ref, "domains", p, "schemes/dex")
    raw = load_yaml(dom_path).get("types")
    if not isinstance(raw, dict):
        raise ConfigError(f"domains file {dom_path}: needs a 'types' mapping")
    try:
        data["domains"] = {
            t: {str(c): str(lbl) for c, lbl in (spec or {}).get("domains", {}).items()} for t, spec in raw.items()
        }
    except AttributeError:
        raise ConfigError(f"domains file {dom_path}: each type needs a 'domains' mapping of code: label") from None
    cfg = validate_model(DexConfig, data, p)
    inside_root(cfg.output_root, "output_root", p)
    return cfg
