"""The Ongoing Support measure, DES-ESS only (seed 001 Table 2 and notes 3 and 4, "Ongoing
Support performance measure", "Employment Verification for Ongoing Support", Attachment A
and Table 9).

Candidates are ESS site commencements with days in the Ongoing Support (OS) phase. In order:

1. within an organisation, only the last site where the participant was in OS counts
   (Attachment A); after a transfer to another organisation both organisations' last sites count;
2. an Ongoing Support Assessment (any date, including before 1 July 2018) recommended further OS;
3. the participant was in the OS phase on or after 2 January 2019 (note 3);
4. an entry route: a transition OS participant, a period of OS at the site since a 52-week
   full or pathway outcome, or a former Work Assist participant;
5. at least 26 calendar weeks in OS with the organisation since 1 July 2018 (reading: every route);
6. Flexible OS: a pending or approved Flexible OS fee (after the 52-week outcome, when that is the route);
7. the two-year window conditions (the fourth: a verification date in the window);
8. one record per participant, period and site (``records.one_record_per``; per contract under
   the earlier reading).

Numerator: still in OS at the site at the end of the period; or exited as an Independent
Worker after an assessment recommended it; or a Provider Initiated Independent Worker exit on
or after 2 January 2019 verified in employment six weeks later, the verification date being
kept in the numerator when it is 28 days or less before the end of the period (note 4); or
(reading of Table 9) a transfer to another organisation while in OS.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.records.derive.context import Context
from toolkit.records.derive.events import NEVER, OPEN
from toolkit.records.derive.ledger import Funnel
from toolkit.records.derive.window import in_assessment_window

#: The measure this module derives (its records and ledger rows carry it).
MEASURE = "ongoing_support"


def last_os_site_in_chain(chain: np.ndarray, order: np.ndarray) -> np.ndarray:
    """True for the last commencement (largest ``order``) of each chain among the candidates.

    >>> last_os_site_in_chain(np.array([0, 0, 1]), np.array([0, 1, 2])).tolist()
    [False, True, True]
    """
    df = pd.DataFrame({"chain": chain, "order": order, "i": np.arange(len(chain))})
    last = df.sort_values(["chain", "order"], kind="stable").drop_duplicates("chain", keep="last")["i"].to_numpy()
    out = np.zeros(len(chain), bool)
    out[last] = True
    return out


def in_os_on_or_after(os_end: np.ndarray, day: int) -> np.ndarray:
    """In the OS phase on or after ``day`` (note 3: 2 January 2019): the OS spell, cut at the exit
    (or running past the cut-off), ends on or after ``day``; an exit on that day qualifies, as a
    Provider Initiated Independent Worker exit "on or after 2 January 2019" does.

    >>> in_os_on_or_after(np.array([99, 100, 101]), 100).tolist()
    [False, True, True]
    """
    return np.asarray(os_end) >= day


def verification_day(exit_day: np.ndarray, weeks: int, days_per_week: int) -> np.ndarray:
    """Employment verification date: six weeks after the Independent Worker exit."""
    return np.asarray(exit_day) + weeks * days_per_week


def verification_keeps_numerator(
    verif: np.ndarray, verified_employed: np.ndarray, cutoff: int, grace_days: int
) -> np.ndarray:
    """Note 4: in the numerator if employment was verified, or if the verification date is
    ``grace_days`` (28) days or less before the end of the period (or after it).

    >>> verification_keeps_numerator(np.array([72, 71, 60]), np.array([False, False, True]), 100, 28).tolist()
    [True, False, True]
    """
    return np.asarray(verified_employed, bool) | (np.asarray(verif) >= cutoff - grace_days)


def os_entry_route(
    transition: np.ndarray, after_52_week_outcome: np.ndarray, former_work_assist: np.ndarray
) -> np.ndarray:
    """A route into the denominator (Table 2): a transition OS participant, a period of OS at the
    site since a 52-week full or pathway outcome, or a former Work Assist participant."""
    return np.asarray(transition, bool) | np.asarray(after_52_week_outcome, bool) | np.asarray(former_work_assist, bool)


def flexible_fee_condition(flexible: np.ndarray, fee_claimed: np.ndarray) -> np.ndarray:
    """Flexible OS participants need a pending or approved Flexible OS fee; Moderate and High do not.

    >>> flexible_fee_condition(np.array([True, True, False]), np.array([True, False, False])).tolist()
    [True, False, True]
    """
    return ~np.asarray(flexible, bool) | np.asarray(fee_claimed, bool)


def os_numerator(
    in_os_at_end: np.ndarray,
    iw_after_assessment: np.ndarray,
    provider_iw_verified: np.ndarray,
    transfer_out_in_os: np.ndarray,
) -> np.ndarray:
    """Table 2 Ongoing Support numerator: still in OS at the site at the end of the period; or
    exited as an Independent Worker after an assessment recommended it; or a Provider Initiated
    Independent Worker exit verified (or within note 4's grace); or (reading of Table 9) a transfer
    to another organisation while in OS."""
    return (
        np.asarray(in_os_at_end, bool)
        | np.asarray(iw_after_assessment, bool)
        | np.asarray(provider_iw_verified, bool)
        | np.asarray(transfer_out_in_os, bool)
    )


def _per_pkey(n: int, pkey: np.ndarray) -> np.ndarray:
    out = np.zeros(n, bool)
    out[np.asarray(pkey, dtype=np.int64)] = True
    return out


def _os_candidates(ctx: Context) -> tuple[pd.DataFrame, np.ndarray]:
    """Candidates: commencements of the OS program with days in OS at the site (or in OS at the
    cut-off), and their rows in ``ctx.st``."""
    st = ctx.st
    cand_mask = (st["program"].to_numpy() == ctx.params.ongoing_support.program) & (
        (st["os_days_site"].to_numpy() > 0) | st["os_on_cutoff"].to_numpy()
    )
    return st.loc[cand_mask], np.flatnonzero(cand_mask)


def _os_assessments(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """Per participant-period, from assessments by the cut-off: one recommended further OS, and
    the day of the first that recommended an Independent Worker exit (:data:`OPEN` if none)."""
    ass = ctx.ev.assessments.loc[ctx.ev.assessments["ad"].to_numpy() <= ctx.cutoff]
    further = _per_pkey(ctx.n_people, ass.loc[(ass["rec"] == "further_ongoing_support").to_numpy(), "pkey"])
    iw_ass = ass.loc[(ass["rec"] == "independent_worker_exit").to_numpy()]
    first_iw = np.full(ctx.n_people, OPEN, dtype=np.int64)
    np.minimum.at(first_iw, iw_ass["pkey"].to_numpy(), iw_ass["ad"].to_numpy())
    return further, first_iw


def _os_numerator_of(ctx: Context, s: pd.DataFrame, first_iw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each candidate's numerator (:func:`os_numerator`) and its employment verification day
    (:data:`OPEN` unless a Provider Initiated Independent Worker exit)."""
    p, o = ctx.params, ctx.params.ongoing_support
    pk, x, xr = s["pkey"].to_numpy(), s["x"].to_numpy(), s["xr"].to_numpy()
    by_assessment = (xr == "independent_worker_assessment") & (first_iw[pk] <= x)
    provider = (xr == "independent_worker_provider") & (x >= ctx.day(p.dates.ongoing_support_from)) & (x <= ctx.cutoff)
    verif = np.where(
        xr == "independent_worker_provider", verification_day(x, o.verification_weeks, p.days_per_week), OPEN
    )
    ver = ctx.ev.verifications
    ver = ver.loc[(ver["result"] == "employed").to_numpy() & (ver["vd"].to_numpy() <= ctx.cutoff)]
    employed = pd.MultiIndex.from_arrays([ver["pkey"], ver["ex"]]).get_indexer(pd.MultiIndex.from_arrays([pk, x])) >= 0
    provider_ok = provider & verification_keeps_numerator(verif, employed, ctx.cutoff, o.verification_grace_days)
    transfer_out = (
        o.transfer_out_between_organisations_in_numerator
        & (xr == "transfer")
        & (s["next_org"].to_numpy() != "")
        & (s["next_org"].to_numpy() != s["org"].to_numpy())
        & s["os_at_exit"].to_numpy()
    )
    return os_numerator(s["os_on_cutoff"].to_numpy(), by_assessment, provider_ok, transfer_out), verif


def _os_routes(ctx: Context, s: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per candidate, the routes into the denominator: a transition OS participant, a former Work
    Assist participant, OS at the site since a 52-week outcome."""
    pk = s["pkey"].to_numpy()
    transition = _per_pkey(ctx.n_people, ctx.st.loc[(ctx.st["trans"] == "ongoing_support").to_numpy(), "pkey"])[pk]
    wa = ctx.placements
    former_wa = _per_pkey(ctx.n_people, wa.loc[wa["wa"].to_numpy(), "pkey"])[pk]
    return transition, former_wa, s["os_after_52"].to_numpy()


def _flexible_fee_ok(ctx: Context, s: pd.DataFrame, only_after52: np.ndarray) -> np.ndarray:
    """Per candidate: a Flexible OS fee lodged by the cut-off at a site of the chain (on or after
    the 52-week outcome for candidates whose only route is that outcome)."""
    p, st = ctx.params, ctx.st
    out52 = ctx.first_lodged_per_pkey(p.fifty_two_week_outcomes)
    fees = ctx.ok_claims([p.claims.flexible_os_fee])
    fee_chain = st["chain"].to_numpy()[fees["sid"].to_numpy()]
    fee_after = fees["lodged"].to_numpy() >= out52[fees["pkey"].to_numpy()]
    n_chain = int(st["chain"].max()) + 1 if len(st) else 0
    any_fee, fee_post52 = np.zeros(n_chain, bool), np.zeros(n_chain, bool)
    any_fee[fee_chain] = True
    fee_post52[fee_chain[fee_after]] = True
    ch = s["chain"].to_numpy()
    return np.where(only_after52, fee_post52[ch], any_fee[ch]) if len(s) else np.zeros(0, bool)


def derive_ongoing_support(ctx: Context) -> pd.DataFrame:
    """Records of the Ongoing Support measure (working form)."""
    o = ctx.params.ongoing_support
    s, sid = _os_candidates(ctx)
    n, pk, x = len(s), s["pkey"].to_numpy(), s["x"].to_numpy()
    further, first_iw = _os_assessments(ctx)
    num, verif = _os_numerator_of(ctx, s, first_iw)
    transition, former_wa, after52 = _os_routes(ctx, s)
    enough = s["os_days_chain"].to_numpy() >= ctx.weeks(o.min_weeks_in_os)
    needs_weeks = np.ones(n, bool) if o.min_weeks_applies_to_all_routes else ~after52 | transition | former_wa
    fee_ok = _flexible_fee_ok(ctx, s, after52 & ~transition & ~former_wa)
    cand = pd.DataFrame(
        {
            "pkey": pk,
            "site": s["site"].to_numpy(),
            "sid": sid,
            "c": s["c"].to_numpy(),
            "numerator": num,
            "measure": MEASURE,
        }
    )
    f = Funnel(ctx.ledger, MEASURE, "site_commencements", cand, num)
    f.apply("os_not_last_site", last_os_site_in_chain(s["chain"].to_numpy(), s["order"].to_numpy()))
    f.apply("os_no_assessment", further[pk])
    f.apply(
        "os_before_start",
        in_os_on_or_after(s["os_last_end"].to_numpy(), ctx.day(ctx.params.dates.ongoing_support_from)),
    )
    f.apply("os_no_route", os_entry_route(transition, after52, former_wa))
    f.apply("os_min_weeks", enough | ~needs_weeks)
    f.apply("os_flexible_fee", flexible_fee_condition(s["os_flexible"].to_numpy(), fee_ok))
    f.apply(
        "window_four_conditions",
        in_assessment_window(s["c"].to_numpy(), x, np.full(n, OPEN), verif, ctx.start, ctx.cutoff),
    )
    ctx.count_once(f, s["site"].to_numpy(), s["contract"].to_numpy())
    k = np.flatnonzero(f.alive)
    start = s["os_first"].to_numpy()[k]
    return pd.DataFrame(
        {
            "measure": MEASURE,
            "pkey": pk[k],
            "sid": sid[k],
            "numerator": num[k],
            "tia": np.maximum(s["end"].to_numpy()[k] - start, 0),
            "rec_c": start,
            "anchor": NEVER,
            "lodged": OPEN,
            "verif": verif[k],
        }
    )
