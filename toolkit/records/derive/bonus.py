"""26-Week Bonus Outcomes joined with Work Assist 26-Week Outcomes (seed 001 Table 2, note 2,
"26 Week Bonus Outcomes", "Work Assist measure", Attachment A and Table 9).

Candidates are placements (anchors). A placement is in the denominator when, in order:

1. it is an apprenticeship or traineeship, directly related employment, a Work Assist
   participant's placement, or any employment or education placement of an Indigenous
   participant;
2. it started on or after 1 July 2018 ("Only anchors that occur from 1 July 2018 onwards");
3. it started at least 26 weeks before the end of the period (the claim cut-off);
4. (reading) it is not an Education Placement commenced on or after 17 August 2020;
5. the participant has a site commencement while tracking towards the outcome; the record
   sits at the last such site ("the last Site where they commenced and were tracking
   towards achieving the outcome", Table 9: the losing site is not included);
6. the record meets the two-year window conditions;
7. one record per participant, period and site (``records.one_record_per``; per contract under
   the earlier reading): numerator first, then the latest anchor.

The numerator is a pending or approved 26-Week Bonus or Work Assist 26-Week Outcome for the
anchor, or, for an Indigenous participant, a paid 26-week full or pathway outcome for it,
lodged in the window at the record's site.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.records.derive.context import Context
from toolkit.records.derive.events import OPEN, take
from toolkit.records.derive.ledger import Funnel
from toolkit.records.derive.window import in_assessment_window

#: The measure this module derives (its records, ledger rows and numerator links carry it).
MEASURE = "bonus_26"


def qualifying_anchor(app: np.ndarray, dre: np.ndarray, work_assist: np.ndarray, indigenous: np.ndarray) -> np.ndarray:
    """Apprenticeship/traineeship, directly related employment, Work Assist, or an Indigenous participant's placement.

    >>> qualifying_anchor(np.array([True, False, False, False]), np.array([False] * 4),
    ...                   np.array([False, False, True, False]), np.array([False, False, False, True])).tolist()
    [True, False, True, True]
    """
    return np.asarray(app, bool) | np.asarray(dre, bool) | np.asarray(work_assist, bool) | np.asarray(indigenous, bool)


def anchored_before_end(anchor: np.ndarray, cutoff: int, weeks: int, days_per_week: int) -> np.ndarray:
    """Anchor at least ``weeks`` weeks before the end of the period (``anchor <= cutoff - weeks * 7``).

    >>> anchored_before_end(np.array([99 - 182, 100 - 182, 101 - 182]), 100, 26, 7).tolist()
    [True, True, False]
    """
    return np.asarray(anchor) <= cutoff - weeks * days_per_week


def anchor_from_program_start(anchor: np.ndarray, program_start: int) -> np.ndarray:
    """Anchors on or after the program start (note 2: "from 1 July 2018 onwards"; Work Assist
    participants "commenced in Work Assist on or after 1 July 2018")."""
    return np.asarray(anchor) >= program_start


def education_anchor_excluded(ptype: np.ndarray, anchor: np.ndarray, exclusion_from: int) -> np.ndarray:
    """Education Placements commenced on or after the exclusion date (17 August 2020; reading)."""
    return (np.asarray(ptype) == "education") & (np.asarray(anchor) >= exclusion_from)


def tracking_site(anchors: pd.DataFrame, st: pd.DataFrame, tracking_days: int) -> np.ndarray:
    """Index of the commencement holding each anchor's record: the last commencement of the
    period that started before the end of the tracking period ``[anchor, anchor + tracking_days)``
    and ended (exit or transfer) no earlier than the anchor day (-1 if none)."""
    if anchors.empty:
        return np.zeros(0, dtype=np.int64)
    a = pd.DataFrame({"i": np.arange(len(anchors)), "pkey": anchors["pkey"].to_numpy(), "ps": anchors["ps"].to_numpy()})
    s = pd.DataFrame(
        {
            "pkey": st["pkey"].to_numpy(),
            "sid": np.arange(len(st)),
            "c": st["c"].to_numpy(),
            "x": st["x"].to_numpy(),
            "order": st["order"].to_numpy(),
        }
    )
    j = a.merge(s, on="pkey", how="inner")
    ok = (j["c"].to_numpy() < j["ps"].to_numpy() + tracking_days) & (j["x"].to_numpy() >= j["ps"].to_numpy())
    j = j.loc[ok].sort_values(["i", "order"], kind="stable").drop_duplicates("i", keep="last")
    out = np.full(len(anchors), -1, dtype=np.int64)
    out[j["i"].to_numpy()] = j["sid"].to_numpy()
    return out


def bonus_numerator_claims(ctx: Context, anchors: pd.DataFrame, indigenous: np.ndarray) -> pd.DataFrame:
    """Counted claims that put an anchor in the numerator, with the anchor's row ('a')."""
    p = ctx.params
    c = ctx.claims.loc[ctx.claims["ok"].to_numpy() & (ctx.claims["placement_id"] != "").to_numpy()]
    pos = pd.Index(anchors["placement_id"]).get_indexer(c["placement_id"])
    c = c.loc[pos >= 0].assign(a=pos[pos >= 0])
    bonus = c["ctype"].isin(list(p.bonus.numerator_claims)).to_numpy()
    indig = (
        c["ctype"].isin(list(p.bonus.indigenous_numerator_claims)).to_numpy()
        & c["status"].isin(list(p.claims.paid_statuses)).to_numpy()
        & indigenous[c["pkey"].to_numpy()]
    )
    return c.loc[bonus | indig]


