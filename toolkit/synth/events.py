"""Raw events of the synthetic world, consistent with its measure records.

The world's records (``truth.py``) are drawn first; the events are then laid out so that the
rules of seed 001 (``toolkit derive``, March 2020 release = the world's window) give back
exactly those records. Everything here is drawn from its own random stream, so the other
tables of a world do not change. Choices that keep the records identical:

- every participant has one site commencement (the record's site); a participant flagged
  ``transferred`` first spent under 13 weeks at a site of another organisation (or, for a
  share, another program of the same organisation), so that duration restarts (Attachment A)
  and the losing site holds no record; or, for a transfer within the contract (drawn with the
  records, ``truth.ContractTransfers``), the days the world drew at another site of the same
  contract, in Employment Assistance with an EA Service Fee, the period's referral on both
  commencements: the duration at the record's site counts those days, and from 13 weeks the
  losing site holds its own 13-week record (Table 9), with an approved 13-week outcome claim
  (no placement) when that record is in the numerator;
- EA then PPS from the first placement, one suspension of the world's length inside the
  stint; an EA Service Fee at commencement (except, for a share of participants whose only
  full or pathway record is a 13-week numerator, none: the outcome exception includes them);
- each numerator record has a valid outcome claim on its lodgement date; bonus records have
  an anchor placement (apprenticeship or traineeship, directly related employment or Work
  Assist); outcome placements of other participants are plain employment or education;
- the world draws its bonus population independently of Indigenous status, so the outcome
  claims of Indigenous participants are not linked to a placement (an Indigenous
  participant's placement would be a bonus anchor); the derivation counts unlinked outcome
  claims as employment outcomes and logs them;
- Ongoing Support participants are transition OS participants (``transition_phase``
  ``ongoing_support`` on the commencement, whatever the participants table drew); those still
  in assistance but not in the numerator returned to EA before the cut-off; those exited in
  the numerator left as Independent Workers after an assessment recommended it;
- one thing the events cannot repair: the world can draw an Ongoing Support participant who
  left before 2 January 2019 (a record the seed's note 3 excludes); none do for seeds 1, 2, 7,
  11 and 2020, two of 18,537 do at national scale for seed 3, and for those the derivation
  (rightly) drops the record;
- noise the derivation must ignore: invalid outcome claims (rejected, withdrawn, recovered,
  confirmed for recovery, under one dollar), valid claims after the cut-off, $0 fees,
  superseded benchmarks, apprenticeships started less than 26 weeks before the cut-off, OS
  assessments of participants never in OS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from toolkit.config import load_yaml, resolve_config
from toolkit.synth.params import MethodRules, WorldParams, load_method_rules
from toolkit.synth.people import DAY, People
from toolkit.synth.structure import Structure
from toolkit.synth.truth import ContractTransfers

if TYPE_CHECKING:
    import numpy.typing as npt

NAT = np.datetime64("NaT", "D")


def load_event_params(path: str = "synth/des_events.yaml") -> dict[str, Any]:
    """Parameters of the events generator (``configs/synth/des_events.yaml``)."""
    return load_yaml(resolve_config(path, "synth"))


def _u(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Uniform integers in ``[lo, hi]`` (elementwise; ``hi < lo`` gives ``lo``)."""
    lo = np.asarray(lo, dtype=np.int64)
    span = np.maximum(np.asarray(hi, dtype=np.int64) - lo, 0)
    return lo + (rng.random(len(lo)) * (span + 1)).astype(np.int64)


def _choice(rng: np.random.Generator, probs: dict[str, float], n: int) -> np.ndarray:
    keys = list(probs)
    p = np.array([probs[k] for k in keys], float)
    return np.asarray(keys, dtype=object)[rng.choice(len(keys), size=n, p=p / p.sum())]


def _status(rng: np.random.Generator, n: int, pending_share: float) -> np.ndarray:
    return np.where(rng.random(n) < pending_share, "pending", "approved").astype(object)


