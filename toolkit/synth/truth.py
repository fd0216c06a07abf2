"""The true outcome model of the synthetic world, site effects, and the measure records it produces.

Every record carries its true outcome probability ``p_true`` and the probability
``p_average_site`` the same participant would have at an average site (all site
effects zero). Summed per entity these are the oracle actual and expected outcomes.

Denominator exclusions between full and pathway outcomes follow Table 2: a
participant who achieved the 26-week pathway outcome leaves the full_26
denominator, and one who achieved the full outcome leaves the pathway one
(likewise at 52 weeks); pathway denominators also exclude participants with an
eight-hour benchmark. The outcome is drawn as full first, then pathway among
those without a full outcome, so the probability of a record *given that it is
in its denominator* is known exactly:
``P(full | not pathway) = p_f / (p_f + (1 - p_f)(1 - p_p))`` and
``P(pathway | not full) = p_p``.

Transfers within a contract (:class:`ContractTransfers`, drawn from their own stream): a share of
the transferred participants came from another site of their own contract, so their duration in
assistance at the record's site counts the days at the losing site too (Attachment A: same
organisation, same program), and a losing stint of 13 weeks or more gives the losing site a
13-week full record of its own (Table 9, losing site; records per site, ``records.one_record_per:
site``), in the numerator with its own true probability (there, not transferred). A 13-week
outcome at the losing site keeps the participant out of the record site's 13-week denominator
(Attachment A: "already achieved the relevant Outcome at a previous Site with the same
organisation").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import ConfigError
from toolkit.synth.params import MethodRules, WorldParams, load_method_rules
from toolkit.synth.people import DAY, People
from toolkit.synth.structure import Structure


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _cat_effect(table: dict, values: np.ndarray) -> np.ndarray:
    lookup = {str(k).lower(): float(v) for k, v in table.items()}
    keys = pd.Series(values).astype(str).str.lower()
    out = keys.map(lookup)
    if out.isna().any():
        missing = sorted(set(keys[out.isna()]))
        raise KeyError(f"true model has no effect for levels {missing}")
    return out.to_numpy(dtype=float)


def shared_linear_predictor(params: WorldParams, part: pd.DataFrame, regions: pd.DataFrame) -> np.ndarray:
    """Participant part of the log-odds (everything but intercept, time in assistance and site)."""
    tm = params.true_model
    sm = tm.smooth
    reg = regions.set_index("esa_id").reindex(part["esa_id"])
    age = part["age"].to_numpy(float)
    js = part["jsci_score"].to_numpy(float)
    tois = part["time_on_income_support"].to_numpy(float)
    ud = part["unemployment_duration"].to_numpy(float)
    ivi = reg["ivi_growth"].to_numpy(float)
    ur = reg["unemployment_rate"].to_numpy(float)
    eta = (
        sm["age"]["curvature"] * (age - sm["age"]["peak"]) ** 2
        + sm["jsci_score"]["slope"] * js
        + sm["jsci_score"]["curvature"] * js**2
        + sm["time_on_income_support"]["coef"] * tois ** sm["time_on_income_support"]["power"]
        + sm["unemployment_duration"]["coef"] * np.log1p(ud / sm["unemployment_duration"]["scale_months"])
        + sm["ivi_growth"]["amplitude"] * np.tanh(ivi / sm["ivi_growth"]["scale"])
        + sm["unemployment_rate"]["slope"] * (ur - sm["unemployment_rate"]["centre"])
        + sm["unemployment_rate"]["curvature"] * (ur - sm["unemployment_rate"]["centre"]) ** 2
        + tm.linear["low_skill_vacancy_rate"] * reg["low_skill_vacancy_rate"].to_numpy(float)
        + tm.linear["log_labour_market_size"] * np.log(reg["labour_market_size"].to_numpy(float))
        + tm.linear["sfd_change"] * reg["sfd_change"].to_numpy(float)
        + tm.linear["medical_condition_count"] * part["medical_condition_count"].to_numpy(float)
    )
    for col, table in tm.categorical.items():
        if col == "indigenous_metro":
            vals = part["indigenous"].to_numpy(bool) & part["metro"].to_numpy(bool)
        elif col == "transferred":
            continue  # a record attribute, added per record
        else:
            vals = part[col].to_numpy()
        eta = eta + _cat_effect(table, vals)
    return eta


def time_effect(params: WorldParams, measure: str, tia_days: np.ndarray) -> np.ndarray:
    sm = params.true_model.smooth
    if measure == "ongoing_support":
        return sm["time_in_ongoing_support"]["decline_per_year"] * tia_days / 365.0
    if measure == "bonus_26":
        return np.zeros_like(tia_days, dtype=float)
    t = sm["time_in_assistance"]
    return t["rise"] * np.log1p(tia_days / t["scale_days"]) + t["decline_per_year"] * tia_days / 365.0


def make_site_effects(
    rng: np.random.Generator, params: WorldParams, st: Structure, rules: MethodRules | None = None
) -> pd.DataFrame:
    """True site effects (log-odds), one row per site and measure of its program (``rules``: the
    method's measures, default :func:`~toolkit.synth.params.load_method_rules`)."""
    measures = (rules or load_method_rules()).measures
    se = params.site_effects
    sites = st.sites.merge(st.contracts[["contract_id", "organisation_id", "program"]], on="contract_id", how="left")
    org_codes, org_u = pd.factorize(sites["organisation_id"], sort=True)
    con_codes, con_u = pd.factorize(sites["contract_id"], sort=True)
    z_org = rng.standard_normal(len(org_u))
    z_con = rng.standard_normal(len(con_u))
    z_site = rng.standard_normal(len(sites))
    w = se.shares
    g = (
        np.sqrt(w["organisation"]) * z_org[org_codes]
        + np.sqrt(w["contract"]) * z_con[con_codes]
        + np.sqrt(w["site"]) * z_site
    )
    e = rng.standard_normal((len(sites), len(measures)))
    rho = se.cross_measure_correlation
    frames = []
    for j, m in enumerate(measures):
        b = se.sd * se.measure_scale[m] * (np.sqrt(rho) * g + np.sqrt(1 - rho) * e[:, j])
        f = pd.DataFrame(
            {
                "site_id": sites["site_id"],
                "contract_id": sites["contract_id"],
                "organisation_id": sites["organisation_id"],
                "program": sites["program"],
                "measure": m,
                "general_factor": g,
                "effect": b,
            }
        )
        if m == "ongoing_support":
            f = f[f["program"] == "ESS"]
        frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["site_id", "measure"], kind="stable").reset_index(drop=True)


