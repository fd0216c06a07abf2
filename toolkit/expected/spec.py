"""Model specifications as data: one YAML per measure x program under ``configs/models/<set>/``.

A spec names the term blocks (``_terms.yaml`` of its set) it uses; :func:`load_model_set`
renders them into a patsy formula. The spec is frozen; fitting never changes it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SerializationInfo, SerializerFunctionWrapHandler, model_serializer

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


class Penalty(FrozenConfig):
    """Settings of the ``penalised_spline`` family (:mod:`toolkit.expected.penalised`): how each B-spline term's
    smoothing parameter is chosen: ``ubre`` or ``gcv`` (from the data, by performance iteration, over
    ``log10_lambda_range`` in steps of ``grid_step`` then refined), or ``fixed`` (``fixed_lambda`` for every term)."""

    criterion: Literal["ubre", "gcv", "fixed"] = "ubre"
    fixed_lambda: float = Field(1.0, ge=0)
    log10_lambda_range: tuple[float, float] = (-6.0, 6.0)
    grid_step: float = Field(0.5, gt=0)

    def params(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


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
    # "spline_glm": maximum likelihood (the published method); "penalised_spline": every bs() term penalised for
    # curvature with its smoothing chosen from the data (toolkit.expected.penalised), with `penalty` settings
    family: Literal["spline_glm", "penalised_spline"] = "spline_glm"
    penalty: Penalty = Penalty()
    formula: str = ""  # rendered from the blocks by load_model_set
    compact_formula: str = ""  # rendered from compact_terms (empty: no fallback)

    @model_serializer(mode="wrap")
    def _leave_out_default_family(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        """A spec of the default family dumps without ``family`` and ``penalty``, as before they existed: the
        logged specs and their hash (``models_hash``) of every existing model set are unchanged."""
        out = handler(self)
        if isinstance(out, dict) and self.family == "spline_glm" and self.penalty == Penalty():
            out.pop("family", None)
            out.pop("penalty", None)
        return out

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


def _model_set_files(d: Path, seen: tuple[Path, ...] = ()) -> tuple[dict[str, str], dict[str, Path]]:
    """The term blocks and spec files of the model set in ``d``, following ``extends: <set>`` in its
    ``_terms.yaml``: the parent set's blocks and specs, with this folder's blocks and spec files (by file
    name) in their place."""
    if d.resolve() in seen:
        raise ConfigError(f"model set {d} extends itself (through {', '.join(map(str, seen))})")
    terms_file = d / "_terms.yaml"
    raw = load_yaml(terms_file) if terms_file.is_file() else {}
    blocks = raw.get("blocks", {})
    if not isinstance(blocks, dict) or not all(isinstance(v, str) for v in blocks.values()):
        raise ConfigError(f"{terms_file}: 'blocks' must be a mapping of name to terms (text)")
    unknown = sorted(set(raw) - {"blocks", "extends"})
    if unknown:
        raise ConfigError(f"{terms_file}: unknown key(s) {unknown} (known: blocks, extends)")
    parent = raw.get("extends")
    base_blocks: dict[str, str] = {}
    files: dict[str, Path] = {}
    if parent is not None:
        if not isinstance(parent, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", parent):
            raise ConfigError(f"{terms_file}: 'extends' must name a model set under configs/models/")
        pdir = config_file(Path("models") / parent)
        if not pdir.is_dir():
            raise ConfigError(f"{terms_file}: extends {parent}, which is not a model set (looked for {pdir})")
        base_blocks, files = _model_set_files(pdir, (*seen, d.resolve()))
    files |= {p.name: p for p in sorted(d.glob("*.yaml")) if not p.name.startswith("_")}
    return {**base_blocks, **blocks}, dict(sorted(files.items()))


def load_model_set(name_or_dir: str | Path = "des_2018") -> dict[str, ModelSpec]:
    """Read every spec of a model set, keyed ``<program>_<measure>`` (e.g. ``ess_full_26``).

    A set whose ``_terms.yaml`` says ``extends: <set>`` is that set with its own blocks and spec files
    in place of the parent's (an alternative that changes a few terms of every model)."""
    d = Path(name_or_dir)
    if not d.is_dir():
        d = config_file(Path("models") / str(name_or_dir))
    if not d.is_dir():
        raise ConfigError(f"model set {name_or_dir} not found (looked for {d})")
    blocks, files = _model_set_files(d)
    specs: dict[str, ModelSpec] = {}
    for p in files.values():
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


def check_formulas(specs: dict[str, ModelSpec], where: str) -> None:
    """Parse every formula of a model set before anything runs: a ConfigError naming ``where`` and the spec."""
    from toolkit.expected.formula import parse_formula

    for spec in specs.values():
        for formula in (spec.formula, spec.compact_formula):
            if formula:
                try:
                    parse_formula(formula, spec.outcome)
                except SpecError as exc:
                    raise ConfigError(f"{where}: spec {spec.name}: {exc}") from None
