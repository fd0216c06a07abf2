"""``derive_records``: the measure records of one release from raw events.

The steps, each logged:

1. the release's assessment window from the calendar (``configs/calendar/``);
2. the events as known at the claim cut-off (later events are excluded, later exits unknown);
3. the claim rules (cut-off, one dollar, status, recovery, lodging site, education, note b);
4. transfer chains and durations in assistance;
5. the measures' rules (full and pathway, bonus and Work Assist, Ongoing Support);
6. the reconciliation of outcome claims, the invariants, and the output contract.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from toolkit.records.derive.assemble import reconcile_claims, to_measure_records
from toolkit.records.derive.bonus import MEASURE as BONUS
from toolkit.records.derive.bonus import derive_bonus
from toolkit.records.derive.calendar import ReleaseCalendar, ReleaseWindow, load_calendar
from toolkit.records.derive.claims import (
    claim_failures,
    earliest,
    education_outcome_excluded,
    link_placements,
    map_to_stints,
    placement_before_program,
)
from toolkit.records.derive.context import RECORD_COLUMNS, Context
from toolkit.records.derive.events import NEVER, OPEN, Events, load_events, take
from toolkit.records.derive.full_pathway import derive_full_pathway
from toolkit.records.derive.invariants import check_invariants
from toolkit.records.derive.ledger import Funnel, Ledger
from toolkit.records.derive.ongoing import derive_ongoing_support
from toolkit.records.derive.params import DeriveParams, load_derive_params
from toolkit.records.derive.spells import (
    add_chain_columns,
    benchmark_at,
    phase_metrics,
    stints_as_at,
)

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass
class DerivationResult:
    """What :func:`derive_records` returns.

    Attributes
    ----------
    records : DataFrame
        The unit-level measure records (``data_contracts/measure_records.yaml``), sorted by
        program, measure, site, participant and period of service.
    log : DataFrame
        Per measure and rule, in the order applied: ``considered``, ``excluded``, ``kept`` and
        ``kept_by_outcome`` (kept only through the principal rules' outcome exception).
    excluded : DataFrame
        Every excluded event or candidate record: table, rule, reason, measure, participant,
        period of service, site, event id and date.
    window : tuple of date
        ``(start, cutoff)`` of the release's assessment window, both included.
    release : ReleaseWindow
        The release, its published and rule cut-offs.
    params_hash : str
        SHA-256 of the derivation config.
    seconds : float
        Wall time of the derivation.
    """

    records: pd.DataFrame
    log: pd.DataFrame
    excluded: pd.DataFrame
    window: tuple[dt.date, dt.date]
    release: ReleaseWindow
    params_hash: str
    seconds: float = 0.0

    def summary(self) -> str:
        rec = self.records
        by = rec.groupby(["program", "measure"]).agg(n=("numerator", "size"), numerator=("numerator", "sum"))
        lines = [
            f"release {self.release.name}: window {self.window[0]} to {self.window[1]}"
            + (
                f" (rule cut-off {self.release.rule_cutoff}; {self.release.override_note})"
                if self.release.extended
                else ""
            ),
            f"{len(rec):,} measure records, {len(self.excluded):,} excluded events",
        ]
        lines += [f"  {p:3s} {m:16s} n={r.n:>9,}  numerator={r.numerator:>9,}" for (p, m), r in by.iterrows()]
        return "\n".join(lines)


def _day(d: dt.date) -> int:
    return int(np.datetime64(d, "D").astype("int64"))


def _as_at_cutoff(ev: Events, cutoff: int, ledger: Ledger) -> tuple[pd.DataFrame, Events]:
    """Drop (and log) events dated after the cut-off; exits after it are not yet known."""
    st, late = stints_as_at(ev.stints, cutoff)
    ledger.exclude(
        "site_commencements",
        "after_cutoff",
        late["pkey"].to_numpy(),
        late["site"].to_numpy(),
        event_date=late["c"].to_numpy(),
        log_measure="site_commencements",
        considered=len(ev.stints),
    )
    keep = {}
    for name, table, col, site in (
        ("phases", "phases", "ps", False),
        ("suspensions", "suspensions", "ss", False),
        ("placements", "placements", "ps", True),
        ("benchmarks", "benchmarks", "bd", False),
        ("assessments", "os_assessments", "ad", True),
        ("verifications", "employment_verifications", "vd", False),
    ):
        df = getattr(ev, name)
        after = df[col].to_numpy() > cutoff
        d = df.loc[after]
        ledger.exclude(
            table,
            "after_cutoff",
            d["pkey"].to_numpy(),
            d["site"].to_numpy() if site else None,
            event_id=d["placement_id"].to_numpy() if name == "placements" else None,
            event_date=d[col].to_numpy(),
            log_measure=table,
            considered=len(df),
        )
        keep[name] = df.loc[~after].reset_index(drop=True)
    known = Events(stints=st, claims=ev.claims, people=ev.people, sites=ev.sites, **keep)
    return st, known


def _claims(
    ev: Events, st: pd.DataFrame, placements: pd.DataFrame, cutoff: int, p: DeriveParams, ledger: Ledger
) -> pd.DataFrame:
    """Claims with their commencement ('sid'), organisation and the claim rules applied ('ok')."""
    cl = link_placements(ev.claims, placements).reset_index(drop=True)
    cl["sid"] = map_to_stints(cl, st)
    cl["org"] = take(st["org"].to_numpy(dtype=object), cl["sid"].to_numpy(), "")
    fail = claim_failures(cl, cutoff, p)
    outcome = cl["ctype"].isin(list(p.claims.outcome_types)).to_numpy()
    cand = pd.DataFrame(
        {
            "pkey": cl["pkey"].to_numpy(),
            "site": cl["site"].to_numpy(),
            "event_id": cl["claim_id"].to_numpy(),
            "event_date": cl["lodged"].to_numpy(),
        }
    )
    f = Funnel(ledger, "claims", "claims", cand, np.zeros(len(cl), bool))
    for rule in ("after_cutoff", "claim_under_one_dollar", "claim_status", "claim_recovery"):
        f.apply(rule, fail != rule)
    f.apply("claim_no_site_commencement", cl["sid"].to_numpy() >= 0)
    edu = education_outcome_excluded(
        cl["ctype"].to_numpy(),
        cl["ptype"].to_numpy(),
        cl["pstart"].to_numpy(),
        _day(p.dates.education_exclusion_from),
        p.education_outcome_claims,
    )
    f.apply("claim_education_from_exclusion_date", ~edu)
    before = outcome & placement_before_program(cl["pstart"].to_numpy(), _day(p.dates.program_start))
    f.apply("claim_placement_before_program", ~before)
    cl["ok"] = f.alive
    return cl


def derive_records(
    events: str | Path | dict | Events,
    release: str,
    params: DeriveParams | None = None,
    calendar: ReleaseCalendar | None = None,
    progress: Callable[[str], None] | None = None,
) -> DerivationResult:
    """Derive the measure records of ``release`` from raw events.

    Parameters
    ----------
    events : folder, dict of DataFrames, or :class:`~toolkit.records.derive.events.Events`
        The event tables of ``data_contracts/events/`` (validated here).
    release : str
        Release name or id, e.g. ``"March 2020"`` or ``"2020-03"``; its window comes from the calendar.
    params : DeriveParams, optional
        Rule parameters (default ``configs/derive/des_2018.yaml``).
    calendar : ReleaseCalendar, optional
        Release calendar (default: the one named by ``params.calendar``).
    progress : callable, optional
        Called with a short message at each step (``toolkit derive`` prints them).

    Examples
    --------
    >>> res = derive_records("worlds/small/events", "March 2020")     # doctest: +SKIP
    >>> res.records.groupby("measure")["numerator"].mean()             # doctest: +SKIP
    >>> res.log.query("excluded > 0")                                  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    say = progress or (lambda msg: None)
    p = params or load_derive_params()
    cal = calendar or load_calendar(p.calendar)
    win = cal.window(release)
    start, cutoff = _day(win.start), _day(win.cutoff)
    say(f"release {win.name}: window {win.start} to {win.cutoff}" + (" (extended)" if win.extended else ""))
    ev = events if isinstance(events, Events) else load_events(events)
    say(
        f"events: {len(ev.stints):,} site commencements, {len(ev.phases):,} phases, {len(ev.claims):,} claims, "
        f"{len(ev.placements):,} placements"
    )
    ledger = Ledger()
    st, known = _as_at_cutoff(ev, cutoff, ledger)
    st = add_chain_columns(st, cutoff)
    cl = _claims(known, st, known.placements, cutoff, p, ledger)
    say(f"claims: {int(cl['ok'].sum()):,} of {len(cl):,} pass the claim rules")
    st = _with_durations(st, known, cl, cutoff, p)
    say(
        f"durations: {len(st):,} site commencements in {int(st['chain'].max()) + 1 if len(st) else 0:,} transfer chains"
    )
    ctx = Context(
        params=p, start=start, cutoff=cutoff, ev=known, st=st, claims=cl, placements=known.placements, ledger=ledger
    )
    records = _measure_records(ctx, win, say)
    return DerivationResult(
        records=records,
        log=ledger.log_frame(),
        excluded=ledger.excluded_frame(ev.people, ev.sites),
        window=(win.start, win.cutoff),
        release=win,
        params_hash=p.hash,
        seconds=time.perf_counter() - t0,
    )


def _with_durations(st: pd.DataFrame, known: Events, cl: pd.DataFrame, cutoff: int, p: DeriveParams) -> pd.DataFrame:
    """Commencements with their durations and OS facts (:func:`phase_metrics`: OS counts towards
    the 52-week measures until the first 52-week outcome, never for transition OS participants)
    and the employment benchmark in effect ('bench')."""
    n_people = len(known.people)
    ok52 = cl.loc[cl["ok"].to_numpy() & cl["ctype"].isin(list(p.fifty_two_week_outcomes)).to_numpy()]
    out52 = earliest(ok52["pkey"].to_numpy(), ok52["lodged"].to_numpy(), n_people)
    transition_os = np.zeros(n_people, bool)
    transition_os[st.loc[(st["trans"] == "ongoing_support").to_numpy(), "pkey"].to_numpy()] = True
    os_cut = np.where(transition_os, NEVER, out52)
    metrics = phase_metrics(
        st,
        known.phases,
        known.suspensions,
        cutoff,
        _day(p.dates.program_start),
        os_cut,
        out52,
        p.ongoing_support.flexible_level,
    )
    st = pd.concat([st, metrics], axis=1)
    st["bench"] = benchmark_at(st, known.benchmarks)
    return st


def _measure_records(ctx: Context, win: ReleaseWindow, say: Callable[[str], None]) -> pd.DataFrame:
    """Every measure's records (full and pathway, bonus and Work Assist, Ongoing Support), the
    reconciliation of outcome claims, the output table, and the invariants checked on it."""
    parts = derive_full_pathway(ctx)
    say(
        "full and pathway measures: " + ", ".join(f"{f['measure'].iat[0] if len(f) else '?'} {len(f):,}" for f in parts)
    )
    parts.append(derive_bonus(ctx))
    parts.append(derive_ongoing_support(ctx))
    say(f"bonus/Work Assist {len(parts[-2]):,}, ongoing support {len(parts[-1]):,}")
    work = pd.concat([x[RECORD_COLUMNS] for x in parts], ignore_index=True)
    counts, sources = reconcile_claims(ctx, work)
    records = to_measure_records(ctx, work)
    # every measure whose numerator is an outcome claim: the full and pathway ones and the bonus
    sources = {m: sources.get(m, 0) for m in ctx.params.full_pathway_measures + (BONUS,)}
    check_invariants(
        records, win.start, win.cutoff, sources, release=win.name, one_record_per=ctx.params.records.one_record_per
    )
    say(f"records: {len(records):,}; outcome claims used {counts['used']:,}; invariants hold")
    return records


__all__ = ["OPEN", "DerivationResult", "derive_records"]