def _bonus_lodged(
    ctx: Context, pl: pd.DataFrame, indigenous: np.ndarray, sid: np.ndarray, site_of: np.ndarray
) -> np.ndarray:
    """Per anchor: the earliest numerator claim lodged in the window at the record's site
    (:data:`OPEN` if none). Bonus and Work Assist claims lodged at another site are excluded
    (and set aside); the claims used are linked to the record for the reconciliation."""
    nc = bonus_numerator_claims(ctx, pl, indigenous)
    at_site = nc["site"].to_numpy() == site_of[nc["a"].to_numpy()]
    in_win = (nc["lodged"] >= ctx.start).to_numpy()
    other = nc.loc[~at_site & nc["ctype"].isin(list(ctx.params.bonus.numerator_claims)).to_numpy()]
    ctx.set_aside.append(other.index.to_numpy())
    ctx.ledger.exclude(
        "claims",
        "claim_other_site",
        other["pkey"].to_numpy(),
        other["site"].to_numpy(),
        MEASURE,
        other["claim_id"].to_numpy(),
        other["lodged"].to_numpy(),
        log_measure=MEASURE,
        considered=len(nc),
    )
    good = nc.loc[at_site & in_win]
    ctx.add_links(good, MEASURE, sid[good["a"].to_numpy()])
    lodged = np.full(len(pl), OPEN, dtype=np.int64)
    np.minimum.at(lodged, good["a"].to_numpy(), good["lodged"].to_numpy())
    return lodged


def derive_bonus(ctx: Context) -> pd.DataFrame:
    """Records of the joined 26-Week Bonus / Work Assist measure (working form)."""
    p = ctx.params
    st, pl = ctx.st, ctx.placements
    indigenous = np.zeros(ctx.n_people, bool)
    np.logical_or.at(indigenous, st["pkey"].to_numpy(), st["ind"].to_numpy())
    n = len(pl)
    sid = tracking_site(pl, st, ctx.weeks(p.bonus.tracking_weeks))
    site_of = take(st["site"].to_numpy(), sid, -1).astype(np.int64)
    lodged = _bonus_lodged(ctx, pl, indigenous, sid, site_of)
    num = lodged < OPEN
    cand = pd.DataFrame(
        {
            "pkey": pl["pkey"].to_numpy(),
            "site": np.where(sid >= 0, site_of, pl["site"].to_numpy()),
            "sid": sid,
            "c": pl["ps"].to_numpy(),
            "numerator": num,
            "measure": MEASURE,
            "event_id": pl["placement_id"].to_numpy(),
            "event_date": pl["ps"].to_numpy(),
        }
    )
    f = Funnel(ctx.ledger, MEASURE, "placements", cand, num)
    f.apply("anchor_type", qualifying_anchor(pl["app"], pl["dre"], pl["wa"], indigenous[pl["pkey"].to_numpy()]))
    f.apply("anchor_before_program", anchor_from_program_start(pl["ps"].to_numpy(), ctx.day(p.dates.program_start)))
    f.apply(
        "anchor_within_26_weeks",
        anchored_before_end(pl["ps"].to_numpy(), ctx.cutoff, p.bonus.anchor_weeks_before_end, p.days_per_week),
    )
    if p.bonus.education_anchors_excluded_from_exclusion_date:
        edu = education_anchor_excluded(
            pl["ptype"].to_numpy(), pl["ps"].to_numpy(), ctx.day(p.dates.education_exclusion_from)
        )
        f.apply("anchor_education_from_exclusion_date", ~edu)
    f.apply("anchor_no_tracking_site", sid >= 0)
    f.apply(
        "window_four_conditions",
        in_assessment_window(
            take(st["c"].to_numpy(), sid, OPEN),
            take(st["x"].to_numpy(), sid, OPEN),
            lodged,
            np.full(n, OPEN),
            ctx.start,
            ctx.cutoff,
        ),
    )
    ctx.count_once(f, take(st["site"].to_numpy(), sid, -1), take(st["contract"].to_numpy(dtype=object), sid, ""))
    k = np.flatnonzero(f.alive)
    ks = sid[k]
    return pd.DataFrame(
        {
            "measure": MEASURE,
            "pkey": pl["pkey"].to_numpy()[k],
            "sid": ks,
            "numerator": num[k],
            "tia": np.maximum(st["end"].to_numpy()[ks] - pl["ps"].to_numpy()[k], 0),
            "rec_c": st["c"].to_numpy()[ks],
            "anchor": pl["ps"].to_numpy()[k],
            "lodged": lodged[k],
            "verif": OPEN,
        }
    )
