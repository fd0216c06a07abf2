"""Row-check expressions of the data contracts: parsed, whitelisted, evaluated column-wise.

A contract's ``checks`` are data, not code. Each ``expr`` is parsed with :mod:`ast` and may use only

- column names of the contract (every name must be a field);
- literals: strings, numbers, True/False, and lists or tuples of them (for ``isin`` / ``in``);
- comparisons ``== != < <= > >=`` (chained ones too) and ``in`` / ``not in`` a list;
- boolean operators ``and or not`` and their element-wise spellings ``& | ~``;
- arithmetic ``+ - * /`` and unary ``-`` on numbers;
- a column's ``.isna()``, ``.notna()``, ``.isnull()``, ``.notnull()`` and ``.isin([...])``, and the
  functions ``isna(x)``, ``notna(x)`` and ``abs(x)``.

Anything else (attribute access, subscripts, calls to other names, lambdas, comprehensions,
f-strings, ``**``) is refused with a :class:`CheckExpressionError` naming the construct; the contract
loader turns it into a :class:`~toolkit.errors.ConfigError` naming the file and the check. The
expression is evaluated on the typed table's columns as pandas Series, with the precedence of
``DataFrame.eval``'s pandas parser (``&`` and ``|`` bind like ``and`` and ``or``, looser than
comparisons), so ``a == 1 | b == 2`` means ``(a == 1) | (b == 2)``.
"""

from __future__ import annotations

import ast
import io
import operator
import tokenize
from collections.abc import Callable, Collection
from typing import Any

import pandas as pd

#: Methods a column may call, with how many literal arguments each takes.
COLUMN_METHODS: dict[str, int] = {"isna": 0, "notna": 0, "isnull": 0, "notnull": 0, "isin": 1}
#: Functions an expression may call, each on one argument.
FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "isna": pd.isna,
    "notna": pd.notna,
    "abs": abs,
}

_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_ARITH: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_LOGIC: dict[type, Callable[[Any, Any], Any]] = {ast.BitAnd: operator.and_, ast.BitOr: operator.or_}

#: Constructs named in error messages, by node type.
_FORBIDDEN: dict[type, str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "a subscript",
    ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.JoinedStr: "an f-string",
    ast.NamedExpr: "an assignment (:=)",
    ast.Starred: "a starred expression",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.IfExp: "a conditional expression (x if c else y)",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "a slice",
}

ALLOWED = (
    "column names, literals, comparisons, and/or/not, & | ~, + - * / on numbers, "
    "a column's .isna() .notna() .isin([...]), isna() notna() abs()"
)


class CheckExpressionError(ValueError):
    """A check expression outside the grammar; the message names the offending construct."""


def _pandas_precedence(text: str) -> str:
    """``&`` and ``|`` rewritten as ``and`` and ``or`` (what ``DataFrame.eval``'s pandas parser does)."""
    toks = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.OP and tok.string in ("&", "|"):
            toks.append((tokenize.NAME, "and" if tok.string == "&" else "or"))
        else:
            toks.append((tok.type, tok.string))
    return tokenize.untokenize(toks)


def parse_check(text: str, columns: Collection[str]) -> ast.expr:
    """Parse ``text`` and check it against the grammar; ``columns`` are the names it may read.

    Raises :class:`CheckExpressionError` naming the first construct outside the grammar.
    """
    if not isinstance(text, str) or not text.strip():
        raise CheckExpressionError("the expression is empty")
    if len(text) > 2000:
        raise CheckExpressionError("the expression is longer than 2000 characters")
    try:
        node = ast.parse(_pandas_precedence(text.strip()), mode="eval").body
    except (SyntaxError, tokenize.TokenError, ValueError):
        raise CheckExpressionError("not a valid expression") from None
    except (RecursionError, MemoryError):
        raise CheckExpressionError("the expression is nested too deeply") from None
    try:
        _check(node, frozenset(columns))
    except RecursionError:
        raise CheckExpressionError("the expression is nested too deeply") from None
    return node


def names_of(node: ast.AST) -> tuple[str, ...]:
    """The column names an expression reads, in order of first use."""
    functions = {id(sub.func) for sub in ast.walk(node) if isinstance(sub, ast.Call)}
    out: list[str] = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and id(sub) not in functions and sub.id not in out:
            out.append(sub.id)
    return tuple(out)


def _literal(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (str, int, float, bool))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, (int, float))
    return False


def _literal_list(node: ast.expr) -> bool:
    return isinstance(node, (ast.List, ast.Tuple)) and all(_literal(e) for e in node.elts)


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Call):
        f = node.func
        if isinstance(f, ast.Name):
            return f"a call to {f.id!r}"
        if isinstance(f, ast.Attribute):
            return f"a call to the method {f.attr!r}"
        return f"a call of what {_describe(f)} returns"
    if isinstance(node, ast.Attribute):
        return f"attribute access ('.{node.attr}')"
    if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.AugAssign)):
        return f"the operator {type(node.op).__name__}"
    if isinstance(node, ast.Constant):
        return f"a literal of type {type(node.value).__name__}"
    return _FORBIDDEN.get(type(node), type(node).__name__)


def _check(node: ast.expr, columns: frozenset[str]) -> None:
    for sub in ast.walk(node):  # constructs refused wherever they are, named as such
        if type(sub) in _FORBIDDEN and not isinstance(sub, ast.Attribute):
            raise CheckExpressionError(f"{_describe(sub)} is not allowed (allowed: {ALLOWED})")
    _walk(node, columns)


