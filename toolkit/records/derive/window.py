"""The two-year rolling assessment period: the four inclusion conditions.

Seed 001, "Two Year Rolling Assessment Period": a Participant is included in the
calculations of a Site if they

1. were still in assistance at the end of the two year rolling period at the Site;
2. exited the Site during the two year rolling period;
3. exited the Site prior to the two year rolling period but have an associated Outcome
   which was lodged during the two year period at the Site;
4. exited prior to the two year rolling period but had an ongoing support employment
   verification date which is within the two year rolling period.

The period runs from the window start to the claim cut-off, both included. The seed's
example ("a Participant who Exited in August 2019 has an associated 13 Week Full Outcome
that was lodged in November 2019 ... would be included in the ... 13 Week Full Outcome
performance measure but not the 13 Week Pathway Outcome performance measure") makes the
third condition specific to the measure: the outcome must be that measure's.
"""

from __future__ import annotations

import numpy as np

from toolkit.records.derive.events import OPEN


def within(day: np.ndarray, start: int, cutoff: int) -> np.ndarray:
    """``start <= day <= cutoff`` (missing days, stored as OPEN or NEVER, are never within)."""
    d = np.asarray(day)
    return (d >= start) & (d <= cutoff)


def in_assessment_window(
    commenced: np.ndarray,
    exited: np.ndarray,
    outcome_lodged: np.ndarray,
    verification: np.ndarray,
    start: int,
    cutoff: int,
) -> np.ndarray:
    """The four inclusion conditions, for commencements known at the cut-off.

    Parameters
    ----------
    commenced, exited : days of commencement at the site and of exit from it (``OPEN`` while in assistance)
    outcome_lodged : lodgement day of the measure's outcome at the site (``OPEN`` if none)
    verification : Ongoing Support employment verification day (``OPEN`` if none)
    start, cutoff : the window, both days included

    Examples
    --------
    >>> s, k = 100, 200
    >>> in_assessment_window(np.array([50, 50, 50, 50, 50]), np.array([OPEN, 150, 99, 99, 99]),
    ...                      np.array([OPEN, OPEN, OPEN, 120, OPEN]), np.array([OPEN, OPEN, OPEN, OPEN, 100]),
    ...                      s, k).tolist()
    [True, True, False, True, True]
    """
    exited = np.asarray(exited)
    still_in = exited > cutoff  # 1. in assistance at the end of the period
    exited_in = within(exited, start, cutoff)  # 2. exited during the period
    lodged_in = within(outcome_lodged, start, cutoff)  # 3. outcome lodged during the period
    verified_in = within(verification, start, cutoff)  # 4. OS verification date during the period
    started = np.asarray(commenced) <= cutoff
    return started & (still_in | exited_in | lodged_in | verified_in)


def window_reason_counts(
    commenced: np.ndarray,
    exited: np.ndarray,
    outcome_lodged: np.ndarray,
    verification: np.ndarray,
    start: int,
    cutoff: int,
) -> dict[str, int]:
    """How many records each condition admits (a record can meet several), for the log."""
    exited = np.asarray(exited)
    return {
        "still_in_assistance": int((exited > cutoff).sum()),
        "exited_in_window": int(within(exited, start, cutoff).sum()),
        "outcome_lodged_in_window": int((within(outcome_lodged, start, cutoff) & (exited < start)).sum()),
        "verification_in_window": int((within(verification, start, cutoff) & (exited < start)).sum()),
    }


__all__ = ["OPEN", "in_assessment_window", "window_reason_counts", "within"]