def _participant_view(
    records: pd.DataFrame, people: People, st: Structure, ct: ContractTransfers, measures: tuple[str, ...]
) -> dict[str, Any]:
    """Per participant (row order of the participants table): the record site, its dates (the
    referral is the period's, before a losing stint within the contract) and per-measure facts of
    the records at that site (a losing site's records are ``ct``'s)."""
    n = len(people.participants)
    idx = records["participant_id"].str.slice(1).astype(int).to_numpy() - 1
    losing = np.full(n, None, dtype=object)
    losing[ct.who] = st.sites["site_id"].to_numpy()[ct.site_index]
    own = records["site_id"].to_numpy(dtype=object) != losing[idx]
    records, idx = records.loc[own], idx[own]
    first = ~pd.Series(idx).duplicated().to_numpy()
    base = records.loc[first]
    bi = idx[first]
    has_record = np.zeros(n, bool)
    has_record[bi] = True
    has_record[ct.who] = True  # a 13-week outcome at the losing site can leave none at the record site
    if not has_record.all():
        raise AssertionError("every synthetic participant has at least one record")  # a bug in the generator
    sites = st.sites.merge(st.contracts[["contract_id", "organisation_id", "program"]], on="contract_id", how="left")
    v: dict[str, Any] = {}
    for col in ("site_id", "contract_id", "organisation_id", "program"):
        v[col] = sites[col].to_numpy(dtype=object)[people.site_index]
    v["referral_date"] = people.referral - ct.per_participant(ct.days, n, 0) * DAY
    v["commencement_date"] = people.commencement
    v["exit_date"] = people.exit
    t = ct.per_participant(np.ones(len(ct.who), bool), n, False)
    t[bi] = base["transferred"].to_numpy(dtype=bool)
    v["transferred"] = t
    for m in measures:
        sel = (records["measure"] == m).to_numpy()
        has, num, lod, anc = np.zeros(n, bool), np.zeros(n, bool), np.full(n, NAT), np.full(n, NAT)
        has[idx[sel]] = True
        num[idx[sel]] = records["numerator"].to_numpy(dtype=bool)[sel]
        lod[idx[sel]] = records["outcome_lodged_date"].to_numpy().astype("datetime64[D]")[sel]
        anc[idx[sel]] = records["anchor_date"].to_numpy().astype("datetime64[D]")[sel]
        v[m] = {"has": has, "num": num, "lodged": lod, "anchor": anc}
    return v


def _losing_sites(
    rng: np.random.Generator, st: Structure, v: dict[str, Any], who: np.ndarray, share_org: float
) -> np.ndarray:
    """Index into ``st.sites`` of the site each transferred participant came from: another
    organisation's site of the same program (same ESA if possible), or, for the rest, a site of
    the same organisation in the other program; the site is open on the transfer date."""
    sites = st.sites.merge(
        st.contracts[["contract_id", "organisation_id", "program", "esa_id"]], on="contract_id", how="left"
    )
    s_org = pd.factorize(sites["organisation_id"])[0]
    org_codes = pd.Index(pd.unique(sites["organisation_id"]))
    s_prog = (sites["program"] == "ESS").to_numpy().astype(int)
    s_open = sites["open_date"].to_numpy().astype("datetime64[D]")
    s_close = sites["close_date"].to_numpy().astype("datetime64[D]")
    esa_of = st.contracts.set_index("contract_id")["esa_id"]
    by_prog_esa = {k: np.asarray(g) for k, g in sites.groupby([s_prog, sites["esa_id"].to_numpy()]).indices.items()}
    by_prog = {p: np.flatnonzero(s_prog == p) for p in (0, 1)}
    by_org_prog = {k: np.asarray(g) for k, g in sites.groupby([s_org, s_prog]).indices.items()}
    everything = np.arange(len(sites))
    want_org = rng.random(len(who)) < share_org
    pick = rng.random(len(who))
    out = np.empty(len(who), dtype=np.int64)
    for j, i in enumerate(who):
        o = org_codes.get_loc(v["organisation_id"][i])
        p = int(v["program"][i] == "ESS")
        c1 = v["commencement_date"][i]
        pools = [by_prog_esa.get((p, esa_of[v["contract_id"][i]]), everything[:0]), by_prog[p]] if want_org[j] else []
        pools += [by_org_prog.get((o, 1 - p), everything[:0]), everything]
        for cand in pools:
            ok = cand[
                ((s_org[cand] != o) | (s_prog[cand] != p))
                & (s_open[cand] <= c1)
                & (np.isnat(s_close[cand]) | (s_close[cand] >= c1))
            ]
            if len(ok):
                out[j] = ok[int(pick[j] * len(ok))]
                break
        else:
            raise AssertionError("no site to transfer from")  # a bug: the world always has another open site
    return out


@dataclass
class _Base:
    """Per participant (row order of the participants table): what every event table is laid out from."""

    part: pd.DataFrame
    n: int
    pid: np.ndarray
    v: dict[str, Any]  # _participant_view
    w_end: np.datetime64
    c: np.ndarray  # commencement at the record's site
    x: np.ndarray  # exit (NaT while in assistance)
    ref: np.ndarray  # referral
    still: np.ndarray  # still in assistance at the window end
    end: np.ndarray  # exit, or the window end
    os_pop: np.ndarray  # in the Ongoing Support population
    ind: np.ndarray  # Indigenous
    ep: dict[str, Any]  # events parameters
    rules: MethodRules  # the method's measures and thresholds
    ct: ContractTransfers  # transfers within a contract (truth.py)
    ct_site: np.ndarray  # the losing site id of each transfer within a contract
    os_min_days: int  # days in OS the world's Ongoing Support population has at least
    bench_levels: np.ndarray  # employment benchmark levels, ascending

    @property
    def osi(self) -> np.ndarray:
        return np.flatnonzero(self.os_pop)

    @property
    def non(self) -> np.ndarray:
        return np.flatnonzero(~self.os_pop)

    @property
    def os_level(self) -> np.ndarray:
        return self.part["os_funding_level"].to_numpy(dtype=object)


