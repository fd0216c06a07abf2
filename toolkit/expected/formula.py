"""Reading a formula: patsy's parser for the structure, our own rules for each factor.

:func:`parse_formula` turns ``"y ~ bs(age, df=4) + C(education, Treatment('year12'))
+ indigenous:metro"`` into the outcome name, patsy's terms, and one
:class:`FactorSpec` per distinct factor saying what it is (numeric expression,
``bs``, ``cr`` or categorical) and with which literal arguments. Nothing here
looks at data values; :mod:`toolkit.expected.design` does the fitting.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from toolkit.errors import SpecError
from toolkit.expected.expr import check_numeric_expr, columns_of, parse_code
from toolkit.expected.terms import literal

_BS_ARGS = ("df", "knots", "degree", "include_intercept", "lower_bound", "upper_bound")
_CR_ARGS = ("df", "knots", "lower_bound", "upper_bound", "constraints")


@dataclass(frozen=True)
class FactorSpec:
    """What one formula factor is, before it has seen data.

    ``kind`` is "numeric", "bs", "cr", "categorical" or "auto" (a bare column
    name, numeric or categorical by its dtype). ``expr`` is the code of the
    numeric argument (or the column name); ``args`` the literal keyword arguments.
    """

    name: str
    kind: str
    expr: str
    columns: tuple[str, ...]
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParsedFormula:
    """The outcome column, patsy's right-hand-side terms and the spec of every factor."""

    outcome: str
    terms: tuple[Any, ...]  # patsy.desc.Term objects, in formula order
    factors: dict[str, FactorSpec]

    @property
    def columns(self) -> list[str]:
        """Every data column the right-hand side reads, in order of first use."""
        out: list[str] = []
        for spec in self.factors.values():
            out += [c for c in spec.columns if c not in out]
        return out


def parse_formula(formula: str, outcome: str | None = None) -> ParsedFormula:
    """Parse a patsy formula (``y ~ rhs`` or ``rhs`` with ``outcome`` given).

    Raises
    ------
    SpecError
        On a syntax error, an unsupported factor, or an outcome given twice
        differently / not at all.
    """
    from patsy import ModelDesc, PatsyError

    if not isinstance(formula, str) or not formula.strip():
        raise SpecError("formula must be a non-empty string")
    try:
        desc = ModelDesc.from_formula(formula)
    except PatsyError as exc:
        raise SpecError(f"formula cannot be parsed: {exc.message}") from None
    lhs = _outcome_of(desc.lhs_termlist)
    if lhs is not None and outcome is not None and lhs != outcome:
        raise SpecError(f"outcome given twice: {lhs!r} in the formula and {outcome!r} as an argument")
    outcome = lhs or outcome
    if outcome is None:
        raise SpecError("no outcome: write 'y ~ ...' or pass outcome=")
    factors: dict[str, FactorSpec] = {}
    for term in desc.rhs_termlist:
        for f in term.factors:
            if f.name() not in factors:
                factors[f.name()] = factor_spec(f.name(), f.code)
    if outcome in [c for s in factors.values() for c in s.columns]:
        raise SpecError(f"the outcome {outcome!r} also appears on the right-hand side")
    return ParsedFormula(outcome=outcome, terms=tuple(desc.rhs_termlist), factors=factors)


def _outcome_of(lhs_terms: list) -> str | None:
    if not lhs_terms:
        return None
    if len(lhs_terms) != 1 or len(lhs_terms[0].factors) != 1:
        raise SpecError("the left-hand side must be a single outcome column")
    code = lhs_terms[0].factors[0].code
    node = parse_code(code)
    if not isinstance(node, ast.Name):
        raise SpecError("the left-hand side must be a column name (a 0/1 or boolean outcome)")
    return node.id


def factor_spec(name: str, code: str) -> FactorSpec:
    """Classify one factor's code (see :class:`FactorSpec`)."""
    node = parse_code(code)
    if isinstance(node, ast.Name):
        return FactorSpec(name, "auto", node.id, (node.id,))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("bs", "cr"):
        return _spline_spec(name, node, node.func.id)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "C":
        return _categorical_spec(name, node)
    check_numeric_expr(node, name)
    return FactorSpec(name, "numeric", code, tuple(columns_of(node)))


