"""``toolkit score --input FILE --out FILE [--method CONFIG] [--previous FILE]``.

The only place of :mod:`toolkit.scoring` that reads or writes files. Tables are
CSV or Parquet, chosen by extension. CSV input is read as text (ids keep their
leading zeros; the checks convert numbers and report bad cells by row). The
output is byte-identical on re-run: CSV with ``\\n`` line ends and shortest
round-trip floats; Parquet through pyarrow without the pandas index.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from toolkit.errors import InputError
from toolkit.output import check_output_root

SUFFIXES = (".csv", ".parquet")


def _suffix(path: Path, what: str) -> str:
    s = path.suffix.lower()
    if s not in SUFFIXES:
        raise InputError(f"{what} {path}: unknown extension {path.suffix!r}; use .csv or .parquet")
    return s


def read_table(path: str | Path, what: str = "input") -> pd.DataFrame:
    """Read a CSV (all columns as text, empty cells as "") or Parquet table."""
    p = Path(path)
    s = _suffix(p, what)
    if not p.is_file():
        raise InputError(f"{what} {p}: no such file")
    try:
        if s == ".csv":
            return pd.read_csv(p, dtype=str, keep_default_na=False, na_filter=False)
        return pd.read_parquet(p)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"{what} {p}: cannot be read as {s[1:]}: {exc}") from None


def check_output_file(path: str | Path) -> Path:
    """Refuse, before any work, an output file that is a folder or whose folder cannot be made or written."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"output {p} is a folder, not a file")
    check_output_root(p.parent, f"folder of the output {p}")
    return p


def write_table(table: pd.DataFrame, path: str | Path) -> None:
    """Write a ratings table deterministically (CSV or Parquet by extension)."""
    p = Path(path)
    s = _suffix(p, "output")
    p.parent.mkdir(parents=True, exist_ok=True)
    if s == ".csv":
        table.to_csv(p, index=False, lineterminator="\n", na_rep="")
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), p, compression="snappy")


def summary(table: pd.DataFrame, method_name: str, out: str | Path) -> str:
    """A few lines: stars and statuses per program and level."""
    lines = [f"scored {len(table)} entities with {method_name!r} -> {out}"]
    for (program, level), g in table.groupby(["program", "level"], sort=False):
        stars = g["stars"].value_counts().reindex(range(5, 0, -1), fill_value=0)
        st = " ".join(f"{k}*:{int(v)}" for k, v in stars.items())
        statuses = ", ".join(f"{k} {int(v)}" for k, v in g["status"].value_counts().sort_index().items())
        lines.append(f"  {program} {level:<12} {len(g):>6}  stars {st}  | {statuses}")
    return "\n".join(lines)


def run_score(args: argparse.Namespace) -> int:
    """Handler of ``toolkit score``; a ToolkitError becomes exit code 2 in :mod:`toolkit.cli`."""
    from toolkit.scoring.config import load_method
    from toolkit.scoring.table import score_entities

    method = load_method(args.method)
    _suffix(Path(args.out), "output")
    check_output_file(args.out)
    entity_measures = read_table(args.input, "input")
    previous = read_table(args.previous, "previous") if args.previous else None
    table = score_entities(entity_measures, method, previous)
    write_table(table, args.out)
    print(summary(table, method.name, args.out))
    return 0