def _base(
    params: WorldParams,
    st: Structure,
    people: People,
    records: pd.DataFrame,
    ep: dict[str, Any],
    rules: MethodRules,
    ct: ContractTransfers,
) -> _Base:
    """The per-participant view of the world's records and people that the event tables share."""
    part = people.participants
    n = len(part)
    v = _participant_view(records, people, st, ct, rules.measures)
    w_end = np.datetime64(params.release.window_end, "D")
    x = v["exit_date"]
    still = np.isnat(x)
    return _Base(
        part=part,
        n=n,
        pid=part["participant_id"].to_numpy(dtype=object),
        v=v,
        w_end=w_end,
        c=v["commencement_date"],
        x=x,
        ref=v["referral_date"],
        still=still,
        end=np.where(still, w_end, x),
        os_pop=people.ongoing_support,
        ind=part["indigenous"].to_numpy(dtype=bool),
        ep=ep,
        rules=rules,
        ct=ct,
        ct_site=st.sites["site_id"].to_numpy(dtype=object)[ct.site_index],
        os_min_days=int(params.participants["ongoing_support_min_days"]),
        bench_levels=np.array(sorted(params.participants["characteristics"]["employment_benchmark"]["levels"])),
    )


class _Claims:
    """The claims table as it is laid out: one frame per :meth:`add`, kept in call order (the order
    breaks ties of the final sort, and each call without a status draws one)."""

    def __init__(self, rng: np.random.Generator, b: _Base):
        self.rng, self.pid = rng, b.pid
        self.amounts, self.pend = b.ep["claim_amounts"], float(b.ep["pending_share"])
        self.frames: list[pd.DataFrame] = []

    def add(
        self,
        who: npt.ArrayLike,
        site: npt.ArrayLike,
        ctype: npt.ArrayLike,
        lodged: npt.ArrayLike,
        amount: npt.ArrayLike | None = None,
        status: np.ndarray | None = None,
        recov: npt.ArrayLike | None = None,
        placement: npt.ArrayLike | None = None,
    ) -> None:
        """Claims of participants ``who`` (default: the type's amount, a drawn pending/approved status)."""
        who = np.asarray(who, dtype=np.int64)
        k = len(who)
        if k == 0:
            return
        ctype = np.broadcast_to(np.asarray(ctype, dtype=object), (k,))
        self.frames.append(
            pd.DataFrame(
                {
                    "participant_id": self.pid[who],
                    "period_of_service": 1,
                    "site_id": np.asarray(site, dtype=object),
                    "claim_type": ctype,
                    "amount": np.asarray(amount, float)
                    if amount is not None
                    else np.array([self.amounts[t] for t in ctype]),
                    "status": status if status is not None else _status(self.rng, k, self.pend),
                    "recovery_confirmed": np.asarray(recov, bool) if recov is not None else np.zeros(k, bool),
                    "lodged_date": np.asarray(lodged).astype("datetime64[D]"),
                    "placement_id": np.asarray(placement, dtype=object)
                    if placement is not None
                    else np.full(k, None, dtype=object),
                }
            )
        )

    def table(self) -> pd.DataFrame:
        """The claims, sorted by participant, lodgement and type, with claim ids in that order."""
        df = pd.concat(self.frames, ignore_index=True)
        df = df.sort_values(["participant_id", "lodged_date", "claim_type"], kind="stable", ignore_index=True)
        df.insert(0, "claim_id", [f"CL{k:09d}" for k in range(1, len(df) + 1)])
        return df


def _outcome_slack(b: _Base) -> tuple[np.ndarray, np.ndarray]:
    """Per participant: whether any full or pathway record is a numerator, and the fewest days
    between a numerator's duration threshold and its lodgement (its outcome placement starts
    within them, so the placement never moves the record)."""
    has_num = np.zeros(b.n, bool)
    slack = np.full(b.n, 10**6, dtype=np.int64)
    for m, days in b.rules.threshold_days.items():
        nm = b.v[m]["num"]
        has_num |= nm
        s = ((b.v[m]["lodged"] - b.c) / DAY).astype("float64") - days
        slack = np.where(nm, np.minimum(slack, np.nan_to_num(s, nan=10**6).astype(np.int64)), slack)
    return has_num, slack


