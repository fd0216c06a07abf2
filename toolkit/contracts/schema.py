"""Data contracts: YAML files describing each input table, read into frozen objects.

The format follows Frictionless Table Schema (``fields``, ``primaryKey``,
``foreignKeys``, ``constraints``) plus ``type: category``, ``unit`` and named
row ``checks``. See ``data_contracts/README.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit.config import load_yaml
from toolkit.contracts.checks import CheckExpressionError, names_of, parse_check
from toolkit.errors import ConfigError
from toolkit.paths import DATA_CONTRACTS

FIELD_TYPES = ("string", "integer", "number", "boolean", "date", "category")
_CONSTRAINT_KEYS = {"required", "unique", "minimum", "maximum", "enum", "pattern"}


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
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


def _parse_field(raw: Any, src: str, i: int) -> FieldSpec:
    if not isinstance(raw, dict) or "name" not in raw or "type" not in raw:
        raise ConfigError(f"{src}: fields[{i}] needs at least 'name' and 'type'")
    name, ftype = str(raw["name"]), str(raw["type"])
    if ftype not in FIELD_TYPES:
        raise ConfigError(f"{src}: field {name!r} has unknown type {ftype!r} (known: {', '.join(FIELD_TYPES)})")
    cons = raw.get("constraints") or {}
    unknown = set(cons) - _CONSTRAINT_KEYS
    if unknown:
        raise ConfigError(f"{src}: field {name!r} has unknown constraints {sorted(unknown)}")
    extra = set(raw) - {"name", "type", "description", "unit", "constraints"}
    if extra:
        raise ConfigError(f"{src}: field {name!r} has unknown keys {sorted(extra)}")
    enum = cons.get("enum")
    if ftype == "category" and not enum:
        raise ConfigError(f"{src}: category field {name!r} needs constraints.enum")
    pattern = cons.get("pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"{src}: field {name!r} has an invalid pattern: {exc}") from None
    return FieldSpec(
        name=name,
        type=ftype,
        description=str(raw.get("description", "")).strip(),
        unit=raw.get("unit"),
        required=bool(cons.get("required", False)),
        unique=bool(cons.get("unique", False)),
        minimum=cons.get("minimum"),
        maximum=cons.get("maximum"),
        enum=tuple(str(v) for v in enum) if enum else None,
        pattern=pattern,
    )


def parse_contract(raw: dict, source: str = "<contract>") -> Contract:
    """Build a :class:`Contract` from a mapping, checking its internal consistency."""
    for key in ("table", "fields"):
        if key not in raw:
            raise ConfigError(f"{source}: missing key {key!r}")
    fields = tuple(_parse_field(f, source, i) for i, f in enumerate(raw["fields"]))
    names = [f.name for f in fields]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ConfigError(f"{source}: duplicate field names {sorted(dup)}")
    pk = tuple(raw.get("primaryKey") or ())
    for c in pk:
        if c not in names:
            raise ConfigError(f"{source}: primaryKey column {c!r} is not a field")
    fks = []
    for fk in raw.get("foreignKeys") or ():
        cols = tuple(fk["fields"])
        ref = fk["reference"]
        for c in cols:
            if c not in names:
                raise ConfigError(f"{source}: foreign key column {c!r} is not a field")
        ref_fields = tuple(ref["fields"])
        if len(ref_fields) != len(cols):
            raise ConfigError(f"{source}: foreign key {cols} and its reference {ref_fields} differ in length")
        fks.append(ForeignKey(fields=cols, resource=str(ref["resource"]), reference_fields=ref_fields))
    checks = []
    for ch in raw.get("checks") or ():
        if "name" not in ch or "expr" not in ch:
            raise ConfigError(f"{source}: every check needs 'name' and 'expr'")
        cols = tuple(ch.get("columns") or ())
        for c in cols:
            if c not in names:
                raise ConfigError(f"{source}: check {ch['name']!r} uses unknown column {c!r}")
        if not isinstance(ch["expr"], str):
            raise ConfigError(f"{source}: check {ch['name']!r}: 'expr' must be a string")
        try:
            node = parse_check(ch["expr"], names)
        except CheckExpressionError as exc:
            raise ConfigError(f"{source}: check {ch['name']!r}: expression refused: {exc}") from None
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
        table=str(raw["table"]),
        version=str(raw.get("version", "0")),
        description=str(raw.get("description", "")).strip(),
        fields=fields,
        primary_key=pk,
        foreign_keys=tuple(fks),
        checks=tuple(checks),
        source=source,
    )


def load_contract(path: str | Path) -> Contract:
    """Read one contract file."""
    return parse_contract(load_yaml(path), source=str(path))


def load_contracts(directory: str | Path | None = None) -> dict[str, Contract]:
    """Read every ``*.yaml`` contract of a folder (default: the repository's ``data_contracts/``).

    References between contracts are checked: a foreign key must point at a
    contract of the same folder and at columns it has.
    """
    d = Path(directory) if directory is not None else DATA_CONTRACTS
    if not d.is_dir():
        raise ConfigError(f"data contracts folder {d} does not exist")
    contracts: dict[str, Contract] = {}
    for p in sorted(d.glob("*.yaml")):
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
