"""Measure records from raw events (``toolkit derive``).

A department hands over commencements, phases, suspensions, placements, claims, benchmark
assessments, Ongoing Support assessments and employment verifications
(``data_contracts/events/``). :func:`derive_records` turns them into the unit-level measure
records of one release (``data_contracts/measure_records.yaml``), applying every numerator
and denominator rule of seed 001 (Table 2 and its notes, the principal rules, the education
exclusion, Ongoing Support and employment verification, the two-year window, the claim
cut-off calendar, Attachment A and Table 9), with every number in ``configs/derive/`` and
``configs/calendar/``.

Examples
--------
>>> from toolkit.records.derive import derive_records                      # doctest: +SKIP
>>> res = derive_records("worlds/small/events", "March 2020")      # doctest: +SKIP
>>> res.records     # measure records for the expected-performance core    # doctest: +SKIP
>>> res.log         # per measure and rule: considered, excluded, kept       # doctest: +SKIP
>>> res.excluded    # every excluded event with its rule and reason          # doctest: +SKIP
>>> res.window      # (start, cutoff)                                        # doctest: +SKIP
"""

from toolkit.records.derive.calendar import (
    ReleaseCalendar,
    ReleaseWindow,
    load_calendar,
)
from toolkit.records.derive.core import DerivationResult, derive_records
from toolkit.records.derive.events import EVENT_CONTRACTS, EVENT_TABLES, load_events
from toolkit.records.derive.invariants import DerivationInvariantError
from toolkit.records.derive.ledger import RULES
from toolkit.records.derive.params import DeriveParams, load_derive_params

__all__ = [
    "EVENT_CONTRACTS",
    "EVENT_TABLES",
    "RULES",
    "DerivationInvariantError",
    "DerivationResult",
    "DeriveParams",
    "ReleaseCalendar",
    "ReleaseWindow",
    "derive_records",
    "load_calendar",
    "load_derive_params",
    "load_events",
]
