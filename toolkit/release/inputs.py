"""A release's input tables: the measure records as given, or derived from raw events.

``data.records`` in the release config (or ``toolkit release --records``):

- ``table``: ``measure_records.parquet`` (or ``.csv``) in the data folder;
- ``events``: derived with :func:`toolkit.records.derive.derive_records` from ``<data>/events/``
  for the calendar release whose assessment window is the config's window;
- ``auto`` (default): the table when present, otherwise the events.

The entity, participant and region tables always come from the data folder. Derived
records go through the same contract checks (and references) as given ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from toolkit.contracts import load_contracts, validate_tables
from toolkit.contracts.validate import find_table_file, read_raw
from toolkit.errors import DataContractError, ToolkitError

if TYPE_CHECKING:
    from collections.abc import Callable

    from toolkit.records.derive import DerivationResult, ReleaseCalendar

RECORDS = "measure_records"


@dataclass
class ReleaseInputs:
    tables: dict[str, pd.DataFrame]
    source: str  # "table" or "events"
    derivation: DerivationResult | None = None  # when derived


def records_source(data_dir: Path, wanted: str) -> str:
    has_table = find_table_file(data_dir, RECORDS) is not None
    has_events = (data_dir / "events").is_dir()
    if wanted == "table" or (wanted == "auto" and has_table):
        if not has_table:
            raise DataContractError(f"no {RECORDS}.parquet or {RECORDS}.csv in {data_dir} (records: table)")
        return "table"
    if not has_events:
        raise DataContractError(f"no measure records in {data_dir}: neither {RECORDS}.parquet nor an events/ folder")
    return "events"


def calendar_release_for(window_start: str, window_end: str, calendar: ReleaseCalendar | None = None) -> str:
    """The calendar release whose assessment window is exactly the config's window."""
    from toolkit.records.derive import load_calendar, load_derive_params

    cal = calendar or load_calendar(load_derive_params().calendar)
    start, end = pd.Timestamp(window_start).date(), pd.Timestamp(window_end).date()
    for w in cal.releases():
        if w.start == start and w.cutoff == end:
            return w.release_id
    raise ToolkitError(
        f"no release of the calendar has the window {start} to {end}; deriving records from events "
        "needs the config's window to be a calendar release's (configs/calendar/)"
    )


def load_release_inputs(
    data_dir: str | Path,
    window_start: str,
    window_end: str,
    records: str = "auto",
    say: Callable[[str], None] = lambda msg: None,
) -> ReleaseInputs:
    """Read and validate the release's tables (raising with every violation), deriving records if needed."""
    d = Path(data_dir)
    if not d.is_dir():
        raise DataContractError(f"data folder {d} does not exist")
    source = records_source(d, records)
    contracts = load_contracts()
    names = sorted(contracts) if source == "table" else sorted(t for t in contracts if t != RECORDS)
    raw, missing = {}, []
    for t in names:
        p = find_table_file(d, t)
        if p is None:
            missing.append(t)
        else:
            raw[t] = read_raw(p)
    if missing:
        raise DataContractError(f"tables in {d} are missing: {', '.join(missing)}")
    derivation = None
    if source == "events":
        from toolkit.records.derive import derive_records

        release = calendar_release_for(window_start, window_end)
        say(f"deriving measure records for release {release} from {d / 'events'}")
        derivation = derive_records(d / "events", release, progress=lambda m: say(f"derive: {m}"))
        raw[RECORDS] = derivation.records
        say(f"derived {len(derivation.records):,} measure records in {derivation.seconds:.1f}s")
    typed, report = validate_tables(raw, contracts)
    report.raise_if_invalid(f"tables in {d}" + (" (records derived from events)" if source == "events" else ""))
    return ReleaseInputs(tables=typed, source=source, derivation=derivation)
