"""Participants: characteristics (Table 4), where they are served, and their time in assistance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit.synth.params import MethodRules, WorldParams, load_method_rules
from toolkit.synth.structure import Structure

DAY = np.timedelta64(1, "D")


@dataclass
class People:
    participants: pd.DataFrame  # the participants table (contract columns)
    site_index: np.ndarray  # row of the structure's sites table serving each participant
    program: np.ndarray  # "DMS"/"ESS"
    ongoing_support: np.ndarray  # participant is in the Ongoing Support measure population
    referral: np.ndarray  # datetime64[D]
    commencement: np.ndarray  # datetime64[D] (for OS: start of the OS phase)
    exit: np.ndarray  # datetime64[D], NaT while in assistance at the window end
    duration: np.ndarray  # days in EA+PPS (or OS) at the site within the window, excluding suspensions
    anchor: np.ndarray  # datetime64[D] of a bonus/Work Assist anchor, NaT if none


def _cat(rng: np.random.Generator, spec: dict[str, Any], n: int, program: np.ndarray | None = None) -> np.ndarray:
    levels = spec["levels"]
    if program is None:
        return np.asarray(levels, dtype=object)[rng.choice(len(levels), size=n, p=spec["p"])]
    out = np.empty(n, dtype=object)
    for prog in ("DMS", "ESS"):
        m = program == prog
        out[m] = np.asarray(levels, dtype=object)[rng.choice(len(levels), size=int(m.sum()), p=spec[prog])]
    return out


def make_characteristics(
    rng: np.random.Generator, params: WorldParams, program: np.ndarray, esa_metro: np.ndarray
) -> dict[str, np.ndarray]:
    ch = params.participants["characteristics"]
    n = len(program)
    is_dms = program == "DMS"
    age = np.clip(
        np.round(rng.normal(ch["age"]["mean"], ch["age"]["sd"], n)), ch["age"]["min"], ch["age"]["max"]
    ).astype(int)
    js = ch["jsci_score"]
    jsci = np.where(
        is_dms, rng.normal(js["DMS"]["mean"], js["DMS"]["sd"], n), rng.normal(js["ESS"]["mean"], js["ESS"]["sd"], n)
    )
    jsci = np.clip(np.round(jsci), js["min"], js["max"]).astype(int)
    a_d, b_d = ch["time_on_income_support"]["DMS"]
    a_e, b_e = ch["time_on_income_support"]["ESS"]
    tois = np.round(np.where(is_dms, rng.beta(a_d, b_d, n), rng.beta(a_e, b_e, n)), 3)
    ud = ch["unemployment_duration_months"]
    unemp = np.where(
        is_dms,
        ud["DMS"]["median"] * np.exp(rng.normal(0, ud["DMS"]["sd"], n)),
        ud["ESS"]["median"] * np.exp(rng.normal(0, ud["ESS"]["sd"], n)),
    )
    unemp = np.round(np.clip(unemp, 0, ud["max"]), 1)
    mcc = 1 + rng.poisson(np.where(is_dms, ch["medical_condition_count"]["DMS"], ch["medical_condition_count"]["ESS"]))
    indigenous = rng.random(n) < params.participants["indigenous_share"]
    transition = rng.random(n) < ch["transition_participant"]
    phase = np.where(transition, _cat(rng, ch["transition_phase"], n), "none")
    return {
        "age": age,
        "age_youngest_child": _cat(rng, ch["age_youngest_child"], n),
        "barriers": _cat(rng, ch["barriers"], n),
        "ex_offender": rng.random(n) < ch["ex_offender"],
        "cald_group": _cat(rng, ch["cald_group"], n),
        "education": _cat(rng, ch["education"], n),
        "english_proficiency": _cat(rng, ch["english_proficiency"], n),
        "employment_benchmark": _cat(rng, ch["employment_benchmark"], n, program).astype(int),
        "funding_level": _cat(rng, ch["funding_level"], n, program).astype(int),
        "gender": _cat(rng, ch["gender"], n),
        "homeless": rng.random(n) < ch["homeless"],
        "indigenous": indigenous,
        "metro": esa_metro,
        "income_support_type": _cat(rng, ch["income_support_type"], n, program),
        "jsci_score": jsci,
        "time_on_income_support": tois,
        "unemployment_duration": unemp,
        "transition_participant": transition,
        "transition_phase": phase,
        "primary_condition": _cat(rng, ch["primary_condition"], n, program),
        "medical_condition_count": np.minimum(mcc, 12),
        "permanent_condition": rng.random(n) < ch["permanent_condition"],
        "esat_exempt": rng.random(n) < ch["esat_exempt"],
    }


def _site_sampler(st: Structure) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sites in contract order with cumulative shares: within a contract the cumulative share runs
    from c to c + 1, so one searchsorted over all sites picks a site of the chosen contract with
    probability its share. Returns (site order, cumulative shares, each site's contract row)."""
    site_contract = pd.Index(st.contracts["contract_id"]).get_indexer(st.sites["contract_id"])
    order = np.lexsort((np.arange(len(st.sites)), site_contract))
    within = st.site_share[order]
    cum = np.cumsum(within)
    first = np.r_[True, site_contract[order][1:] != site_contract[order][:-1]]
    base = np.maximum.accumulate(np.where(first, cum - within, 0.0))
    return order, site_contract[order] + (cum - base), site_contract


