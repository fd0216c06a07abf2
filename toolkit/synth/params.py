"""Generator parameters (``configs/synth/des_world.yaml``), read and checked."""

from __future__ import annotations

from typing import Any

from pydantic import field_validator, model_validator

from toolkit.config import FrozenConfig, load_yaml, resolve_config, validate_model
from toolkit.errors import ConfigError

MEASURES = ("full_13", "full_26", "pathway_26", "bonus_26", "full_52", "pathway_52", "ongoing_support")
PROGRAM_MEASURES = {"DMS": MEASURES[:6], "ESS": MEASURES}


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
    def _check(self) -> "SiteEffects":
        if self.sd < 0:
            raise ValueError("sd must be >= 0")
        if not 0 <= self.cross_measure_correlation <= 1:
            raise ValueError("cross_measure_correlation must be in [0, 1]")
        if set(self.shares) != {"organisation", "contract", "site"} or abs(sum(self.shares.values()) - 1) > 1e-9:
            raise ValueError("shares must give organisation, contract and site, summing to 1")
        if set(self.measure_scale) != set(MEASURES):
            raise ValueError(f"measure_scale must list exactly {MEASURES}")
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
        for prog, measures in PROGRAM_MEASURES.items():
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
    def _check(self) -> "WorldParams":
        shares = self.structure.get("state_shares", {})
        if abs(sum(shares.values()) - 1) > 1e-3:
            raise ValueError("structure.state_shares must sum to 1")
        for name, spec in self.participants.get("characteristics", {}).items():
            if isinstance(spec, dict) and "levels" in spec:
                for key in ("p", "DMS", "ESS"):
                    if key in spec:
                        p = spec[key]
                        if len(p) != len(spec["levels"]) or abs(sum(p) - 1) > 1e-6:
                            raise ValueError(f"participants.characteristics.{name}.{key} must have one probability per level, summing to 1")
        return self

    def with_site_effect_sd(self, sd: float) -> "WorldParams":
        return self.with_site_effects(sd=sd)

    def with_site_effects(self, sd: float | None = None, rho: float | None = None) -> "WorldParams":
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
