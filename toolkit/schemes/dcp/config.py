"""The run config of a DCP KPI assessment (``configs/schemes/dcp/report.yaml``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from toolkit.config import (
    ExperimentName,
    FrozenConfig,
    config_reference,
    inside_root,
    load_yaml,
    resolve_config,
    validate_model,
)

QUARTER = r"^[0-9]{4}Q[1-4]$"


class Periods(FrozenConfig):
    first: str = Field(pattern=QUARTER)
    last: str = Field(pattern=QUARTER)

    @model_validator(mode="after")
    def _ordered(self) -> Periods:
        if quarter_index(self.last) < quarter_index(self.first):
            raise ValueError(f"periods.last {self.last} is before periods.first {self.first}")
        return self

    def quarters(self) -> list[str]:
        return [quarter_label(i) for i in range(quarter_index(self.first), quarter_index(self.last) + 1)]


class Escalation(FrozenConfig):
    consecutive_level_3: int = Field(ge=1)
    not_submitted: Literal["break", "bridge", "count"] = "bridge"


class Tracking(FrozenConfig):
    experiment: ExperimentName = "dcp-oohc-kpis"


class DcpReportConfig(FrozenConfig):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    catalogue: str
    periods: Periods
    annual_due_quarter: int = Field(ge=1, le=4)
    escalation: Escalation
    tracking: Tracking = Tracking()
    output_root: str = "out/dcp"


def quarter_index(label: str) -> int:
    """``"2024Q3"`` -> 4 * 2024 + 2 (consecutive quarters differ by one)."""
    return int(label[:4]) * 4 + int(label[5]) - 1


def quarter_label(index: int) -> str:
    return f"{index // 4}Q{index % 4 + 1}"


def load_report_config(path: str | Path = "schemes/dcp/report.yaml") -> tuple[DcpReportConfig, Path]:
    p = resolve_config(path, "schemes/dcp")
    cfg = validate_model(DcpReportConfig, load_yaml(p), p)
    inside_root(cfg.output_root, "output_root", p)
    return cfg, p


def catalogue_path(config: DcpReportConfig, config_path: Path) -> Path:
    """The catalogue a run config names, relative to the config's folder unless absolute (inside the
    repository root: a path elsewhere is given with ``--catalogue``)."""
    return config_reference(config.catalogue, "catalogue", config_path, relative_to=config_path.parent)
