"""Data contracts: YAML files describing each input table, read into frozen objects.

The format follows Frictionless Table Schema (``fields``, ``primaryKey``,
``foreignKeys``, ``constraints``) plus ``type: category``, ``unit`` and named
row ``checks``. See ``data_contracts/README.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.config import load_yaml
from toolkit.contracts.checks import CheckExpressionError, names_of, parse_check
from toolkit.errors import ConfigError
from toolkit.paths import contract_files, contracts_dirs

FIELD_TYPES = ("string", "integer", "number", "boolean", "date", "category")
_CONSTRAINT_KEYS = {"required", "unique", "minimum", "maximum", "enum", "pattern"}
_CONTRACT_KEYS = {"table", "version", "description", "fields", "primaryKey", "foreignKeys", "checks", "dateRange"}
#: The plausible range of every date of a table, unless its contract says otherwise (``dateRange``).
DEFAULT_DATE_RANGE = ("1900-01-01", "2100-12-31")


@dataclass(frozen=True)
class FieldSpec:
    """One column of a table."""

    name: str
    type: str
    description: str = ""
    unit: str | None = None
    required: bool = False
    unique: bool = False
    minimum: Any = None
    maximum: Any = None
    enum: tuple | None = None
    pattern: str | None = None
    # department codes -> the contract's values, matched ignoring case and surrounding spaces
    # ("Female" -> female, "Not stated" -> not_stated): how a department says its codes read
    aliases: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ForeignKey:
    """Columns of this table that must match rows of another table."""

    fields: tuple[str, ...]
    resource: str
    reference_fields: tuple[str, ...]


@dataclass(frozen=True)
class RowCheck:
    """A named rule across columns: ``expr`` must be true on every row.

    ``expr`` is data in the grammar of :mod:`toolkit.contracts.checks` (never Python code);
    ``uses`` are the columns it reads (filled in when a contract file is parsed).
    """

    name: str
    expr: str
    columns: tuple[str, ...]
    description: str = ""
    uses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contract:
    """The contract of one table."""

    table: str
    version: str
    description: str
    fields: tuple[FieldSpec, ...]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    checks: tuple[RowCheck, ...] = ()
    source: str = ""
    date_range: tuple[str, str] = DEFAULT_DATE_RANGE  # every date must lie within (``dateRange``)
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


def _names(value: Any, what: str, src: str) -> tuple[str, ...]:
    """A list of column names (strings); None is the empty list."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{src}: {what} must be a list of column names")
    return tuple(value)


