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

import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

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


def check_output_root(root: str | Path, what: str = "output folder") -> Path:
    """The absolute folder ``root`` (relative: from the current folder), checked before anything is
    created: it is a folder or can be made one, and it can be written. Raises :class:`ToolkitError`."""
    r = Path(os.path.abspath(Path(root).expanduser()))
    probe = r
    while not probe.exists():
        if probe.is_symlink():  # a dangling link
            raise ToolkitError(f"{what} {r}: {probe} is a link to nothing")
        probe = probe.parent
    if not probe.is_dir():
        where = "is a file, not a folder" if probe == r else f"cannot be created: {probe} is a file, not a folder"
        raise ToolkitError(f"{what} {r} {where}")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ToolkitError(f"{what} {r} cannot be written (no write permission on {probe})")
    try:  # permissions are not the whole story (read-only or virtual file systems, root)
        os.rmdir(tempfile.mkdtemp(prefix=".toolkit-write-test-", dir=probe))
    except OSError as exc:
        raise ToolkitError(f"{what} {r} cannot be written ({exc.strerror or type(exc).__name__} in {probe})") from None
    return r


def prepare_folder(out: str | Path, overwrite: bool = False, clear: bool = False) -> Path:
    """The folder ``out``, created if needed. One that holds files is refused (a :class:`ToolkitError`)
    unless ``overwrite``; with ``clear`` as well its old contents are removed first. A path that is a
    file, or a folder that cannot be created or written, is a :class:`ToolkitError` too."""
    d = check_output_root(out)
    try:
        if d.exists() and any(d.iterdir()):
            if not overwrite:
                raise ToolkitError(f"output folder {d} is not empty (use --overwrite to replace it)")
            if clear:
                shutil.rmtree(d)
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ToolkitError(f"output folder {d} cannot be written: {exc.strerror or type(exc).__name__}") from None
    return d


#: Mode of a local file that holds pseudonymous ids (owner read/write only), and of a folder of them.
PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


def private_folder(path: str | Path) -> Path:
    """The folder ``path`` (created if needed) readable by its owner only: for record-level files."""
    d = Path(path)
    d.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
    os.chmod(d, PRIVATE_FOLDER)
    return d


@contextlib.contextmanager
def private_file(path: str | Path, mode: str = "w") -> Iterator[IO[str]]:
    """Open ``path`` for writing, created with mode 0o600 before any byte is written (never readable by
    others, whatever the umask)."""
    p = Path(path)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)  # an existing file keeps its old mode through O_CREAT
    text = "b" not in mode
    with os.fdopen(fd, mode, newline="" if text else None, encoding="utf-8" if text else None) as fh:
        yield fh


def write_private_csv(df: pd.DataFrame, path: str | Path) -> None:
    """``df`` as CSV (no index) in a file readable by its owner only (pseudonymous ids, record level)."""
    with private_file(path) as fh:
        df.to_csv(fh, index=False)


def write_private_table(df: pd.DataFrame, path: str | Path) -> None:
    """:func:`write_table` into a file readable by its owner only."""
    with private_file(path, "wb"):
        pass  # created empty with mode 0o600; pyarrow then writes into the existing file
    write_table(df, Path(path))


def write_csv_tables(folder: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Each table as ``<folder>/<name>.csv`` (no index), the way a department sends them."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_csv(folder / f"{name}.csv", index=False)
