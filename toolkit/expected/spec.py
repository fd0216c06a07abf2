"""Model specifications as data: one YAML per measure x program under ``configs/models/<set>/``.

A spec names the term blocks (``_terms.yaml`` of its set) it uses; :func:`load_model_set`
renders them into a patsy formula. The spec is frozen; fitting never changes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from toolkit.config import FrozenConfig, load_yaml, validate_model
from toolkit.errors import ConfigError, SpecError
from toolkit.paths import config_file


class Policies(FrozenConfig):
    out_of_range: Literal["clip", "extrapolate", "error"] = "clip"
    unseen_level: Literal["reference", "error"] = "reference"


class SparseLevels(FrozenConfig):
    """The sparse-level rule (:mod:`toolkit.expected.sparse`): a level of a categorical factor or boolean
    indicator with fewer than ``min_events`` events or fewer than ``min_non_events`` non-events among the
    model's training records is pooled before the fit into ``neighbours[column][level]`` when named, else
    into the factor's reference level (a sparse interaction cell's column is dropped). Both zero: off (the
    default, so a spec without the key fits as before)."""

    min_events: int = Field(0, ge=0)
    min_non_events: int = Field(0, ge=0)
    neighbours: dict[str, dict[str, str]] = Field(default_factory=dict)  # data column -> {level: neighbour level}

    @property
    def active(self) -> bool:
        return self.min_events > 0 or self.min_non_events > 0

    def params(self) -> dict[str, Any] | None:
        """The rule as :class:`~toolkit.expected.ExpectedModel`'s ``sparse_levels`` (None when off)."""
        return self.model_dump(mode="json") if self.active else None


class RecordFilter(FrozenConfig):
    program: str
    measure: str


class ModelSpec(FrozenConfig):
    """One expected-performance model: which records, which outcome, which terms."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    program: str
    measure: str
    outcome: str
    terms: tuple[str, ...]
    extra_terms: str = ""
    records: RecordFilter
    policies: Policies = Policies()
    min_events_per_parameter: float = Field(0, ge=0)
    compact_terms: tuple[str, ...] = ()
    sparse_levels: SparseLevels = SparseLevels()
    # A rank-deficient design (a covariate constant in the training data, too few ESAs for the
    # labour-market terms): "drop" fits without the aliased columns and records them, as R's glm does;
    # "error" refuses the fit.
    aliased: Literal["drop", "error"] = "drop"
    formula: str = ""  # rendered from the blocks by load_model_set
    compact_formula: str = ""  # rendered from compact_terms (empty: no fallback)

    @property
    def key(self) -> str:
        return f"{self.program.lower()}_{self.measure}"


def render_formula(terms: tuple[str, ...], blocks: dict[str, str], extra: str = "") -> str:
    unknown = [t for t in terms if t not in blocks]
    if unknown:
        raise SpecError(f"unknown term block(s) {unknown} (known: {sorted(blocks)})")
    parts = [" ".join(blocks[t].split()) for t in terms]
    if extra.strip():
        parts.append(" ".join(extra.split()))
    return " + ".join(parts)


def load_model_set(name_or_dir: str | Path = "des_2018") -> dict[str, ModelSpec]:
    """Read every spec of a model set, keyed ``<program>_<measure>`` (e.g. ``ess_full_26``)."""
    d = Path(name_or_dir)
    if not d.is_dir():
        d = config_file(Path("models") / str(name_or_dir))
    if not d.is_dir():
        raise ConfigError(f"model set {name_or_dir} not found (looked for {d})")
    terms_file = d / "_terms.yaml"
    blocks = load_yaml(terms_file).get("blocks") if terms_file.is_file() else {}
    if not isinstance(blocks, dict) or not all(isinstance(v, str) for v in blocks.values()):
        raise ConfigError(f"{terms_file}: 'blocks' must be a mapping of name to terms (text)")
    specs: dict[str, ModelSpec] = {}
    for p in sorted(d.glob("*.yaml")):
        if p.name.startswith("_"):
            continue
        raw = load_yaml(p)
        spec = validate_model(ModelSpec, raw, p)
        if (spec.records.program, spec.records.measure) != (spec.program, spec.measure):
            raise ConfigError(f"{p}: records filter {spec.records} does not match program/measure")
        formula = render_formula(spec.terms, blocks, spec.extra_terms)
        compact = render_formula(spec.compact_terms, blocks, spec.extra_terms) if spec.compact_terms else ""
        spec = spec.model_copy(update={"formula": formula, "compact_formula": compact})
        if spec.key in specs:
            raise ConfigError(f"{p}: a second spec for {spec.key}")
        specs[spec.key] = spec
    if not specs:
        raise ConfigError(f"model set {d} has no specs")
    return specs
