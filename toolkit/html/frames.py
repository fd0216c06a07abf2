"""A data frame as the rows of the ``frame`` macro (``frames.html.j2``): cell text as the report
shows it, a CSS class per cell. No markup here; the template escapes every cell."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Number
from typing import Any

import pandas as pd


def cell_text(v: Any) -> str:
    """A cell as plain text: blank for a missing value, ``str`` otherwise."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v)


def frame_table(df: pd.DataFrame, classes: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """``{"columns", "rows"}`` for the ``frame`` macro; a row is a list of ``(text, css class)``.

    A column of ``classes`` gives each of its cells a class (``""`` for none); otherwise numbers are
    right-aligned (class ``num``)."""
    columns = [str(c) for c in df.columns]
    rows = []
    for i, r in enumerate(df.itertuples(index=False)):
        cells = []
        for c, v in zip(columns, r, strict=True):
            if classes and c in classes:
                cls = str(classes[c][i])
            elif isinstance(v, Number) and not isinstance(v, bool):
                cls = "num"
            else:
                cls = ""
            cells.append((cell_text(v), cls))
        rows.append(cells)
    return {"columns": columns, "rows": rows}