def _placement_draws(rng: np.random.Generator, b: _Base) -> dict[str, np.ndarray]:
    """Per participant: the anchor's kind, the outcome placement (who, start, type) and the late
    apprenticeship noise (who, start)."""
    noise = b.ep["noise"]
    has_a = ~np.isnat(b.v["bonus_26"]["anchor"])
    kind = np.where(has_a, _choice(rng, b.ep["anchor_kinds"], b.n), "")
    has_num, slack = _outcome_slack(b)
    has_o = has_num & ~b.ind & ~b.os_pop
    o_start = b.c + _u(rng, np.zeros(b.n), np.maximum(slack, 0)) * DAY
    no52 = ~b.v["full_52"]["has"] & ~b.v["pathway_52"]["has"]
    o_type = np.where(no52 & (rng.random(b.n) < b.ep["education_share"]), "education", "employment")
    late_lo = np.maximum(b.c, b.w_end - (b.rules.anchor_days - 1) * DAY)  # too late to be an anchor
    late_hi = np.minimum(np.where(b.still, b.w_end, b.end - DAY), b.w_end)
    has_late = ~b.os_pop & (late_lo <= late_hi) & (rng.random(b.n) < noise["late_placement_share"])
    late_start = late_lo + _u(rng, np.zeros(b.n), ((late_hi - late_lo) / DAY).astype(np.int64)) * DAY
    return {
        "kind": kind,
        "has_a": has_a,
        "has_o": has_o,
        "o_start": o_start,
        "o_type": o_type,
        "has_late": has_late,
        "late_start": late_start,
    }


def _placements(
    rng: np.random.Generator, b: _Base
) -> tuple[pd.DataFrame, dict[int, np.ndarray], np.ndarray, np.ndarray]:
    """Placements: anchors of bonus records (role 0), outcome placements (role 1) and late
    apprenticeships (noise, role 2). Returns the table (with 'i' and 'role'), the placement id of
    roles 0 and 1 per participant, each participant's first placement day, and the anchor kinds."""
    d = _placement_draws(rng, b)
    kind, n, no, yes = d["kind"], b.n, np.zeros(b.n, bool), np.ones(b.n, bool)
    pls: list[pd.DataFrame] = []
    for mask, start, ptype, app, dre, wa in (
        (
            d["has_a"],
            b.v["bonus_26"]["anchor"],
            np.full(n, "employment"),
            kind == "apprenticeship_traineeship",
            kind == "directly_related_employment",
            kind == "work_assist",
        ),
        (d["has_o"], d["o_start"], d["o_type"], no, no, no),
        (d["has_late"], d["late_start"], np.full(n, "employment"), yes, no, no),
    ):
        w = np.flatnonzero(mask)
        pls.append(
            pd.DataFrame(
                {
                    "i": w,
                    "participant_id": b.pid[w],
                    "period_of_service": 1,
                    "site_id": b.v["site_id"][w],
                    "start_date": start[w],
                    "placement_type": np.asarray(ptype, dtype=object)[w],
                    "apprenticeship_traineeship": app[w],
                    "directly_related_employment": dre[w],
                    "work_assist": wa[w],
                    "role": len(pls),
                }
            )
        )
    placements = pd.concat(pls, ignore_index=True).sort_values(["i", "start_date", "role"], kind="stable")
    placements.insert(0, "placement_id", [f"PL{k:08d}" for k in range(1, len(placements) + 1)])
    pl_id = {}
    for role in (0, 1):
        r = placements[placements["role"] == role]
        a = np.full(n, None, dtype=object)
        a[r["i"].to_numpy()] = r["placement_id"].to_numpy()
        pl_id[role] = a
    first_pl = placements.groupby("i")["start_date"].min()
    pfirst = np.full(n, NAT)
    pfirst[first_pl.index.to_numpy()] = first_pl.to_numpy().astype("datetime64[D]")
    return placements, pl_id, pfirst, kind


def _transition_phase(b: _Base) -> np.ndarray:
    """Transition phase on the commencements: ``ongoing_support`` for the Ongoing Support population."""
    tp = b.part["transition_phase"].to_numpy(dtype=object).copy()
    tp[b.os_pop] = "ongoing_support"
    return tp


def _record_commencements(b: _Base) -> pd.DataFrame:
    """One site commencement per participant: the record's site, dates and exit reason."""
    # numpy's stubs leave None out of array-likes; np.where takes it as an object scalar
    reason = np.where(  # type: ignore[call-overload]
        b.still, None, np.where(b.os_pop & b.v["ongoing_support"]["num"], "independent_worker_assessment", "other")
    )
    return pd.DataFrame(
        {
            "participant_id": b.pid,
            "period_of_service": 1,
            "program": b.v["program"],
            "organisation_id": b.v["organisation_id"],
            "contract_id": b.v["contract_id"],
            "site_id": b.v["site_id"],
            "referral_date": b.ref,
            "commencement_date": b.c,
            "exit_date": b.x,
            "exit_reason": reason,
            "indigenous": b.ind,
            "transition_phase": _transition_phase(b),
        }
    )


