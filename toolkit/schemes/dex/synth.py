"""A synthetic Data Exchange world: organisations, outlets, cases, clients, sessions and SCORE.

Providers differ in how often they assess their clients, how complete their demographics
and keys are, and how their clients fare; most are small. The world carries what real
extracts carry: clients never assessed, partial SCOREs, same-day follow-ups, several
follow-ups, invalid and placeholder SLKs, missing demographics, one person at two
organisations, one person recorded twice by an organisation, unidentified clients as
counts, and a few records before the partnership approach began.

Names are synthetic and drawn from short lists that include the SLK fixtures' names.

Examples
--------
>>> w = generate_dex_world(seed=3)
>>> sorted(w.tables)[:3]
['case_clients', 'cases', 'clients']
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, SupportsInt

import numpy as np
import pandas as pd
from pydantic import Field

from toolkit.config import (
    FrozenConfig,
    config_hash,
    load_yaml,
    resolve_config,
    validate_model,
)
from toolkit.output import prepare_folder
from toolkit.slk import build_slk

TABLES = (
    "organisations",
    "outlets",
    "program_activities",
    "cases",
    "case_clients",
    "clients",
    "sessions",
    "session_clients",
    "score_assessments",
)
FAMILY_NAMES = (
    "Smith",
    "Thompson",
    "Farr",
    "Hua",
    "Jo",
    "Lee-Archer",
    "O'Mara",
    "Nguyen",
    "Papadopoulos",
    "Okonkwo",
    "Kowalczyk",
    "Fitzgerald",
    "Tran",
    "Whitehorse",
    "Delacroix",
    "Abernethy",
    "Quartermaine",
)
GIVEN_NAMES = (
    "John",
    "Jo",
    "Al",
    "Marigold",
    "Aisha",
    "Thaddeus",
    "Olwyn",
    "Priyanka",
    "Bartholomew",
    "Xiu",
    "Evangeline",
    "Rangi",
    "Siobhan",
    "Lachlan",
    "Ngaire",
)
PLACES = (
    "Riverbend",
    "Eastgate",
    "Hillcrest",
    "Saltmarsh",
    "Ironbark",
    "Wattle Flat",
    "Bluegum",
    "Kestrel Bay",
    "Red Hill",
    "Silverwater",
    "Millbrook",
    "Stonehaven",
)
KINDS = ("Family Services", "Community Care", "Family Support Network", "Neighbourhood Centre")
STATES = ("NSW", "VIC", "QLD", "SA", "WA", "TAS", "NT", "ACT")
SERVICE_TYPES = ("counselling", "education_skills", "mediation", "outreach", "group_work")


class Activity(FrozenConfig):
    activity_id: str
    program: str
    activity_name: str


class DexSynthParams(FrozenConfig):
    """Generator parameters (``configs/schemes/dex/synth.yaml``)."""

    start: date
    end: date
    organisations: int = Field(ge=1)
    outlets_per_organisation: tuple[int, int]
    activities: tuple[Activity, ...]
    activities_per_organisation: tuple[int, int]
    community_activity: str
    clients_log_mean: float
    clients_log_sd: float = Field(ge=0)
    clients_min: int = Field(ge=1)
    clients_max: int
    second_client_share: float = Field(ge=0, le=1)
    sessions_mean: float = Field(ge=1)
    case_days_max: int = Field(ge=1)
    attend_share: float = Field(ge=0, le=1)
    assess: dict[str, tuple[float, float]]
    follow_up_share: float = Field(ge=0, le=1)
    extra_follow_up_share: float = Field(ge=0, le=1)
    same_session_follow_up: float = Field(ge=0, le=1)
    circumstances_domains: tuple[int, int]
    goals_domains: tuple[int, int]
    satisfaction_statements: tuple[int, int]
    change_provider_mean: tuple[float, float]
    change_client_sd: float = Field(ge=0)
    change_domain_sd: float = Field(ge=0)
    satisfaction_positive: tuple[float, float]
    community_case_share: float = Field(ge=0, le=1)
    demographics_missing: tuple[float, float]
    slk_supplied_share: float = Field(ge=0, le=1)
    slk_error: tuple[float, float]
    names_missing_share: float = Field(ge=0, le=1)
    birth_date_estimate_share: float = Field(ge=0, le=1)
    same_person_other_org_share: float = Field(ge=0, le=1)
    duplicate_record_share: float = Field(ge=0, le=1)
    unidentified_case_mean: float = Field(ge=0)
    unidentified_session_mean: float = Field(ge=0)


def load_dex_synth_params(path: str | Path = "synth") -> DexSynthParams:
    p = resolve_config(path, "schemes/dex")
    return validate_model(DexSynthParams, load_yaml(p), p)


@dataclass
class DexWorld:
    """The tables of a synthetic DEX world (names included: it is synthetic input, not output)."""

    tables: dict[str, pd.DataFrame]
    info: dict[str, Any] = field(default_factory=dict)


def _beta(rng: np.random.Generator, mean_conc: tuple[float, float]) -> float:
    m, c = mean_conc
    return float(rng.beta(m * c, (1 - m) * c))


def _corrupt_key(key: str, rng: np.random.Generator) -> str:
    """A wrong stored key: another birth date, an impossible date, a wrong sex digit or a broken form."""
    kind = rng.integers(4)
    if kind == 0:
        return key[:5] + key[7:9] + key[5:7] + key[9:] if key[5:7] != key[7:9] else key[:5] + "3102" + key[9:]
    if kind == 1:
        return key[:5] + "3002" + key[9:]
    if kind == 2:
        return key[:-1] + ("2" if key[-1] != "2" else "1")
    return key[:4] + key[5:]


class _Ids:
    """Sequential ids per prefix (``C000001``, ``K000001``, ...)."""

    def __init__(self) -> None:
        self.n: dict[str, int] = {}

    def __call__(self, prefix: str, width: int) -> str:
        self.n[prefix] = self.n.get(prefix, 0) + 1
        return f"{prefix}{self.n[prefix]:0{width}d}"


def _person(rng: np.random.Generator, p: DexSynthParams) -> dict[str, Any]:
    age = rng.integers(5, 86)
    dob = p.start - timedelta(days=int(age * 365.25 + rng.integers(0, 365)))
    sex = rng.choice(["male", "female", "other", "not_stated"], p=[0.45, 0.52, 0.01, 0.02])
    return {
        "family_name": str(rng.choice(FAMILY_NAMES)),
        "given_name": str(rng.choice(GIVEN_NAMES)),
        "birth_date": dob,
        "sex": str(sex),
    }


def _client_record(
    person: dict[str, Any], org: dict[str, Any], rng: np.random.Generator, p: DexSynthParams
) -> dict[str, Any]:
    rec = dict(person)
    miss = org["demo_missing"]

    def item(values: list[str], probs: list[float]) -> str | None:
        if rng.random() < miss:
            return None if rng.random() < 0.5 else "not_stated"
        return str(rng.choice(values, p=probs))

    rec["indigenous_status"] = item(
        ["neither", "aboriginal", "torres_strait_islander", "both"], [0.93, 0.05, 0.01, 0.01]
    )
    rec["country_of_birth"] = item(
        ["1101", "2102", "5105", "7103", "6101", "1201"], [0.72, 0.06, 0.06, 0.06, 0.06, 0.04]
    )
    rec["main_language"] = item(["1201", "6302", "7104", "4202", "5203"], [0.8, 0.05, 0.05, 0.05, 0.05])
    rec["disability"] = item(["yes", "no"], [0.15, 0.85])
    if rng.random() < miss / 3:
        rec["birth_date"] = None
    if rng.random() < miss / 3:
        rec["sex"] = None if rng.random() < 0.5 else "not_stated"
    rec["birth_date_is_estimate"] = bool(rng.random() < p.birth_date_estimate_share)
    key = build_slk(person["family_name"], person["given_name"], person["birth_date"], person["sex"])
    if key is None:  # a synthetic person always has a birth date and a known sex
        raise AssertionError(f"no key for the synthetic person {person}")
    rec["slk"] = None
    if org["supplies_slk"]:
        rec["slk"] = _corrupt_key(key, rng) if rng.random() < org["slk_error"] else key
        if not org["supplies_names"]:
            rec["family_name"] = rec["given_name"] = None
    elif rng.random() < p.names_missing_share:
        rec["family_name"] = rec["given_name"] = None
    rec["consent_to_share_details"] = bool(rng.random() < 0.93)
    rec["consent_for_research"] = bool(rng.random() < 0.6)
    return rec


def _structure(
    rng: np.random.Generator, p: DexSynthParams
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Organisations, their outlets, and their provider units (an organisation's program activity)."""
    orgs: list[dict[str, Any]] = []
    outlets: list[dict[str, Any]] = []
    provider_units: list[dict[str, Any]] = []
    for i in range(p.organisations):
        oid = f"ORG{i + 1:03d}"
        state = str(rng.choice(STATES))
        orgs.append(
            {
                "organisation_id": oid,
                "state": state,
                "organisation_name": f"{PLACES[i % len(PLACES)]} {KINDS[(i // len(PLACES)) % len(KINDS)]}",
                "demo_missing": _beta(rng, p.demographics_missing),
                "slk_error": _beta(rng, p.slk_error),
                "supplies_slk": bool(rng.random() < p.slk_supplied_share),
                "supplies_names": bool(rng.random() < 0.5),
            }
        )
        n_out = rng.integers(p.outlets_per_organisation[0], p.outlets_per_organisation[1] + 1)
        for j in range(n_out):
            outlets.append(
                {
                    "outlet_id": f"OUT{i + 1:03d}{j + 1}",
                    "organisation_id": oid,
                    "outlet_name": f"{PLACES[(i + j) % len(PLACES)]} outlet {j + 1}",
                    "state": state,
                    "postcode": f"{rng.integers(2000, 7999):04d}",
                }
            )
        k = int(rng.integers(p.activities_per_organisation[0], p.activities_per_organisation[1] + 1))
        for a in rng.choice(len(p.activities), size=min(k, len(p.activities)), replace=False):
            provider_units.append(
                {
                    "organisation_id": oid,
                    "activity_id": p.activities[a].activity_id,
                    "outlets": [o["outlet_id"] for o in outlets if o["organisation_id"] == oid],
                    "assess": {t: _beta(rng, mc) for t, mc in p.assess.items()},
                    "change_mean": float(rng.normal(*p.change_provider_mean)),
                    "sat_positive": _beta(rng, p.satisfaction_positive),
                }
            )
    return orgs, outlets, provider_units


