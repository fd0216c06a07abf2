"""Progress lines and table files: the two kinds of output every layer writes.

- :class:`Progress` prints ``[label 12.3s] message`` lines to stderr, so long work says
  where it is without touching stdout (which commands keep for their results).
- :func:`write_table` writes a table as Parquet, byte-identical for identical content
  (no pandas index or metadata), so that the same inputs give the same files;
- :func:`prepare_folder` makes the folder a command writes a data set into (a synthetic world,
  derived records), refusing one that already holds files unless told to overwrite. Tracked
  jobs get their folders from :func:`toolkit.tracking.lifecycle.new_folder` instead.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from toolkit.errors import ToolkitError

if TYPE_CHECKING:
    import pyarrow as pa


class Progress:
    """Prints ``[label 12.3s] message`` lines to stderr (seconds since it was made)."""

    def __init__(self, enabled: bool = True, label: str = "synth"):
        self.enabled = enabled
        self.label = label
        self.t0 = time.perf_counter()

    def __call__(self, msg: str) -> None:
        if self.enabled:
            print(f"[{self.label} {time.perf_counter() - self.t0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def _to_arrow(df: pd.DataFrame) -> pa.Table:
    import pyarrow as pa

    arrays, names = [], []
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            arrays.append(pa.array(s.to_numpy().astype("datetime64[D]"), type=pa.date32(), from_pandas=True))
        elif pd.api.types.is_bool_dtype(s.dtype):
            arrays.append(pa.array(s.to_numpy(dtype=bool), type=pa.bool_()))
        elif pd.api.types.is_string_dtype(s.dtype) or s.dtype == object:
            arrays.append(pa.array(s.astype(object).where(s.notna(), None).tolist(), type=pa.string()))
        else:
            arrays.append(pa.array(s.to_numpy()))
        names.append(c)
    return pa.Table.from_arrays(arrays, names=names)


def write_table(df: pd.DataFrame, path: Path) -> None:
    """Write a table as Parquet, byte-identical for identical content (no pandas index or metadata)."""
    import pyarrow.parquet as pq

    pq.write_table(_to_arrow(df), path, compression="zstd", write_statistics=True)


def prepare_folder(out: str | Path, overwrite: bool = False, clear: bool = False) -> Path:
    """The folder ``out``, created if needed. One that holds files is refused (a :class:`ToolkitError`)
    unless ``overwrite``; with ``clear`` as well its old contents are removed first."""
    d = Path(out)
    if d.exists() and any(d.iterdir()):
        if not overwrite:
            raise ToolkitError(f"output folder {d} is not empty (use --overwrite to replace it)")
        if clear:
            shutil.rmtree(d)
    d.mkdir(parents=True, exist_ok=True)
    return d


def write_csv_tables(folder: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Each table as ``<folder>/<name>.csv`` (no index), the way a department sends them."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_csv(folder / f"{name}.csv", index=False)
