"""Where every measure record of a release ends: excluded with its reason, or used and, at each
level, counted, collapsed into another record of the participant, or at an entity without a row.

- **in**: the rows of ``measure_records`` (given, or derived from events);
- **excluded**: one line per reason of the record-level exclusion list (``exclusions.csv``);
- **used**: the records the models were fitted on and the sums were taken over;
- per level (site, contract, organisation):
  - **counted**: the sum of ``n`` over the level's rows of the entity-measure table;
  - **collapsed**: records of a participant who has another record for the measure and period of
    service at the same entity (a participant counts once per entity, ``aggregate.dedupe``);
  - **no_row**: records at an entity that gets no row at this level, one line per reason
    (``aggregate.site_row_reasons``: closed sites, the sites of a novated contract; the contract
    and organisation levels have none).

The table is aggregate (programs, levels, reasons; no ids). :func:`check_accounting` fails
loudly, naming the counts, when ``in = used + excluded`` or, per level, ``used = counted +
collapsed + no_row`` does not hold: a record lost without a reason, or counted twice, is a bug,
never a result. The three parts of each sum are computed separately (``counted`` from the
entity-measure table, ``collapsed`` from the records, ``no_row`` from the sites table).
"""

from __future__ import annotations

import pandas as pd

from toolkit.records.aggregate import dedupe, site_row_reasons
from toolkit.records.frame import Entities

ACCOUNTING_COLUMNS = ["program", "stage", "level", "description", "records"]
#: The column that names a record's entity at each level.
LEVEL_COLUMNS = {"site": "site_id", "contract": "rating_contract_id", "organisation": "rating_organisation_id"}
#: The ``program`` of the lines summed over every program.
ALL_PROGRAMS = "all"

IN = "measure records read (given, or derived from events)"
USED = "records used: in the models and the sums per entity"
COUNTED = "counted: in the n of its {level}'s row (entity_measures.csv)"
COLLAPSED = (
    "collapsed duplicate: another record of the participant for the measure and period of service "
    "at the same {level} is counted (once per entity)"
)


class AccountingInvariantError(AssertionError):
    """The records of a release do not close (lost without a reason, or counted twice): a bug."""


def _program_lines(
    program: str,
    records_in: pd.DataFrame,
    exclusions: pd.DataFrame,
    used: pd.DataFrame,
    entity_measures: pd.DataFrame,
    no_row: dict[str, pd.Series],
) -> list[dict[str, object]]:
    lines: list[dict[str, object]] = [
        {"stage": "in", "level": "", "description": IN, "records": len(records_in)},
    ]
    for reason, n in exclusions.groupby("reason", sort=True).size().items():
        lines.append({"stage": "excluded", "level": "", "description": str(reason), "records": int(n)})
    lines.append({"stage": "used", "level": "", "description": USED, "records": len(used)})
    for level, col in LEVEL_COLUMNS.items():
        em = entity_measures[entity_measures["level"] == level]
        lines.append(
            {
                "stage": "counted",
                "level": level,
                "description": COUNTED.format(level=level),
                "records": int(em["n"].sum()),
            }
        )
        reasons = no_row.get(level)
        why = used[col].map(reasons).fillna("") if reasons is not None else pd.Series("", index=used.index)
        rated = used[(why == "").to_numpy()]
        lines.append(
            {
                "stage": "collapsed",
                "level": level,
                "description": COLLAPSED.format(level=level),
                "records": len(rated) - len(dedupe(rated, col)),
            }
        )
        for reason, n in why[why != ""].value_counts().sort_index().items():
            lines.append({"stage": "no_row", "level": level, "description": str(reason), "records": int(n)})
    return [{"program": program, **line} for line in lines]


