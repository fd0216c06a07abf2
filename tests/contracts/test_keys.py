"""contracts.keys gives pandas' answers (duplicated, isin, a left-join lookup) on text and numbers with gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.contracts import keys


def _text(values, dtype):
    return pd.Series(values, dtype=dtype)


@pytest.mark.parametrize("dtype", ["str", "object", "string"])
def test_duplicated_isin_positions_match_pandas(dtype):
    rng = np.random.default_rng(3)
    left = _text([f"P{v:03d}" if v % 7 else None for v in rng.integers(0, 60, 400)], dtype)
    right = _text([f"P{v:03d}" for v in rng.permutation(80)[:50]] + [None], dtype)
    np.testing.assert_array_equal(keys.duplicated([left]), left.duplicated(keep=False).to_numpy())
    other = pd.Series(rng.integers(0, 3, len(left)))
    np.testing.assert_array_equal(
        keys.duplicated([left, other]), pd.DataFrame({"a": left, "b": other}).duplicated(keep=False).to_numpy()
    )
    want = left.isin(right.dropna()).to_numpy() & left.notna().to_numpy()
    np.testing.assert_array_equal(keys.isin(left, right), want)
    pos = keys.positions(left, right.dropna().reset_index(drop=True))
    ref = right.dropna().reset_index(drop=True)
    assert ((pos >= 0) == want).all()
    assert (ref.to_numpy()[pos[pos >= 0]] == left.to_numpy()[pos >= 0]).all()


def test_numbers_and_empty_columns():
    left = pd.Series([1, 2, 3, 2, None], dtype="Int64")
    right = pd.Series([2, 3], dtype="int64")
    np.testing.assert_array_equal(keys.isin(left, right), [False, True, True, True, False])
    np.testing.assert_array_equal(keys.positions(left, right), [-1, 0, 1, 0, -1])
    np.testing.assert_array_equal(keys.duplicated([left]), [False, True, False, True, False])
    empty = pd.Series([], dtype="str")
    assert keys.duplicated([empty]).shape == (0,) and keys.isin(empty, right.astype(str)).shape == (0,)