#: ``probs(measure, who, losing site rows, tia) -> (p_true, p_average_site)`` of participants ``who`` at
#: the losing sites of their transfers within a contract, where they are not transferred in
LosingSiteProbabilities = Callable[[str, np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
#: One outcome of the world per measure: (records mask, measure, numerator, p_true, p_average_site, time in assistance).
Outcome = tuple[np.ndarray, str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
#: ``probs(measure, tia) -> (p_true, p_average_site)`` per participant
OutcomeProbabilities = Callable[[str, np.ndarray], tuple[np.ndarray, np.ndarray]]
NAT = np.datetime64("NaT", "D")


def _record_entities(st: Structure, people: People) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Site, contract and organisation of each participant's records."""
    sites = st.sites
    site_id = sites["site_id"].to_numpy()[people.site_index]
    contract_id = sites["contract_id"].to_numpy()[people.site_index]
    org_of = st.contracts.set_index("contract_id")["organisation_id"]
    return site_id, contract_id, org_of.reindex(contract_id).to_numpy()


def _outcome_probabilities(
    params: WorldParams,
    st: Structure,
    people: People,
    site_effects: pd.DataFrame,
    site_id: np.ndarray,
    transferred: np.ndarray,
) -> OutcomeProbabilities:
    """``probs(measure, tia) -> (p_true, p_average_site)`` per participant: the true model at the
    participant's site, and at an average site (all site effects zero)."""
    tm = params.true_model
    part, program, n = people.participants, people.program, len(people.participants)
    eta_p = shared_linear_predictor(params, part, st.regions) + _cat_effect(tm.categorical["transferred"], transferred)
    eff = site_effects.set_index(["site_id", "measure"])["effect"]

    def probs(measure: str, tia: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        icpt = np.where(program == "DMS", tm.intercept["DMS"].get(measure, np.nan), tm.intercept["ESS"][measure])
        base = icpt + tm.effect_scale[measure] * (eta_p + time_effect(params, measure, tia))
        b = eff.reindex(pd.MultiIndex.from_arrays([site_id, np.full(n, measure)])).to_numpy(dtype=float)
        b = np.nan_to_num(b)  # DMS sites have no ongoing_support effect; those rows are never used
        return _sigmoid(base + b), _sigmoid(base)

    return probs


def _losing_site_probabilities(
    params: WorldParams, st: Structure, people: People, site_effects: pd.DataFrame, site_id: np.ndarray
) -> LosingSiteProbabilities:
    """The true model at the losing site of a transfer within a contract, for a record that is not
    transferred (the participant commenced there)."""
    n = len(people.participants)
    site_ids = st.sites["site_id"].to_numpy()

    def probs(measure: str, who: np.ndarray, site_index: np.ndarray, tia: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        at = site_id.copy()
        at[who] = site_ids[site_index]
        f = _outcome_probabilities(params, st, people, site_effects, at, np.zeros(n, bool))
        t = np.zeros(n)
        t[who] = tia
        p, pa = f(measure, t)
        return p[who], pa[who]

    return probs


def _losing_tia(people: People, who: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Time in assistance at the losing site: its days, plus referral to commencement (the world's
    referral lag; the period's referral is ``days`` before the record's)."""
    lag = ((people.commencement[who] - people.referral[who]) / DAY).astype(np.int64)
    return (days + lag).astype(float)


@dataclass(frozen=True)
class ContractTransfers:
    """Transferred participants who came from another site of their own contract (same organisation
    and program, so one transfer chain: Attachment A), one row each, participants ascending.

    ``site_index``: the losing site (row of the structure's sites table); ``days``: days at the
    losing site, in Employment Assistance without suspension, up to the commencement at the record's
    site; ``numerator``: a 13-week full outcome lodged at the losing site (on ``lodged``, before the
    transfer); ``record``: the losing site has a 13-week full record in the world (Table 9 losing
    site: 13 weeks or more, in the window; under ``records.one_record_per: contract`` only when in
    the numerator, the record the contract keeps).
    """

    who: np.ndarray
    site_index: np.ndarray
    days: np.ndarray
    numerator: np.ndarray
    lodged: np.ndarray
    record: np.ndarray

    @classmethod
    def none(cls) -> ContractTransfers:
        e = np.zeros(0, dtype=np.int64)
        return cls(e, e, e, np.zeros(0, bool), np.zeros(0, "datetime64[D]"), np.zeros(0, bool))

    def per_participant(self, values: np.ndarray, n: int, fill: Any) -> np.ndarray:
        """``values`` (one per transfer) spread over ``n`` participants, ``fill`` for the others."""
        out = np.full(n, fill)
        out[self.who] = values
        return out


def _within_contract_params(params: WorldParams, rules: MethodRules) -> tuple[float, int, int]:
    """``participants.transfer_within_contract``: (share of the transferred, fewest and most days at the
    losing site); no such key, no transfers within a contract. The most stays under the second-shortest
    threshold, so the losing site holds a 13-week record only."""
    spec = params.participants.get("transfer_within_contract")
    if not spec:
        return 0.0, 0, 0
    lo, hi = (int(d) for d in spec["losing_days"])
    second = sorted(set(rules.threshold_days.values()))[1]
    if not 0 <= float(spec["share"]) <= 1 or not 1 <= lo <= hi < second:
        raise ConfigError(
            "participants.transfer_within_contract: share in [0, 1] and 1 <= losing_days[0] <= losing_days[1] "
            f"< {second} (the generator writes only the 13-week record at the losing site)"
        )
    return float(spec["share"]), lo, hi


def _losing_site_within_contract(
    st: Structure, people: People, cand: np.ndarray, days: np.ndarray, pick: np.ndarray
) -> np.ndarray:
    """For each candidate participant: another site of the contract of their record's site, open on the
    losing commencement and not closed before the transfer (-1 when the contract has none)."""
    sites = st.sites
    contract = sites["contract_id"].to_numpy()
    s_open = sites["open_date"].to_numpy().astype("datetime64[D]")
    s_close = sites["close_date"].to_numpy().astype("datetime64[D]")
    by_contract = {k: np.asarray(v) for k, v in pd.Series(np.arange(len(sites))).groupby(contract).groups.items()}
    out = np.full(len(cand), -1, dtype=np.int64)
    for j, i in enumerate(cand):
        own = people.site_index[i]
        c = people.commencement[i]
        c0 = c - days[i] * DAY
        others = by_contract[contract[own]]
        ok = others[(others != own) & (s_open[others] <= c0) & (np.isnat(s_close[others]) | (s_close[others] >= c))]
        if len(ok):
            out[j] = ok[int(pick[i] * len(ok))]
    return out


def draw_contract_transfers(
    rng: np.random.Generator | None,
    params: WorldParams,
    st: Structure,
    people: People,
    transferred: np.ndarray,
    losing_probs: LosingSiteProbabilities,
    rules: MethodRules,
) -> ContractTransfers:
    """Which transferred participants came from another site of their own contract, and what happened there.

    Draws from ``rng`` (its own stream; ``None``: no transfers within a contract), one value per
    participant each, in this order: whether the transfer was within the contract, the days at the
    losing site, the losing site, the 13-week outcome there, its lodgement lag. Ongoing Support
    participants do not transfer within a contract here, and a contract with no other site open at
    the time leaves the transfer as it was (from another organisation or program, ``events.py``).
    ``losing_probs``: the true model at the losing site, for a record that is not transferred.
    """
    share, lo, hi = _within_contract_params(params, rules)
    n = len(people.participants)
    if rng is None or share == 0:
        return ContractTransfers.none()
    within = rng.random(n) < share
    days = rng.integers(lo, hi + 1, n)
    pick = rng.random(n)
    u_num = rng.random(n)
    lag = rng.integers(0, 29, n)
    cand = np.flatnonzero(transferred & within & ~people.ongoing_support)
    site = _losing_site_within_contract(st, people, cand, days, pick)
    who, site = cand[site >= 0], site[site >= 0]
    k = days[who]
    t13 = rules.threshold_days["full_13"]
    p, _ = losing_probs("full_13", who, site, _losing_tia(people, who, k))
    num = (k >= t13) & (u_num[who] < p)
    c, c0 = people.commencement[who], people.commencement[who] - k * DAY
    lodged = np.where(num, c0 + (t13 + np.minimum(lag[who], np.maximum(k - t13, 0))) * DAY, NAT)
    w_start = np.datetime64(params.release.window_start, "D")
    in_window = np.where(num, lodged >= w_start, c >= w_start)
    record = (k >= t13) & in_window & (num | (rules.one_record_per == "site"))
    return ContractTransfers(who=who, site_index=site, days=k, numerator=num, lodged=lodged, record=record)


def _full_pathway_outcomes(
    probs: OutcomeProbabilities,
    people: People,
    u: np.ndarray,
    col: dict[str, int],
    rules: MethodRules,
    ct: ContractTransfers,
) -> list[Outcome]:
    """13-week full outcomes; at 26 and 52 weeks full first, then pathway among those without a
    full outcome (pathway denominators exclude eight-hour benchmarks; each denominator excludes
    the paired outcome, so a full record's probability is conditional on no pathway outcome).

    Durations count the days at the losing site of a transfer within the contract (``ct``); time in
    assistance does not (it is the site's own, plus the time from referral to the first commencement)."""
    lag_days = ((people.commencement - people.referral) / DAY).astype(np.int64)
    tia_full = people.duration + lag_days
    duration = people.duration + ct.per_participant(ct.days, len(people.duration), 0)
    earlier_13 = ct.per_participant(ct.numerator, len(people.duration), False)
    bench8 = people.participants["employment_benchmark"].to_numpy() == rules.eight_hour_benchmark
    os_pop = people.ongoing_support
    p, pa = probs("full_13", tia_full)
    elig = ~os_pop & (duration >= rules.threshold_days["full_13"]) & ~earlier_13
    out = [(elig, "full_13", u[:, col["full_13"]] < p, p, pa, tia_full)]
    path_ok = ~bench8

    def cond(pf_: np.ndarray, pp_: np.ndarray) -> np.ndarray:
        return np.where(path_ok, pf_ / (pf_ + (1 - pf_) * (1 - pp_)), pf_)

    for wk in ("26", "52"):
        f, pth = f"full_{wk}", f"pathway_{wk}"
        elig = ~os_pop & (duration >= rules.threshold_days[f])
        pf, pfa = probs(f, tia_full)
        pp, ppa = probs(pth, tia_full)
        full = u[:, col[f]] < pf
        path = path_ok & ~full & (u[:, col[pth]] < pp)
        out.append((elig & ~path, f, full, cond(pf, pp), cond(pfa, ppa), tia_full))
        out.append((elig & path_ok & ~full, pth, path, pp, ppa, tia_full))
    return out


def _bonus_and_os_outcomes(
    probs: OutcomeProbabilities, params: WorldParams, people: People, u: np.ndarray, col: dict[str, int]
) -> list[Outcome]:
    """Bonus / Work Assist outcomes of anchored participants (time from the anchor), and Ongoing
    Support outcomes of the OS population (ESS)."""
    w_end = np.datetime64(params.release.window_end, "D")
    has_anchor = ~np.isnat(people.anchor)
    end = np.where(np.isnat(people.exit), w_end, people.exit)
    tia_b = np.where(has_anchor, ((end - people.anchor) / DAY), 0).astype(np.int64)
    p, pa = probs("bonus_26", tia_b)
    out = [(has_anchor, "bonus_26", u[:, col["bonus_26"]] < p, p, pa, tia_b)]
    p, pa = probs("ongoing_support", people.duration.astype(float))
    out.append((people.ongoing_support, "ongoing_support", u[:, col["ongoing_support"]] < p, p, pa, people.duration))
    return out


def _lodged(
    params: WorldParams, people: People, measure: str, idx: np.ndarray, lag: np.ndarray, rules: MethodRules
) -> np.ndarray:
    """When a numerator's outcome is lodged: ``lag`` days after it falls due (26 weeks after the
    anchor, or the measure's duration threshold after commencement), by the window end."""
    w_end = np.datetime64(params.release.window_end, "D")
    if measure == "bonus_26":
        due = people.anchor[idx] + rules.bonus_days * DAY
    elif measure == "ongoing_support":
        due = np.full(len(idx), NAT)
    else:
        due = people.commencement[idx] + rules.threshold_days[measure] * DAY
    return np.minimum(due + lag[idx] * DAY, w_end)


def _outcome_frames(
    params: WorldParams,
    people: People,
    o: Outcome,
    entities: tuple,
    transferred: np.ndarray,
    lodge_lag: np.ndarray,
    rules: MethodRules,
    referral: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The measure records of one outcome (contract columns) and their truth rows (``referral``: the
    referral of the participant's period, before a losing stint within the contract)."""
    mask, measure, num, p, pa, tia = o
    site_id, contract_id, organisation_id = entities
    pid = people.participants["participant_id"].to_numpy()
    idx = np.flatnonzero(mask)
    nm = num[idx]
    rec = pd.DataFrame(
        {
            "participant_id": pid[idx],
            "period_of_service": np.ones(len(idx), dtype=np.int64),
            "program": people.program[idx],
            "measure": measure,
            "site_id": site_id[idx],
            "contract_id": contract_id[idx],
            "organisation_id": organisation_id[idx],
            "numerator": nm,
            "time_in_assistance": tia[idx].astype(float),
            "referral_date": referral[idx],
            "commencement_date": people.commencement[idx],
            "exit_date": people.exit[idx],
            "anchor_date": people.anchor[idx] if measure == "bonus_26" else np.full(len(idx), NAT),
            "outcome_lodged_date": np.where(nm, _lodged(params, people, measure, idx, lodge_lag, rules), NAT),
            "verification_date": np.full(len(idx), NAT),
            "transferred": transferred[idx],
        }
    )
    truth = pd.DataFrame(
        {
            "participant_id": pid[idx],
            "period_of_service": np.ones(len(idx), dtype=np.int64),
            "site_id": site_id[idx],
            "measure": measure,
            "p_true": p[idx],
            "p_average_site": pa[idx],
        }
    )
    return rec, truth


def _sorted(records: pd.DataFrame, truth: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Records and truth in the same order (program, measure, site, participant), text columns as str."""
    order = np.lexsort(
        (
            records["participant_id"].to_numpy(),
            records["site_id"].to_numpy(),
            records["measure"].to_numpy(),
            records["program"].to_numpy(),
        )
    )
    records = records.iloc[order].reset_index(drop=True)
    truth = truth.iloc[order].reset_index(drop=True)
    for c in ("program", "measure", "participant_id", "site_id", "contract_id", "organisation_id"):
        records[c] = records[c].astype("str")
    for c in ("participant_id", "site_id", "measure"):
        truth[c] = truth[c].astype("str")
    return records, truth


def _losing_site_frames(
    people: People,
    st: Structure,
    ct: ContractTransfers,
    entities: tuple,
    referral: np.ndarray,
    losing_probs: LosingSiteProbabilities,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The 13-week full records of the losing sites of transfers within a contract (``ct.record``) and
    their truth rows: commenced ``days`` before the record site's commencement, left on it, not
    transferred in; same contract and organisation."""
    w = np.flatnonzero(ct.record)
    who, site, days = ct.who[w], ct.site_index[w], ct.days[w]
    tia = _losing_tia(people, who, days)
    p, pa = losing_probs("full_13", who, site, tia)
    pid = people.participants["participant_id"].to_numpy()[who]
    site_id = st.sites["site_id"].to_numpy()[site]
    one = np.ones(len(w), dtype=np.int64)
    rec = pd.DataFrame(
        {
            "participant_id": pid,
            "period_of_service": one,
            "program": people.program[who],
            "measure": "full_13",
            "site_id": site_id,
            "contract_id": entities[1][who],
            "organisation_id": entities[2][who],
            "numerator": ct.numerator[w],
            "time_in_assistance": tia,
            "referral_date": referral[who],
            "commencement_date": people.commencement[who] - days * DAY,
            "exit_date": people.commencement[who],
            "anchor_date": np.full(len(w), NAT),
            "outcome_lodged_date": ct.lodged[w],
            "verification_date": np.full(len(w), NAT),
            "transferred": np.zeros(len(w), bool),
        }
    )
    truth = pd.DataFrame(
        {
            "participant_id": pid,
            "period_of_service": one,
            "site_id": site_id,
            "measure": "full_13",
            "p_true": p,
            "p_average_site": pa,
        }
    )
    return rec, truth


def make_records(
    rng: np.random.Generator,
    params: WorldParams,
    st: Structure,
    people: People,
    site_effects: pd.DataFrame,
    rules: MethodRules | None = None,
    transfer_rng: np.random.Generator | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, ContractTransfers]:
    """Measure records (contract columns), their truth (p_true, p_average_site, effect) and the
    transfers within a contract (:func:`draw_contract_transfers`, which the events lay out).

    ``rules``: the method's measures and thresholds (default :func:`~toolkit.synth.params.load_method_rules`).
    Draws, in this order: who transferred, one uniform per participant and measure (column
    order = the method's measures), the lodgement lags; the transfers within a contract draw from
    ``transfer_rng`` (none without it), so the other draws are the same with or without them.
    """
    rules = rules or load_method_rules()
    n = len(people.participants)
    entities = _record_entities(st, people)
    transferred = rng.random(n) < params.participants["transferred_share"]
    probs = _outcome_probabilities(params, st, people, site_effects, entities[0], transferred)
    losing_probs = _losing_site_probabilities(params, st, people, site_effects, entities[0])
    ct = draw_contract_transfers(transfer_rng, params, st, people, transferred, losing_probs, rules)
    # one referral per period of service: the losing commencement's, ``days`` before the record site's
    referral = people.referral - ct.per_participant(ct.days, n, 0) * DAY
    u = rng.random((n, len(rules.measures)))
    col = {m: j for j, m in enumerate(rules.measures)}
    outcomes = _full_pathway_outcomes(probs, people, u, col, rules, ct) + _bonus_and_os_outcomes(
        probs, params, people, u, col
    )
    lodge_lag = rng.integers(0, 29, n)
    frames = [_outcome_frames(params, people, o, entities, transferred, lodge_lag, rules, referral) for o in outcomes]
    if ct.record.any():
        frames.append(_losing_site_frames(people, st, ct, entities, referral, losing_probs))
    records, truth = _sorted(
        pd.concat([f[0] for f in frames], ignore_index=True), pd.concat([f[1] for f in frames], ignore_index=True)
    )
    return records, truth, ct
