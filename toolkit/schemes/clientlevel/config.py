"""The run config of client-level results (``configs/schemes/clientlevel/report.yaml``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from toolkit.config import (
    AliasName,
    ConfigDate,
    ExperimentName,
    FrozenConfig,
    inside_root,
    load_yaml,
    resolve_config,
    validate_model,
)

DIMENSIONS = ("knowledge", "attitude", "skills", "behaviour", "circumstances")


class Window(FrozenConfig):
    start: ConfigDate
    end: ConfigDate

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end < self.start:
            raise ValueError("window.end is before window.start")
        return self


class Improvement(FrozenConfig):
    min_change: int = Field(ge=1)


class Privacy(FrozenConfig):
    secret_min_length: int = Field(ge=8)
    threshold: int = Field(ge=2)
    suppress_zero: bool = False
    min_values: int = Field(2, ge=2)
    marker: str = Field("s", min_length=1)


class ModelSpec(FrozenConfig):
    outcome: Literal["improved"] = "improved"
    formula: str
    out_of_range: Literal["clip", "extrapolate", "error"] = "clip"
    unseen_level: Literal["error", "reference"] = "error"


class Grid(FrozenConfig):
    lower: float
    upper: float
    points: int = Field(ge=51)


class Shrinkage(FrozenConfig):
    method: Literal["random_intercept_eb"] = "random_intercept_eb"
    grid: Grid
    interval: float = Field(gt=0, lt=1)


class Checks(FrozenConfig):
    max_calibration_in_the_large: float = Field(ge=0)
    min_auc: float = Field(ge=0, le=1)


class Tracking(FrozenConfig):
    experiment: ExperimentName
    register_model: bool = True
    model_name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    alias: AliasName = "champion"


class ClientLevelConfig(FrozenConfig):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    window: Window
    period: Literal["financial_year"] = "financial_year"
    dimensions: tuple[Literal[DIMENSIONS], ...] = Field(min_length=1)  # type: ignore[valid-type]
    improvement: Improvement
    timeliness_days: int = Field(ge=0)
    completed_reasons: tuple[str, ...] = Field(min_length=1)
    privacy: Privacy
    model: ModelSpec
    shrinkage: Shrinkage
    funnel_levels: tuple[float, ...] = (0.95, 0.998)
    checks: Checks
    seed: int
    tracking: Tracking
    output_root: str = "out/clientlevel"

    def periods(self) -> list[tuple[str, dt.date, dt.date]]:
        """``(label, first day, last day)`` of each financial year overlapping the window."""
        out = []
        y = self.window.start.year + (1 if self.window.start.month >= 7 else 0)
        while dt.date(y - 1, 7, 1) <= self.window.end:
            out.append(
                (f"FY{y}", max(dt.date(y - 1, 7, 1), self.window.start), min(dt.date(y, 6, 30), self.window.end))
            )
            y += 1
        return out


def load_clientlevel_config(path: str | Path = "schemes/clientlevel/report.yaml") -> tuple[ClientLevelConfig, Path]:
    p = resolve_config(path, "schemes/clientlevel")
    cfg = validate_model(ClientLevelConfig, load_yaml(p), p)
    inside_root(cfg.output_root, "output_root", p)
    return cfg, p
