"""Formula factors with explicit fitted state.

A *factor* is one thing a formula term multiplies: a numeric expression
(``age``, ``np.log(x)``), a spline basis (``bs(age, df=4)``, ``cr(x, df=5,
constraints='center')``) or a categorical column (``education``,
``C(education, Treatment('year12'))``). Each factor class is a frozen
dataclass: ``fit`` learns its state from training data (knots, boundaries,
levels) and ``evaluate`` applies that state to any frame, one row at a time,
so a row's values never depend on the other rows.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

import numpy as np
import pandas as pd

from toolkit.errors import InputError, SpecError
from toolkit.expected import splines
from toolkit.expected.expr import columns_of, eval_numeric, parse_code
from toolkit.expected.policy import apply_range, apply_unseen

if TYPE_CHECKING:
    import numpy.typing as npt


def _finite(x: np.ndarray, name: str) -> np.ndarray:
    bad = int(np.count_nonzero(~np.isfinite(x)))
    if bad:
        raise InputError(f"{name} is not finite (NaN or infinite) on {bad} row(s)")
    return x


def _label(name: str, expr: str) -> str:
    """A factor named with the column(s) it reads, for warnings and errors: "bs(age, df=4) (column 'age')"."""
    cols = columns_of(parse_code(expr))
    if cols == [name]:
        return f"column {name!r}"
    return f"{name} (column{'s' if len(cols) > 1 else ''} {', '.join(repr(c) for c in cols)})"


def _floats(v: npt.ArrayLike) -> tuple[float, ...]:
    return tuple(float(a) for a in np.asarray(v, dtype=float).ravel())


@dataclass(frozen=True)
class NumericFactor:
    """A numeric expression entering the design linearly (one column)."""

    name: str
    expr: str
    lower: float
    upper: float
    kind: ClassVar[str] = "numeric"
    n_columns: ClassVar[int] = 1

    @classmethod
    def fit(cls, name: str, expr: str, frame: pd.DataFrame) -> NumericFactor:
        x = _finite(eval_numeric(parse_code(expr), expr, frame), name)
        return cls(name=name, expr=expr, lower=float(x.min()), upper=float(x.max()))

    def evaluate(self, frame: pd.DataFrame, out_of_range: str) -> np.ndarray:
        x = _finite(eval_numeric(parse_code(self.expr), self.expr, frame), self.name)
        return apply_range(x, self.lower, self.upper, out_of_range, _label(self.name, self.expr))[:, None]


@dataclass(frozen=True)
class BSplineFactor:
    """``bs(x, df=..., knots=..., degree=..., lower_bound=..., upper_bound=...)`` as patsy defines it."""

    name: str
    expr: str
    degree: int
    inner_knots: tuple[float, ...]
    lower: float
    upper: float
    include_intercept: bool = False
    kind: ClassVar[str] = "bs"

    @classmethod
    def fit(
        cls,
        name: str,
        expr: str,
        frame: pd.DataFrame,
        df: int | None = None,
        knots: Any = None,
        degree: int = 3,
        include_intercept: bool = False,
        lower_bound: float | None = None,
        upper_bound: float | None = None,
    ) -> BSplineFactor:
        x = _finite(eval_numeric(parse_code(expr), expr, frame), name)
        inner, lower, upper = splines.bs_knots(
            x,
            df=df,
            knots=knots,
            degree=int(degree),
            include_intercept=bool(include_intercept),
            lower_bound=lower_bound,
            upper_bound=upper_bound,
            name=name,
        )
        return cls(
            name=name,
            expr=expr,
            degree=int(degree),
            inner_knots=_floats(inner),
            lower=lower,
            upper=upper,
            include_intercept=bool(include_intercept),
        )

    @property
    def all_knots(self) -> np.ndarray:
        return splines.bs_all_knots(np.asarray(self.inner_knots), self.lower, self.upper, self.degree)

    @property
    def n_columns(self) -> int:
        return len(self.inner_knots) + self.degree + (1 if self.include_intercept else 0)

    def evaluate(self, frame: pd.DataFrame, out_of_range: str) -> np.ndarray:
        x = _finite(eval_numeric(parse_code(self.expr), self.expr, frame), self.name)
        x = apply_range(x, self.lower, self.upper, out_of_range, _label(self.name, self.expr))
        basis = splines.bspline_basis(x, self.all_knots, self.degree)
        return basis if self.include_intercept else basis[:, 1:]


@dataclass(frozen=True)
class CubicRegressionFactor:
    """``cr(x, df=..., constraints='center')``: patsy's (mgcv's) natural cubic regression spline."""

    name: str
    expr: str
    knots: tuple[float, ...]
    constraints: tuple[tuple[float, ...], ...] | None = None
    absorber: tuple[tuple[float, ...], ...] | None = None
    kind: ClassVar[str] = "cr"

    @classmethod
    def fit(
        cls,
        name: str,
        expr: str,
        frame: pd.DataFrame,
        df: int | None = None,
        knots: Any = None,
        lower_bound: float | None = None,
        upper_bound: float | None = None,
        constraints: Any = None,
    ) -> CubicRegressionFactor:
        x = _finite(eval_numeric(parse_code(expr), expr, frame), name)
        center = isinstance(constraints, str)
        if center and constraints != "center":
            raise SpecError(f"{name}: constraints must be 'center' or a matrix")
        all_knots = splines.cr_knots(
            x,
            df=df,
            knots=knots,
            lower_bound=lower_bound,
            upper_bound=upper_bound,
            center=center or constraints is not None,
            name=name,
        )
        if constraints is None:
            return cls(name=name, expr=expr, knots=_floats(all_knots))
        inside = np.clip(x, all_knots[0], all_knots[-1])
        if center:
            cmat = splines.cr_free_basis(inside, all_knots).mean(axis=0)[None, :]
        else:
            cmat = np.atleast_2d(np.asarray(constraints, dtype=float))
            if cmat.shape[1] != all_knots.size:
                raise SpecError(f"{name}: constraints need {all_knots.size} columns")
        z = splines.cr_absorber(cmat)
        return cls(
            name=name,
            expr=expr,
            knots=_floats(all_knots),
            constraints=tuple(_floats(r) for r in cmat),
            absorber=tuple(_floats(r) for r in z),
        )

    @property
    def n_columns(self) -> int:
        return len(self.knots) if self.absorber is None else len(self.absorber[0])

    def evaluate(self, frame: pd.DataFrame, out_of_range: str) -> np.ndarray:
        x = _finite(eval_numeric(parse_code(self.expr), self.expr, frame), self.name)
        x = apply_range(x, self.knots[0], self.knots[-1], out_of_range, _label(self.name, self.expr))
        basis = splines.cr_free_basis(x, np.asarray(self.knots))
        if self.absorber is None:
            return basis
        return splines.row_matmul(basis, np.asarray(self.absorber))


@dataclass(frozen=True)
class CategoricalFactor:
    """A categorical column with its levels (in coding order) and Treatment reference level.

    ``pooled`` lists values that are not levels of their own but are scored as one: ``(value, level)``
    pairs, set at fit time by the sparse-level rule (:mod:`toolkit.expected.sparse`) and stored with the
    factor, so new data maps them the same way.
    """

    name: str
    column: str
    levels: tuple[Any, ...]
    reference: int = 0
    pooled: tuple[tuple[Any, Any], ...] = ()
    kind: ClassVar[str] = "categorical"

    @classmethod
    def fit(
        cls,
        name: str,
        column: str,
        frame: pd.DataFrame,
        reference: Any = None,
        levels: Any = None,
        pooled: Mapping[Any, Any] | None = None,
    ) -> CategoricalFactor:
        col = frame[column]
        given = levels is not None
        if not given:
            if isinstance(col.dtype, pd.CategoricalDtype):
                levels = [_py(v) for v in col.cat.categories]  # patsy keeps the categories' order
            else:
                try:
                    levels = sorted(_py(v) for v in pd.unique(col))  # patsy sorts the observed values
                except TypeError:
                    raise SpecError(f"{name}: column {column!r} mixes types; cannot order its levels") from None
        levels = tuple(_py(v) for v in levels)
        if len(set(levels)) != len(levels):
            raise SpecError(f"{name}: levels must be distinct")
        ref = _level_index(levels, reference, name)
        pairs: tuple[tuple[Any, Any], ...] = ()
        if pooled:
            pairs = tuple((v, _py(pooled[v])) for v in levels if v in pooled)
            if len(pairs) != len(pooled):
                raise SpecError(f"{name}: pooled values must be levels of the column")
            kept = tuple(v for v in levels if v not in pooled)
            if levels[ref] in pooled or any(t not in kept for _, t in pairs):
                raise SpecError(f"{name}: levels are pooled only into kept levels, and the reference is kept")
            ref, levels = kept.index(levels[ref]), kept
        factor = cls(name=name, column=column, levels=levels, reference=ref, pooled=pairs)
        if given:
            missing = int(np.count_nonzero(factor.codes(frame) < 0))
            if missing:
                raise InputError(f"{missing} row(s) of {name} have a level outside the levels given in the formula")
        return factor

    @property
    def n_columns(self) -> int:
        return len(self.levels)

    def codes(self, frame: pd.DataFrame) -> np.ndarray:
        """Integer level codes (-1 where the value is not a known level); a pooled value gets its level's code."""
        codes, uniques = pd.factorize(frame[self.column], use_na_sentinel=True)
        known = list(self.levels) + [v for v, _ in self.pooled]
        target = np.array(list(range(len(self.levels))) + [self.levels.index(t) for _, t in self.pooled] + [-1])
        try:
            mapped = pd.Index(known, dtype=object).get_indexer([_py(u) for u in uniques])
        except TypeError:
            mapped = np.full(len(uniques), -1)
        lookup = np.append(target[mapped], -1).astype(np.int64)  # mapped -1 (unknown) picks target's last, -1
        return lookup[codes]  # the NA sentinel -1 indexes the appended -1

    def evaluate(self, frame: pd.DataFrame, unseen_level: str) -> np.ndarray:
        label = f"column {self.column!r}" if self.name == self.column else f"{self.name} (column {self.column!r})"
        return apply_unseen(self.codes(frame), self.reference, unseen_level, label)