def _walk(node: ast.expr, columns: frozenset[str]) -> None:
    if _literal(node):
        return
    if isinstance(node, ast.Name):
        if node.id not in columns:
            raise CheckExpressionError(f"{node.id!r} is not a column of the contract")
        return
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            _walk(v, columns)
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.Invert, ast.USub, ast.UAdd)):
        _walk(node.operand, columns)
        return
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITH | _LOGIC:
        for side in (node.left, node.right):
            if type(node.op) in _ARITH and isinstance(side, ast.Constant) and isinstance(side.value, str):
                raise CheckExpressionError("arithmetic on a string literal is not allowed")
            _walk(side, columns)
        return
    if isinstance(node, ast.Compare):
        _walk(node.left, columns)
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, (ast.In, ast.NotIn)):
                if not _literal_list(right):
                    raise CheckExpressionError("'in' and 'not in' take a list of literals, e.g. x in ['a', 'b']")
                continue
            if type(op) not in _COMPARE:
                raise CheckExpressionError(f"the comparison {type(op).__name__} is not allowed (use == != < <= > >=)")
            _walk(right, columns)
        return
    if isinstance(node, ast.Call):
        _check_call(node, columns)
        return
    raise CheckExpressionError(f"{_describe(node)} is not allowed (allowed: {ALLOWED})")


def _check_call(node: ast.Call, columns: frozenset[str]) -> None:
    f = node.func
    if node.keywords:
        raise CheckExpressionError(f"{_describe(node)} with keyword arguments is not allowed")
    if isinstance(f, ast.Attribute):
        if not isinstance(f.value, ast.Name) or f.attr not in COLUMN_METHODS:
            raise CheckExpressionError(
                f"{_describe(node)} is not allowed: only a column's {', '.join(f'.{m}()' for m in COLUMN_METHODS)}"
            )
        _walk(f.value, columns)
        if len(node.args) != COLUMN_METHODS[f.attr]:
            raise CheckExpressionError(f".{f.attr}() takes {COLUMN_METHODS[f.attr]} argument(s)")
        if node.args and not _literal_list(node.args[0]):
            raise CheckExpressionError(f".{f.attr}() takes a list of literals, e.g. x.isin(['a', 'b'])")
        return
    if isinstance(f, ast.Name) and f.id in FUNCTIONS:
        if len(node.args) != 1:
            raise CheckExpressionError(f"{f.id}() takes one argument")
        _walk(node.args[0], columns)
        return
    raise CheckExpressionError(f"{_describe(node)} is not allowed (functions: {', '.join(FUNCTIONS)})")


# --------------------------------------------------------------------------- evaluation


def evaluate_check(text: str, frame: pd.DataFrame) -> Any:
    """Evaluate a check expression on ``frame``'s columns (a Series, or a scalar for a constant).

    The expression is parsed and checked again here, so nothing outside the grammar ever runs.
    """
    node = parse_check(text, frame.columns)
    return _eval(node, frame)


def _eval(node: ast.expr, frame: pd.DataFrame) -> Any:
    if _literal(node):
        return ast.literal_eval(node)
    if isinstance(node, ast.Name):
        return frame[node.id]
    if isinstance(node, ast.BoolOp):
        op = operator.and_ if isinstance(node.op, ast.And) else operator.or_
        out = _eval(node.values[0], frame)
        for v in node.values[1:]:
            out = op(out, _eval(v, frame))
        return out
    if isinstance(node, ast.UnaryOp):
        val = _eval(node.operand, frame)
        if isinstance(node.op, (ast.Not, ast.Invert)):
            return ~val if isinstance(val, pd.Series) else not val
        if isinstance(node.op, ast.USub):
            _numeric(val, "-")
            return -val
        return val
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, frame), _eval(node.right, frame)
        if type(node.op) in _ARITH:
            _numeric(left, type(node.op).__name__)
            _numeric(right, type(node.op).__name__)
            return _ARITH[type(node.op)](left, right)
        return _LOGIC[type(node.op)](left, right)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, frame)
        result = None
        for cmp, right_node in zip(node.ops, node.comparators, strict=True):
            if isinstance(cmp, (ast.In, ast.NotIn)):
                values = list(ast.literal_eval(right_node))
                part = left.isin(values) if isinstance(left, pd.Series) else left in values
                if isinstance(cmp, ast.NotIn):
                    part = ~part if isinstance(part, pd.Series) else not part
                right = left
            else:
                right = _eval(right_node, frame)
                part = _COMPARE[type(cmp)](left, right)
            result = part if result is None else result & part
            left = right
        return result
    if isinstance(node, ast.Call):
        f = node.func
        if isinstance(f, ast.Attribute):
            col = _eval(f.value, frame)
            if f.attr == "isin":
                return col.isin(list(ast.literal_eval(node.args[0])))
            return getattr(col, f.attr)()  # one of COLUMN_METHODS, checked by parse_check
        assert isinstance(f, ast.Name)
        val = _eval(node.args[0], frame)
        if f.id == "abs":
            _numeric(val, "abs")
        return FUNCTIONS[f.id](val)
    raise CheckExpressionError(f"{_describe(node)} is not allowed")  # unreachable after parse_check


def _numeric(val: Any, op: str) -> None:
    if isinstance(val, pd.Series):
        ok = pd.api.types.is_numeric_dtype(val.dtype) and not pd.api.types.is_bool_dtype(val.dtype)
    else:
        ok = isinstance(val, (int, float)) and not isinstance(val, bool)
    if not ok:
        raise CheckExpressionError(f"arithmetic ({op}) on a value that is not a number")
