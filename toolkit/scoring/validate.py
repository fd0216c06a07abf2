"""Checks of the scoring inputs: the entity-measure table and the previous release's ratings.

Every problem is collected before anything is raised; each names the column,
the rule, the number of rows and a few 1-based data row numbers (row 1 is the
first row under the header of the input file). Values are not echoed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from toolkit.errors import InputError
from toolkit.scoring.config import LEVELS, STATUSES, MethodConfig

if TYPE_CHECKING:
    import numpy.typing as npt

REQUIRED = ("program", "level", "entity_id", "parent_id", "measure", "n", "actual", "expected")
OPTIONAL = ("months_operating", "novation")
PREVIOUS_REQUIRED = ("program", "level", "entity_id", "status", "star_percentage", "stars")
KEY = ("program", "level", "entity_id")
MAX_ROWS_SHOWN = 5


@dataclass(frozen=True)
class Problem:
    """``n_rows`` rows of ``table`` break ``rule`` on ``column``."""

    table: str
    column: str
    rule: str
    rows: tuple[int, ...]

    def __str__(self) -> str:
        shown = ", ".join(str(r) for r in self.rows[:MAX_ROWS_SHOWN])
        more = ", ..." if len(self.rows) > MAX_ROWS_SHOWN else ""
        noun = "row" if len(self.rows) == 1 else "rows"
        return f"{self.table}.{self.column}: rule '{self.rule}' broken by {len(self.rows)} {noun} (rows {shown}{more})"


class _Collector:
    def __init__(self, table: str) -> None:
        self.table = table
        self.problems: list[Problem] = []

    def check(self, bad: npt.ArrayLike, column: str, rule: str) -> None:
        bad = np.asarray(bad, dtype=bool)
        if bad.any():
            self.problems.append(Problem(self.table, column, rule, tuple(int(i) + 1 for i in np.flatnonzero(bad))))

    def raise_if_any(self) -> None:
        if self.problems:
            raise InputError(
                f"{self.table}: {len(self.problems)} problem(s) in the input table:\n"
                + "\n".join(f"  - {p}" for p in self.problems)
            )


def _text(df: pd.DataFrame, col: str) -> np.ndarray:
    s = df[col]
    return np.array(
        ["" if (v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA) else str(v) for v in s.tolist()],
        dtype=object,
    )


def _number(df: pd.DataFrame, col: str) -> np.ndarray:
    raw = df[col]
    if raw.dtype == object or pd.api.types.is_string_dtype(raw.dtype):
        raw = raw.astype(object).where(raw.astype(str).str.len() > 0, None)
    return pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _inconsistent(keys: pd.DataFrame, values: np.ndarray) -> np.ndarray:
    """Rows of entities whose rows disagree on ``values``."""
    v = pd.Series([repr(x) for x in values], index=keys.index, dtype=object)  # NaN compares equal as 'nan'
    n_distinct = v.groupby([keys[k] for k in keys.columns]).transform("nunique")
    return (n_distinct > 1).to_numpy()


def validate_entity_measures(
    df: pd.DataFrame, method: MethodConfig, *, table: str = "entity_measures", fractional_actual: bool = False
) -> pd.DataFrame:
    """Check an entity-measure table and return it with fixed dtypes.

    Parameters
    ----------
    df : DataFrame
        Columns ``program, level, entity_id, parent_id, measure, n, actual, expected``
        and optionally ``months_operating`` (empty: established) and ``novation``
        (a note written by :func:`~toolkit.scoring.apply_novations`). Values may be
        strings (as read from CSV) or typed (Parquet).
    method : MethodConfig
    table : str
        Name used in messages.
    fractional_actual : bool
        Accept non-whole ``actual`` (kept as float64): expected actual outcomes, such as the
        oracle's sum of true probabilities or a posterior mean. Counts otherwise.

    Returns
    -------
    DataFrame
        The same rows in the same order: text columns as Python strings
        (``""`` for an empty parent), ``n`` and ``actual`` int64, ``expected`` and
        ``months_operating`` float64 (NaN: not given), ``novation`` text.

    Raises
    ------
    toolkit.errors.InputError
        Listing every problem: missing or unexpected columns, unknown program,
        level or measure, counts that are missing, negative or not whole,
        ``actual > n``, ``expected`` outside ``[0, n]`` (or 0 where ``n > 0``),
        duplicate rows, entities whose rows disagree on parent or months, and
        sites without their contract (or contracts without their organisation
        when organisations are scored).
    """
    missing = [c for c in REQUIRED if c not in df.columns]
    extra = [c for c in df.columns if c not in REQUIRED + OPTIONAL]
    if missing or extra:
        shown = extra[:6] + ([f"... {len(extra) - 6} more"] if len(extra) > 6 else [])
        raise InputError(
            f"{table}: missing column(s) {missing}, unexpected column(s) {shown}; "
            f"expected {list(REQUIRED)} and optionally {list(OPTIONAL)}"
        )
    c = _Collector(table)
    df = df.reset_index(drop=True)
    prog, level, eid, parent, measure = (
        _text(df, k) for k in ("program", "level", "entity_id", "parent_id", "measure")
    )
    c.check(~np.isin(prog, list(method.programs)), "program", f"one of {sorted(method.programs)}")
    c.check(~np.isin(level, list(LEVELS)), "level", f"one of {list(LEVELS)}")
    c.check(eid == "", "entity_id", "not empty")
    allowed = {p: set(s.weights) | set(s.not_scored) for p, s in method.programs.items()}
    known_prog = np.isin(prog, list(method.programs))
    c.check(
        known_prog & np.array([m not in allowed.get(p, ()) for p, m in zip(prog, measure, strict=True)], dtype=bool),
        "measure",
        "a measure of the row's program in the method",
    )

    n, actual, expected = (_number(df, k) for k in ("n", "actual", "expected"))
    c.check(~np.isfinite(n) | (n < 0) | (n != np.round(n)), "n", "a non-negative whole number")
    if fractional_actual:
        c.check(~np.isfinite(actual) | (actual < 0), "actual", "a non-negative number")
    else:
        c.check(
            ~np.isfinite(actual) | (actual < 0) | (actual != np.round(actual)), "actual", "a non-negative whole number"
        )
    c.check(actual > n, "actual", "actual <= n")
    c.check(~np.isfinite(expected) | (expected < 0) | (expected > n), "expected", "0 <= expected <= n")
    c.check((n > 0) & (expected == 0), "expected", "expected > 0 where n > 0")
    months = np.full(len(df), np.nan)
    if "months_operating" in df.columns:
        months = _number(df, "months_operating")
        given = _text(df, "months_operating") != ""
        c.check(given & (~np.isfinite(months) | (months < 0)), "months_operating", "empty or a number >= 0")
    novation = _text(df, "novation") if "novation" in df.columns else np.full(len(df), "", dtype=object)

    keys = pd.DataFrame({"program": prog, "level": level, "entity_id": eid})
    c.check(
        keys.assign(measure=measure).duplicated(keep=False).to_numpy(),
        "measure",
        "one row per program, level, entity_id and measure (duplicate rows)",
    )
    c.check(_inconsistent(keys, parent), "parent_id", "the same parent on every row of an entity")
    c.check(_inconsistent(keys, months), "months_operating", "the same months on every row of an entity")

    is_site, is_contract, is_org = level == "site", level == "contract", level == "organisation"
    contracts = set(zip(prog[is_contract], eid[is_contract], strict=True))
    orgs = set(zip(prog[is_org], eid[is_org], strict=True))
    progs_with_orgs = {p for p, _ in orgs}
    c.check(is_org & (parent != ""), "parent_id", "empty for an organisation")
    c.check(
        is_site & np.array([(p, q) not in contracts for p, q in zip(prog, parent, strict=True)], dtype=bool),
        "parent_id",
        "a site's contract is in the table (a site without its contract)",
    )
    c.check(
        is_contract
        & np.array(
            [p in progs_with_orgs and (p, q) not in orgs for p, q in zip(prog, parent, strict=True)], dtype=bool
        ),
        "parent_id",
        "a contract's organisation is in the table when organisations are scored",
    )
    c.raise_if_any()
    return pd.DataFrame(
        {
            "program": prog,
            "level": level,
            "entity_id": eid,
            "parent_id": parent,
            "measure": measure,
            "n": n.astype(np.int64),
            "actual": actual if fractional_actual else actual.astype(np.int64),
            "expected": expected,
            "months_operating": months,
            "novation": novation,
        }
    )


def validate_previous(df: pd.DataFrame, *, table: str = "previous") -> pd.DataFrame:
    """Check the previous release's ratings table; return its key, status, star percentage and stars.

    Raises
    ------
    toolkit.errors.InputError
        Missing columns, unknown levels or statuses, duplicate entities, or a
        published status (rated, carried_forward, substituted) without stars
        1-5 and a whole star percentage.
    """
    missing = [c for c in PREVIOUS_REQUIRED if c not in df.columns]
    if missing:
        raise InputError(
            f"{table}: missing column(s) {missing}; the previous release's ratings table "
            f"(output of toolkit score) has {list(PREVIOUS_REQUIRED)}"
        )
    c = _Collector(table)
    df = df.reset_index(drop=True)
    prog, level, eid, status = (_text(df, k) for k in ("program", "level", "entity_id", "status"))
    pct, stars = _number(df, "star_percentage"), _number(df, "stars")
    c.check(~np.isin(level, list(LEVELS)), "level", f"one of {list(LEVELS)}")
    c.check(~np.isin(status, list(STATUSES)), "status", f"one of {list(STATUSES)}")
    c.check(
        pd.DataFrame({"p": prog, "l": level, "e": eid}).duplicated(keep=False).to_numpy(),
        "entity_id",
        "one row per program, level and entity_id",
    )
    published = np.isin(status, ["rated", "carried_forward", "substituted"])
    c.check(published & ~np.isin(stars, [1, 2, 3, 4, 5]), "stars", "stars 1-5 where a rating is published")
    c.check(
        published & (~np.isfinite(pct) | (pct != np.round(pct))),
        "star_percentage",
        "a whole number where a rating is published",
    )
    c.raise_if_any()
    return pd.DataFrame(
        {"program": prog, "level": level, "entity_id": eid, "status": status, "star_percentage": pct, "stars": stars}
    )