def _items(value: Any, what: str, src: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{src}: {what} must be a list, got {type(value).__name__}")
    return value


def parse_date(value: Any) -> pd.Timestamp | None:
    """A ``YYYY-MM-DD`` bound of a contract (text, or a date YAML read as one); None when it is not one."""
    text = str(value) if isinstance(value, (str, date)) and not isinstance(value, datetime) else ""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return pd.Timestamp(text)
    except (ValueError, OverflowError):
        return None


def _bound(value: Any, ftype: str, key: str, name: str, src: str) -> Any:
    """A field's minimum or maximum, checked against its type (dates kept as ``YYYY-MM-DD`` text)."""
    if value is None:
        return None
    if ftype in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise ConfigError(f"{src}: field {name!r}: constraints.{key} must be a number")
        return value
    if ftype == "date":
        if parse_date(value) is None:
            raise ConfigError(f"{src}: field {name!r}: constraints.{key} must be a date YYYY-MM-DD")
        return str(value)
    raise ConfigError(f"{src}: field {name!r}: constraints.{key} applies to integer, number and date fields only")


def _parse_field(raw: Any, src: str, i: int) -> FieldSpec:
    if not isinstance(raw, dict) or "name" not in raw or "type" not in raw:
        raise ConfigError(f"{src}: fields[{i}] needs at least 'name' and 'type'")
    name, ftype = raw["name"], raw["type"]
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{src}: fields[{i}].name must be a non-empty string")
    if ftype not in FIELD_TYPES:
        raise ConfigError(f"{src}: field {name!r} has unknown type {ftype!r} (known: {', '.join(FIELD_TYPES)})")
    cons = raw.get("constraints") or {}
    if not isinstance(cons, dict):
        raise ConfigError(f"{src}: field {name!r}: constraints must be a mapping")
    unknown = set(map(str, cons)) - _CONSTRAINT_KEYS
    if unknown:
        raise ConfigError(f"{src}: field {name!r} has unknown constraints {sorted(unknown)}")
    extra = set(map(str, raw)) - {"name", "type", "description", "unit", "constraints", "aliases"}
    if extra:
        raise ConfigError(f"{src}: field {name!r} has unknown keys {sorted(extra)}")
    enum = cons.get("enum")
    if enum is not None and (not isinstance(enum, list) or any(isinstance(v, (list, dict)) for v in enum)):
        raise ConfigError(f"{src}: field {name!r}: constraints.enum must be a list of values")
    if ftype == "category" and not enum:
        raise ConfigError(f"{src}: category field {name!r} needs constraints.enum")
    pattern = cons.get("pattern")
    if pattern is not None:
        if not isinstance(pattern, str):
            raise ConfigError(f"{src}: field {name!r}: constraints.pattern must be a string")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"{src}: field {name!r} has an invalid pattern: {exc}") from None
    for flag in ("required", "unique"):
        if not isinstance(cons.get(flag, False), bool):
            raise ConfigError(f"{src}: field {name!r}: constraints.{flag} must be true or false")
    aliases = raw.get("aliases") or {}
    if not isinstance(aliases, dict) or any(isinstance(v, (list, dict)) or v is None for v in aliases.values()):
        raise ConfigError(f"{src}: field {name!r}: aliases must map a department's code to one value")
    if enum and (bad := sorted(str(v) for v in aliases.values() if str(v) not in {str(e) for e in enum})):
        raise ConfigError(f"{src}: field {name!r}: aliases map to values outside the enum: {bad}")
    return FieldSpec(
        name=name,
        type=ftype,
        aliases=tuple((str(k).strip().lower(), str(v)) for k, v in aliases.items()),
        description=str(raw.get("description", "")).strip(),
        unit=raw.get("unit"),
        required=bool(cons.get("required", False)),
        unique=bool(cons.get("unique", False)),
        minimum=_bound(cons.get("minimum"), ftype, "minimum", name, src),
        maximum=_bound(cons.get("maximum"), ftype, "maximum", name, src),
        enum=tuple(str(v) for v in enum) if enum else None,
        pattern=pattern,
    )


def _date_range(raw: Any, src: str) -> tuple[str, str]:
    """The contract's plausible range of every date (``dateRange``), the project's default when absent."""
    if raw is None:
        return DEFAULT_DATE_RANGE
    if not isinstance(raw, dict) or set(map(str, raw)) - {"minimum", "maximum"}:
        raise ConfigError(f"{src}: dateRange must be a mapping with 'minimum' and/or 'maximum' (YYYY-MM-DD)")
    out = []
    for key, default in zip(("minimum", "maximum"), DEFAULT_DATE_RANGE, strict=True):
        value = raw.get(key, default)
        if parse_date(value) is None:
            raise ConfigError(f"{src}: dateRange.{key} must be a date YYYY-MM-DD")
        out.append(str(value))
    if out[0] > out[1]:
        raise ConfigError(f"{src}: dateRange.minimum {out[0]} is after dateRange.maximum {out[1]}")
    return out[0], out[1]


