"""Raw events of the synthetic world, consistent with its measure records.

The world's records (``truth.py``) are drawn first; the events are then laid out so that the
rules of seed 001 (``toolkit derive``, March 2020 release = the world's window) give back
exactly those records. Everything here is drawn from its own random stream, so the other
tables of a world do not change. Choices that keep the records identical:

- every participant has one site commencement (the record's site); a participant flagged
  ``transferred`` first spent under 13 weeks at a site of another organisation (or, for a
  share, another program of the same organisation), so that duration restarts (Attachment A)
  and the losing site holds no record;
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

from typing import Any

import numpy as np
import pandas as pd

from toolkit.config import load_yaml, resolve_config
from toolkit.synth.params import WorldParams
from toolkit.synth.people import DAY, People
from toolkit.synth.structure import Structure
from toolkit.synth.truth import THRESHOLD_DAYS

NAT = np.datetime64("NaT", "D")
OUTCOME_MEASURES = ("full_13", "full_26", "pathway_26", "full_52", "pathway_52")


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


def _participant_view(records: pd.DataFrame, n: int) -> dict[str, Any]:
    """Per participant (row order of the participants table): site, dates and per-measure facts."""
    idx = records["participant_id"].str.slice(1).astype(int).to_numpy() - 1
    first = ~pd.Series(idx).duplicated().to_numpy()
    base = records.loc[first]
    bi = idx[first]
    if len(np.unique(bi)) != n:
        raise AssertionError("every synthetic participant has at least one record")  # a bug in the generator
    v: dict[str, Any] = {}
    for col in ("site_id", "contract_id", "organisation_id", "program"):
        a = np.empty(n, dtype=object)
        a[bi] = base[col].to_numpy(dtype=object)
        v[col] = a
    for col in ("referral_date", "commencement_date", "exit_date"):
        a = np.full(n, NAT)
        a[bi] = base[col].to_numpy().astype("datetime64[D]")
        v[col] = a
    t = np.zeros(n, bool)
    t[bi] = base["transferred"].to_numpy(dtype=bool)
    v["transferred"] = t
    for m in ("full_13", "full_26", "pathway_26", "bonus_26", "full_52", "pathway_52", "ongoing_support"):
        sel = (records["measure"] == m).to_numpy()
        has, num, lod, anc = np.zeros(n, bool), np.zeros(n, bool), np.full(n, NAT), np.full(n, NAT)
        has[idx[sel]] = True
        num[idx[sel]] = records["numerator"].to_numpy(dtype=bool)[sel]
        lod[idx[sel]] = records["outcome_lodged_date"].to_numpy().astype("datetime64[D]")[sel]
        anc[idx[sel]] = records["anchor_date"].to_numpy().astype("datetime64[D]")[sel]
        v[m] = {"has": has, "num": num, "lodged": lod, "anchor": anc}
    return v


def _losing_sites(rng, st: Structure, v: dict, who: np.ndarray, share_org: float) -> np.ndarray:
    """Index into ``st.sites`` of the site each transferred participant came from: another
    organisation's site of the same program (same ESA if possible), or, for the rest, a site of
    the same organisation in the other program; the site is open on the transfer date."""
    sites = st.sites.merge(st.contracts[["contract_id", "organisation_id", "program", "esa_id"]], on="contract_id",
                           how="left")
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
        pools = ([by_prog_esa.get((p, esa_of[v["contract_id"][i]]), everything[:0]), by_prog[p]] if want_org[j] else [])
        pools += [by_org_prog.get((o, 1 - p), everything[:0]), everything]
        for cand in pools:
            ok = cand[((s_org[cand] != o) | (s_prog[cand] != p)) & (s_open[cand] <= c1)
                      & (np.isnat(s_close[cand]) | (s_close[cand] >= c1))]
            if len(ok):
                out[j] = ok[int(pick[j] * len(ok))]
                break
        else:
            raise AssertionError("no site to transfer from")  # a bug: the world always has another open site
    return out


def make_events(rng: np.random.Generator, params: WorldParams, st: Structure, people: People,
                records: pd.DataFrame, ep: dict[str, Any] | None = None) -> dict[str, pd.DataFrame]:
    """The eight event tables of ``data_contracts/events/`` for a generated world."""
    ep = ep or load_event_params()
    part = people.participants
    n = len(part)
    v = _participant_view(records, n)
    pid = part["participant_id"].to_numpy(dtype=object)
    w_end = np.datetime64(params.release.window_end, "D")
    c, x, ref = v["commencement_date"], v["exit_date"], v["referral_date"]
    still = np.isnat(x)
    end = np.where(still, w_end, x)
    os_pop = people.ongoing_support
    ind = part["indigenous"].to_numpy(dtype=bool)
    amounts, pend = ep["claim_amounts"], float(ep["pending_share"])
    noise, eo = ep["noise"], ep["ongoing_support"]
    claims: list[dict] = []

    def add_claims(who, site, ctype, lodged, amount=None, status=None, recov=None, placement=None):
        who = np.asarray(who, dtype=np.int64)
        k = len(who)
        if k == 0:
            return
        ctype = np.broadcast_to(np.asarray(ctype, dtype=object), (k,))
        claims.append(pd.DataFrame({
            "participant_id": pid[who], "period_of_service": 1, "site_id": np.asarray(site, dtype=object),
            "claim_type": ctype,
            "amount": np.asarray(amount, float) if amount is not None else np.array([amounts[t] for t in ctype]),
            "status": status if status is not None else _status(rng, k, pend),
            "recovery_confirmed": np.asarray(recov, bool) if recov is not None else np.zeros(k, bool),
            "lodged_date": np.asarray(lodged).astype("datetime64[D]"),
            "placement_id": np.asarray(placement, dtype=object) if placement is not None else np.full(k, None, dtype=object)}))

    # --- placements: anchors (bonus records), outcome placements, late apprenticeships (noise)
    anchor = v["bonus_26"]["anchor"]
    has_a = ~np.isnat(anchor)
    kind = np.where(has_a, _choice(rng, ep["anchor_kinds"], n), "")
    has_num = np.zeros(n, bool)
    slack = np.full(n, 10**6, dtype=np.int64)
    for m in OUTCOME_MEASURES:
        nm = v[m]["num"]
        has_num |= nm
        s = ((v[m]["lodged"] - c) / DAY).astype("float64") - THRESHOLD_DAYS[m]
        slack = np.where(nm, np.minimum(slack, np.nan_to_num(s, nan=10**6).astype(np.int64)), slack)
    has_o = has_num & ~ind & ~os_pop
    o_start = c + _u(rng, np.zeros(n), np.maximum(slack, 0)) * DAY
    no52 = ~v["full_52"]["has"] & ~v["pathway_52"]["has"]
    o_type = np.where(no52 & (rng.random(n) < ep["education_share"]), "education", "employment")
    late_lo = np.maximum(c, w_end - 181 * DAY)
    late_hi = np.minimum(np.where(still, w_end, end - DAY), w_end)
    has_late = ~os_pop & (late_lo <= late_hi) & (rng.random(n) < noise["late_placement_share"])
    late_start = late_lo + _u(rng, np.zeros(n), ((late_hi - late_lo) / DAY).astype(np.int64)) * DAY
    pls = []
    for mask, start, ptype, app, dre, wa in (
            (has_a, anchor, np.full(n, "employment"), kind == "apprenticeship_traineeship",
             kind == "directly_related_employment", kind == "work_assist"),
            (has_o, o_start, o_type, np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool)),
            (has_late, late_start, np.full(n, "employment"), np.ones(n, bool), np.zeros(n, bool), np.zeros(n, bool))):
        w = np.flatnonzero(mask)
        pls.append(pd.DataFrame({"i": w, "participant_id": pid[w], "period_of_service": 1, "site_id": v["site_id"][w],
                                 "start_date": start[w], "placement_type": np.asarray(ptype, dtype=object)[w],
                                 "apprenticeship_traineeship": app[w], "directly_related_employment": dre[w],
                                 "work_assist": wa[w], "role": len(pls)}))
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

    # --- site commencements (and the losing sites of transferred participants)
    tp = part["transition_phase"].to_numpy(dtype=object).copy()
    tp[os_pop] = "ongoing_support"
    reason = np.where(still, None, np.where(os_pop & v["ongoing_support"]["num"], "independent_worker_assessment", "other"))
    sc = [pd.DataFrame({"participant_id": pid, "period_of_service": 1, "program": v["program"],
                        "organisation_id": v["organisation_id"], "contract_id": v["contract_id"], "site_id": v["site_id"],
                        "referral_date": ref, "commencement_date": c, "exit_date": x, "exit_reason": reason,
                        "indigenous": ind, "transition_phase": tp})]
    tr = np.flatnonzero(v["transferred"])
    et = ep["transfer"]
    ls = _losing_sites(rng, st, v, tr, float(et["organisation_change_share"]))
    s_open = st.sites["open_date"].to_numpy().astype("datetime64[D]")[ls]
    room = ((c[tr] - s_open) / DAY).astype(np.int64)
    lag = ((c[tr] - ref[tr]) / DAY).astype(np.int64)
    k = np.minimum(_u(rng, lag, np.full(len(tr), int(et["losing_stint_max_days"]))), room)
    c0 = c[tr] - k * DAY
    ref0 = c0 - _u(rng, np.zeros(len(tr)), np.full(len(tr), int(et["losing_referral_lag_days_max"]))) * DAY
    lsite = st.sites.iloc[ls]
    lcon = st.contracts.set_index("contract_id").loc[lsite["contract_id"].to_numpy()]
    sc.append(pd.DataFrame({"participant_id": pid[tr], "period_of_service": 1, "program": lcon["program"].to_numpy(),
                            "organisation_id": lcon["organisation_id"].to_numpy(),
                            "contract_id": lsite["contract_id"].to_numpy(), "site_id": lsite["site_id"].to_numpy(),
                            "referral_date": ref0, "commencement_date": c0, "exit_date": c[tr], "exit_reason": "transfer",
                            "indigenous": ind[tr], "transition_phase": tp[tr]}))
    add_claims(tr, lsite["site_id"].to_numpy(), "ea_service_fee", c0)

    # --- phases
    ph = []
    non = np.flatnonzero(~os_pop)
    with_pl = ~np.isnat(pfirst[non]) & (pfirst[non] > c[non])
    ph.append(pd.DataFrame({"i": non, "phase": np.where(np.isnat(pfirst[non]), "EA", np.where(with_pl, "EA", "PPS")),
                            "start_date": c[non], "end_date": np.where(np.isnat(pfirst[non]), x[non],
                                                                       np.where(with_pl, pfirst[non], x[non])),
                            "os_funding_level": "none"}))
    w = non[with_pl]
    ph.append(pd.DataFrame({"i": w, "phase": "PPS", "start_date": pfirst[w], "end_date": x[w], "os_funding_level": "none"}))
    osi = np.flatnonzero(os_pop)
    back = osi[still[osi] & ~v["ongoing_support"]["num"][osi]]
    dur = ((w_end - c[back]) / DAY).astype(np.int64)
    d = w_end - _u(rng, np.zeros(len(back)), np.minimum(int(eo["return_to_ea_days_max"]), dur - 182)) * DAY
    os_end = x.copy()
    os_end[back] = d
    lvl = part["os_funding_level"].to_numpy(dtype=object)
    ph.append(pd.DataFrame({"i": osi, "phase": "OS", "start_date": c[osi], "end_date": os_end[osi],
                            "os_funding_level": lvl[osi]}))
    ph.append(pd.DataFrame({"i": back, "phase": "EA", "start_date": d, "end_date": NAT, "os_funding_level": "none"}))
    pos = np.flatnonzero(k > 0)
    ph.append(pd.DataFrame({"i": tr[pos], "phase": "EA", "start_date": c0[pos], "end_date": c[tr][pos],
                            "os_funding_level": "none"}))
    phases = pd.concat(ph, ignore_index=True)

    # --- suspensions: the world's suspended days inside the stint (its duration excludes them)
    span = ((end - c) / DAY).astype(np.int64)
    dur_days = people.duration.astype(np.int64)
    susp_len = np.where(os_pop, 0, span - dur_days)
    o_sus = os_pop & (rng.random(n) < eo["suspension_share"])
    lo_d, hi_d = eo["suspension_days"]
    susp_len = np.where(o_sus, np.minimum(_u(rng, np.full(n, lo_d), np.full(n, hi_d)), span), susp_len)
    has_s = susp_len > 0
    s0 = c + _u(rng, np.zeros(n), span - susp_len) * DAY
    sw = np.flatnonzero(has_s)
    suspensions = pd.DataFrame({"participant_id": pid[sw], "period_of_service": 1, "start_date": s0[sw],
                                "end_date": s0[sw] + susp_len[sw] * DAY})

    # --- claims: EA Service Fees, outcomes, bonus / Work Assist, Flexible OS fees, noise
    only13 = v["full_13"]["num"] & ~v["full_26"]["has"] & ~v["pathway_26"]["has"]
    drop_fee = only13 & (rng.random(n) < noise["ea_fee_missing_share"])
    fee_day = c + _u(rng, np.zeros(n), np.full(n, int(ep["ea_fee_lodge_days_max"]))) * DAY
    w = np.flatnonzero(~os_pop & ~drop_fee)
    add_claims(w, v["site_id"][w], "ea_service_fee", fee_day[w])
    w = np.flatnonzero(drop_fee & (rng.random(n) < 0.5))
    add_claims(w, v["site_id"][w], "ea_service_fee", fee_day[w], status=np.full(len(w), "rejected", dtype=object))
    w = np.flatnonzero(~os_pop & (rng.random(n) < noise["zero_fee_share"]))
    add_claims(w, v["site_id"][w], "ea_service_fee", fee_day[w] + DAY, amount=np.zeros(len(w)))
    for m in OUTCOME_MEASURES:
        w = np.flatnonzero(v[m]["num"])
        add_claims(w, v["site_id"][w], m, v[m]["lodged"][w], placement=pl_id[1][w])
    bonus_type = np.where(kind == "work_assist", "work_assist_26", "bonus_26")
    w = np.flatnonzero(v["bonus_26"]["num"])
    add_claims(w, v["site_id"][w], bonus_type[w], v["bonus_26"]["lodged"][w], placement=pl_id[0][w])
    flex = np.flatnonzero(os_pop & (lvl == "flexible"))
    add_claims(flex, v["site_id"][flex], "flexible_os_fee",
               c[flex] + _u(rng, np.zeros(len(flex)), np.full(len(flex), int(eo["flexible_fee_lag_days_max"]))) * DAY)
    rej = flex[rng.random(len(flex)) < noise["rejected_flexible_fee_share"]]
    add_claims(rej, v["site_id"][rej], "flexible_os_fee", c[rej], status=np.full(len(rej), "rejected", dtype=object))
    kinds = noise["invalid_kinds"]
    for m in OUTCOME_MEASURES + ("bonus_26",):
        cand = v[m]["has"] & ~v[m]["num"]
        ctype = bonus_type if m == "bonus_26" else np.full(n, m, dtype=object)
        link = pl_id[0] if m == "bonus_26" else pl_id[1]
        lo = v["bonus_26"]["anchor"] if m == "bonus_26" else c
        w = np.flatnonzero(cand & (rng.random(n) < noise["invalid_outcome_claim_share"]))
        kd = _choice(rng, kinds, len(w))
        status = np.where(np.isin(kd, ["rejected", "withdrawn", "recovered"]), kd, _status(rng, len(w), pend)).astype(object)
        amount = np.where(kd == "under_one_dollar", float(noise["under_one_dollar_amount"]),
                          np.array([amounts[t] for t in ctype[w]]) if len(w) else np.zeros(0))
        when = lo[w] + _u(rng, np.zeros(len(w)), ((w_end - lo[w]) / DAY).astype(np.int64)) * DAY
        add_claims(w, v["site_id"][w], ctype[w], when, amount=amount, status=status, recov=kd == "recovery_confirmed",
                   placement=link[w])
        w = np.flatnonzero(cand & (rng.random(n) < noise["after_cutoff_claim_share"]))
        when = w_end + _u(rng, np.ones(len(w)), np.full(len(w), int(noise["after_cutoff_days_max"]))) * DAY
        add_claims(w, v["site_id"][w], ctype[w], when, placement=link[w])
    claims_df = pd.concat(claims, ignore_index=True)
    claims_df = claims_df.sort_values(["participant_id", "lodged_date", "claim_type"], kind="stable", ignore_index=True)
    claims_df.insert(0, "claim_id", [f"CL{k:09d}" for k in range(1, len(claims_df) + 1)])

    # --- benchmarks, OS assessments, verifications
    bench = part["employment_benchmark"].to_numpy(dtype=np.int64)
    bm = [pd.DataFrame({"i": np.arange(n), "assessment_date": ref, "employment_benchmark": bench})]
    sup = np.flatnonzero(rng.random(n) < noise["superseded_benchmark_share"])
    levels = np.array([8, 15, 23, 30])
    other = levels[(np.searchsorted(levels, bench[sup]) + 1 + rng.integers(0, 3, len(sup))) % 4]
    bm.append(pd.DataFrame({"i": sup, "assessment_date": ref[sup] - _u(rng, np.full(len(sup), 30), np.full(len(sup), 400)) * DAY,
                            "employment_benchmark": other}))
    benchmarks = pd.concat(bm, ignore_index=True)
    further = c[osi] - _u(rng, np.zeros(len(osi)), np.full(len(osi), int(eo["assessment_lead_days_max"]))) * DAY
    iw = osi[~still[osi] & v["ongoing_support"]["num"][osi]]
    iw_day = np.maximum(x[iw] - _u(rng, np.zeros(len(iw)), np.full(len(iw), int(eo["iw_assessment_lead_days_max"]))) * DAY, c[iw])
    stray = non[rng.random(len(non)) < noise["stray_os_assessment_share"]]
    assessments = pd.concat([
        pd.DataFrame({"i": osi, "assessment_date": further, "recommendation": "further_ongoing_support"}),
        pd.DataFrame({"i": iw, "assessment_date": iw_day, "recommendation": "independent_worker_exit"}),
        pd.DataFrame({"i": stray, "assessment_date": c[stray] + _u(rng, np.zeros(len(stray)), np.full(len(stray), 100)) * DAY,
                      "recommendation": "further_ongoing_support"})], ignore_index=True)
    assessments["site_id"] = v["site_id"][assessments["i"].to_numpy()]
    verifications = pd.DataFrame({"participant_id": pd.Series(dtype=object), "period_of_service": pd.Series(dtype="int64"),
                                  "exit_date": pd.Series(dtype="datetime64[s]"), "verified_date": pd.Series(dtype="datetime64[s]"),
                                  "result": pd.Series(dtype=object), "method": pd.Series(dtype=object)})

    def finish(df: pd.DataFrame, cols: list[str], order: list[str]) -> pd.DataFrame:
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

    key = ["participant_id", "period_of_service"]
    return {
        "site_commencements": finish(pd.concat(sc, ignore_index=True),
                                     list(sc[0].columns), key + ["commencement_date", "exit_date"]),
        "phases": finish(phases, key + ["phase", "start_date", "end_date", "os_funding_level"], key + ["start_date", "phase"]),
        "suspensions": finish(suspensions, key + ["start_date", "end_date"], key + ["start_date"]),
        "placements": finish(placements, ["placement_id", *key, "site_id", "start_date", "placement_type",
                                          "apprenticeship_traineeship", "directly_related_employment", "work_assist"],
                             ["placement_id"]),
        "claims": finish(claims_df, list(claims_df.columns), ["claim_id"]),
        "benchmarks": finish(benchmarks, key + ["assessment_date", "employment_benchmark"], key + ["assessment_date"]),
        "os_assessments": finish(assessments, key + ["site_id", "assessment_date", "recommendation"],
                                 key + ["assessment_date"]),
        "employment_verifications": verifications,
    }
