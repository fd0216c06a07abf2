"""The method config: every number of the rating method, read from YAML and checked.

A :class:`MethodConfig` is a frozen pydantic model built from a file under
``configs/methods/`` (``des_2018.yaml``, ``des_2018_interim.yaml``). Nothing in
:mod:`toolkit.scoring` hard-codes a weight, threshold, band or month count;
the numerical functions receive a :class:`ProgramMethod`, the arrays of one
program derived from the config.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, PositiveInt, model_validator

from toolkit.config import FrozenConfig, load_yaml, resolve_config, validate_model

Level = Literal["organisation", "contract", "site"]
Status = Literal["rated", "insufficient_data", "carried_forward", "substituted", "new_site", "new_contract"]

#: Output order of levels (top down); rows are sorted by program, this order, entity id.
LEVELS: tuple[str, ...] = ("organisation", "contract", "site")
STATUSES: tuple[str, ...] = ("rated", "insufficient_data", "carried_forward", "substituted", "new_site", "new_contract")

_WEIGHT_SUM_TOL = 1e-9  # numerical tolerance of "weights sum to 1", not a number of the method


class GroupSpec(FrozenConfig):
    id: str = Field(min_length=1)
    label: str = ""


class MeasureSpec(FrozenConfig):
    id: str = Field(min_length=1)
    group: str
    saturation: PositiveInt
    label: str = ""


class ThresholdRule(FrozenConfig):
    """``sum(n[m] for m in measures) >= min_n``."""

    measures: tuple[str, ...] = Field(min_length=1)
    min_n: int = Field(ge=0)


class ProgramSpec(FrozenConfig):
    label: str = ""
    weights: dict[str, float]
    minimum_data: tuple[ThresholdRule, ...] = Field(min_length=1)
    #: measures accepted in the input but not scored (e.g. 52-week measures of an interim weight set)
    not_scored: tuple[str, ...] = ()


class WeightAdjustmentSpec(FrozenConfig):
    small_n: Literal["proportional"]
    within_group: Literal["proportional_to_weight"]
    across_groups: Literal["proportional_to_group_weight"]


class StandardisationSpec(FrozenConfig):
    kind: Literal["clip_z"]
    centre: float
    clip: tuple[float, float] | None
    ddof: int = Field(ge=0, le=1)
    population: Literal["rated_contracts"]
    min_population: int = Field(ge=2)
    # A group with no data nationally (no rated contract has a ratio for it, e.g. no Ongoing Support
    # records): "redistribute" leaves it unstandardised; every entity has n = 0 for its measures, so the
    # weight adjustment has already moved its weight to the other groups, as for a small denominator.
    # "error" refuses to score the program.
    group_without_data: Literal["redistribute", "error"] = "redistribute"

    @model_validator(mode="after")
    def _clip_order(self) -> StandardisationSpec:
        if self.clip is not None and not (self.clip[0] < self.centre < self.clip[1]):
            raise ValueError("clip must be [low, high] with low < centre < high")
        return self


class NationalAverageSpec(FrozenConfig):
    statistic: Literal["mean"]
    population: Literal["rated_contracts"]


class StarPercentageSpec(FrozenConfig):
    scale: float = Field(gt=0)
    rounding: Literal["toward_zero"]
    guard_decimals: int = Field(ge=0, le=12)


class Band(FrozenConfig):
    stars: int = Field(ge=1)
    min: int | None
    max: int | None


class MonthsRule(FrozenConfig):
    calculated_from_months: float = Field(ge=0)
    published_from_months: float = Field(ge=0)

    @model_validator(mode="after")
    def _order(self) -> MonthsRule:
        if self.published_from_months < self.calculated_from_months:
            raise ValueError("published_from_months must not be below calculated_from_months")
        return self


class NewEntitiesSpec(FrozenConfig):
    site: MonthsRule
    contract: MonthsRule


class PublishingSpec(FrozenConfig):
    carry_forward: bool
    carry_forward_levels: tuple[Level, ...]
    substitute_sites: bool
    substitute_from: tuple[Status, ...]
    # The statuses of a site that shows its contract's rating (when the contract's status is one of
    # substitute_from). The default is the reading of releases before 2026-12 (a new site showed its
    # contract's rating until 12 months), kept so that their tracked methods reproduce.
    substitute_site_statuses: tuple[Status, ...] = ("new_site", "insufficient_data")
    # A site under a contract that is new_contract is published as new_contract too (the department's
    # December 2019 release prints "New Contract" on such sites).
    new_contract_sites: bool = False


class NovationSpec(FrozenConfig):
    merge: Literal["sum"]
    old_sites: Literal["remove"]
    months_operating: Literal["max", "new"]


class EndedContractsSpec(FrozenConfig):
    open_sites: Literal["closed", "error"]


class MethodConfig(FrozenConfig):
    """A complete rating method (see ``configs/methods/des_2018.yaml``)."""

    name: str = Field(min_length=1)
    source: str = ""
    groups: tuple[GroupSpec, ...] = Field(min_length=1)
    measures: tuple[MeasureSpec, ...] = Field(min_length=1)
    programs: dict[str, ProgramSpec] = Field(min_length=1)
    weight_adjustment: WeightAdjustmentSpec
    standardisation: StandardisationSpec
    national_average: NationalAverageSpec
    star_percentage: StarPercentageSpec
    bands: tuple[Band, ...] = Field(min_length=1)
    new_entities: NewEntitiesSpec
    publishing: PublishingSpec
    novation: NovationSpec
    # Stated in every method file; the default only lets runs tracked before the key existed
    # (when such a site broke the release) be validated and reproduced.
    ended_contracts: EndedContractsSpec = EndedContractsSpec(open_sites="closed")

    @model_validator(mode="after")
    def _consistent(self) -> MethodConfig:
        problems: list[str] = []
        gids = [g.id for g in self.groups]
        mids = [m.id for m in self.measures]
        for what, ids in (("group", gids), ("measure", mids)):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            if dup:
                problems.append(f"{what} ids not unique: {dup}")
        for m in self.measures:
            if m.group not in gids:
                problems.append(f"measure {m.id}: group {m.group!r} is not among groups {gids}")
        for pname, p in self.programs.items():
            unknown = sorted(set(p.weights) - set(mids))
            if unknown:
                problems.append(f"programs.{pname}.weights: unknown measures {unknown}")
            bad = sorted(k for k, w in p.weights.items() if not (math.isfinite(w) and w > 0))
            if bad:
                problems.append(f"programs.{pname}.weights: weights must be > 0 (drop a measure instead): {bad}")
            total = sum(p.weights.values())
            if abs(total - 1.0) > _WEIGHT_SUM_TOL:
                problems.append(f"programs.{pname}.weights sum to {total!r}, not 1")
            ns = set(p.not_scored)
            if ns - set(mids):
                problems.append(f"programs.{pname}.not_scored: unknown measures {sorted(ns - set(mids))}")
            if ns & set(p.weights):
                problems.append(f"programs.{pname}.not_scored: measures also weighted {sorted(ns & set(p.weights))}")
            for i, rule in enumerate(p.minimum_data):
                off = sorted(set(rule.measures) - set(p.weights))
                if off:
                    problems.append(f"programs.{pname}.minimum_data.{i}: measures not weighted in {pname}: {off}")
        problems += _band_problems(self.bands)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # -- derived views -------------------------------------------------------
    @property
    def group_ids(self) -> tuple[str, ...]:
        return tuple(g.id for g in self.groups)

    @property
    def measure_ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.measures)

    def program_method(self, program: str) -> ProgramMethod:
        """The arrays of one program that the numerical functions use."""
        if program not in self.programs:
            raise KeyError(f"program {program!r} not in method {self.name!r} (has {sorted(self.programs)})")
        p = self.programs[program]
        measures = tuple(m for m in self.measures if m.id in p.weights)  # config order
        groups = tuple(g for g in self.group_ids if any(m.group == g for m in measures))
        gidx = np.array([groups.index(m.group) for m in measures], dtype=np.intp)
        member = np.zeros((len(measures), len(groups)))
        member[np.arange(len(measures)), gidx] = 1.0
        w = np.array([p.weights[m.id] for m in measures], dtype=float)
        thresholds = np.zeros((len(p.minimum_data), len(measures)))
        for i, rule in enumerate(p.minimum_data):
            for mid in rule.measures:
                thresholds[i, [m.id for m in measures].index(mid)] = 1.0
        return ProgramMethod(
            program=program,
            measures=tuple(m.id for m in measures),
            groups=groups,
            weights=w,
            saturation=np.array([m.saturation for m in measures], dtype=float),
            group_index=gidx,
            membership=member,
            group_weights=w @ member,
            threshold_matrix=thresholds,
            threshold_min=np.array([r.min_n for r in p.minimum_data], dtype=float),
            standardisation=self.standardisation,
            star_percentage=self.star_percentage,
            bands=self.bands,
        )


def _band_problems(bands: tuple[Band, ...]) -> list[str]:
    """Bands, sorted by lower edge, must tile the integers: open below, open above, no gap or overlap."""
    out: list[str] = []
    stars = [b.stars for b in bands]
    if len(set(stars)) != len(stars):
        out.append("bands: stars not unique")
    ordered = sorted(bands, key=lambda b: -math.inf if b.min is None else b.min)
    if ordered[0].min is not None:
        out.append("bands: the lowest band must be open below (min: null)")
    if ordered[-1].max is not None:
        out.append("bands: the highest band must be open above (max: null)")
    for b in ordered:
        if b.min is not None and b.max is not None and b.min > b.max:
            out.append(f"bands: band of {b.stars} stars has min > max")
    for lo, hi in itertools.pairwise(ordered):
        if lo.max is None or hi.min is None or hi.min != lo.max + 1:
            out.append(f"bands: gap or overlap between the bands of {lo.stars} and {hi.stars} stars")
    if [b.stars for b in ordered] != sorted(stars):
        out.append("bands: more stars must mean a higher star percentage")
    return out


@dataclass(frozen=True, eq=False)
class ProgramMethod:
    """One program of a method as arrays, in the config's measure and group order.

    ``weights`` (M,), ``saturation`` (M,), ``membership`` (M, K) one-hot measure -> group,
    ``group_weights`` (K,), ``threshold_matrix`` (R, M) and ``threshold_min`` (R,) for the
    minimum data rules.
    """

    program: str
    measures: tuple[str, ...]
    groups: tuple[str, ...]
    weights: np.ndarray
    saturation: np.ndarray
    group_index: np.ndarray
    membership: np.ndarray
    group_weights: np.ndarray
    threshold_matrix: np.ndarray
    threshold_min: np.ndarray
    standardisation: StandardisationSpec
    star_percentage: StarPercentageSpec
    bands: tuple[Band, ...]


def load_method(path_or_name: str | Path = "des_2018") -> MethodConfig:
    """Read and validate a method config.

    Parameters
    ----------
    path_or_name : str or Path
        A file path, a path relative to ``configs/``, or a bare name under
        ``configs/methods/`` (``"des_2018"``, ``"des_2018_interim"``).

    Returns
    -------
    MethodConfig
        The frozen, validated method.

    Raises
    ------
    toolkit.errors.ConfigError
        The file is missing, is not YAML, or breaks a rule (weights not summing
        to 1, a measure in an unknown group, bands with a gap, an unknown key).

    Examples
    --------
    >>> m = load_method("des_2018")
    >>> m.programs["DMS"].weights["full_26"]
    0.35
    """
    path = resolve_config(path_or_name, "methods")
    return validate_model(MethodConfig, load_yaml(path), path)
