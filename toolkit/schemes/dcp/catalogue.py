"""The DCP KPI catalogue (seed 002): frozen config objects, corrections, validation on load.

``configs/schemes/dcp/catalogue_raw.yaml`` transcribes the seed faithfully and is rejected:
several of its Tier 1 bands overlap, leave gaps or are empty. ``catalogue.yaml`` names it as
``base`` and lists ``corrections`` (one band each, with the seed's words, the problem and the
reading chosen); the loader applies them and validates the result.

Validation collects every problem of every KPI, then raises one :class:`ConfigError` naming each
KPI, its stream and variant. Checks: ids unique per stream; a KPI id's entries apply to disjoint
service types; Tier 1 KPIs have bands, Tier 2 none; a KPI's variants partition its service
types; at most one band per level; and for every Tier 1 variant the bands cover the value
type's range exactly once (:func:`~toolkit.schemes.dcp.bands.cover_problems`).

Examples
--------
>>> from toolkit.schemes.dcp.catalogue import load_catalogue
>>> cat = load_catalogue("schemes/dcp/catalogue.yaml")
>>> cat.entry("124", "family_reunification").variants[0].bands[1].seed_text
'>= 80% and <60%'
>>> load_catalogue("schemes/dcp/catalogue_raw.yaml")   # doctest: +ELLIPSIS
Traceback (most recent call last):
...
toolkit.errors.ConfigError: DCP KPI catalogue ... is invalid (...
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from toolkit.config import (
    FrozenConfig,
    config_hash,
    config_reference,
    load_yaml,
    resolve_config,
    validate_model,
)
from toolkit.errors import ConfigError
from toolkit.schemes.dcp.bands import Interval, cover_problems, percent, yes_no

if TYPE_CHECKING:
    from toolkit.schemes.dcp.bands import Formatter

Frequency = Literal["monthly", "quarterly", "annually"]
ValueTypeName = Literal["percentage", "contract_relative", "deficit_share", "yes_no", "count"]


class Range(FrozenConfig):
    lower: float
    lower_inclusive: bool
    upper: float
    upper_inclusive: bool

    def interval(self) -> Interval:
        return Interval.of(self.lower, self.lower_inclusive, self.upper, self.upper_inclusive, "value range")


class ValueType(FrozenConfig):
    description: str = ""
    range: Range | None = None
    points: tuple[float, ...] | None = None

    @model_validator(mode="after")
    def _one_domain(self) -> ValueType:
        if (self.range is None) == (self.points is None):
            raise ValueError("a value type has either a range or points (its domain), not both, not neither")
        return self


class Band(FrozenConfig):
    """One performance level as an interval of values."""

    level: Literal[1, 2, 3]
    lower: float
    lower_inclusive: bool
    upper: float
    upper_inclusive: bool
    seed_text: str = ""
    reading: str = ""  # set by a correction

    def interval(self) -> Interval:
        return Interval.of(self.lower, self.lower_inclusive, self.upper, self.upper_inclusive, f"level {self.level}")


class Variant(FrozenConfig):
    name: str
    service_types: tuple[str, ...] | None = None  # None: every service type of the KPI
    bands: tuple[Band, ...] = ()


class Target(FrozenConfig):
    text: str = ""
    value: float | None = None
    comparison: Literal[">=", "<=", "=="] | None = None


class KPI(FrozenConfig):
    """One catalogue entry: a KPI id in one stream."""

    id: str = Field(pattern=r"^(\d+|2-\d+)$")
    tier: Literal[1, 2]
    stream: str
    responsibility: str
    domain: str
    area: str
    description: str
    reporting_responsibility: str
    target: Target = Target()
    value_type: ValueTypeName
    value_note: str = ""
    reporting_frequency: Frequency = "quarterly"
    assessment_frequency: Frequency = "quarterly"
    service_types: tuple[str, ...] = Field(min_length=1)
    service_type_note: str = ""
    condition: str | None = None
    missing: Literal["level_3", "not_submitted"] = "not_submitted"
    variants: tuple[Variant, ...] = ()
    readings: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.id, self.stream)

    def variant_for(self, service_type: str) -> Variant | None:
        for v in self.variants:
            if v.service_types is None or service_type in v.service_types:
                return v
        return None


class Correction(FrozenConfig):
    kpi: str
    stream: str
    variant: str
    level: Literal[1, 2, 3]
    problem: str
    reading: str = Field(min_length=1)
    band: dict


class Note(FrozenConfig):
    kpi: str
    stream: str
    reading: str


class Catalogue(FrozenConfig):
    catalogue: str
    version: str
    source: str = ""
    service_types: dict[str, str]
    streams: dict[str, str]
    domains: dict[str, str]
    value_types: dict[ValueTypeName, ValueType]
    kpis: tuple[KPI, ...]
    corrections: tuple[Correction, ...] = ()

    def entry(self, kpi_id: str, stream: str) -> KPI:
        for k in self.kpis:
            if k.id == kpi_id and k.stream == stream:
                return k
        raise KeyError((kpi_id, stream))

    def lookup(self) -> dict[tuple[str, str], KPI]:
        """``(kpi id, service type) -> KPI`` (validation makes it unique)."""
        return {(k.id, st): k for k in self.kpis for st in k.service_types}

    def hash(self) -> str:
        return config_hash(self)

    def value_format(self, value_type: str) -> Formatter | None:
        return yes_no if value_type == "yes_no" else percent if value_type != "count" else None


# --------------------------------------------------------------------------- loading


def _raw_mapping(path: Path) -> dict:
    data = load_yaml(path)
    return {k: v for k, v in data.items() if not k.startswith("_")}  # "_patterns": YAML anchors only


def _apply_corrections(data: dict, corrections: list[dict], notes: list[dict], source: Path) -> dict:
    problems = []
    kpis = [dict(k) for k in data["kpis"]]
    for i, c in enumerate(corrections):
        where = f"corrections[{i}] (KPI {c.get('kpi')}, {c.get('stream')})"
        match = [k for k in kpis if str(k.get("id")) == str(c.get("kpi")) and k.get("stream") == c.get("stream")]
        if len(match) != 1:
            problems.append(f"{where}: no such KPI in the base catalogue")
            continue
        k = match[0]
        variants = [dict(v) for v in k.get("variants") or ()]
        hit = [v for v in variants if v.get("name") == c.get("variant")]
        if not hit:
            problems.append(f"{where}: KPI has no variant {c.get('variant')!r}")
            continue
        v = hit[0]
        bands = [dict(b) for b in v.get("bands") or ()]
        idx = [j for j, b in enumerate(bands) if b.get("level") == c.get("level")]
        new = {
            "level": c.get("level"),
            **dict(c.get("band") or {}),
            "seed_text": bands[idx[0]].get("seed_text", "") if idx else "",
            "reading": c.get("reading", ""),
        }
        if idx:
            old = {key: bands[idx[0]].get(key) for key in ("lower", "lower_inclusive", "upper", "upper_inclusive")}
            if all(old[key] == new.get(key) for key in old):
                problems.append(f"{where}: the corrected band equals the seed's; drop the correction")
            bands[idx[0]] = new
        else:
            bands.append(new)
        v["bands"] = bands
        k["variants"] = [v if x.get("name") == v["name"] else x for x in variants]
        k["readings"] = list(k.get("readings") or ()) + [str(c.get("reading"))]
    for n in notes:
        for k in kpis:
            if str(k.get("id")) == str(n.get("kpi")) and k.get("stream") == n.get("stream"):
                k["readings"] = list(k.get("readings") or ()) + [str(n.get("reading"))]
                break
        else:
            problems.append(f"notes: KPI {n.get('kpi')} ({n.get('stream')}) is not in the base catalogue")
    if problems:
        raise ConfigError(
            f"corrections in {source} do not apply ({len(problems)} problem(s)):\n  - " + "\n  - ".join(problems)
        )
    return {**data, "kpis": kpis}


def read_catalogue(path: str | Path) -> tuple[Catalogue, Path]:
    """Read a catalogue (following ``base`` and applying ``corrections``) without validating its bands."""
    p = resolve_config(path, "schemes/dcp")
    data = _raw_mapping(p)
    base = data.pop("base", None)
    corrections = data.pop("corrections", []) or []
    notes = data.pop("notes", []) or []
    if base is not None:
        if not isinstance(base, str):
            raise ConfigError(f"{p}: 'base' must name a catalogue file")
        bp = config_reference(base, "base", p, relative_to=p.parent)
        merged = _raw_mapping(bp)
        for key in ("base", "corrections", "notes"):
            if key in merged:
                raise ConfigError(f"{bp}: a base catalogue cannot itself have {key!r}")
        merged.update(data)
        data = _apply_corrections(merged, corrections, notes, p)
        data["corrections"] = corrections
    elif corrections or notes:
        raise ConfigError(f"{p}: corrections and notes need a 'base' catalogue")
    return validate_model(Catalogue, data, p), p


def catalogue_problems(cat: Catalogue) -> list[str]:
    """Every problem of a catalogue, each naming its KPI (empty list: valid)."""
    out: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    for k in cat.kpis:
        name = f"KPI {k.id} ({k.stream})"
        seen[k.key] = seen.get(k.key, 0) + 1
        if seen[k.key] == 2:
            out.append(f"{name}: listed more than once")
        for st in k.service_types:
            if st not in cat.service_types:
                out.append(f"{name}: unknown service type {st!r}")
        if k.stream not in cat.streams:
            out.append(f"{name}: unknown stream {k.stream!r}")
        if k.domain not in cat.domains:
            out.append(f"{name}: unknown domain {k.domain!r}")
        if k.value_type not in cat.value_types:
            out.append(f"{name}: value type {k.value_type!r} is not declared")
            continue
        if k.tier == 2:
            if k.variants:
                out.append(f"{name}: Tier 2 measures are reported, not levelled: remove its bands")
            continue
        if not k.variants:
            out.append(f"{name}: a Tier 1 KPI needs bands")
            continue
        if k.value_type == "count":
            out.append(f"{name}: a Tier 1 KPI cannot be a count")
        out += _variant_problems(cat, k, name)
    by_id: dict[str, list[KPI]] = {}
    for k in cat.kpis:
        by_id.setdefault(k.id, []).append(k)
    for kid, entries in by_id.items():
        sts = [st for k in entries for st in k.service_types]
        dup = sorted({st for st in sts if sts.count(st) > 1})
        if dup:
            out.append(f"KPI {kid}: several entries apply to service type(s) {', '.join(dup)}")
    return out


def _variant_problems(cat: Catalogue, k: KPI, name: str) -> list[str]:
    out = []
    vt = cat.value_types[k.value_type]
    fmt = cat.value_format(k.value_type)
    assigned: list[str] = []
    for v in k.variants:
        sts = list(v.service_types) if v.service_types is not None else list(k.service_types)
        assigned += sts
        extra = [st for st in sts if st not in k.service_types]
        if extra:
            out.append(f"{name}, variant {v.name}: service types {', '.join(extra)} are not the KPI's")
        levels = [b.level for b in v.bands]
        for lvl in sorted({x for x in levels if levels.count(x) > 1}):
            out.append(f"{name}, variant {v.name}: more than one band for level {lvl}")
        bands = [b.interval() for b in v.bands]
        dom = vt.range.interval() if vt.range is not None else None
        for p in cover_problems(bands, dom, vt.points, fmt):
            out.append(f"{name}, variant {v.name}: {p}")
    missing = [st for st in k.service_types if st not in assigned]
    twice = sorted({st for st in assigned if assigned.count(st) > 1})
    if missing:
        out.append(f"{name}: no variant gives bands for service type(s) {', '.join(missing)}")
    if twice:
        out.append(f"{name}: service type(s) {', '.join(twice)} are in more than one variant")
    return out


def load_catalogue(path: str | Path = "schemes/dcp/catalogue.yaml") -> Catalogue:
    """Read and validate a catalogue; a :class:`ConfigError` lists every problem by KPI."""
    cat, p = read_catalogue(path)
    problems = catalogue_problems(cat)
    if problems:
        kpis = sorted({pr.split(":")[0].split(",")[0] for pr in problems}, key=lambda s: (len(s.split()[1]), s))
        raise ConfigError(
            f"DCP KPI catalogue {p} is invalid ({len(problems)} problem(s) in "
            f"{', '.join(kpis)}):\n  - " + "\n  - ".join(problems)
        )
    return cat