def _spline_spec(name: str, node: ast.Call, kind: str) -> FactorSpec:
    allowed = _BS_ARGS if kind == "bs" else _CR_ARGS
    if not node.args or len(node.args) > 1 + len(allowed):
        raise SpecError(f"{name}: {kind}() takes a variable and keyword arguments {allowed}")
    inner = node.args[0]
    check_numeric_expr(inner, name)
    args = {allowed[i]: literal(a, name) for i, a in enumerate(node.args[1:])}
    for kw in node.keywords:
        if kw.arg is None or kw.arg not in allowed:
            raise SpecError(f"{name}: {kind}() has no argument {kw.arg!r} (allowed: {', '.join(allowed)})")
        args[kw.arg] = literal(kw.value, name)
    _check_spline_args(name, kind, args)
    return FactorSpec(name, kind, ast.unparse(inner), tuple(columns_of(inner)), args)


#: The most basis columns a spline term may ask for (more is a typo, and a design of that width a crash).
MAX_SPLINE_DF = 100


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_spline_args(name: str, kind: str, args: dict[str, Any]) -> None:
    """The literal arguments of ``bs()`` / ``cr()`` have the types and ranges the bases need (so that a
    model set is refused when read, not when fitted)."""
    df, degree = args.get("df"), args.get("degree", 3)
    if df is not None and (not isinstance(df, int) or isinstance(df, bool) or not 1 <= df <= MAX_SPLINE_DF):
        raise SpecError(f"{name}: df must be a whole number from 1 to {MAX_SPLINE_DF}")
    if kind == "bs" and (not isinstance(degree, int) or isinstance(degree, bool) or not 0 <= degree <= 10):
        raise SpecError(f"{name}: degree must be a whole number from 0 to 10")
    knots = args.get("knots")
    if knots is not None and (
        not isinstance(knots, (list, tuple)) or len(knots) > MAX_SPLINE_DF or not all(_number(k) for k in knots)
    ):
        raise SpecError(f"{name}: knots must be a list of at most {MAX_SPLINE_DF} numbers")
    for key in ("lower_bound", "upper_bound"):
        if args.get(key) is not None and not _number(args[key]):
            raise SpecError(f"{name}: {key} must be a number")
    if "include_intercept" in args and not isinstance(args["include_intercept"], bool):
        raise SpecError(f"{name}: include_intercept must be True or False")


def _categorical_spec(name: str, node: ast.Call) -> FactorSpec:
    if not node.args or not isinstance(node.args[0], ast.Name):
        raise SpecError(f"{name}: C() takes a column name first")
    column = node.args[0].id
    args: dict[str, Any] = {}
    contrast = node.args[1] if len(node.args) > 1 else None
    if len(node.args) > 2:
        raise SpecError(f"{name}: C() takes a column, a contrast and levels=")
    for kw in node.keywords:
        if kw.arg == "levels":
            args["levels"] = list(literal(kw.value, name))
        elif kw.arg == "contrast":
            contrast = kw.value
        else:
            raise SpecError(f"{name}: C() has no argument {kw.arg!r}")
    if contrast is not None:
        args["reference"] = _treatment_reference(name, contrast)
    return FactorSpec(name, "categorical", column, (column,), args)


def _treatment_reference(name: str, node: ast.expr) -> Any:
    if isinstance(node, ast.Name) and node.id in ("Treatment", "T"):
        return None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("Treatment", "T"):
        if len(node.args) == 1 and not node.keywords:
            return literal(node.args[0], name)
        if not node.args and len(node.keywords) == 1 and node.keywords[0].arg == "reference":
            return literal(node.keywords[0].value, name)
        if not node.args and not node.keywords:
            return None
    raise SpecError(f"{name}: only Treatment coding is supported (Treatment, Treatment('level'))")


def is_categorical_dtype(series: pd.Series) -> bool:
    """patsy's rule for a bare column: numbers are numeric, anything else (str, bool, category) categorical."""
    dt = series.dtype
    return not (pd.api.types.is_numeric_dtype(dt) and not pd.api.types.is_bool_dtype(dt))
