"""Release configs (``configs/releases/<name>.yaml``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from toolkit.config import (
    AliasName,
    ExperimentName,
    FrozenConfig,
    IsoDate,
    inside_root,
    load_yaml,
    resolve_config,
    validate_model,
)
from toolkit.errors import ConfigError
from toolkit.paths import config_file


class SyntheticData(FrozenConfig):
    scale: Literal["tiny", "small", "national"] = "small"
    seed: int = Field(2020, ge=0)


class DataSource(FrozenConfig):
    path: str | None = None  # a folder of contract tables
    synthetic: SyntheticData | None = None
    records: Literal["auto", "table", "events"] = "auto"  # measure records as given, or derived from events/


class Window(FrozenConfig):
    start: IsoDate
    end: IsoDate

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end < self.start:
            raise ValueError(f"window.end {self.end} is before window.start {self.start}")
        return self


class Tracking(FrozenConfig):
    experiment: ExperimentName = "des-star-ratings"
    register_models: bool = True
    alias: AliasName = "champion"


class Checks(FrozenConfig):
    max_calibration_in_the_large: float = Field(0.001, ge=0)
    min_auc: float = Field(0.55, ge=0, le=1)


class ReleaseConfig(FrozenConfig):
    """Everything that defines a release besides the data."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    data: DataSource = DataSource()
    window: Window
    method: str = "des_2018"
    models: str = "des_2018"
    variant: Literal["frequentist", "bayes"] = "frequentist"
    bayes: str = "des_2018"  # configs/bayes/<name>.yaml: priors, sampler, gates (variant bayes)
    seed: int = Field(2020, ge=0)
    previous: str | None = None
    tracking: Tracking = Tracking()
    checks: Checks = Checks()
    output_root: str = "releases"


def model_set_dir(value: str) -> Path:
    """The folder of a model set: a folder as given, or ``configs/models/<value>`` (the workspace's, else
    the shipped one)."""
    d = Path(value)
    if not d.is_dir():
        d = config_file(Path("models") / value)
    if not d.is_dir():
        raise ConfigError(f"model set {value} not found (looked for {d})")
    return d.absolute()


def check_config_paths(config: ReleaseConfig, source: str | Path) -> None:
    """A release config file is data: every path it names (method, models, bayes, previous, output_root,
    data.path; relative ones from the workspace) must lie inside the workspace or the shipped configs. Paths
    elsewhere are given on the command line (``--previous``, ``--out``, ``--data``)."""
    inside_root(resolve_config(config.method, "methods").absolute(), "method", source)
    inside_root(model_set_dir(config.models), "models", source)
    inside_root(resolve_config(config.bayes, "bayes").absolute(), "bayes", source)
    for key, value in (("previous", config.previous), ("output_root", config.output_root)):
        if value:
            inside_root(value, key, source)
    if config.data.path:
        inside_root(config.data.path, "data.path", source)


def load_release_config(path: str | Path) -> tuple[ReleaseConfig, Path]:
    """Read and validate a release config file, including where its paths point (:func:`check_config_paths`)."""
    p = resolve_config(path, "releases")
    config = validate_model(ReleaseConfig, load_yaml(p), p)
    check_config_paths(config, p)
    return config, p
