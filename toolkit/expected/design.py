"""Design matrices with explicit, stored state.

:func:`fit_design` learns a :class:`DesignState` from training data: every
factor's state (knots, boundaries, levels, reference level, constraint
matrices) and every column as a product of factor pieces, named and ordered
exactly as patsy names and orders them. :func:`build_matrix` and
:func:`linear_predictor` apply a state to any frame; neither looks at any
other row than the one it computes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from toolkit.errors import InputError, SpecError
from toolkit.expected.formula import FactorSpec, ParsedFormula, is_categorical_dtype, parse_formula
from toolkit.expected.terms import (
    BSplineFactor,
    CategoricalFactor,
    CubicRegressionFactor,
    Factor,
    NumericFactor,
    factor_from_dict,
    factor_to_dict,
)

if TYPE_CHECKING:
    from patsy.desc import Term
    from patsy.eval import EvalFactor

#: A column is a product of pieces: (factor name, column index or level index).
Piece = tuple[str, int]


@dataclass(frozen=True)
class DesignColumn:
    """One design column: its patsy-style name, its term, and the factor pieces it multiplies."""

    name: str
    term: str
    pieces: tuple[Piece, ...]


@dataclass(frozen=True)
class PooledLevel:
    """What the sparse-level rule (:mod:`toolkit.expected.sparse`) did to one level or interaction cell.

    ``term``: the factor (or the interaction's term); ``level``: the level's value, or the interaction cell's
    design column; ``into``: the level it is scored as, or ``"reference cell"`` for an interaction cell whose
    column was dropped; ``events`` and ``non_events``: the training records of the level or cell; ``reason``:
    ``"sparse"``, or ``"sparse reference"`` for the largest level pooled into a sparse reference level.
    """

    term: str
    level: str
    into: str
    events: int
    non_events: int
    reason: str = "sparse"

    def describe(self) -> str:
        """One line: ``term level -> into (E events, N non-events)``."""
        why = "" if self.reason == "sparse" else f"; {self.reason}"
        return f"{self.term} {self.level} -> {self.into} ({self.events} events, {self.non_events} non-events{why})"


@dataclass(frozen=True)
class DesignState:
    """Everything needed to rebuild the design on new data; JSON-ready via :meth:`to_dict`.

    ``pooled``: the levels and interaction cells the sparse-level rule pooled at fit time (the factors hold
    the mapping, the columns leave out dropped cells; this is the record of what was done and why).
    """

    formula: str
    outcome: str
    factors: tuple[Factor, ...]
    columns: tuple[DesignColumn, ...]
    pooled: tuple[PooledLevel, ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def source_columns(self) -> list[str]:
        """Data columns the design reads (the outcome excluded)."""
        out: list[str] = []
        for f in self.factors:
            for c in _factor_columns(f):
                if c not in out:
                    out.append(c)
        return out

    def factor(self, name: str) -> Factor:
        for f in self.factors:
            if f.name == name:
                return f
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "formula": self.formula,
            "outcome": self.outcome,
            "factors": [factor_to_dict(f) for f in self.factors],
            "columns": [{"name": c.name, "term": c.term, "pieces": [list(p) for p in c.pieces]} for c in self.columns],
        }
        if self.pooled:  # absent when nothing was pooled: the stored state of such a model is unchanged
            out["pooled"] = [asdict(p) for p in self.pooled]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DesignState:
        return cls(
            formula=d["formula"],
            outcome=d["outcome"],
            factors=tuple(factor_from_dict(f) for f in d["factors"]),
            columns=tuple(
                DesignColumn(c["name"], c["term"], tuple((str(a), int(b)) for a, b in c["pieces"]))
                for c in d["columns"]
            ),
            pooled=tuple(PooledLevel(**p) for p in d.get("pooled", [])),
        )


def _factor_columns(f: Factor) -> list[str]:
    if isinstance(f, CategoricalFactor):
        return [f.column]
    from toolkit.expected.expr import columns_of, parse_code

    return columns_of(parse_code(f.expr))


def check_frame(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    """Raise InputError naming every missing column and every column with nulls (with counts)."""
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    problems = []
    if missing:
        problems.append(f"missing column(s): {', '.join(repr(c) for c in missing)}")
    for c in columns:
        if c in frame.columns:
            n_null = int(frame[c].isna().sum())
            if n_null:
                problems.append(f"column {c!r} has {n_null} missing value(s)")
    if problems:
        raise InputError(f"{what} is unusable: " + "; ".join(problems))


def fit_design(
    frame: pd.DataFrame,
    formula: str,
    outcome: str | None = None,
    parsed: ParsedFormula | None = None,
    pooled: Mapping[str, Mapping[Any, Any]] | None = None,
) -> DesignState:
    """Learn the design state of ``formula`` from the training ``frame``.

    ``pooled``: per categorical factor (by name), values scored as another level (the sparse-level rule,
    :mod:`toolkit.expected.sparse`); they are not levels of their own and get no design column.
    """
    from patsy.redundancy import pick_contrasts_for_term

    parsed = parsed or parse_formula(formula, outcome)
    check_frame(frame, parsed.columns, "training data")
    factors: dict[str, Factor] = {}
    for name, spec in parsed.factors.items():
        factors[name] = _fit_factor(spec, frame, (pooled or {}).get(name))
    numeric = {f for t in parsed.terms for f in t.factors if not isinstance(factors[f.name()], CategoricalFactor)}

    # patsy's _make_subterm_infos: bucket terms by their set of numeric factors (no-numeric bucket
    # first), order by degree within a bucket, and pick full-rank or reduced coding per subterm.
    buckets: dict[frozenset[EvalFactor], list[Term]] = {}
    for term in parsed.terms:
        buckets.setdefault(frozenset(f for f in term.factors if f in numeric), []).append(term)
    order = sorted(buckets, key=lambda b: len(b) != 0)  # stable: first appearance otherwise
    columns: list[DesignColumn] = []
    for bucket in order:
        used: set = set()
        for term in sorted(buckets[bucket], key=lambda t: len(t.factors)):
            for coding in pick_contrasts_for_term(term, numeric, used):
                columns += _subterm_columns(term, coding, numeric, factors)
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise SpecError("the formula produces duplicate design columns")
    return DesignState(formula=formula, outcome=parsed.outcome, factors=tuple(factors.values()), columns=tuple(columns))


def _fit_factor(spec: FactorSpec, frame: pd.DataFrame, pooled: Mapping[Any, Any] | None = None) -> Factor:
    kind = spec.kind
    if kind == "auto":
        kind = "categorical" if is_categorical_dtype(frame[spec.expr]) else "numeric"
    if pooled and kind != "categorical":
        raise SpecError(f"{spec.name}: only a categorical factor's levels can be pooled")
    if kind == "numeric":
        return NumericFactor.fit(spec.name, spec.expr, frame)
    if kind == "bs":
        return BSplineFactor.fit(spec.name, spec.expr, frame, **spec.args)
    if kind == "cr":
        return CubicRegressionFactor.fit(spec.name, spec.expr, frame, **spec.args)
    return CategoricalFactor.fit(spec.name, spec.expr, frame, **spec.args, pooled=pooled)


def _subterm_columns(
    term: Term, coding: dict[EvalFactor, bool], numeric: set[EvalFactor], factors: dict[str, Factor]
) -> list[DesignColumn]:
    """Columns of one subterm, left-most factor varying fastest, named as patsy names them."""
    import itertools

    per_factor: list[list[tuple[str, Piece]]] = []
    for f in term.factors:
        fs = factors[f.name()]
        if f in numeric:
            if fs.n_columns == 1:
                per_factor.append([(fs.name, (fs.name, 0))])
            else:
                per_factor.append([(f"{fs.name}[{i}]", (fs.name, i)) for i in range(fs.n_columns)])
        elif f in coding:
            if not isinstance(fs, CategoricalFactor):  # unreachable: every non-categorical factor is in numeric
                raise SpecError(f"{fs.name}: a numeric factor cannot be coded as categorical")
            full = coding[f]
            keep = [i for i in range(len(fs.levels)) if full or i != fs.reference]
            prefix = "" if full else "T."
            per_factor.append([(f"{fs.name}[{prefix}{_readable(fs.levels[i])}]", (fs.name, i)) for i in keep])
    term_name = term.name()
    out = []
    for combo in itertools.product(*reversed(per_factor)):
        combo = combo[::-1]
        name = ":".join(p[0] for p in combo) or "Intercept"
        out.append(DesignColumn(name=name, term=term_name, pieces=tuple(p[1] for p in combo)))
    return out


def _readable(level: Any) -> str:
    return level if isinstance(level, str) else repr(level)


def evaluate_factors(
    state: DesignState, frame: pd.DataFrame, out_of_range: str, unseen_level: str
) -> dict[str, np.ndarray]:
    """Every factor's values on ``frame``: (n, k) floats for numeric factors, level codes for categoricals."""
    check_frame(frame, state.source_columns, "data")
    values: dict[str, np.ndarray] = {}
    for f in state.factors:
        policy = unseen_level if isinstance(f, CategoricalFactor) else out_of_range
        values[f.name] = f.evaluate(frame, policy)
    return values


def _iter_columns(
    state: DesignState, values: dict[str, np.ndarray], n: int, buf: np.ndarray | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield each design column, written into ``buf[:, j]`` (or one reused scratch vector)."""
    categorical = {f.name for f in state.factors if isinstance(f, CategoricalFactor)}
    scratch = np.empty(n if buf is None else 0)  # the one reused column when no matrix is given
    for j, col in enumerate(state.columns):
        out = scratch if buf is None else buf[:, j]
        if not col.pieces:
            out.fill(1.0)
        for k, (fname, idx) in enumerate(col.pieces):
            v = values[fname]
            if fname in categorical:
                if k == 0:
                    np.equal(v, idx, out=out, casting="unsafe")
                else:
                    out[v != idx] = 0.0
            elif k == 0:
                np.copyto(out, v[:, idx])
            else:
                np.multiply(out, v[:, idx], out=out)
        yield j, out


def build_matrix(
    state: DesignState, frame: pd.DataFrame, out_of_range: str = "clip", unseen_level: str = "error"
) -> np.ndarray:
    """The design matrix of ``frame`` (n x p float64, Fortran order), column-for-column as patsy's."""
    values = evaluate_factors(state, frame, out_of_range, unseen_level)
    n = len(frame)
    x = np.empty((n, len(state.columns)), dtype=np.float64, order="F")
    for _ in _iter_columns(state, values, n, buf=x):
        pass
    return x


def linear_predictor(
    state: DesignState, frame: pd.DataFrame, coef: np.ndarray, out_of_range: str = "clip", unseen_level: str = "error"
) -> np.ndarray:
    """``X @ coef`` summed column by column, without forming X; each row's value depends on that row only."""
    values = evaluate_factors(state, frame, out_of_range, unseen_level)
    n = len(frame)
    eta = np.zeros(n)
    for j, col in _iter_columns(state, values, n):
        eta += col * coef[j]
    return eta