def record_accounting(
    records_in: pd.DataFrame,
    exclusions: pd.DataFrame,
    used: pd.DataFrame,
    entity_measures: pd.DataFrame,
    entities: Entities,
    window_end: str,
) -> pd.DataFrame:
    """The accounting table of a release: per program (and over all, ``program = "all"``) the
    records in, excluded per reason, used, and per level counted, collapsed and at no row.

    Parameters
    ----------
    records_in : the measure records read (one row per record; ``program`` is used)
    exclusions : the record-level exclusion list (``program``, ``reason``)
    used : the records used (the frame the sums were taken over)
    entity_measures : the entity-measure table (``program``, ``level``, ``n``)
    entities, window_end : which sites get a row (:func:`toolkit.records.aggregate.site_row_reasons`)
    """
    no_row = {"site": site_row_reasons(entities.sites, pd.Timestamp(window_end))}
    programs = sorted(
        set(records_in["program"].astype(str))
        | set(exclusions["program"].astype(str))
        | set(entity_measures["program"].astype(str))
    )
    lines = []
    for prog in programs:
        lines += _program_lines(
            prog,
            records_in[records_in["program"].astype(str) == prog],
            exclusions[exclusions["program"].astype(str) == prog],
            used[used["program"].astype(str) == prog],
            entity_measures[entity_measures["program"].astype(str) == prog],
            no_row,
        )
    per_program = pd.DataFrame(lines, columns=ACCOUNTING_COLUMNS)
    if per_program.empty:
        return per_program.astype({"records": "int64"})
    order = {"in": 0, "excluded": 1, "used": 2, "counted": 3, "collapsed": 4, "no_row": 5}
    level_order = {"": 0, "site": 1, "contract": 2, "organisation": 3}
    total = per_program.groupby(["stage", "level", "description"], sort=False)["records"].sum().reset_index()
    total.insert(0, "program", ALL_PROGRAMS)
    out = pd.concat([total, per_program], ignore_index=True)
    out["_p"] = (out["program"] != ALL_PROGRAMS).astype(int)
    out["_l"] = out["level"].map(level_order)
    out["_s"] = out["stage"].map(order)
    out = out.sort_values(["_p", "program", "_l", "_s", "description"], kind="stable")
    out = out.drop(columns=["_p", "_l", "_s"]).reset_index(drop=True)
    out["records"] = out["records"].astype("int64")
    return out[ACCOUNTING_COLUMNS]


def accounting_gaps(table: pd.DataFrame) -> list[str]:
    """Every sum of the accounting table that does not close, with its counts (empty: it closes)."""
    gaps = []
    for prog, g in table.groupby("program", sort=False):
        total = g.groupby(["stage", "level"])["records"].sum()

        def get(stage: str, level: str = "", total: pd.Series = total) -> int:
            return int(total.get((stage, level), 0))

        n_in, used, excluded = get("in"), get("used"), get("excluded")
        if n_in != used + excluded:
            gaps.append(
                f"{prog}: {n_in:,} records in != {used:,} used + {excluded:,} excluded "
                f"({n_in - used - excluded:+,} without a place)"
            )
        for level in LEVEL_COLUMNS:
            counted, collapsed, no_row = get("counted", level), get("collapsed", level), get("no_row", level)
            if used != counted + collapsed + no_row:
                gaps.append(
                    f"{prog}, {level} level: {used:,} records used != {counted:,} counted + {collapsed:,} "
                    f"collapsed duplicates + {no_row:,} at a {level} with no row "
                    f"({used - counted - collapsed - no_row:+,} without a place)"
                )
    return gaps


def check_accounting(table: pd.DataFrame) -> None:
    """Raise :class:`AccountingInvariantError` naming every sum of ``table`` that does not close."""
    gaps = accounting_gaps(table)
    if gaps:
        raise AccountingInvariantError(
            f"the release's records do not close ({len(gaps)} sum(s) of accounting.csv; every record must be "
            "counted, collapsed into another record of its participant, at an entity with no row for a "
            "stated reason, or excluded with its reason):\n" + "\n".join(f"  - {g}" for g in gaps)
        )