def _scores(
    rng: np.random.Generator,
    unit: dict[str, Any],
    p: DexSynthParams,
    domains: dict[str, list[str]],
    attended: list[str],
    client_id: str | None,
    ids: _Ids,
    out: list[dict[str, Any]],
    sessions_by_id: dict[str, date],
) -> None:
    """SCORE rows of one client (or of a case's community, client_id None) over its attended sessions."""

    def add(session_id: str, score_type: str, domain: str, phase: str, score: SupportsInt) -> None:
        out.append(
            {
                "assessment_id": ids("A", 8),
                "session_id": session_id,
                "client_id": client_id,
                "score_type": score_type,
                "domain": domain,
                "phase": phase,
                "score": int(score),
                "assessment_date": sessions_by_id[session_id],
            }
        )

    types = ("community",) if client_id is None else ("circumstances", "goals")
    for t in types:
        if client_id is not None and rng.random() >= unit["assess"][t]:
            continue
        lo, hi = p.circumstances_domains if t != "goals" else p.goals_domains
        codes = domains[t]
        chosen = rng.choice(codes, size=min(int(rng.integers(lo, hi + 1)), len(codes)), replace=False)
        effect = rng.normal(unit["change_mean"], p.change_client_sd)
        follow = rng.random() < p.follow_up_share
        same = len(attended) == 1 or rng.random() < p.same_session_follow_up
        extra = follow and len(attended) >= 3 and rng.random() < p.extra_follow_up_share
        for d in chosen:
            pre = 1 + rng.binomial(4, 0.45)
            add(attended[0], t, str(d), "pre", pre)
            if extra:
                mid = np.clip(np.rint(pre + effect / 2 + rng.normal(0, p.change_domain_sd)), 1, 5)
                add(attended[len(attended) // 2], t, str(d), "post", mid)
            if follow:
                post = np.clip(np.rint(pre + effect + rng.normal(0, p.change_domain_sd)), 1, 5)
                add(attended[0] if same else attended[-1], t, str(d), "post", post)
    if client_id is not None and rng.random() < unit["assess"]["satisfaction"]:
        lo, hi = p.satisfaction_statements
        codes = domains["satisfaction"]
        for d in rng.choice(codes, size=min(int(rng.integers(lo, hi + 1)), len(codes)), replace=False):
            score = rng.integers(4, 6) if rng.random() < unit["sat_positive"] else rng.integers(1, 4)
            add(attended[-1], "satisfaction", str(d), "post", score)


@dataclass
class _Rows:
    """The records of the world as they are generated (one dict per row of each table)."""

    clients: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)
    case_clients: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    session_clients: list[dict[str, Any]] = field(default_factory=list)
    scores: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Streams:
    """The independent random streams of the world, one per part."""

    structure: np.random.Generator  # organisations, outlets, program activities
    people: np.random.Generator  # case sizes, persons and client records
    visits: np.random.Generator  # cases and sessions
    scores: np.random.Generator  # SCORE assessments


def generate_dex_world(seed: int = 2021, params: DexSynthParams | None = None) -> DexWorld:
    """Generate a synthetic DEX world from one integer seed (split into independent streams)."""
    from toolkit.schemes.dex.config import load_dex_config

    p = params or load_dex_synth_params()
    domains = {t: sorted(d) for t, d in load_dex_config().domains.items()}
    rng = _Streams(*(np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)))
    orgs, outlets, units = _structure(rng.structure, p)
    org_by_id = {o["organisation_id"]: o for o in orgs}
    ids = _Ids()
    rows = _Rows()
    for unit in units:
        org = org_by_id[unit["organisation_id"]]
        n = int(
            np.clip(np.rint(rng.people.lognormal(p.clients_log_mean, p.clients_log_sd)), p.clients_min, p.clients_max)
        )
        for _ in range(n):
            _case(rng, p, unit, org, domains, ids, rows)
    tables = _frames(orgs, outlets, p, rows)
    info = {"seed": seed, "params_hash": config_hash(p), "rows": {t: len(df) for t, df in tables.items()}}
    return DexWorld(tables=tables, info=info)


