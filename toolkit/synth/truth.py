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
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

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


def _full_pathway_outcomes(
    probs: OutcomeProbabilities, people: People, u: np.ndarray, col: dict[str, int], rules: MethodRules
) -> list[Outcome]:
    """13-week full outcomes; at 26 and 52 weeks full first, then pathway among those without a
    full outcome (pathway denominators exclude eight-hour benchmarks; each denominator excludes
    the paired outcome, so a full record's probability is conditional on no pathway outcome)."""
    lag_days = ((people.commencement - people.referral) / DAY).astype(np.int64)
    tia_full = people.duration + lag_days
    bench8 = people.participants["employment_benchmark"].to_numpy() == rules.eight_hour_benchmark
    os_pop = people.ongoing_support
    p, pa = probs("full_13", tia_full)
    elig = ~os_pop & (people.duration >= rules.threshold_days["full_13"])
    out = [(elig, "full_13", u[:, col["full_13"]] < p, p, pa, tia_full)]
    path_ok = ~bench8

    def cond(pf_: np.ndarray, pp_: np.ndarray) -> np.ndarray:
        return np.where(path_ok, pf_ / (pf_ + (1 - pf_) * (1 - pp_)), pf_)

    for wk in ("26", "52"):
        f, pth = f"full_{wk}", f"pathway_{wk}"
        elig = ~os_pop & (people.duration >= rules.threshold_days[f])
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
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The measure records of one outcome (contract columns) and their truth rows."""
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
            "referral_date": people.referral[idx],
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


def make_records(
    rng: np.random.Generator,
    params: WorldParams,
    st: Structure,
    people: People,
    site_effects: pd.DataFrame,
    rules: MethodRules | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Measure records (contract columns) and their truth (p_true, p_average_site, effect).

    ``rules``: the method's measures and thresholds (default :func:`~toolkit.synth.params.load_method_rules`).
    Draws, in this order: who transferred, one uniform per participant and measure (column
    order = the method's measures), the lodgement lags.
    """
    rules = rules or load_method_rules()
    n = len(people.participants)
    entities = _record_entities(st, people)
    transferred = rng.random(n) < params.participants["transferred_share"]
    probs = _outcome_probabilities(params, st, people, site_effects, entities[0], transferred)
    u = rng.random((n, len(rules.measures)))
    col = {m: j for j, m in enumerate(rules.measures)}
    outcomes = _full_pathway_outcomes(probs, people, u, col, rules) + _bonus_and_os_outcomes(
        probs, params, people, u, col
    )
    lodge_lag = rng.integers(0, 29, n)
    frames = [_outcome_frames(params, people, o, entities, transferred, lodge_lag, rules) for o in outcomes]
    return _sorted(
        pd.concat([f[0] for f in frames], ignore_index=True), pd.concat([f[1] for f in frames], ignore_index=True)
    )
