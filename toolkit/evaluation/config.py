"""Model-evaluation configs (``configs/evaluations/<name>.yaml``): candidates, folds, subgroups, measures.

Read and checked (model sets, formulas, method, paths) by :func:`load_evaluation_config` and
:func:`prepare_evaluation` before any run or folder is created; a problem is a
:class:`~toolkit.errors.ConfigError` naming the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, model_validator

from toolkit.config import (
    ExperimentName,
    FrozenConfig,
    IsoDate,
    inside_root,
    load_yaml,
    resolve_config,
    validate_model,
)
from toolkit.errors import ConfigError

#: Families of candidate models (:mod:`toolkit.evaluation.families`).
Family = Literal["spline_glm", "lightgbm"]


class LightGBMParams(FrozenConfig):
    """Settings of a LightGBM yardstick (single-threaded and deterministic)."""

    num_leaves: int = Field(15, ge=2)
    n_estimators: int = Field(200, ge=1)
    learning_rate: float = Field(0.05, gt=0, le=1)
    min_child_samples: int = Field(50, ge=1)


class Candidate(FrozenConfig):
    """One candidate model set: a ``family`` (how it fits), the model set whose specs (or covariates) it
    uses, and its ``role``: the one ``baseline``, an ``alternative`` (cross-validated and rated), or a
    ``yardstick`` (cross-validated only, never rated)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    family: Family = "spline_glm"
    models: str = "des_2018"
    role: Literal["baseline", "alternative", "yardstick"] = "alternative"
    lightgbm: LightGBMParams | None = None

    @model_validator(mode="after")
    def _family(self) -> Self:
        if self.family == "lightgbm" and self.role != "yardstick":
            raise ValueError("a lightgbm candidate can only be a yardstick (role: yardstick)")
        if self.family != "lightgbm" and self.lightgbm is not None:
            raise ValueError("lightgbm settings apply to family lightgbm only")
        return self


class Folds(FrozenConfig):
    k: int = Field(5, ge=2, le=20)
    seed: int = Field(2018, ge=0)


class Subgroup(FrozenConfig):
    """A participant characteristic whose levels get an out-of-fold O/E each: a column of the frame,
    cut into bands at ``bins`` (left-closed edges) when it is numeric."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_]*$")
    column: str
    bins: tuple[float, ...] = ()

    @model_validator(mode="after")
    def _bins(self) -> Self:
        if self.bins and any(b >= a for a, b in zip(self.bins[1:], self.bins, strict=False)):
            raise ValueError("bins must be increasing")
        return self


class Window(FrozenConfig):
    start: IsoDate
    end: IsoDate


class Tracking(FrozenConfig):
    experiment: ExperimentName = "model-evaluation"


class EvaluationConfig(FrozenConfig):
    """Everything an evaluation of candidate expected-outcome models is, besides the data."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    window: Window
    method: str = "des_2018"
    measures: tuple[str, ...] = ()  # model keys (dms_full_13, ...); empty: every model of the baseline set
    folds: Folds = Folds()
    level: float = Field(0.95, gt=0.5, lt=1)
    candidates: tuple[Candidate, ...]
    subgroups: tuple[Subgroup, ...] = ()
    min_subgroup_records: int = Field(30, ge=1)  # a subgroup level with fewer records gets no O/E row
    tracking: Tracking = Tracking()
    output_root: str = "out/evaluations"

    @model_validator(mode="after")
    def _candidates(self) -> Self:
        names = [c.name for c in self.candidates]
        if len(set(names)) != len(names):
            raise ValueError(f"candidate names must be distinct, got {names}")
        baselines = [c.name for c in self.candidates if c.role == "baseline"]
        if len(baselines) != 1:
            raise ValueError(f"exactly one candidate must have role: baseline, got {len(baselines)}")
        if next(c for c in self.candidates if c.role == "baseline").family != "spline_glm":
            raise ValueError("the baseline must be a spline_glm candidate (a rating model)")
        subs = [s.name for s in self.subgroups]
        if len(set(subs)) != len(subs):
            raise ValueError(f"subgroup names must be distinct, got {subs}")
        if len(set(self.measures)) != len(self.measures):
            raise ValueError("measures must be distinct")
        if self.window.end < self.window.start:
            raise ValueError(f"window.end {self.window.end} is before window.start {self.window.start}")
        return self

    @property
    def baseline(self) -> Candidate:
        return next(c for c in self.candidates if c.role == "baseline")


def load_evaluation_config(path: str | Path) -> tuple[EvaluationConfig, Path]:
    """Read and validate an evaluation config (a file, or a name under ``configs/evaluations/``)."""
    p = resolve_config(path, "evaluations")
    return check_evaluation_config(load_yaml(p), p), p


def check_evaluation_config(data: dict[str, Any], source: str | Path) -> EvaluationConfig:
    """Validate a config mapping, its paths (inside the repository) and the measures against the baseline set."""
    from toolkit.expected.spec import load_model_set
    from toolkit.release.config import model_set_dir

    cfg = validate_model(EvaluationConfig, data, source)
    inside_root(cfg.output_root, "output_root", source)
    for i, c in enumerate(cfg.candidates):
        try:
            inside_root(model_set_dir(c.models), f"candidates.{i}.models", source)
            load_model_set(c.models)
        except ConfigError as exc:
            raise ConfigError(f"config {source}: candidates.{i}.models ({c.name}): {exc}") from None
    keys = set(load_model_set(cfg.baseline.models))
    unknown = sorted(set(cfg.measures) - keys)
    if unknown:
        raise ConfigError(f"config {source}: measures: unknown model key(s) {unknown} (known: {sorted(keys)})")
    try:
        resolve_config(cfg.method, "methods")
    except ConfigError as exc:
        raise ConfigError(f"config {source}: method: {exc}") from None
    return cfg