def _case(
    rng: _Streams,
    p: DexSynthParams,
    unit: dict[str, Any],
    org: dict[str, Any],
    domains: dict[str, list[str]],
    ids: _Ids,
    rows: _Rows,
) -> None:
    """One case of a provider unit: its clients, the case and its sessions, then their SCORE rows."""
    members = _case_members(rng.people, p, org, ids, rows.clients)
    case_id, start = _new_case(rng.visits, p, unit, members, ids, rows)
    attended, sess_date = _case_sessions(rng.visits, p, case_id, start, members, ids, rows)
    for c in members:
        _scores(rng.scores, unit, p, domains, attended[c], c, ids, rows.scores, sess_date)
    if unit["activity_id"] == p.community_activity and rng.scores.random() < p.community_case_share:
        _scores(rng.scores, unit, p, domains, list(sess_date), None, ids, rows.scores, sess_date)


def _case_members(
    rng: np.random.Generator, p: DexSynthParams, org: dict[str, Any], ids: _Ids, clients: list[dict[str, Any]]
) -> list[str]:
    """The client records of one case (one or two people, some a person seen at another organisation,
    some recorded twice); appended to ``clients``, their ids returned."""
    members = []
    for k in range(2 if rng.random() < p.second_client_share else 1):
        others = [c for c in clients[-400:] if c["organisation_id"] != org["organisation_id"]]
        if k == 0 and others and rng.random() < p.same_person_other_org_share:
            src = others[int(rng.integers(len(others)))]
            person = {f: src["_person"][f] for f in ("family_name", "given_name", "birth_date", "sex")}
        else:
            person = _person(rng, p)
        copies = 2 if k == 0 and rng.random() < p.duplicate_record_share else 1
        for _copy in range(copies):
            rec = _client_record(person, org, rng, p)
            rec.update(client_id=ids("C", 6), organisation_id=org["organisation_id"], _person=person)
            clients.append(rec)
            members.append(rec["client_id"])
    return members