def _losing_commencements(
    rng: np.random.Generator, b: _Base, st: Structure, claims: _Claims
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The commencements transferred participants left (ended by the transfer), with an EA Service
    Fee at each: under 13 weeks at a site of another organisation or program, or, for a transfer
    within the contract (``b.ct``), the losing site and days the world's truth drew, the period's
    referral on it. Returns them and the transfers (who 'tr', days 'k', start 'c0')."""
    tr = np.flatnonzero(b.v["transferred"])
    et = b.ep["transfer"]
    ls = _losing_sites(rng, st, b.v, tr, float(et["organisation_change_share"]))
    c = b.c
    s_open = st.sites["open_date"].to_numpy().astype("datetime64[D]")[ls]
    room = ((c[tr] - s_open) / DAY).astype(np.int64)
    lag = ((c[tr] - b.ref[tr]) / DAY).astype(np.int64)
    k = np.minimum(_u(rng, lag, np.full(len(tr), int(et["losing_stint_max_days"]))), room)
    ref_lag = _u(rng, np.zeros(len(tr)), np.full(len(tr), int(et["losing_referral_lag_days_max"])))
    # transfers within a contract: the drawn values above are set aside (so the others' draws stay the same)
    within = np.searchsorted(tr, b.ct.who)
    if len(within) and not np.array_equal(tr[within], b.ct.who):
        raise AssertionError("a transfer within a contract of a participant not transferred")  # a generator bug
    ls[within] = b.ct.site_index
    k[within] = b.ct.days
    c0 = c[tr] - k * DAY
    ref0 = c0 - ref_lag * DAY
    ref0[within] = b.ref[b.ct.who]
    lsite = st.sites.iloc[ls]
    lcon = st.contracts.set_index("contract_id").loc[lsite["contract_id"].to_numpy()]
    sc = pd.DataFrame(
        {
            "participant_id": b.pid[tr],
            "period_of_service": 1,
            "program": lcon["program"].to_numpy(),
            "organisation_id": lcon["organisation_id"].to_numpy(),
            "contract_id": lsite["contract_id"].to_numpy(),
            "site_id": lsite["site_id"].to_numpy(),
            "referral_date": ref0,
            "commencement_date": c0,
            "exit_date": c[tr],
            "exit_reason": "transfer",
            "indigenous": b.ind[tr],
            "transition_phase": _transition_phase(b)[tr],
        }
    )
    claims.add(tr, lsite["site_id"].to_numpy(), "ea_service_fee", c0)
    return sc, {"tr": tr, "k": k, "c0": c0}


def _phases(rng: np.random.Generator, b: _Base, pfirst: np.ndarray, transfers: dict[str, np.ndarray]) -> pd.DataFrame:
    """Phase spells: EA then PPS from the first placement; OS for the Ongoing Support population
    (back to EA before the cut-off for those still in assistance outside the numerator); EA at
    the losing site of a transfer."""
    c, x, non, osi = b.c, b.x, b.non, b.osi
    ph = []
    with_pl = ~np.isnat(pfirst[non]) & (pfirst[non] > c[non])
    ph.append(
        pd.DataFrame(
            {
                "i": non,
                "phase": np.where(np.isnat(pfirst[non]), "EA", np.where(with_pl, "EA", "PPS")),
                "start_date": c[non],
                "end_date": np.where(np.isnat(pfirst[non]), x[non], np.where(with_pl, pfirst[non], x[non])),
                "os_funding_level": "none",
            }
        )
    )
    w = non[with_pl]
    ph.append(
        pd.DataFrame({"i": w, "phase": "PPS", "start_date": pfirst[w], "end_date": x[w], "os_funding_level": "none"})
    )
    back = osi[b.still[osi] & ~b.v["ongoing_support"]["num"][osi]]
    dur = ((b.w_end - c[back]) / DAY).astype(np.int64)
    days_max = int(b.ep["ongoing_support"]["return_to_ea_days_max"])
    d = b.w_end - _u(rng, np.zeros(len(back)), np.minimum(days_max, dur - b.os_min_days)) * DAY
    os_end = x.copy()
    os_end[back] = d
    ph.append(
        pd.DataFrame(
            {
                "i": osi,
                "phase": "OS",
                "start_date": c[osi],
                "end_date": os_end[osi],
                "os_funding_level": b.os_level[osi],
            }
        )
    )
    ph.append(pd.DataFrame({"i": back, "phase": "EA", "start_date": d, "end_date": NAT, "os_funding_level": "none"}))
    tr, k, c0 = transfers["tr"], transfers["k"], transfers["c0"]
    pos = np.flatnonzero(k > 0)
    ph.append(
        pd.DataFrame(
            {"i": tr[pos], "phase": "EA", "start_date": c0[pos], "end_date": c[tr][pos], "os_funding_level": "none"}
        )
    )
    return pd.concat(ph, ignore_index=True)


def _suspensions(rng: np.random.Generator, b: _Base, duration: np.ndarray) -> pd.DataFrame:
    """Suspensions: the world's suspended days inside the stint (its duration excludes them), and
    for a share of the Ongoing Support population a suspension that does not count against OS."""
    eo = b.ep["ongoing_support"]
    span = ((b.end - b.c) / DAY).astype(np.int64)
    susp_len = np.where(b.os_pop, 0, span - duration.astype(np.int64))
    o_sus = b.os_pop & (rng.random(b.n) < eo["suspension_share"])
    lo_d, hi_d = eo["suspension_days"]
    susp_len = np.where(o_sus, np.minimum(_u(rng, np.full(b.n, lo_d), np.full(b.n, hi_d)), span), susp_len)
    has_s = susp_len > 0
    s0 = b.c + _u(rng, np.zeros(b.n), span - susp_len) * DAY
    sw = np.flatnonzero(has_s)
    return pd.DataFrame(
        {
            "participant_id": b.pid[sw],
            "period_of_service": 1,
            "start_date": s0[sw],
            "end_date": s0[sw] + susp_len[sw] * DAY,
        }
    )


def _ea_fee_claims(rng: np.random.Generator, b: _Base, claims: _Claims) -> None:
    """EA Service Fees at commencement (none, or a rejected one, for a share of participants whose
    only full or pathway record is a 13-week numerator) and extra $0 fees (noise)."""
    v, n, noise, site = b.v, b.n, b.ep["noise"], b.v["site_id"]
    only13 = v["full_13"]["num"] & ~v["full_26"]["has"] & ~v["pathway_26"]["has"]
    drop_fee = only13 & (rng.random(n) < noise["ea_fee_missing_share"])
    fee_day = b.c + _u(rng, np.zeros(n), np.full(n, int(b.ep["ea_fee_lodge_days_max"]))) * DAY
    w = np.flatnonzero(~b.os_pop & ~drop_fee)
    claims.add(w, site[w], "ea_service_fee", fee_day[w])
    w = np.flatnonzero(drop_fee & (rng.random(n) < 0.5))
    claims.add(w, site[w], "ea_service_fee", fee_day[w], status=np.full(len(w), "rejected", dtype=object))
    w = np.flatnonzero(~b.os_pop & (rng.random(n) < noise["zero_fee_share"]))
    claims.add(w, site[w], "ea_service_fee", fee_day[w] + DAY, amount=np.zeros(len(w)))


def _bonus_type(kind: np.ndarray) -> np.ndarray:
    """Claim type of each participant's bonus record: Work Assist or 26-Week Bonus, by anchor kind."""
    return np.where(kind == "work_assist", "work_assist_26", "bonus_26")


def _outcome_claims(b: _Base, claims: _Claims, pl_id: dict[int, np.ndarray], kind: np.ndarray) -> None:
    """A valid outcome claim for every numerator record, on its lodgement date, linked to the
    outcome placement (full and pathway) or the anchor (bonus / Work Assist)."""
    v, site = b.v, b.v["site_id"]
    for m in b.rules.outcome_measures:
        w = np.flatnonzero(v[m]["num"])
        claims.add(w, site[w], m, v[m]["lodged"][w], placement=pl_id[1][w])
    w = np.flatnonzero(v["bonus_26"]["num"])
    claims.add(w, site[w], _bonus_type(kind)[w], v["bonus_26"]["lodged"][w], placement=pl_id[0][w])
    # 13-week full outcomes at the losing site of a transfer within a contract (approved, no placement:
    # counted as employment outcomes; a status is not drawn, so the other claims' draws stay the same)
    ct = b.ct
    w = np.flatnonzero(ct.numerator)
    claims.add(ct.who[w], b.ct_site[w], "full_13", ct.lodged[w], status=np.full(len(w), "approved", dtype=object))


def _flexible_fee_claims(rng: np.random.Generator, b: _Base, claims: _Claims) -> None:
    """A Flexible OS fee for every Flexible Ongoing Support participant, and rejected ones (noise)."""
    eo, site, c = b.ep["ongoing_support"], b.v["site_id"], b.c
    flex = np.flatnonzero(b.os_pop & (b.os_level == "flexible"))
    claims.add(
        flex,
        site[flex],
        "flexible_os_fee",
        c[flex] + _u(rng, np.zeros(len(flex)), np.full(len(flex), int(eo["flexible_fee_lag_days_max"]))) * DAY,
    )
    rej = flex[rng.random(len(flex)) < b.ep["noise"]["rejected_flexible_fee_share"]]
    claims.add(rej, site[rej], "flexible_os_fee", c[rej], status=np.full(len(rej), "rejected", dtype=object))


def _invalid_claims_of(
    rng: np.random.Generator, b: _Base, claims: _Claims, m: str, ctype: np.ndarray, link: np.ndarray, lo: np.ndarray
) -> None:
    """Noise for measure ``m``'s records outside the numerator: invalid claims (rejected, withdrawn,
    recovered, confirmed for recovery, under one dollar) from ``lo`` to the window end, and valid
    claims after the cut-off."""
    noise, pend, site = b.ep["noise"], float(b.ep["pending_share"]), b.v["site_id"]
    cand = b.v[m]["has"] & ~b.v[m]["num"]
    w = np.flatnonzero(cand & (rng.random(b.n) < noise["invalid_outcome_claim_share"]))
    kd = _choice(rng, noise["invalid_kinds"], len(w))
    status = np.where(np.isin(kd, ["rejected", "withdrawn", "recovered"]), kd, _status(rng, len(w), pend)).astype(
        object
    )
    amount = np.where(
        kd == "under_one_dollar",
        float(noise["under_one_dollar_amount"]),
        np.array([claims.amounts[t] for t in ctype[w]]) if len(w) else np.zeros(0),
    )
    # numpy's stubs type datetime64 - datetime64 array as a datetime64 array; it is timedelta64
    days_left = b.w_end - lo[w]
    when = lo[w] + _u(rng, np.zeros(len(w)), (days_left / DAY).astype(np.int64)) * DAY  # type: ignore[operator]
    claims.add(
        w, site[w], ctype[w], when, amount=amount, status=status, recov=kd == "recovery_confirmed", placement=link[w]
    )
    w = np.flatnonzero(cand & (rng.random(b.n) < noise["after_cutoff_claim_share"]))
    when = b.w_end + _u(rng, np.ones(len(w)), np.full(len(w), int(noise["after_cutoff_days_max"]))) * DAY
    claims.add(w, site[w], ctype[w], when, placement=link[w])


def _invalid_claims(
    rng: np.random.Generator, b: _Base, claims: _Claims, pl_id: dict[int, np.ndarray], kind: np.ndarray
) -> None:
    """Noise claims of every full, pathway and bonus measure, in that order (see :func:`_invalid_claims_of`)."""
    for m in b.rules.outcome_measures + ("bonus_26",):
        if m == "bonus_26":
            _invalid_claims_of(rng, b, claims, m, _bonus_type(kind), pl_id[0], b.v["bonus_26"]["anchor"])
        else:
            _invalid_claims_of(rng, b, claims, m, np.full(b.n, m, dtype=object), pl_id[1], b.c)


def _benchmarks(rng: np.random.Generator, b: _Base) -> pd.DataFrame:
    """Employment benchmark assessments: the participant's at referral, and for a share an earlier
    superseded one with another value (noise)."""
    n, ref = b.n, b.ref
    bench = b.part["employment_benchmark"].to_numpy(dtype=np.int64)
    bm = [pd.DataFrame({"i": np.arange(n), "assessment_date": ref, "employment_benchmark": bench})]
    sup = np.flatnonzero(rng.random(n) < b.ep["noise"]["superseded_benchmark_share"])
    levels = b.bench_levels
    other = levels[(np.searchsorted(levels, bench[sup]) + 1 + rng.integers(0, len(levels) - 1, len(sup))) % len(levels)]
    bm.append(
        pd.DataFrame(
            {
                "i": sup,
                "assessment_date": ref[sup] - _u(rng, np.full(len(sup), 30), np.full(len(sup), 400)) * DAY,
                "employment_benchmark": other,
            }
        )
    )
    return pd.concat(bm, ignore_index=True)


def _os_assessments(rng: np.random.Generator, b: _Base) -> pd.DataFrame:
    """Ongoing Support assessments: further OS before OS starts, an Independent Worker exit before
    such an exit, and stray ones for participants never in OS (noise)."""
    eo, c, x, osi, non = b.ep["ongoing_support"], b.c, b.x, b.osi, b.non
    further = c[osi] - _u(rng, np.zeros(len(osi)), np.full(len(osi), int(eo["assessment_lead_days_max"]))) * DAY
    iw = osi[~b.still[osi] & b.v["ongoing_support"]["num"][osi]]
    iw_day = np.maximum(
        x[iw] - _u(rng, np.zeros(len(iw)), np.full(len(iw), int(eo["iw_assessment_lead_days_max"]))) * DAY, c[iw]
    )
    stray = non[rng.random(len(non)) < b.ep["noise"]["stray_os_assessment_share"]]
    assessments = pd.concat(
        [
            pd.DataFrame({"i": osi, "assessment_date": further, "recommendation": "further_ongoing_support"}),
            pd.DataFrame({"i": iw, "assessment_date": iw_day, "recommendation": "independent_worker_exit"}),
            pd.DataFrame(
                {
                    "i": stray,
                    "assessment_date": c[stray] + _u(rng, np.zeros(len(stray)), np.full(len(stray), 100)) * DAY,
                    "recommendation": "further_ongoing_support",
                }
            ),
        ],
        ignore_index=True,
    )
    assessments["site_id"] = b.v["site_id"][assessments["i"].to_numpy()]
    return assessments


def _no_verifications() -> pd.DataFrame:
    """Employment verifications: none (no Provider Initiated Independent Worker exits are drawn)."""
    return pd.DataFrame(
        {
            "participant_id": pd.Series(dtype=object),
            "period_of_service": pd.Series(dtype="int64"),
            "exit_date": pd.Series(dtype="datetime64[s]"),
            "verified_date": pd.Series(dtype="datetime64[s]"),
            "result": pd.Series(dtype=object),
            "method": pd.Series(dtype=object),
        }
    )


def _finish(df: pd.DataFrame, cols: list[str], order: list[str], pid: np.ndarray) -> pd.DataFrame:
    """A table in its contract's form: participant keys from 'i', sorted, typed (text, dates in seconds)."""
    if "i" in df:
        df = df.assign(participant_id=pid[df["i"].to_numpy()], period_of_service=1)
    df = df.sort_values(order, kind="stable", ignore_index=True)[cols]
    for col in cols:
        if df[col].dtype == object and col not in ("exit_reason", "placement_id"):
            df[col] = df[col].astype("str")
        if col.endswith("_date"):
            df[col] = pd.to_datetime(df[col]).astype("datetime64[s]")
    df["period_of_service"] = df["period_of_service"].astype("int64")
    return df


def _event_tables(t: dict[str, pd.DataFrame], pid: np.ndarray) -> dict[str, pd.DataFrame]:
    """The eight tables in contract form and order, from the laid-out frames ``t``."""
    key = ["participant_id", "period_of_service"]
    sc, claims = t["site_commencements"], t["claims"]
    return {
        "site_commencements": _finish(sc, list(sc.columns), key + ["commencement_date", "exit_date"], pid),
        "phases": _finish(
            t["phases"],
            key + ["phase", "start_date", "end_date", "os_funding_level"],
            key + ["start_date", "phase"],
            pid,
        ),
        "suspensions": _finish(t["suspensions"], key + ["start_date", "end_date"], key + ["start_date"], pid),
        "placements": _finish(
            t["placements"],
            [
                "placement_id",
                *key,
                "site_id",
                "start_date",
                "placement_type",
                "apprenticeship_traineeship",
                "directly_related_employment",
                "work_assist",
            ],
            ["placement_id"],
            pid,
        ),
        "claims": _finish(claims, list(claims.columns), ["claim_id"], pid),
        "benchmarks": _finish(
            t["benchmarks"], key + ["assessment_date", "employment_benchmark"], key + ["assessment_date"], pid
        ),
        "os_assessments": _finish(
            t["os_assessments"], key + ["site_id", "assessment_date", "recommendation"], key + ["assessment_date"], pid
        ),
        "employment_verifications": t["employment_verifications"],
    }


def make_events(
    rng: np.random.Generator,
    params: WorldParams,
    st: Structure,
    people: People,
    records: pd.DataFrame,
    ep: dict[str, Any] | None = None,
    rules: MethodRules | None = None,
    transfers: ContractTransfers | None = None,
) -> dict[str, pd.DataFrame]:
    """The eight event tables of ``data_contracts/events/`` for a generated world.

    ``rules``: the method's measures and thresholds (default :func:`~toolkit.synth.params.load_method_rules`).
    ``transfers``: the world's transfers within a contract (:func:`~toolkit.synth.truth.make_records`;
    default none). The steps draw from ``rng`` in this order (changing it changes every world's
    events); the transfers within a contract draw nothing here.
    """
    ct = transfers if transfers is not None else ContractTransfers.none()
    b = _base(params, st, people, records, ep or load_event_params(), rules or load_method_rules(), ct)
    claims = _Claims(rng, b)
    placements, pl_id, pfirst, kind = _placements(rng, b)
    losing, stints = _losing_commencements(rng, b, st, claims)
    t = {
        "site_commencements": pd.concat([_record_commencements(b), losing], ignore_index=True),
        "placements": placements,
    }
    t["phases"] = _phases(rng, b, pfirst, stints)
    t["suspensions"] = _suspensions(rng, b, people.duration)
    _ea_fee_claims(rng, b, claims)
    _outcome_claims(b, claims, pl_id, kind)
    _flexible_fee_claims(rng, b, claims)
    _invalid_claims(rng, b, claims, pl_id, kind)
    t["claims"] = claims.table()
    t["benchmarks"] = _benchmarks(rng, b)
    t["os_assessments"] = _os_assessments(rng, b)
    t["employment_verifications"] = _no_verifications()
    return _event_tables(t, b.pid)
