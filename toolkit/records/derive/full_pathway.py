"""13-, 26- and 52-Week Full and Pathway Outcome measures (seed 001 Table 2, principal rules,
education exclusion, Attachment A and Table 9).

For a measure with threshold T weeks, a participant's commencement at a site is in the
denominator when, in this order (each step is logged):

1. it meets one of the four conditions of the two-year window;
2. (reading) the measure's outcome was not lodged at the site before the window;
3. the outcome was not already achieved at a previous site of the same organisation in the
   period (Attachment A overarching rule);
4. its duration in assistance is at least T weeks: EA and PPS, net of suspensions, from the
   commencement with the organisation in the program (Attachment A), plus for the 52-week
   measures the OS phase before the 52-week outcome;
5. the provider claimed an Employment Assistance Service Fee (pending or approved);
6. the paired outcome was not achieved (a pathway outcome removes the participant from the
   full denominator, a full outcome from the pathway one; 13- and 26-week pathway outcomes for
   education placements from 17 August 2020 do not);
7. pathway measures: no eight-hour benchmark;
8. 52-week measures: no 26-week full or pathway outcome for education.

Steps 4 to 8 are waived when the measure's outcome was achieved at the site ("Participants
who do not meet the standard criteria ... are included ... if an Outcome ... has been
achieved"; Table 9 gaining site "or a ... outcome is paid at the Site"). The numerator is a
counted outcome claim lodged in the window at the site. Finally the participant keeps one
record per site (Table 9: the losing site keeps a participant over the threshold; the release
counts them once per contract, Attachment A), or per contract under the earlier reading
(``records.one_record_per``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.records.derive.context import Context, first_claim_per_stint, pair_flag
from toolkit.records.derive.events import NEVER, OPEN, take
from toolkit.records.derive.ledger import Funnel
from toolkit.records.derive.window import in_assessment_window


def meets_duration(days: np.ndarray, weeks: int, days_per_week: int) -> np.ndarray:
    """Duration in assistance of at least ``weeks`` weeks (Table 2 "at least 13 weeks").

    >>> meets_duration(np.array([90, 91]), 13, 7).tolist()
    [False, True]
    """
    return np.asarray(days) >= weeks * days_per_week


def ea_fee_by_chain(ctx: Context) -> np.ndarray:
    """Per commencement: the provider claimed a pending or approved Employment Assistance Service
    Fee (one dollar or more, lodged by the cut-off) at a site of the same transfer chain."""
    fees = ctx.ok_claims([ctx.params.claims.ea_service_fee])
    chains = ctx.st["chain"].to_numpy()
    has = np.zeros(int(chains.max()) + 1 if len(chains) else 0, bool)
    has[chains[fees["sid"].to_numpy()]] = True
    return has[chains] if len(chains) else np.zeros(0, bool)


def outcome_at_previous_site(ctx: Context, claim_type: str) -> np.ndarray:
    """Per commencement: the outcome was counted at an earlier commencement of the same
    organisation in the period (Attachment A: "not ... included in the denominator of a Site if
    they have already achieved the relevant Outcome at a previous Site with the same organisation")."""
    st = ctx.st
    c = ctx.ok_claims([claim_type])
    if c.empty:
        return np.zeros(len(st), bool)
    first = (
        pd.DataFrame(
            {
                "pkey": c["pkey"].to_numpy(),
                "org": c["org"].to_numpy(),
                "order": st["order"].to_numpy()[c["sid"].to_numpy()],
            }
        )
        .groupby(["pkey", "org"])["order"]
        .min()
    )
    pos = first.index.get_indexer(pd.MultiIndex.from_arrays([st["pkey"], st["org"]]))
    first_order = take(first.to_numpy(), pos, np.iinfo(np.int64).max)
    return st["order"].to_numpy() > first_order


def removed_by_paired_outcome(ctx: Context, paired_claim: str) -> np.ndarray:
    """Per commencement: the paired outcome (a pathway outcome for a full measure, a full one for
    a pathway measure) was achieved at the organisation in the period (Table 2). Education outcomes
    from 17 August 2020 are not counted claims, so they never remove anyone."""
    return pair_flag(ctx.st, ctx.achieved_by_org([paired_claim]))


def has_eight_hour_benchmark(bench: np.ndarray, hours: int) -> np.ndarray:
    """The employment benchmark in effect is ``hours`` (eight) hours a week (Table 2, pathway measures).

    >>> has_eight_hour_benchmark(np.array([8, 15, 0]), 8).tolist()
    [True, False, False]
    """
    return np.asarray(bench) == hours


def education_26_by_org(ctx: Context) -> np.ndarray:
    """Per commencement: a counted 26-week full or pathway outcome for an Education Placement at the organisation."""
    c = ctx.ok_claims(ctx.params.education_26_outcomes)
    c = c.loc[(c["ptype"] == "education").to_numpy()]
    return pair_flag(ctx.st, c[["pkey", "org"]].drop_duplicates())


def derive_full_pathway(ctx: Context) -> list[pd.DataFrame]:
    """Records of the five full and pathway measures (working form, see :data:`RECORD_COLUMNS`)."""
    p = ctx.params
    st = ctx.st
    n = len(st)
    fee = ea_fee_by_chain(ctx)
    bench8 = has_eight_hour_benchmark(st["bench"].to_numpy(), p.eight_hour_benchmark)
    edu26 = education_26_by_org(ctx)
    lag = st["chain_start"].to_numpy() - st["chain_ref"].to_numpy()
    out = []
    for m in p.full_pathway_measures:
        ctype = p.numerator_claim[m]
        claims = ctx.ok_claims([ctype])
        in_win = claims.loc[(claims["lodged"] >= ctx.start).to_numpy()]
        before = claims.loc[(claims["lodged"] < ctx.start).to_numpy()]
        ctx.add_links(in_win, m, in_win["sid"].to_numpy())
        lodged, num = first_claim_per_stint(in_win, n)
        _, had_before = first_claim_per_stint(before, n)
        is52 = m in p.fifty_two_week_measures
        dur = st["eapps_chain"].to_numpy() + (st["os52_chain"].to_numpy() if is52 else 0)
        tia = st["eapps_site"].to_numpy() + (st["os52_site"].to_numpy() if is52 else 0) + lag
        cand = pd.DataFrame(
            {
                "pkey": st["pkey"].to_numpy(),
                "site": st["site"].to_numpy(),
                "sid": np.arange(n),
                "c": st["c"].to_numpy(),
                "numerator": num,
                "measure": m,
            }
        )
        f = Funnel(ctx.ledger, m, "site_commencements", cand, num)
        f.apply(
            "window_four_conditions",
            in_assessment_window(
                st["c"].to_numpy(), st["x"].to_numpy(), lodged, np.full(n, OPEN), ctx.start, ctx.cutoff
            ),
        )
        if p.window.drop_records_with_outcome_before_window:
            f.apply("outcome_lodged_before_window", ~had_before | num)
        f.apply("outcome_at_previous_site", ~outcome_at_previous_site(ctx, ctype))
        f.apply(
            "duration_threshold", meets_duration(dur, p.threshold_weeks[m], p.days_per_week), outcome_exception=True
        )
        f.apply("ea_service_fee", fee, outcome_exception=True)
        f.apply(
            "removed_by_paired_outcome",
            ~removed_by_paired_outcome(ctx, p.removed_by_outcome[m]),
            outcome_exception=True,
        )
        if m in p.pathway_measures:
            f.apply("eight_hour_benchmark", ~bench8, outcome_exception=True)
        if is52:
            f.apply("education_26_outcome", ~edu26, outcome_exception=True)
        ctx.count_once(f, st["site"].to_numpy(), st["contract"].to_numpy())
        k = f.kept()
        sid = k["sid"].to_numpy()
        out.append(
            pd.DataFrame(
                {
                    "measure": m,
                    "pkey": k["pkey"].to_numpy(),
                    "sid": sid,
                    "numerator": num[sid],
                    "tia": tia[sid],
                    "rec_c": st["c"].to_numpy()[sid],
                    "anchor": NEVER,
                    "lodged": np.where(num[sid], lodged[sid], OPEN),
                    "verif": OPEN,
                }
            )
        )
    return out