def _new_case(
    rng: np.random.Generator, p: DexSynthParams, unit: dict[str, Any], members: list[str], ids: _Ids, rows: _Rows
) -> tuple[str, date]:
    """Open a case for ``members`` at one of the unit's outlets; its id and start date."""
    span = (p.end - p.start).days
    start = p.start + timedelta(days=int(rng.integers(0, max(span - 14, 1))))
    case_id = ids("K", 6)
    rows.cases.append(
        {
            "case_id": case_id,
            "outlet_id": str(rng.choice(unit["outlets"])),
            "activity_id": unit["activity_id"],
            "created_date": start,
            "unidentified_clients": int(rng.poisson(p.unidentified_case_mean)),
        }
    )
    rows.case_clients += [{"case_id": case_id, "client_id": c} for c in members]
    return case_id, start


def _case_sessions(
    rng: np.random.Generator,
    p: DexSynthParams,
    case_id: str,
    start: date,
    members: list[str],
    ids: _Ids,
    rows: _Rows,
) -> tuple[dict[str, list[str]], dict[str, date]]:
    """The sessions of a case and who attended them (everyone the first); the sessions each member
    attended, and the date of each session."""
    n_sess = 1 + int(rng.poisson(p.sessions_mean - 1))
    last_day = min(p.case_days_max, (p.end - start).days)
    days = np.sort(np.concatenate([[0], rng.integers(0, last_day + 1, size=n_sess - 1)]))
    attended: dict[str, list[str]] = {c: [] for c in members}
    sess_date: dict[str, date] = {}
    for i, d in enumerate(days):
        sid = ids("S", 7)
        sess_date[sid] = start + timedelta(days=int(d))
        rows.sessions.append(
            {
                "session_id": sid,
                "case_id": case_id,
                "session_date": sess_date[sid],
                "service_type": str(rng.choice(SERVICE_TYPES)),
                "unidentified_clients": int(rng.poisson(p.unidentified_session_mean)),
            }
        )
        for c in members:
            if i == 0 or rng.random() < p.attend_share:
                rows.session_clients.append({"session_id": sid, "client_id": c})
                attended[c].append(sid)
    return attended, sess_date


