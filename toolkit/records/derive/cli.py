"""``toolkit derive``: measure records of a release from a folder of raw events.

Writes, into ``--out``:

- ``measure_records.parquet``: the records (``data_contracts/measure_records.yaml``);
- ``derivation_log.csv``: per measure and rule, considered / excluded / kept;
- ``excluded_events.parquet``: every excluded event or candidate record with its rule and reason;
- ``derivation.json``: release, window, cut-offs, config hash, SHA-256 of every event file, counts.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from toolkit.config import file_sha256

if TYPE_CHECKING:
    from toolkit.records.derive.core import DerivationResult


def events_folder(path: str | Path) -> Path:
    """The folder holding the event tables: ``path`` itself, or ``path/events`` for a synthetic world."""
    p = Path(path)
    if not any(p.glob("site_commencements.*")) and (p / "events").is_dir():
        return p / "events"
    return p


def write_derivation(
    res: DerivationResult, out: str | Path, events_dir: Path | None = None, overwrite: bool = False
) -> Path:
    """Write a :class:`~toolkit.records.derive.DerivationResult` as the four files of ``toolkit derive``."""
    from toolkit import __version__
    from toolkit.output import prepare_folder, write_private_table

    out = prepare_folder(out, overwrite)
    write_private_table(res.records, out / "measure_records.parquet")  # participant ids: owner-only
    res.log.to_csv(out / "derivation_log.csv", index=False)
    ex = res.excluded.copy()
    for c in ex.columns:
        if isinstance(ex[c].dtype, pd.CategoricalDtype):
            ex[c] = ex[c].astype("str")
    write_private_table(ex, out / "excluded_events.parquet")  # participant ids: owner-only
    files = {}
    if events_dir is not None:
        files = {p.name: file_sha256(p) for p in sorted(events_dir.iterdir()) if p.suffix in (".parquet", ".csv")}
    meta = {
        "toolkit_version": __version__,
        "release": res.release.name,
        "release_id": res.release.release_id,
        "window_start": str(res.window[0]),
        "cutoff": str(res.window[1]),
        "rule_cutoff": str(res.release.rule_cutoff),
        "extension": res.release.override_note,
        "derive_config_sha256": res.params_hash,
        "events_sha256": files,
        "records": len(res.records),
        "numerator": int(res.records["numerator"].sum()),
        "excluded_events": len(res.excluded),
        "records_by_measure": {m: int(n) for m, n in res.records.groupby("measure").size().items()},
        "excluded_by_rule": {str(r): int(n) for r, n in res.excluded.groupby("rule", observed=True).size().items()},
        "seconds": round(res.seconds, 2),
    }
    (out / "derivation.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return out


def run_derive(args: argparse.Namespace) -> int:
    from toolkit.output import Progress
    from toolkit.records.derive.core import derive_records
    from toolkit.records.derive.params import load_derive_params

    say = Progress(True, "derive")
    params = load_derive_params(args.config)
    src = events_folder(args.events)
    say(f"reading events from {src}")
    res = derive_records(src, args.release, params=params, progress=say)
    out = write_derivation(res, args.out, events_dir=src, overwrite=args.overwrite)
    say(f"wrote {out} in {res.seconds:.1f}s of derivation")
    print(res.summary())
    return 0
