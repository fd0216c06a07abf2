"""The one join behind every model input: measure records + participants + regions.

A registered model of a measure x program reads the columns of three contract tables: the record's
own (``time_in_assistance``, ``site_id``, ...), its participant's characteristics (``participants``)
and the labour-market factors of the participant's ESA (``regions``). A release builds its frame
with :func:`join_records` (:func:`toolkit.records.frame.build_frame`, after the entity rules), and
``toolkit predict`` and :func:`model_input` build a model's input with the same function, so the
columns a model reads at scoring are the columns it was fitted on.

What the join decides:

- each record gets its participant's row (``participant_id``; a participant has at most one row);
- then the participant's ESA's row (``esa_id``; an ESA has at most one row);
- ``regions.metro`` (the ESA is in a capital city) is not joined: the participant's own ``metro``
  (lives in a metropolitan location) is the covariate, and the two would collide (a plain
  ``records.merge(participants).merge(regions)`` gives ``metro_x``/``metro_y`` and no ``metro``);
- a record whose participant is not in ``participants``, or whose participant's ESA is not in
  ``regions``, cannot be joined: it is listed in ``excluded`` with its reason, never silently dropped.

Example::

    from toolkit.contracts import load_tables
    from toolkit.records import model_input

    tables = load_tables("worlds/demo-small-seed2020", ["measure_records", "participants", "regions"])
    X = model_input(tables, "full_26", "ESS")   # the records of ESS full_26, as a model of it reads them
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.contracts.keys import duplicated, positions
from toolkit.errors import InputError

#: The tables a model's input is joined from, in join order.
INPUT_TABLES = ("measure_records", "participants", "regions")
#: Columns that say which record a row is (the primary key of ``measure_records``, with its program).
RECORD_KEY = ["participant_id", "period_of_service", "program", "measure", "site_id"]
#: Columns of a list of excluded records: the key, the contract, and why.
EXCLUSION_COLUMNS = ["participant_id", "period_of_service", "program", "measure", "site_id", "contract_id", "reason"]
#: Regions columns never joined: the participant's own value is the covariate.
REGION_COLUMNS_NOT_JOINED = ("metro",)

NO_PARTICIPANT = "participant not in the participants table: no characteristics to join"
NO_REGION = "the participant's ESA (esa_id) is not in the regions table: no labour-market factors to join"


@dataclass
class JoinedRecords:
    """Records joined to their participant's characteristics and ESA's labour-market factors."""

    frame: pd.DataFrame  # the records that joined, in input order (index 0..n-1)
    excluded: pd.DataFrame  # EXCLUSION_COLUMNS: every record that could not be joined, with its reason


def _require(df: pd.DataFrame, table: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(
            f"{table}: lacks the column(s) {', '.join(missing)} the join needs (rule missing_column, "
            f"{len(missing)} column(s))"
        )


def _unique_key(df: pd.DataFrame, table: str, key: str) -> None:
    dup = duplicated([df[key]])
    if dup.any():
        raise InputError(
            f"{table}.{key}: rule 'unique' broken by {int(dup.sum())} rows: a record would join more than one "
            f"{table} row"
        )


def _same_kind(left: pd.Series, right: pd.Series, what: str) -> None:
    """Join keys of the two tables must both be text or both numbers (typed tables: both text)."""
    if pd.api.types.is_numeric_dtype(left.dtype) != pd.api.types.is_numeric_dtype(right.dtype):
        raise InputError(
            f"{what}: the key is stored as {left.dtype} on one side and {right.dtype} on the other (rule type); "
            "read the tables with toolkit.contracts.load_tables so that both are text"
        )


def join_records(records: pd.DataFrame, participants: pd.DataFrame, regions: pd.DataFrame) -> JoinedRecords:
    """Join ``records`` (any measure records, with any extra columns) to ``participants`` and ``regions``.

    The frame keeps the records' columns first, then the participants' (but ``participant_id``), then
    the regions' (but ``esa_id`` and ``metro``), rows in the records' order; records that cannot be
    joined are in ``excluded`` with their reason. Raises :class:`~toolkit.errors.InputError` when a
    key column is absent or a participant or ESA has more than one row.
    """
    _require(records, "measure_records", ("participant_id",))
    _require(participants, "participants", ("participant_id", "esa_id"))
    _require(regions, "regions", ("esa_id",))
    _unique_key(participants, "participants", "participant_id")
    _unique_key(regions, "regions", "esa_id")
    _same_kind(records["participant_id"], participants["participant_id"], "measure_records.participant_id")
    _same_kind(participants["esa_id"], regions["esa_id"], "participants.esa_id")
    # a column both sides hold is the left side's: the participant's own metro flag, never the ESA's
    part = participants.drop(columns=[c for c in participants.columns if c != "participant_id" and c in records])
    left_columns = set(records.columns) | set(part.columns)
    regs = regions.drop(
        columns=[c for c in regions.columns if c != "esa_id" and (c in left_columns or c in REGION_COLUMNS_NOT_JOINED)]
    )
    # a left join, many records to one participant to one ESA, by positions (keys hashed once, in Arrow)
    p_pos = positions(records["participant_id"], part["participant_id"])
    r_pos_of_participant = positions(part["esa_id"], regs["esa_id"])
    no_participant = p_pos < 0
    r_pos = np.where(no_participant, -1, r_pos_of_participant[np.maximum(p_pos, 0)])
    no_region = ~no_participant & (r_pos < 0)
    bad = no_participant | no_region
    if bad.any():
        reasons = np.full(len(records), "", dtype=object)
        reasons[no_participant] = NO_PARTICIPANT
        reasons[no_region] = NO_REGION
        cols = [c for c in EXCLUSION_COLUMNS[:-1] if c in records.columns]
        excluded = (
            records.loc[bad, cols].assign(reason=reasons[bad]).reindex(columns=EXCLUSION_COLUMNS).reset_index(drop=True)
        )
        kept = records.loc[~bad].reset_index(drop=True)
    else:
        excluded = pd.DataFrame(columns=EXCLUSION_COLUMNS)
        kept = records.reset_index(drop=True)
    p_rows, r_rows = p_pos[~bad], r_pos[~bad]
    frame = pd.concat(
        [
            kept,
            part.drop(columns=["participant_id"]).iloc[p_rows].reset_index(drop=True),
            regs.drop(columns=["esa_id"]).iloc[r_rows].reset_index(drop=True),
        ],
        axis=1,
    )
    if len(frame) + len(excluded) != len(records):
        raise AssertionError("join changed the number of records")  # a bug, not a user error
    return JoinedRecords(frame=frame, excluded=excluded)


def records_of(records: pd.DataFrame, measure: str, program: str) -> pd.DataFrame:
    """The records of one measure x program, in their order (index 0..n-1)."""
    _require(records, "measure_records", ("program", "measure"))
    mask = (records["program"].astype("str") == program) & (records["measure"].astype("str") == measure)
    return records.loc[mask.to_numpy(dtype=bool)].reset_index(drop=True)


def join_model_input(tables: Mapping[str, pd.DataFrame], measure: str, program: str) -> JoinedRecords:
    """The input of a model of ``measure`` x ``program``: its records in ``tables["measure_records"]`` joined
    by :func:`join_records` (as a release joins them), with the records that could not be joined listed.

    ``tables`` holds the contract tables ``measure_records``, ``participants`` and ``regions``, typed as
    :func:`toolkit.contracts.load_tables` returns them (other tables are ignored). No entity rule is applied:
    every record of the measure x program is scored (the window and the contracts' statuses are a release's
    business, :func:`toolkit.records.frame.build_frame`).
    """
    absent = [t for t in INPUT_TABLES if t not in tables]
    if absent:
        raise InputError(f"model input needs the tables {', '.join(INPUT_TABLES)}; absent: {', '.join(absent)}")
    recs = records_of(tables["measure_records"], measure, program)
    return join_records(recs, tables["participants"], tables["regions"])


def model_input(tables: Mapping[str, pd.DataFrame], measure: str, program: str) -> pd.DataFrame:
    """The frame a registered model of ``measure`` x ``program`` reads (``model.predict(model_input(...))``):
    every record of the measure x program, joined to participants and regions exactly as a release joins
    them (:func:`join_model_input`).

    Raises :class:`~toolkit.errors.InputError` naming the counts and reasons when a record cannot be joined
    (nothing is dropped silently; :func:`join_model_input` returns the joined frame and the list instead),
    and when there is no record of the measure x program.
    """
    joined = join_model_input(tables, measure, program)
    if not joined.excluded.empty:
        counts = joined.excluded.groupby("reason", sort=True).size()
        raise InputError(
            f"measure_records: {len(joined.excluded)} record(s) of {program} {measure} cannot be joined: "
            + "; ".join(f"{n} {reason}" for reason, n in counts.items())
            + " (join_model_input lists them)"
        )
    if joined.frame.empty:
        raise InputError(f"measure_records: no record of program {program} and measure {measure}")
    return joined.frame
