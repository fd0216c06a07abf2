"""Generator parameters (``configs/synth/des_world.yaml``), read and checked, and what the
generator takes from the rating method and the derivation rules (:class:`MethodRules`)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from pydantic import field_validator, model_validator

from toolkit.config import FrozenConfig, load_yaml, resolve_config, validate_model
from toolkit.errors import ConfigError
from toolkit.records.derive.params import DeriveParams, load_derive_params
from toolkit.scoring.config import MethodConfig, load_method

DEFAULT_METHOD = "des_2018"
DEFAULT_DERIVE = "derive/des_2018.yaml"


@dataclass(frozen=True)
class MethodRules:
    """What the generator needs from the method (``configs/methods/``) and the derivation rules
    (``configs/derive/``), so that it repeats none of their numbers.

    ``measures``: the method's measures in its order (the column order of the generator's
    per-measure draws); ``program_measures``: each program's measures (weighted or listed as
    not scored); ``threshold_days``: days in assistance each full or pathway measure needs, in
    the derivation's order; ``anchor_days``: a bonus anchor lies at least this long before the
    end of the period; ``bonus_days``: the 26-week bonus falls due this long after its anchor;
    ``eight_hour_benchmark``: the benchmark that pathway measures exclude; ``one_record_per``:
    ``site`` when the losing site of a transfer within a contract keeps its record (Table 9),
    ``contract`` under the earlier reading (``records.one_record_per``).
    """

    measures: tuple[str, ...]
    program_measures: dict[str, tuple[str, ...]]
    threshold_days: dict[str, int]
    anchor_days: int
    bonus_days: int
    eight_hour_benchmark: int
    one_record_per: str = "site"

    @property
    def outcome_measures(self) -> tuple[str, ...]:
        """The full and pathway measures (outcome claims of the measure's own type)."""
        return tuple(self.threshold_days)

    @property
    def min_days(self) -> int:
        """The shortest duration any full or pathway measure needs (13 weeks)."""
        return min(self.threshold_days.values())


def method_rules(method: MethodConfig, derive: DeriveParams) -> MethodRules:
    """The generator's view of a method and a derivation config."""
    programs = {
        prog: tuple(m for m in method.measure_ids if m in spec.weights or m in spec.not_scored)
        for prog, spec in method.programs.items()
    }
    return MethodRules(
        measures=method.measure_ids,
        program_measures=programs,
        threshold_days={m: derive.days(derive.threshold_weeks[m]) for m in derive.full_pathway_measures},
        anchor_days=derive.days(derive.bonus.anchor_weeks_before_end),
        bonus_days=derive.days(derive.bonus.tracking_weeks),
        eight_hour_benchmark=derive.eight_hour_benchmark,
        one_record_per=derive.records.one_record_per,
    )


@functools.cache
def load_method_rules(method: str = DEFAULT_METHOD, derive: str = DEFAULT_DERIVE) -> MethodRules:
    """:func:`method_rules` of the named method and derivation configs (read once)."""
    return method_rules(load_method(method), load_derive_params(derive))


def __getattr__(name: str) -> Any:
    """``MEASURES`` and ``PROGRAM_MEASURES`` of the default method, read when first asked for."""
    if name == "MEASURES":
        return load_method_rules().measures
    if name == "PROGRAM_MEASURES":
        return load_method_rules().program_measures
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Scale(FrozenConfig):
    organisations: int
    contracts_dms: int
    contracts_ess: int
    esas: int
    participants: int


class Window(FrozenConfig):
    window_start: str
    window_end: str


class SiteEffects(FrozenConfig):
    sd: float
    cross_measure_correlation: float
    shares: dict[str, float]
    measure_scale: dict[str, float]

    @model_validator(mode="after")
    def _check(self) -> SiteEffects:
        if self.sd < 0:
            raise ValueError("sd must be >= 0")
        if not 0 <= self.cross_measure_correlation <= 1:
            raise ValueError("cross_measure_correlation must be in [0, 1]")
        if set(self.shares) != {"organisation", "contract", "site"} or abs(sum(self.shares.values()) - 1) > 1e-9:
            raise ValueError("shares must give organisation, contract and site, summing to 1")
        measures = load_method_rules().measures
        if set(self.measure_scale) != set(measures):
            raise ValueError(f"measure_scale must list exactly {measures}")
        return self


class TrueModel(FrozenConfig):
    intercept: dict[str, dict[str, float]]
    effect_scale: dict[str, float]
    smooth: dict[str, dict[str, float]]
    linear: dict[str, float]
    categorical: dict[str, dict[str, float]]

    @field_validator("intercept")
    @classmethod
    def _programs(cls, v: dict) -> dict:
        for prog, measures in load_method_rules().program_measures.items():
            if set(v.get(prog, {})) != set(measures):
                raise ValueError(f"intercept.{prog} must list exactly {measures}")
        return v


class WorldParams(FrozenConfig):
    """All parameters of the synthetic world."""

    name: str
    release: Window
    scales: dict[str, Scale]
    structure: dict[str, Any]
    participants: dict[str, Any]
    site_effects: SiteEffects
    true_model: TrueModel

    @model_validator(mode="after")
    def _check(self) -> WorldParams:
        try:
            return self._check_sections()
        except (TypeError, AttributeError, KeyError) as exc:  # a section of the wrong shape
            raise ValueError(f"structure or participants are malformed ({type(exc).__name__}: {exc})") from None

    def _check_sections(self) -> WorldParams:
        shares = self.structure.get("state_shares", {})
        if abs(sum(shares.values()) - 1) > 1e-3:
            raise ValueError("structure.state_shares must sum to 1")
        for name, spec in self.participants.get("characteristics", {}).items():
            if isinstance(spec, dict) and "levels" in spec:
                for key in ("p", "DMS", "ESS"):
                    if key in spec:
                        p = spec[key]
                        if len(p) != len(spec["levels"]) or abs(sum(p) - 1) > 1e-6:
                            raise ValueError(
                                f"participants.characteristics.{name}.{key} must have one probability per level, "
                                "summing to 1"
                            )
        return self

    def with_site_effect_sd(self, sd: float) -> WorldParams:
        return self.with_site_effects(sd=sd)

    def with_site_effects(self, sd: float | None = None, rho: float | None = None) -> WorldParams:
        """A copy with the spread (``sd``) and/or cross-measure correlation (``rho``) of true site effects changed."""
        upd = {}
        if sd is not None:
            upd["sd"] = float(sd)
        if rho is not None:
            upd["cross_measure_correlation"] = float(rho)
        se = SiteEffects.model_validate({**self.site_effects.model_dump(), **upd})
        return self.model_copy(update={"site_effects": se})


def load_world_params(path: str = "synth/des_world.yaml") -> WorldParams:
    p = resolve_config(path, "synth")
    params = validate_model(WorldParams, load_yaml(p), p)
    for scale in ("tiny", "small", "national"):
        if scale not in params.scales:
            raise ConfigError(f"config {p}: scales.{scale} is missing")
    return params
