"""A small, safe evaluator for the numeric expressions allowed inside a formula.

A formula factor such as ``np.log(x)``, ``I(age ** 2)`` or the argument of
``bs(np.log1p(unemployment_duration), df=4)`` is parsed with :mod:`ast` and
evaluated here against the columns of a frame. Only column names, numeric
constants, ``+ - * / **``, ``I()`` and a short list of NumPy functions are
allowed, so evaluating a stored model never runs arbitrary code. The
expression text is the whole of its state.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import SpecError

#: NumPy functions allowed in a formula, by the names a formula may use.
NUMPY_FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "log": np.log,
    "log1p": np.log1p,
    "log2": np.log2,
    "log10": np.log10,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "square": np.square,
    "abs": np.abs,
}
_NUMPY_MODULES = ("np", "numpy")

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.true_divide,
    ast.Pow: np.power,
}


def parse_code(code: str) -> ast.expr:
    """Parse one factor's code into an expression node, or raise SpecError."""
    try:
        return ast.parse(code.strip(), mode="eval").body
    except SyntaxError:
        raise SpecError(f"formula term {code!r} is not a valid expression") from None


def columns_of(node: ast.AST) -> list[str]:
    """Column names an expression reads, in order of first appearance."""
    out: list[str] = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id not in _NUMPY_MODULES and sub.id != "I" and sub.id not in out:
            out.append(sub.id)
    return out


def check_numeric_expr(node: ast.AST, code: str) -> None:
    """Raise SpecError unless ``node`` uses only what :func:`eval_numeric` supports."""
    _walk(node, code, frame=None)


def eval_numeric(node: ast.AST, code: str, frame: pd.DataFrame) -> np.ndarray:
    """Evaluate a numeric expression on ``frame`` as a float64 array (one value per row)."""
    out = _walk(node, code, frame)
    arr = np.asarray(out, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(len(frame), float(arr))
    return arr


def column_as_float(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A numeric column as float64 (bool and string columns are refused)."""
    col = frame[name]
    if not (pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype)):
        raise SpecError(f"column {name!r} is used as a number but has dtype {col.dtype}")
    return col.to_numpy(dtype=np.float64, na_value=np.nan)


def _walk(node: ast.AST, code: str, frame: pd.DataFrame | None) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id in _NUMPY_MODULES or node.id == "I":
            raise SpecError(f"formula term {code!r}: {node.id!r} is not a column")
        return None if frame is None else column_as_float(frame, node.id)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _walk(node.left, code, frame), _walk(node.right, code, frame)
        return None if frame is None else _BINOPS[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        val = _walk(node.operand, code, frame)
        if frame is None:
            return None
        return np.negative(val) if isinstance(node.op, ast.USub) else val
    if isinstance(node, ast.Call) and not node.keywords and len(node.args) == 1:
        func = _function_name(node.func)
        if func == "I":
            return _walk(node.args[0], code, frame)
        if func in NUMPY_FUNCTIONS:
            val = _walk(node.args[0], code, frame)
            if frame is None:
                return None
            with np.errstate(all="ignore"):
                return NUMPY_FUNCTIONS[func](val)
    raise SpecError(
        f"formula term {code!r} is not supported: use column names, numbers, + - * / **, I(), "
        f"np.{{{','.join(NUMPY_FUNCTIONS)}}}(), bs(), cr() or C()"
    )


def _function_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name) and func.id == "I":
        return "I"
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in _NUMPY_MODULES:
        return func.attr
    return None
