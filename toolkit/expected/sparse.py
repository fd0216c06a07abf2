"""The sparse-level rule: levels too sparse for a coefficient of their own are pooled before the fit.

A level of a categorical factor (a ``C(...)`` term or a boolean indicator such as ``homeless``) whose
training records hold fewer than ``min_events`` events or fewer than ``min_non_events`` non-events
has no finite maximum-likelihood coefficient when the count is zero (quasi-complete separation: the
fit would push its log-odds to minus or plus infinity) and an unstable one just above it. Such a level
is pooled, before the fit, into the level its model spec names for it (``neighbours``) or else into
the factor's reference level; its records are then scored as that level. When the reference level
itself is sparse, the factor's largest other level is pooled into it. The same test then applies to
each cell of an interaction of factors (``indigenous:metro``): a sparse cell's design column is
dropped, so the cell is scored as the term's reference cell.

The pooling is part of the fitted design state (:class:`~toolkit.expected.terms.CategoricalFactor`
``pooled``, the columns kept, and :class:`~toolkit.expected.design.PooledLevel` records), so a stored
model scores new records the same way. A fit that still separates raises an error naming the term and
level (:func:`describe_columns`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import SpecError
from toolkit.expected.design import DesignColumn, DesignState, PooledLevel, fit_design
from toolkit.expected.formula import ParsedFormula
from toolkit.expected.terms import CategoricalFactor


@dataclass(frozen=True)
class SparseRule:
    """The rule's numbers (from a model spec's ``sparse_levels``); both zero: the rule is off."""

    min_events: int = 0
    min_non_events: int = 0
    neighbours: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # column -> {level: level}

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None) -> SparseRule:
        """The rule from a JSON mapping (``ExpectedModel(sparse_levels=...)``); None: off."""
        if not params:
            return cls()
        unknown = set(params) - {"min_events", "min_non_events", "neighbours"}
        if unknown:
            raise SpecError(f"sparse_levels has unknown key(s) {sorted(unknown)}")
        rule = cls(
            min_events=int(params.get("min_events", 0)),
            min_non_events=int(params.get("min_non_events", 0)),
            neighbours={
                str(c): {str(a): str(b) for a, b in m.items()} for c, m in params.get("neighbours", {}).items()
            },
        )
        if rule.min_events < 0 or rule.min_non_events < 0:
            raise SpecError("sparse_levels: min_events and min_non_events must be >= 0")
        return rule

    @property
    def active(self) -> bool:
        return self.min_events > 0 or self.min_non_events > 0

    def is_sparse(self, events: float, non_events: float) -> bool:
        return events < self.min_events or non_events < self.min_non_events

    def describe(self) -> str:
        """The rule in words, for messages and reports."""
        return f"at least {self.min_events} event(s) and {self.min_non_events} non-event(s) per level"


def sparse_design(
    frame: pd.DataFrame, formula: str, y: np.ndarray, rule: SparseRule, parsed: ParsedFormula | None = None
) -> DesignState:
    """The design state of ``formula`` on the training ``frame`` (outcome ``y``, 0/1) with the rule applied:
    sparse levels pooled, sparse interaction cells dropped, and what was done in ``state.pooled``."""
    state = fit_design(frame, formula, parsed=parsed)
    if not rule.active:
        return state
    pooled: dict[str, dict[Any, Any]] = {}
    records: list[PooledLevel] = []
    for f in state.factors:
        if isinstance(f, CategoricalFactor):
            mapping, recs = _pool_factor(f, f.codes(frame), y, rule)
            if mapping:
                pooled[f.name] = mapping
                records += recs
    if pooled:
        state = fit_design(frame, formula, parsed=parsed, pooled=pooled)
    state, cells = _drop_sparse_cells(state, frame, y, rule)
    return replace(state, pooled=tuple(records + cells))


def _pool_factor(
    f: CategoricalFactor, codes: np.ndarray, y: np.ndarray, rule: SparseRule
) -> tuple[dict[Any, Any], list[PooledLevel]]:
    """Which of ``f``'s levels join which (value -> level), and a record per pooled level.

    One merge at a time, in level order, until no group of levels is sparse or one group is left: a sparse
    group joins its named neighbour's group or the reference's; a sparse reference group takes in the
    largest other group.
    """
    k = len(f.levels)
    n = np.bincount(codes, minlength=k).astype(np.int64)
    ev = np.rint(np.bincount(codes, weights=y, minlength=k)).astype(np.int64)
    root = np.arange(k)
    ref = f.reference
    index = {str(v): i for i, v in enumerate(f.levels)}
    named = rule.neighbours.get(f.column, {})
    reason: dict[int, str] = {}
    while len(set(root.tolist())) > 1:
        groups = sorted(set(root.tolist()))
        e = {g: int(ev[root == g].sum()) for g in groups}
        m = {g: int(n[root == g].sum()) for g in groups}
        sparse = [g for g in groups if rule.is_sparse(e[g], m[g] - e[g])]
        if not sparse:
            break
        others = [g for g in sparse if g != ref]
        if others:
            g, why = others[0], "sparse"
            target = int(root[index.get(named.get(str(f.levels[g]), ""), ref)])
            if target == g:
                target = ref
        else:  # the reference is sparse: the largest other group joins it
            g = max((h for h in groups if h != ref), key=lambda h: (m[h], -h))
            target, why = ref, "sparse reference"
        for i in np.flatnonzero(root == g):
            reason.setdefault(int(i), why)
        root[root == g] = target
    mapping = {f.levels[i]: f.levels[root[i]] for i in range(k) if root[i] != i}
    records = [
        PooledLevel(
            term=f.name,
            level=str(f.levels[i]),
            into=str(f.levels[root[i]]),
            events=int(ev[i]),
            non_events=int(n[i] - ev[i]),
            reason=reason[i],
        )
        for i in range(k)
        if root[i] != i
    ]
    return mapping, records


def _cell_rows(col: DesignColumn, codes: Mapping[str, np.ndarray]) -> np.ndarray | None:
    """Rows where an all-categorical column is 1 (None when a piece is not categorical)."""
    if not col.pieces or any(name not in codes for name, _ in col.pieces):
        return None
    return np.logical_and.reduce([codes[name] == i for name, i in col.pieces])


def _drop_sparse_cells(
    state: DesignState, frame: pd.DataFrame, y: np.ndarray, rule: SparseRule
) -> tuple[DesignState, list[PooledLevel]]:
    """Drop the columns of sparse interaction cells (columns of two or more categorical factors)."""
    codes = {f.name: f.codes(frame) for f in state.factors if isinstance(f, CategoricalFactor)}
    keep, records = [], []
    for col in state.columns:
        rows = _cell_rows(col, codes) if len(col.pieces) > 1 else None
        if rows is not None:
            e = int(np.rint(y[rows].sum()))
            ne = int(rows.sum()) - e
            if rule.is_sparse(e, ne):
                records.append(PooledLevel(col.term, col.name, "reference cell", e, ne))
                continue
        keep.append(col)
    if not records:
        return state, []
    return replace(state, columns=tuple(keep)), records


def describe_columns(state: DesignState, names: list[str], frame: pd.DataFrame, y: np.ndarray) -> str:
    """Each named design column as its term and level (or cell) with its events and non-events in ``frame``:
    ``term homeless, level True (0 events, 91 non-events)``."""
    codes = {f.name: f.codes(frame) for f in state.factors if isinstance(f, CategoricalFactor)}
    by_name = {c.name: c for c in state.columns}
    out = []
    for name in names:
        col = by_name.get(name)
        if col is None:
            continue
        rows = _cell_rows(col, codes)
        if rows is None:
            out.append(f"term {col.term}, column {col.name}")
            continue
        values = [(fn, _level(state, fn, i)) for fn, i in col.pieces]
        level = str(values[0][1]) if len(values) == 1 else ", ".join(f"{fn}={v}" for fn, v in values)
        e = int(np.rint(y[rows].sum()))
        out.append(f"term {col.term}, level {level} ({e} events, {int(rows.sum()) - e} non-events)")
    return "; ".join(out)


def _level(state: DesignState, factor: str, i: int) -> Any:
    f = state.factor(factor)
    return f.levels[i] if isinstance(f, CategoricalFactor) else i
