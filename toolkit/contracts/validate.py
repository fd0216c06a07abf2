"""Check input tables against their data contracts.

Every violation is collected before anything fails, and each is reported as
table, column, rule, number of rows and a few 1-based row numbers. Values are
never echoed: messages must be safe to paste into a ticket even when the data
are participant records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.contracts import keys
from toolkit.contracts.checks import CheckExpressionError, evaluate_check
from toolkit.contracts.schema import Contract, FieldSpec, RowCheck, load_contracts
from toolkit.errors import ConfigError, DataContractError

TABLE_SUFFIXES = (".parquet", ".csv")
_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}


@dataclass(frozen=True)
class Violation:
    """One broken rule: ``n_rows`` rows of ``table`` break ``rule`` on ``column``."""

    table: str
    column: str
    rule: str
    n_rows: int
    rows: tuple[int, ...] = ()
    detail: str = ""

    def __str__(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        rows = ""
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows)
            more = ", ..." if self.n_rows > len(self.rows) else ""
            label = "row" if len(self.rows) == 1 and not more else "rows"
            rows = f" ({label} {shown}{more})"
        detail = f": {self.detail}" if self.detail else ""
        noun = "row" if self.n_rows == 1 else "rows"
        return f"{where}: rule '{self.rule}' broken by {self.n_rows} {noun}{rows}{detail}"


@dataclass
class ValidationReport:
    """The outcome of validating a set of tables."""

    violations: list[Violation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary(self) -> str:
        lines = [f"{t}: {n:,} rows" for t, n in sorted(self.row_counts.items())]
        if self.ok:
            lines.append(f"valid: {len(self.row_counts)} table(s), no violations")
        else:
            tables = sorted({v.table for v in self.violations})
            lines.append(f"INVALID: {len(self.violations)} violation(s) in {len(tables)} table(s): {', '.join(tables)}")
            lines += [f"  - {v}" for v in sorted(self.violations, key=lambda v: (v.table, v.column, v.rule))]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def raise_if_invalid(self, what: str = "input tables") -> None:
        if not self.ok:
            raise DataContractError(
                f"{what} break their data contracts ({len(self.violations)} violation(s)):\n"
                + "\n".join(f"  - {v}" for v in self.violations),
                self.violations,
            )


# --------------------------------------------------------------------------- reading


def find_table_file(directory: Path, table: str) -> Path | None:
    for suffix in TABLE_SUFFIXES:
        p = directory / f"{table}{suffix}"
        if p.is_file():
            return p
    return None


def _separator(path: Path) -> str:
    """``;`` when the header line has semicolons and no commas (a spreadsheet saved with a European list
    separator), else ``,``."""
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        header = fh.readline()
    return ";" if ";" in header and "," not in header else ","


def read_raw(path: Path) -> pd.DataFrame:
    """Read a table file as stored: Parquet with its types, CSV as text (types are checked later).

    A file that cannot be read (truncated, empty, not Parquet or CSV, not UTF-8) is a
    :class:`DataContractError` naming the file and the kind of failure, never the file's contents.
    """
    kind = "Parquet" if path.suffix == ".parquet" else "CSV"
    try:
        if kind == "Parquet":
            # dates as datetime64, not one Python date object per cell (the checks read both the same way)
            return pd.read_parquet(path, to_pandas_kwargs={"date_as_object": False})
        return pd.read_csv(
            path, dtype=str, keep_default_na=False, na_values=[""], sep=_separator(path), encoding="utf-8-sig"
        )
    except Exception as exc:  # any reader failure is a problem of the file, not a bug
        raise DataContractError(
            f"{path}: cannot be read as a {kind} table ({type(exc).__name__}); is it truncated, empty or of "
            "another format?"
        ) from None


# --------------------------------------------------------------------------- coercion


def _apply_aliases(s: pd.Series, f: FieldSpec) -> tuple[pd.Series, int, bool]:
    """Department codes replaced by the contract's values (case and surrounding spaces ignored; a category's own
    values match whatever their case: "Female" is female); the count."""
    lookup = {str(e).lower(): str(e) for e in (f.enum or ()) if f.type == "category"} | dict(f.aliases)
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    # text that is already the contract's own values is left as it is (one pass, in Arrow)
    own = [e for e in lookup.values() if isinstance(e, str) and lookup.get(e.strip().lower(), e) == e]
    text = not pd.api.types.is_object_dtype(s.dtype) and pd.api.types.is_string_dtype(s.dtype)
    if text and keys.isin(s, pd.Series(own, dtype=s.dtype)).sum() == s.notna().sum():
        # every value is the contract's own: among the allowed categories when those are all of them
        return s, 0, f.enum is not None and set(own) <= {str(e) for e in f.enum}
    # each distinct value is looked up once (a column of a million rows holds a handful of codes)
    try:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
    except TypeError:  # unhashable cells (lists): looked up one by one; the type check reports them
        codes, uniques = np.arange(len(s)), s.to_numpy(dtype=object)
    mapped = [lookup.get(v.strip().lower()) if isinstance(v, str) else None for v in uniques]
    hit_u = np.array([m is not None and m != v for m, v in zip(mapped, uniques, strict=True)], dtype=bool)
    hit = (codes >= 0) & hit_u[np.maximum(codes, 0)] if len(uniques) else np.zeros(len(s), dtype=bool)
    if not hit.any():
        return s, 0, False
    new = pd.Series(np.asarray(mapped, dtype=object)[np.maximum(codes, 0)], index=s.index)
    return s.where(~hit, new), int(hit.sum()), False


def _rows(mask: np.ndarray, k: int) -> tuple[int, ...]:
    idx = np.flatnonzero(mask)[:k]
    return tuple(int(i) + 1 for i in idx)


def _is_text(s: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype)


def _coerce(s: pd.Series, f: FieldSpec) -> tuple[pd.Series, np.ndarray, str]:
    """Return the typed column, a mask of rows whose value could not be read as the type, and a detail."""
    notnull = s.notna().to_numpy()
    if f.type in ("string", "category"):
        if (
            f.type == "category"
            and f.enum
            and all(_looks_int(v) for v in f.enum)
            and pd.api.types.is_numeric_dtype(s.dtype)
        ):
            return s.astype("Int64").astype("str").where(s.notna()), np.zeros(len(s), bool), ""
        if isinstance(s.dtype, pd.CategoricalDtype) or (_is_text(s) and not pd.api.types.is_object_dtype(s.dtype)):
            out = s.astype("str").where(s.notna())
            return out, np.zeros(len(s), bool), ""
        if pd.api.types.is_object_dtype(s.dtype):  # text, unless a value is a list, bytes, a number, ...
            nontext = notnull & ~s.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
            out = s.astype("str").where(s.notna() & ~pd.Series(nontext, index=s.index))
            return out, nontext, "a value is not text (a list, bytes or a number)"
        return s, notnull, f"stored as {s.dtype}"
    if f.type in ("integer", "number"):
        if pd.api.types.is_bool_dtype(s.dtype):
            return s, notnull, f"stored as {s.dtype}"
        num = pd.to_numeric(s, errors="coerce") if not pd.api.types.is_numeric_dtype(s.dtype) else s
        vals = num.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = np.isfinite(vals)
        bad = notnull & ~finite  # text that is no number, and infinite values
        detail = "not a finite number"
        if f.type == "integer":
            frac = np.zeros(len(s), bool)
            frac[finite] = vals[finite] != np.round(vals[finite])
            huge = np.zeros(len(s), bool)
            huge[finite] = np.abs(vals[finite]) >= 2.0**63
            bad |= frac | huge
            detail = "not a whole number (or too large)"
            typed = pd.Series(np.where(bad | ~finite, np.nan, vals), index=s.index).astype("Int64")
            return typed, bad, detail
        return pd.Series(np.where(bad, np.nan, vals), index=s.index), bad, detail
    if f.type == "boolean":
        if pd.api.types.is_bool_dtype(s.dtype):
            return s.astype("boolean"), np.zeros(len(s), bool), ""
        if pd.api.types.is_numeric_dtype(s.dtype):
            vals = s.astype("float64")
            bad = notnull & ~vals.isin([0.0, 1.0]).to_numpy()
            return (vals == 1).astype("boolean").where(s.notna() & ~pd.Series(bad, index=s.index)), bad, "not 0/1"
        low = s.astype("str").str.strip().str.lower()
        t, fl = low.isin(_TRUE).to_numpy(), low.isin(_FALSE).to_numpy()
        bad = notnull & ~(t | fl)
        out = pd.Series(pd.array(np.where(t, True, False), dtype="boolean"), index=s.index)
        out[~(t | fl)] = pd.NA
        return out, bad, "not true/false"
    if f.type == "date":
        return _coerce_date(s, notnull)
    raise AssertionError(f"unhandled type {f.type}")  # contracts are checked on load


DATE_DETAIL = "not a date (YYYY-MM-DD text or a date type)"


def _coerce_date(s: pd.Series, notnull: np.ndarray) -> tuple[pd.Series, np.ndarray, str]:
    """Dates stored as dates, or as ``YYYY-MM-DD`` text; nothing else.

    Numbers are never read as dates: an integer such as 20200331 would otherwise become a count of
    nanoseconds after 1970-01-01, so a column of them is refused with a type violation instead.
    """
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        d = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
        return _seconds(d), np.zeros(len(s), bool), ""
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return (
            pd.Series(pd.NaT, index=s.index, dtype="datetime64[s]"),
            notnull,
            f"{DATE_DETAIL}; stored as {s.dtype}, and numbers such as yyyymmdd are not read as dates",
        )
    # each distinct value is read once (dates repeat: a million records hold a few thousand of them)
    try:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
    except TypeError:  # unhashable cells (lists): read one by one
        return _read_dates(s, notnull)
    if len(uniques) == 0:  # every cell empty
        return pd.Series(pd.NaT, index=s.index, dtype="datetime64[s]"), np.zeros(len(s), bool), DATE_DETAIL
    if 2 * len(uniques) > len(s):
        return _read_dates(s, notnull)
    u = pd.Series(np.asarray(uniques, dtype=object))
    du, _bad_u, detail = _read_dates(u, np.ones(len(u), dtype=bool))
    d = pd.Series(du.to_numpy()[np.maximum(codes, 0)], index=s.index, dtype="datetime64[s]")
    d[codes < 0] = pd.NaT
    bad = notnull & d.isna().to_numpy()
    return d, bad, detail


def _read_dates(s: pd.Series, notnull: np.ndarray) -> tuple[pd.Series, np.ndarray, str]:
    """Text ``YYYY-MM-DD`` and date objects as ``datetime64[s]``, value by value; the rows that are neither."""
    kinds = s.map(lambda v: "text" if isinstance(v, str) else "date" if isinstance(v, (date, np.datetime64)) else "")
    text = (kinds == "text").to_numpy()
    dates = (kinds == "date").to_numpy()
    d = pd.Series(pd.NaT, index=s.index, dtype="datetime64[s]")
    if text.any():
        parsed = pd.to_datetime(s[text], format="%Y-%m-%d", errors="coerce")
        d[text] = _seconds(parsed)
    if dates.any():
        d[dates] = _seconds(pd.to_datetime(s[dates].map(_naive), errors="coerce"))
    bad = notnull & d.isna().to_numpy()
    return d, bad, DATE_DETAIL


def _naive(v: Any) -> Any:
    return v.replace(tzinfo=None) if isinstance(v, datetime) and v.tzinfo is not None else v


def _seconds(d: pd.Series) -> pd.Series:
    """Dates as ``datetime64[s]``; a date outside what that holds becomes missing (NaT)."""
    try:
        return d.astype("datetime64[s]")
    except (OverflowError, ValueError):  # pragma: no cover - pandas' own bounds are narrower
        return pd.to_datetime(d, errors="coerce").astype("datetime64[s]")


def _looks_int(v: str) -> bool:
    try:
        int(v)
        return True
    except ValueError:
        return False


def _bound(value: Any, f: FieldSpec) -> pd.Timestamp | float:  # value: minimum/maximum, checked on load
    if f.type == "date":
        return pd.Timestamp(str(value))
    return float(value)


# --------------------------------------------------------------------------- rules


def check_table(
    df: pd.DataFrame, contract: Contract, max_examples: int = 5
) -> tuple[pd.DataFrame, list[Violation], list[str]]:
    """Check one table on its own (types, nulls, values, keys, row checks).

    Returns the typed table (declared columns only, in contract order), the
    violations and notes (such as undeclared columns, which are ignored).
    """
    t = contract.table
    k = max_examples
    seen: dict[tuple[str, ...], np.ndarray] = {}  # duplicate masks by columns: a unique key is hashed once

    def duplicated_cached(names: tuple[str, ...], columns: list[pd.Series]) -> np.ndarray:
        if names not in seen:
            seen[names] = keys.duplicated(columns)
        return seen[names]

    out: list[Violation] = []
    notes: list[str] = []
    n = len(df)
    typed: dict[str, pd.Series] = {}
    extra = [c for c in df.columns if c not in contract.columns]
    if extra:
        notes.append(f"{t}: {len(extra)} column(s) not in the contract are ignored: {', '.join(map(str, extra))}")
    df = df.reset_index(drop=True)
    for f in contract.fields:
        if f.name not in df.columns:
            if f.required:
                out.append(
                    Violation(t, f.name, "missing_column", n, (), "declared in the contract, absent from the table")
                )
                continue
            notes.append(f"{t}: optional column {f.name} is absent: read as empty")
            df = df.assign(**{f.name: pd.Series([None] * n, index=df.index, dtype=object)})
        column = df[f.name]
        allowed = False  # every value known to be among the allowed categories
        if f.aliases or (f.type == "category" and f.enum):
            column, mapped, allowed = _apply_aliases(column, f)
            if mapped:
                notes.append(f"{t}.{f.name}: {mapped} value(s) read through the contract's aliases")
        s, bad, detail = _coerce(column, f)
        if bad.any():
            out.append(Violation(t, f.name, "type", int(bad.sum()), _rows(bad, k), f"expected {f.type}; {detail}"))
        typed[f.name] = s
        isnull = s.isna().to_numpy() & ~bad
        if f.required and isnull.any():
            out.append(Violation(t, f.name, "required", int(isnull.sum()), _rows(isnull, k), "value is missing"))
        valid = ~s.isna().to_numpy() & ~bad  # a value of the wrong type is reported once, as such
        if f.enum is not None and not allowed:
            bad_enum = valid & ~s.astype("str").isin(list(f.enum)).to_numpy()
            if bad_enum.any():
                out.append(
                    Violation(
                        t,
                        f.name,
                        "enum",
                        int(bad_enum.sum()),
                        _rows(bad_enum, k),
                        f"value not among the {len(f.enum)} allowed categories",
                    )
                )
        for rule, bound in (("minimum", f.minimum), ("maximum", f.maximum)):
            if bound is None or f.type not in ("integer", "number", "date"):
                continue
            b = _bound(bound, f)
            vals = s if f.type == "date" else s.astype("float64")
            cmp = (vals < b) if rule == "minimum" else (vals > b)
            badr = valid & cmp.fillna(False).to_numpy(dtype=bool)
            if badr.any():
                out.append(
                    Violation(
                        t,
                        f.name,
                        rule,
                        int(badr.sum()),
                        _rows(badr, k),
                        f"value {'below' if rule == 'minimum' else 'above'} the allowed {rule} {bound}",
                    )
                )
        if f.type == "date":
            lo, hi = contract.date_range
            outside = valid & ((s < pd.Timestamp(lo)) | (s > pd.Timestamp(hi))).fillna(False).to_numpy(dtype=bool)
            if outside.any():
                out.append(
                    Violation(
                        t,
                        f.name,
                        "date_range",
                        int(outside.sum()),
                        _rows(outside, k),
                        f"date outside the plausible range {lo} to {hi} (dateRange of the contract)",
                    )
                )
        if f.pattern is not None and f.type in ("string", "category"):
            rx = re.compile(f.pattern)
            matched = s.astype("str").str.fullmatch(rx).fillna(False).to_numpy(dtype=bool)
            badp = valid & ~matched
            if badp.any():
                out.append(
                    Violation(
                        t,
                        f.name,
                        "pattern",
                        int(badp.sum()),
                        _rows(badp, k),
                        f"value does not match the pattern {f.pattern}",
                    )
                )
        if f.unique:
            dup = valid & duplicated_cached((f.name,), [s])
            if dup.any():
                out.append(
                    Violation(t, f.name, "unique", int(dup.sum()), _rows(dup, k), "value appears more than once")
                )
    frame = pd.DataFrame(typed, index=df.index)
    pk = [c for c in contract.primary_key if c in frame.columns]
    if pk and len(pk) == len(contract.primary_key):
        null_key = frame[pk].isna().any(axis=1).to_numpy()
        if null_key.any():
            out.append(
                Violation(
                    t,
                    ",".join(pk),
                    "primary_key_null",
                    int(null_key.sum()),
                    _rows(null_key, k),
                    "a key column is empty",
                )
            )
        dup = ~null_key & duplicated_cached(tuple(pk), [frame[c] for c in pk])
        if dup.any():
            out.append(
                Violation(
                    t,
                    ",".join(pk),
                    "primary_key",
                    int(dup.sum()),
                    _rows(dup, k),
                    "the same key appears on more than one row",
                )
            )
    for ch in contract.checks:
        if any(c not in frame.columns for c in (*ch.columns, *ch.uses)):
            continue
        badc = ~_check_passes(frame, ch, contract)
        if badc.any():
            out.append(
                Violation(t, ",".join(ch.columns), f"check:{ch.name}", int(badc.sum()), _rows(badc, k), ch.description)
            )
    return frame, out, notes


def _check_passes(frame: pd.DataFrame, ch: RowCheck, contract: Contract) -> np.ndarray:
    """Where a row check holds (a missing value counts as holding), evaluated with
    :func:`toolkit.contracts.checks.evaluate_check` (never ``eval``)."""
    where = f"{contract.source or contract.table}: check {ch.name!r}"
    try:
        res = evaluate_check(ch.expr, frame)
    except CheckExpressionError as exc:
        raise ConfigError(f"{where}: expression refused: {exc}") from None
    except (TypeError, ValueError, OverflowError, ArithmeticError) as exc:  # e.g. a date compared with a number
        raise ConfigError(
            f"{where}: expression cannot be evaluated on the contract's column types ({type(exc).__name__})"
        ) from None
    res = pd.Series(res, index=frame.index)
    if not (
        pd.api.types.is_bool_dtype(res.dtype)
        or res.isna().all()
        or (res.dtype == object and all(isinstance(v, (bool, np.bool_)) for v in res.dropna().unique()))
    ):
        raise ConfigError(f"{where}: expression gives {res.dtype} values, not true/false")
    return res.astype("boolean").fillna(True).to_numpy(dtype=bool)


def check_references(
    frames: dict[str, pd.DataFrame], contracts: dict[str, Contract], max_examples: int = 5
) -> tuple[list[Violation], list[str]]:
    """Check every foreign key whose two tables are present."""
    out: list[Violation] = []
    notes: list[str] = []
    for name, c in contracts.items():
        if name not in frames:
            continue
        df = frames[name]
        for fk in c.foreign_keys:
            target = frames.get(fk.resource)
            label = f"foreign_key->{fk.resource}({', '.join(fk.reference_fields)})"
            if target is None:
                notes.append(f"{name}: reference {label} not checked, table {fk.resource} absent")
                continue
            if any(col not in df.columns for col in fk.fields) or any(
                col not in target.columns for col in fk.reference_fields
            ):
                continue
            left = df[list(fk.fields)]
            present = left.notna().all(axis=1).to_numpy()
            if len(fk.fields) == 1:
                found = keys.isin(left[fk.fields[0]], target[fk.reference_fields[0]])
            else:
                ref = target[list(fk.reference_fields)].dropna().drop_duplicates()
                ref.columns = list(fk.fields)
                merged = left.merge(ref.assign(_found=True), on=list(fk.fields), how="left")
                found = merged["_found"].notna().to_numpy()
            orphan = present & ~found
            if orphan.any():
                out.append(
                    Violation(
                        name,
                        ",".join(fk.fields),
                        label,
                        int(orphan.sum()),
                        _rows(orphan, max_examples),
                        "no matching row in the referenced table",
                    )
                )
    return out, notes


def validate_tables(
    tables: dict[str, pd.DataFrame], contracts: dict[str, Contract] | None = None, max_examples: int = 5
) -> tuple[dict[str, pd.DataFrame], ValidationReport]:
    """Validate in-memory tables; return the typed tables and the report.

    Only tables that have a contract are checked; the others are noted.
    """
    contracts = contracts if contracts is not None else load_contracts()
    report = ValidationReport()
    typed: dict[str, pd.DataFrame] = {}
    for name, df in tables.items():
        if name not in contracts:
            report.notes.append(f"table {name} has no contract and was not checked")
            continue
        frame, viol, notes = check_table(df, contracts[name], max_examples)
        typed[name] = frame
        report.violations += viol
        report.notes += notes
        report.row_counts[name] = len(df)
    viol, notes = check_references(typed, {k: v for k, v in contracts.items() if k in typed}, max_examples)
    report.violations += viol
    report.notes += notes
    return typed, report


def validate_dir(
    directory: str | Path,
    tables: list[str] | None = None,
    contracts_dir: str | Path | None = None,
    max_examples: int = 5,
    contracts_sub: str = "",
) -> tuple[dict[str, pd.DataFrame], ValidationReport]:
    """Validate the tables of a folder (``<table>.parquet`` or ``<table>.csv``).

    ``tables`` defaults to every table with a contract; each of them must be present. The contracts are
    those of ``contracts_dir``, else of ``data_contracts/<contracts_sub>`` (the workspace's files first,
    then the shipped ones: :func:`~toolkit.contracts.schema.load_contracts`).

    Examples
    --------
    >>> typed, report = validate_dir("worlds/tiny")            # doctest: +SKIP
    >>> report.raise_if_invalid()                              # doctest: +SKIP
    """
    d = Path(directory)
    if not d.is_dir():
        raise DataContractError(f"data folder {d} does not exist")
    contracts = load_contracts(contracts_dir, sub=contracts_sub)
    wanted = list(tables) if tables else sorted(contracts)
    unknown = [t for t in wanted if t not in contracts]
    if unknown:
        raise DataContractError(
            f"no data contract for table(s) {', '.join(unknown)} (known: {', '.join(sorted(contracts))})"
        )
    raw: dict[str, pd.DataFrame] = {}
    missing: list[Violation] = []
    for t in wanted:
        p = find_table_file(d, t)
        if p is None:
            missing.append(Violation(t, "", "missing_table", 0, (), f"no {t}.parquet or {t}.csv in {d}"))
            continue
        try:
            raw[t] = read_raw(p)
        except DataContractError as exc:  # unreadable file: a user problem, not a bug
            missing.append(Violation(t, "", "unreadable", 0, (), str(exc).replace(str(p), p.name, 1)))
    typed, report = validate_tables(raw, {k: contracts[k] for k in wanted}, max_examples)
    report.violations = missing + report.violations
    return typed, report


def load_tables(directory: str | Path, tables: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """Read and validate a folder; return typed tables or raise :class:`DataContractError` listing every violation."""
    typed, report = validate_dir(directory, tables)
    report.raise_if_invalid(f"tables in {directory}")
    return typed