def _frames(
    orgs: list[dict[str, Any]], outlets: list[dict[str, Any]], p: DexSynthParams, rows: _Rows
) -> dict[str, pd.DataFrame]:
    def dates(df: pd.DataFrame, *cols: str) -> pd.DataFrame:
        for c in cols:
            df[c] = pd.to_datetime(df[c]).astype("datetime64[s]")
        return df

    client_cols = [
        "client_id",
        "organisation_id",
        "given_name",
        "family_name",
        "slk",
        "birth_date",
        "birth_date_is_estimate",
        "sex",
        "consent_to_share_details",
        "consent_for_research",
        "indigenous_status",
        "country_of_birth",
        "main_language",
        "disability",
    ]
    return {
        "organisations": pd.DataFrame(orgs)[["organisation_id", "organisation_name", "state"]],
        "outlets": pd.DataFrame(outlets),
        "program_activities": pd.DataFrame([a.model_dump() for a in p.activities]),
        "cases": dates(pd.DataFrame(rows.cases), "created_date"),
        "case_clients": pd.DataFrame(rows.case_clients),
        "clients": dates(pd.DataFrame(rows.clients)[client_cols], "birth_date"),
        "sessions": dates(pd.DataFrame(rows.sessions), "session_date"),
        "session_clients": pd.DataFrame(rows.session_clients),
        "score_assessments": dates(pd.DataFrame(rows.scores), "assessment_date"),
    }


def write_dex_world(world: DexWorld, out: str | Path, overwrite: bool = False) -> Path:
    """Write each table as ``<table>.parquet`` and ``synth_info.json`` into a new (or empty) folder."""
    d = prepare_folder(out, overwrite, clear=True)
    for name in TABLES:
        world.tables[name].to_parquet(d / f"{name}.parquet", index=False)
    (d / "synth_info.json").write_text(json.dumps(world.info, indent=2, sort_keys=True, default=str) + "\n")
    return d