Factor: TypeAlias = NumericFactor | BSplineFactor | CubicRegressionFactor | CategoricalFactor
FACTOR_CLASSES: dict[str, type] = {
    c.kind: c for c in (NumericFactor, BSplineFactor, CubicRegressionFactor, CategoricalFactor)
}


def factor_to_dict(f: Factor) -> dict[str, Any]:
    """A JSON-ready mapping of a factor's state (tuples become lists)."""
    out: dict[str, Any] = {"kind": f.kind}
    for key, value in f.__dict__.items():
        if key == "pooled" and not value:  # the state of a factor the sparse-level rule did not touch is unchanged
            continue
        out[key] = _listify(value)
    return out


def factor_from_dict(d: dict[str, Any]) -> Factor:
    """Rebuild a factor from :func:`factor_to_dict` output."""
    d = dict(d)
    cls = FACTOR_CLASSES.get(d.pop("kind", None))
    if cls is None:
        raise SpecError("stored factor has an unknown kind")
    return cls(**{k: _tuplify(v) for k, v in d.items()})


def _listify(v: Any) -> Any:
    return [_listify(a) for a in v] if isinstance(v, (tuple, list)) else v


def _tuplify(v: Any) -> Any:
    return tuple(_tuplify(a) for a in v) if isinstance(v, list) else v


def _py(v: Any) -> Any:
    """A plain Python scalar (JSON-friendly, and named as patsy names it)."""
    return v.item() if isinstance(v, np.generic) else v


def _level_index(levels: tuple[Any, ...], ref: Any, name: str) -> int:
    """patsy's ``_get_level``: a level value, else an integer position."""
    if ref is None:
        return 0
    if ref in levels:
        return levels.index(ref)
    if isinstance(ref, int) and not isinstance(ref, bool):
        idx = ref + len(levels) if ref < 0 else ref
        if 0 <= idx < len(levels):
            return idx
    raise SpecError(f"{name}: reference level {ref!r} is not a level of the column")


def literal(node: ast.expr, where: str) -> Any:
    """A literal argument of a formula call (number, string, list, True/False/None)."""
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise SpecError(f"{where}: arguments must be literal values") from None