def parse_contract(raw: dict[str, Any], source: str = "<contract>") -> Contract:
    """Build a :class:`Contract` from a mapping, checking its internal consistency.

    Every malformed part is a :class:`ConfigError` naming ``source`` and the key.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: a contract must be a mapping")
    for key in ("table", "fields"):
        if key not in raw:
            raise ConfigError(f"{source}: missing key {key!r}")
    unknown = set(map(str, raw)) - _CONTRACT_KEYS
    if unknown:
        raise ConfigError(f"{source}: unknown keys {sorted(unknown)} (known: {', '.join(sorted(_CONTRACT_KEYS))})")
    if not isinstance(raw["table"], str) or not raw["table"]:
        raise ConfigError(f"{source}: 'table' must be a non-empty string")
    fields = tuple(_parse_field(f, source, i) for i, f in enumerate(_items(raw["fields"], "fields", source)))
    if not fields:
        raise ConfigError(f"{source}: 'fields' is empty")
    names = [f.name for f in fields]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ConfigError(f"{source}: duplicate field names {sorted(dup)}")
    pk = _names(raw.get("primaryKey"), "primaryKey", source)
    for c in pk:
        if c not in names:
            raise ConfigError(f"{source}: primaryKey column {c!r} is not a field")
    fks = []
    for i, fk in enumerate(_items(raw.get("foreignKeys"), "foreignKeys", source)):
        ref = fk.get("reference") if isinstance(fk, dict) else None
        if not isinstance(ref, dict) or not isinstance(ref.get("resource"), str):
            raise ConfigError(f"{source}: foreignKeys[{i}] needs 'fields' and 'reference: {{resource, fields}}'")
        cols = _names(fk.get("fields"), f"foreignKeys[{i}].fields", source)
        for c in cols:
            if c not in names:
                raise ConfigError(f"{source}: foreign key column {c!r} is not a field")
        ref_fields = _names(ref.get("fields"), f"foreignKeys[{i}].reference.fields", source)
        if len(ref_fields) != len(cols) or not cols:
            raise ConfigError(f"{source}: foreign key {cols} and its reference {ref_fields} differ in length")
        fks.append(ForeignKey(fields=cols, resource=ref["resource"], reference_fields=ref_fields))
    checks = []
    for i, ch in enumerate(_items(raw.get("checks"), "checks", source)):
        if not isinstance(ch, dict) or "name" not in ch or "expr" not in ch:
            raise ConfigError(f"{source}: every check needs 'name' and 'expr' (checks[{i}] does not)")
        label = f"check {str(ch['name'])!r}"
        cols = _names(ch.get("columns"), f"{label}: columns", source)
        for c in cols:
            if c not in names:
                raise ConfigError(f"{source}: check {ch['name']!r} uses unknown column {c!r}")
        if not isinstance(ch["expr"], str):
            raise ConfigError(f"{source}: {label}: 'expr' must be a string")
        try:
            node = parse_check(ch["expr"], names)
        except CheckExpressionError as exc:
            raise ConfigError(f"{source}: {label}: expression refused: {exc}") from None
        checks.append(
            RowCheck(
                name=str(ch["name"]),
                expr=ch["expr"],
                columns=cols,
                description=str(ch.get("description", "")),
                uses=names_of(node),
            )
        )
    return Contract(
        table=raw["table"],
        version=str(raw.get("version", "0")),
        description=str(raw.get("description", "")).strip(),
        fields=fields,
        primary_key=pk,
        foreign_keys=tuple(fks),
        checks=tuple(checks),
        source=source,
        date_range=_date_range(raw.get("dateRange"), source),
    )


def load_contract(path: str | Path) -> Contract:
    """Read one contract file."""
    return parse_contract(load_yaml(path), source=str(path))


def load_contracts(directory: str | Path | None = None, sub: str = "") -> dict[str, Contract]:
    """Read every ``*.yaml`` contract of a folder; by default (``directory`` None) of
    ``data_contracts/<sub>``: the shipped contracts, each replaced by the workspace's file of the same
    name, plus the workspace's own (``toolkit.paths.contract_files``).

    References between contracts are checked: a foreign key must point at a
    contract of the same folder and at columns it has.
    """
    if directory is not None:
        d = Path(directory)
        if not d.is_dir():
            raise ConfigError(f"data contracts folder {d} does not exist")
        files = sorted(p for p in d.glob("*.yaml") if p.is_file())
        where = str(d)
    else:
        files = contract_files(sub)
        where = " and ".join(str(p) for p in contracts_dirs(sub))
    contracts: dict[str, Contract] = {}
    if not files:
        raise ConfigError(f"data contracts folder {where} holds no contract (*.yaml)")
    for p in files:
        c = load_contract(p)
        if c.table in contracts:
            raise ConfigError(f"two contracts describe table {c.table!r} ({contracts[c.table].source}, {p})")
        contracts[c.table] = c
    for c in contracts.values():
        for fk in c.foreign_keys:
            if fk.resource not in contracts:
                raise ConfigError(f"{c.source}: foreign key to unknown table {fk.resource!r}")
            target = contracts[fk.resource]
            for rf in fk.reference_fields:
                if rf not in target.columns:
                    raise ConfigError(f"{c.source}: foreign key to {fk.resource}.{rf}, which is not a field")
    return contracts