def _assign_sites(rng: np.random.Generator, st: Structure, program: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each participant's site: a contract of the program by caseload weight, then a site by its
    share within the contract. Returns site rows and each site's contract row."""
    order, global_cum, site_contract = _site_sampler(st)
    n = len(program)
    chosen = np.empty(n, dtype=np.int64)
    for prog in ("DMS", "ESS"):
        m = np.flatnonzero(program == prog)
        cidx = np.flatnonzero(st.contracts["program"].to_numpy() == prog)
        w = st.contract_weight[cidx] / st.contract_weight[cidx].sum()
        chosen[m] = cidx[rng.choice(len(cidx), size=len(m), p=w)]
    u = rng.random(n) * (1 - 1e-12)
    pos = np.searchsorted(global_cum, chosen + u, side="right")
    return order[np.minimum(pos, len(order) - 1)], site_contract


def _spells(
    rng: np.random.Generator,
    params: WorldParams,
    st: Structure,
    site_index: np.ndarray,
    os_pop: np.ndarray,
    min_days: int,
) -> dict[str, np.ndarray]:
    """Referral, commencement (from the site's opening), exit (closed sites end stints), days
    suspended and duration in assistance within the window; for the Ongoing Support population
    the OS phase from the later of commencement and the window start. Eligible: in the window
    with at least ``min_days`` (13 weeks) in assistance, or the OS minimum in OS."""
    P = params.participants
    w_start = np.datetime64(params.release.window_start, "D")
    w_end = np.datetime64(params.release.window_end, "D")
    n = len(site_index)
    s_open = st.sites["open_date"].to_numpy().astype("datetime64[D]")[site_index]
    s_close = st.sites["close_date"].to_numpy().astype("datetime64[D]")[site_index]
    lo = np.maximum(s_open, w_start - np.timedelta64(int(P["lookback_days"]), "D"))
    span = np.maximum((w_end - np.timedelta64(min_days, "D") - lo) / DAY, 0).astype(np.int64)
    commencement = lo + (rng.random(n) * (span + 1)).astype(np.int64) * DAY
    dl, sus = P["duration_lognormal"], P["suspension"]
    potential = np.round(dl["median_days"] * np.exp(rng.normal(0, dl["sd"], n))).astype(np.int64)
    suspended = np.where(rng.random(n) < sus["share"], rng.integers(sus["min_days"], sus["max_days"] + 1, n), 0)
    exit_ = commencement + (potential + suspended) * DAY
    exit_ = np.where(~np.isnat(s_close) & (s_close < exit_), s_close, exit_)
    still_in = exit_ > w_end
    exit_ = np.where(still_in, np.datetime64("NaT", "D"), exit_)
    end = np.where(still_in, w_end, exit_)
    duration = np.maximum(((end - commencement) / DAY).astype(np.int64) - suspended, 0)
    referral = commencement - rng.integers(0, P["referral_lag_days_max"] + 1, n) * DAY
    # Ongoing Support population: the OS phase starts after a 52-week outcome; the measure counts
    # days available in OS since 1 July 2018 and needs at least 26 calendar weeks.
    os_start = np.maximum(commencement, w_start)
    duration = np.where(os_pop, ((end - os_start) / DAY).astype(np.int64), duration)
    commencement = np.where(os_pop, os_start, commencement)
    in_window = still_in | (exit_ >= w_start)
    eligible = in_window & np.where(os_pop, duration >= P["ongoing_support_min_days"], duration >= min_days)
    return {
        "referral": referral,
        "commencement": commencement,
        "exit": exit_,
        "end": end,
        "duration": duration,
        "eligible": eligible,
    }


def _anchors(
    rng: np.random.Generator, params: WorldParams, os_pop: np.ndarray, sp: dict[str, np.ndarray], anchor_days: int
) -> np.ndarray:
    """Bonus / Work Assist anchors: for a share outside Ongoing Support, a placement day in the
    stint at least ``anchor_days`` (26 weeks) before the window end (NaT for the others)."""
    w_end = np.datetime64(params.release.window_end, "D")
    commencement, n = sp["commencement"], len(os_pop)
    anchor = np.full(n, np.datetime64("NaT", "D"))
    has_anchor = ~os_pop & (rng.random(n) < params.participants["bonus_share"])
    latest = np.minimum(sp["end"], w_end - np.timedelta64(anchor_days, "D"))
    a_span = ((latest - commencement) / DAY).astype(np.int64)
    has_anchor &= a_span >= 0
    anchor[has_anchor] = (
        commencement[has_anchor] + (rng.random(int(has_anchor.sum())) * (a_span[has_anchor] + 1)).astype(np.int64) * DAY
    )
    return anchor


_PARTICIPANT_COLUMNS = [
    "participant_id",
    "esa_id",
    "age",
    "age_youngest_child",
    "barriers",
    "ex_offender",
    "cald_group",
    "education",
    "english_proficiency",
    "employment_benchmark",
    "funding_level",
    "gender",
    "homeless",
    "indigenous",
    "metro",
    "income_support_type",
    "jsci_score",
    "os_funding_level",
    "time_on_income_support",
    "unemployment_duration",
    "transition_participant",
    "transition_phase",
    "primary_condition",
    "medical_condition_count",
    "permanent_condition",
    "esat_exempt",
]


def _participants_table(
    rng: np.random.Generator,
    params: WorldParams,
    st: Structure,
    program: np.ndarray,
    os_pop: np.ndarray,
    esa: np.ndarray,
) -> pd.DataFrame:
    """The participants table (contract columns): ids, ESA, Table 4 characteristics and the OS funding level."""
    metro = st.regions.set_index("esa_id")["metro"].reindex(esa).to_numpy(dtype=bool)
    chars = make_characteristics(rng, params, program, metro)
    lv = params.participants["characteristics"]["os_funding_level"]
    os_level = np.where(
        os_pop, np.asarray(lv["levels"], dtype=object)[rng.choice(3, size=len(program), p=lv["p"])], "none"
    )
    participants = pd.DataFrame(
        {
            "participant_id": [f"P{i:07d}" for i in range(1, len(program) + 1)],
            "esa_id": esa,
            **chars,
            "os_funding_level": os_level,
        }
    )[_PARTICIPANT_COLUMNS]
    for c in participants.columns:
        if participants[c].dtype == object:
            participants[c] = participants[c].astype("str")
    return participants


def make_people(
    rng: np.random.Generator, params: WorldParams, n_target: int, st: Structure, rules: MethodRules | None = None
) -> People:
    """Draw participants until ``n_target`` of them have at least 13 weeks in assistance within the window.

    ``rules``: the method's thresholds (default :func:`~toolkit.synth.params.load_method_rules`).
    Draws, in this order: program, site, Ongoing Support, spells, anchors, characteristics.
    """
    rules = rules or load_method_rules()
    n = int(n_target * 1.6) + 50
    program = np.where(rng.random(n) < params.participants["dms_share"], "DMS", "ESS")
    site_index, site_contract = _assign_sites(rng, st, program)
    os_pop = (program == "ESS") & (rng.random(n) < params.participants["ongoing_support_share_ess"])
    sp = _spells(rng, params, st, site_index, os_pop, rules.min_days)
    anchor = _anchors(rng, params, os_pop, sp, rules.anchor_days)
    keep = np.flatnonzero(sp["eligible"])[:n_target]
    esa = st.contracts["esa_id"].to_numpy()[site_contract[site_index[keep]]]
    participants = _participants_table(rng, params, st, program[keep], os_pop[keep], esa)
    return People(
        participants=participants,
        site_index=site_index[keep],
        program=program[keep],
        ongoing_support=os_pop[keep],
        referral=sp["referral"][keep],
        commencement=sp["commencement"][keep],
        exit=sp["exit"][keep],
        duration=sp["duration"][keep],
        anchor=anchor[keep],
    )
