"""Key operations on large columns: duplicates, membership and lookup, in time linear in the rows.

pandas' own ``isin`` on Arrow-backed text builds its value set one Python object at a time, and
``merge`` and ``duplicated`` on such columns hash through Python objects too: on a million
participant ids each took seconds to tens of seconds. These helpers hash the values once, in Arrow
or pandas' hash tables, and give the same answers:

- :func:`duplicated`: rows whose (multi-column) key appears more than once (``keep=False``; missing
  values are equal to each other, as in pandas);
- :func:`isin`: whether each value of ``left`` is among the values of ``right`` (a missing value is
  never found);
- :func:`positions`: the row of ``right`` holding each value of ``left``, or -1 (``right``'s values
  unique; a missing value is never found).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def codes(s: pd.Series) -> np.ndarray:
    """An integer per row, equal for equal values (a missing value has its own code)."""
    c, _ = pd.factorize(s, use_na_sentinel=False)
    return np.asarray(c, dtype=np.int64)


def duplicated(columns: Sequence[pd.Series]) -> np.ndarray:
    """``pd.DataFrame(columns).duplicated(keep=False)`` as a numpy mask, through integer codes."""
    n = len(columns[0])
    key = codes(columns[0])
    for s in columns[1:]:
        if int(key.max(initial=-1)) + 1 == n:  # already unique: more columns cannot make a duplicate
            break
        c = codes(s)
        key, _ = pd.factorize(key * (int(c.max(initial=0)) + 1) + c)  # both < rows: no overflow
    if n == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(np.bincount(key)[key] > 1)


def _arrow(s: pd.Series) -> object | None:
    """``s`` as an Arrow array when it is text or numbers Arrow reads as such; None otherwise."""
    import pyarrow as pa

    if not (pd.api.types.is_string_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype)):
        return None
    if pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return None  # mixed Python objects: pandas decides
    try:
        return pa.array(s, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None


def _same_type(left: object, right: object) -> tuple[object, object] | None:
    import pyarrow as pa

    lt, rt = left.type, right.type  # type: ignore[attr-defined]
    if lt == rt:
        return left, right
    try:
        text = (pa.types.is_string(lt) or pa.types.is_large_string(lt)) and (
            pa.types.is_string(rt) or pa.types.is_large_string(rt)
        )
        if text:
            return left, right.cast(lt)  # type: ignore[attr-defined]
        if pa.types.is_integer(lt) and pa.types.is_integer(rt):
            return left.cast(pa.int64()), right.cast(pa.int64())  # type: ignore[attr-defined]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return None


def isin(left: pd.Series, right: pd.Series) -> np.ndarray:
    """Whether each value of ``left`` is among ``right``'s (a missing value never is), as a numpy mask."""
    import pyarrow.compute as pc

    la, ra = _arrow(left), _arrow(right)
    pair = _same_type(la, ra) if la is not None and ra is not None else None
    if pair is not None:
        found = pc.is_in(pair[0], value_set=pair[1], skip_nulls=True)
        return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool) & left.notna().to_numpy()
    return np.asarray(left.isin(right).to_numpy(dtype=bool)) & left.notna().to_numpy()


def positions(left: pd.Series, right: pd.Series) -> np.ndarray:
    """The row (0-based position) of ``right`` holding each value of ``left``, -1 when none or missing.
    ``right``'s values must be unique."""
    import pyarrow.compute as pc

    la, ra = _arrow(left), _arrow(right)
    pair = _same_type(la, ra) if la is not None and ra is not None else None
    if pair is not None:
        idx = pc.index_in(pair[0], value_set=pair[1], skip_nulls=True).fill_null(-1)
        out = np.asarray(idx.to_numpy(zero_copy_only=False), dtype=np.int64)
    else:
        out = np.asarray(pd.Index(right).get_indexer(left), dtype=np.int64)
    out[left.isna().to_numpy()] = -1
    return out
