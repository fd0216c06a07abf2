"""A synthetic client-level world (seed 004) with known service and provider effects.

Providers deliver services (one offering in one region). Each enrolment's client has a name and
date of birth (synthetic, from short lists), dependants, sessions, and pre/post scores on the
offering's dimensions. Whether a client improves on a dimension is drawn from

    logit p_d = intercept[offering] + beta[service] + x' gamma + delta[d],

with ``beta`` the KNOWN service effect (centred within each offering), ``x`` the client's
characteristics (mean pre score, gender, ethnicity, dependants, age) and ``delta`` a dimension
shift. "Improved" (better off on at least one dimension assessed pre and post) has the exact
probability ``1 - prod_d (1 - p_d)``; ``truth/service_effects.csv`` holds beta and, over each
service's comparison population, the oracle expected count at the true effect and at beta = 0.
A provider's known effect is that of its services together (:func:`provider_truth`,
``truth/provider_effects.csv``); there is no separate provider term in the world.

One integer seed, split with :class:`numpy.random.SeedSequence` into streams for structure,
clients, outcomes and defects. Malformed records are injected and listed in
``truth/malformed.csv`` with the exclusion reason the report must give them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, SupportsInt

import numpy as np
import pandas as pd
from pydantic import Field

from toolkit.config import FrozenConfig, config_reference, load_yaml, resolve_config, validate_model
from toolkit.errors import ConfigError
from toolkit.output import prepare_folder, write_csv_tables
from toolkit.schemes.clientlevel.config import (
    load_clientlevel_config,
)

FIRST = [
    "Aroha",
    "Mere",
    "Tama",
    "Wiremu",
    "Sione",
    "Mele",
    "Olivia",
    "Jack",
    "Amelia",
    "Noah",
    "Isla",
    "Leo",
    "Hana",
    "Ravi",
    "Priya",
    "Mei",
    "Chen",
    "Grace",
    "Liam",
    "Ava",
    "Manaia",
    "Kahu",
    "Ana",
    "Tevita",
]
LAST = [
    "Ngata",
    "Parata",
    "Tuhoe",
    "Fifita",
    "Smith",
    "Wilson",
    "Brown",
    "Taylor",
    "Singh",
    "Patel",
    "Wang",
    "Li",
    "Walker",
    "Harris",
    "Tane",
    "Rangi",
    "Lee",
    "Kumar",
    "Morgan",
    "Reid",
    "Vaifale",
    "Hohaia",
]


class Span(FrozenConfig):
    min: int
    max: int


class Offering(FrozenConfig):
    dimensions: tuple[str, ...]
    age: Span
    intercept: float
    dependants_mean: float = Field(ge=0)


class Sizes(FrozenConfig):
    median: float
    sdlog: float
    min: int
    max: int


class Coefficients(FrozenConfig):
    pre_mean: float
    female: float
    ethnicity: dict[str, float]
    n_dependants: float
    age_per_decade: float


class Sessions(FrozenConfig):
    mean: float
    attend_probability: float


class ClientSynthConfig(FrozenConfig):
    report: str
    providers: int = Field(ge=2)
    services_per_provider: Span
    regions: tuple[str, ...]
    offerings: dict[str, Offering]
    enrolments_per_service: Sizes
    service_effect_sd: float = Field(ge=0)
    dimension_effects: dict[str, float]
    coefficients: Coefficients
    case_mix_sd: float = Field(ge=0)
    ethnicity_weights: dict[str, float]
    consent_probability: float = Field(ge=0, le=1)
    repeat_client_probability: float = Field(ge=0, le=1)
    completion_logit: float
    post_assessment_if_not_completed: float = Field(ge=0, le=1)
    missing_dimension_probability: float = Field(ge=0, lt=1)
    duration_days: Span
    referral_wait_days_mean: float = Field(gt=0)
    sessions: Sessions
    malformed: dict[str, int]


MALFORMED = ("session_outside_enrolment", "service_of_another_provider", "born_after_start")


@dataclass
class ClientWorld:
    tables: dict[str, pd.DataFrame]
    truth: dict[str, pd.DataFrame]


def load_client_synth_config(path: str | Path = "schemes/clientlevel/synth.yaml") -> tuple[ClientSynthConfig, Path]:
    p = resolve_config(path, "schemes/clientlevel")
    cfg = validate_model(ClientSynthConfig, load_yaml(p), p)
    if set(cfg.malformed) - set(MALFORMED):
        raise ConfigError(f"{p}: malformed kinds must be among {', '.join(MALFORMED)}")
    return cfg, p


def _expit(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))


def _day(d: dt.date, days: SupportsInt) -> dt.date:
    return d + dt.timedelta(days=int(days))


def _structure(rng: np.random.Generator, cfg: ClientSynthConfig) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Providers, their services, and the services with their true effect, case mix and size."""
    providers = pd.DataFrame(
        {
            "provider_id": [f"P{i:02d}" for i in range(1, cfg.providers + 1)],
            "provider_name": [f"Synthetic trust {i}" for i in range(1, cfg.providers + 1)],
            "region": rng.choice(cfg.regions, cfg.providers),
        }
    )
    offerings = sorted(cfg.offerings)
    rows: list[dict[str, Any]] = []
    for p in providers.itertuples(index=False):
        k = int(rng.integers(cfg.services_per_provider.min, cfg.services_per_provider.max + 1))
        for o in sorted(rng.choice(offerings, size=min(k, len(offerings)), replace=False)):
            rows.append(
                {
                    "service_id": f"S{len(rows) + 1:03d}",
                    "provider_id": p.provider_id,
                    "service_offering": o,
                    "region": p.region,
                }
            )
    services = pd.DataFrame(rows)
    beta = rng.normal(0, cfg.service_effect_sd, len(services))
    for o in offerings:  # effects relative to the offering's average service
        m = (services["service_offering"] == o).to_numpy()
        if m.any():
            beta[m] -= beta[m].mean()
    size = np.exp(
        np.log(cfg.enrolments_per_service.median) + rng.normal(0, cfg.enrolments_per_service.sdlog, len(services))
    )
    services_truth = services.assign(
        effect=beta,
        case_mix=rng.normal(0, cfg.case_mix_sd, len(services)),
        enrolments=np.clip(np.round(size), cfg.enrolments_per_service.min, cfg.enrolments_per_service.max).astype(int),
    )
    return providers, services, services_truth


@dataclass
class _Rows:
    """The records of the world as they are generated (one dict per row of each table), and the
    people met so far (who may come back at another provider)."""

    clients: list[dict[str, Any]] = field(default_factory=list)
    dependants: list[dict[str, Any]] = field(default_factory=list)
    enrolments: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    assessments: list[dict[str, Any]] = field(default_factory=list)
    oracle: list[dict[str, Any]] = field(default_factory=list)
    people: list[dict[str, Any]] = field(default_factory=list)
    refs: dict[str, int] = field(default_factory=dict)


@dataclass
class _Enrolling:
    """What every enrolment is drawn from: the config, the window and the two random streams."""

    cfg: ClientSynthConfig
    window: tuple[dt.date, dt.date]
    rng: np.random.Generator  # clients: people, dependants, enrolments, sessions, pre scores
    rng_out: np.random.Generator  # outcomes: completion, end reason, post assessment and scores


def generate_client_world(seed: int = 2024, config: str | Path = "schemes/clientlevel/synth.yaml") -> ClientWorld:
    """Generate the tables of ``data_contracts/clientlevel/`` and ``truth/``."""
    cfg, cpath = load_client_synth_config(config)
    rc, _ = load_clientlevel_config(config_reference(cfg.report, "report", cpath, relative_to=cpath.parent))
    s_struct, s_clients, s_out, s_defects = np.random.SeedSequence(seed).spawn(4)
    providers, services, st = _structure(np.random.default_rng(s_struct), cfg)
    env = _Enrolling(
        cfg=cfg,
        window=(rc.window.start, rc.window.end),
        rng=np.random.default_rng(s_clients),
        rng_out=np.random.default_rng(s_out),
    )
    rows = _Rows()
    for s in st.itertuples(index=False):
        for _ in range(s.enrolments):
            _enrol(env, s, rows)
    tables = _tables(providers, services, rows)
    malformed = _inject(np.random.default_rng(s_defects), tables, cfg)
    truth = _service_truth(st, rows.oracle)
    return ClientWorld(
        tables=tables,
        truth={"service_effects": truth, "provider_effects": provider_truth(truth), "malformed": malformed},
    )


def _enrol(env: _Enrolling, s: Any, rows: _Rows) -> None:
    """One enrolment at service ``s`` (a row of the service truth): client, dependants, enrolment,
    sessions and assessments, and its oracle probabilities when it ended with a post assessment."""
    w0, w1 = env.window
    start = _day(w0, env.rng.integers(-90, (w1 - w0).days - 30))
    person, age = _person(env, s, start, rows.people)
    client_ref = _add_client(env, s, person, rows)
    n_dep = _add_dependants(env, s, client_ref, person, start, rows)
    eid, end, completed, reason = _add_enrolment(env, s, client_ref, start, rows)
    _add_sessions(env, eid, start, min(end, w1), rows)
    off = env.cfg.offerings[s.service_offering]
    dims = [d for d in off.dimensions if env.rng.random() >= env.cfg.missing_dimension_probability] or [
        off.dimensions[0]
    ]
    pre = {d: int(np.clip(np.round(env.rng.normal(2.5 + s.case_mix, 0.8)), 1, 4)) for d in dims}
    post_done = reason is not None and (completed or env.rng_out.random() < env.cfg.post_assessment_if_not_completed)
    x_eta = _client_log_odds(env.cfg, off, pre, person, n_dep, age)
    p_true = {d: _expit(x_eta + s.effect + env.cfg.dimension_effects.get(d, 0.0)) for d in dims}
    p_avg = {d: _expit(x_eta + env.cfg.dimension_effects.get(d, 0.0)) for d in dims}
    _add_assessments(env, eid, dims, pre, p_true, post_done, rows)
    if post_done and w0 <= end <= w1:
        rows.oracle.append(
            {
                "service_id": s.service_id,
                "p_true": 1 - np.prod([1 - p for p in p_true.values()]),
                "p_average": 1 - np.prod([1 - p for p in p_avg.values()]),
            }
        )


def _person(env: _Enrolling, s: Any, start: dt.date, people: list[dict[str, Any]]) -> tuple[dict[str, Any], int]:
    """The person enrolling and their age: sometimes someone met at another provider, else a new one."""
    rng, cfg = env.rng, env.cfg
    off = cfg.offerings[s.service_offering]
    if people and rng.random() < cfg.repeat_client_probability:  # the same person at another provider
        cand = people[int(rng.integers(len(people)))]
        age = int((start - cand["date_of_birth"]).days // 365.25)
        if cand["provider_id"] != s.provider_id and off.age.min <= age <= off.age.max + 5:
            return dict(cand), age
    eth = list(cfg.ethnicity_weights)
    eth_w = np.array([cfg.ethnicity_weights[e] for e in eth])
    age = int(rng.integers(off.age.min, off.age.max + 1))
    dob = _day(start, -(age * 365.25 + rng.integers(1, 364)))
    person = {
        "full_name": f"{rng.choice(FIRST)} {rng.choice(FIRST)} {rng.choice(LAST)}",
        "date_of_birth": dob,
        "gender": str(rng.choice(["female", "male", "another"], p=[0.52, 0.46, 0.02])),
        "ethnicity": str(rng.choice(eth, p=eth_w / eth_w.sum())),
        "area": s.region,
    }
    people.append({**person, "provider_id": s.provider_id})
    return person, age


def _add_client(env: _Enrolling, s: Any, person: dict[str, Any], rows: _Rows) -> str:
    """The provider's client record of ``person``; its client reference."""
    rows.refs[s.provider_id] = rows.refs.get(s.provider_id, 0) + 1
    client_ref = f"{s.provider_id}-C{rows.refs[s.provider_id]:05d}"
    rows.clients.append(
        {
            "provider_id": s.provider_id,
            "client_ref": client_ref,
            **{k: person[k] for k in ("full_name", "date_of_birth", "gender", "ethnicity")},
            "iwi": None,
            "area": person["area"],
            "consent_identifiable": bool(env.rng.random() < env.cfg.consent_probability),
        }
    )
    return client_ref


def _add_dependants(
    env: _Enrolling, s: Any, client_ref: str, person: dict[str, Any], start: dt.date, rows: _Rows
) -> int:
    """The client's dependants (aged 0 to 15 at the start); their number."""
    rng = env.rng
    n_dep = int(rng.poisson(env.cfg.offerings[s.service_offering].dependants_mean))
    for _ in range(n_dep):
        dage = int(rng.integers(0, 16))
        rows.dependants.append(
            {
                "provider_id": s.provider_id,
                "client_ref": client_ref,
                "dependant_name": f"{rng.choice(FIRST)} {person['full_name'].split()[-1]}",
                "date_of_birth": _day(start, -(dage * 365.25 + rng.integers(1, 364))),
            }
        )
    return n_dep


def _add_enrolment(
    env: _Enrolling, s: Any, client_ref: str, start: dt.date, rows: _Rows
) -> tuple[str, dt.date, bool, str | None]:
    """The enrolment record: id, (planned) end, whether completed, and the end reason (None: ongoing)."""
    rng, rng_out, cfg = env.rng, env.rng_out, env.cfg
    eid = f"E{len(rows.enrolments) + 1:07d}"
    dur = int(rng.integers(cfg.duration_days.min, cfg.duration_days.max + 1))
    end = _day(start, dur)
    completed = bool(rng_out.random() < _expit(cfg.completion_logit + 0.5 * s.effect))
    ongoing = end > env.window[1]
    reason = (
        None if ongoing else ("completed" if completed else str(rng_out.choice(["withdrew", "moved_away", "other"])))
    )
    rows.enrolments.append(
        {
            "enrolment_id": eid,
            "provider_id": s.provider_id,
            "client_ref": client_ref,
            "service_id": s.service_id,
            "referral_date": _day(start, -rng.geometric(1 / cfg.referral_wait_days_mean) + 1),
            "start_date": start,
            "end_date": None if ongoing else end,
            "end_reason": reason,
        }
    )
    return eid, end, completed, reason


def _add_sessions(env: _Enrolling, eid: str, start: dt.date, last: dt.date, rows: _Rows) -> None:
    """Sessions dated between the start and ``last`` (the end, or the window's end if later)."""
    rng = env.rng
    for k in range(1 + int(rng.poisson(env.cfg.sessions.mean))):
        day = _day(start, rng.integers(0, max(1, (last - start).days + 1)))
        rows.sessions.append(
            {
                "enrolment_id": eid,
                "session_no": k + 1,
                "session_date": day,
                "attended": bool(rng.random() < env.cfg.sessions.attend_probability),
            }
        )


def _client_log_odds(
    cfg: ClientSynthConfig, off: Offering, pre: dict[str, int], person: dict[str, Any], n_dep: int, age: int
) -> float:
    """``intercept[offering] + x' gamma``: the log-odds of improving before the service and dimension terms."""
    c = cfg.coefficients
    pre_mean = float(np.mean(list(pre.values())))
    return (
        off.intercept
        + c.pre_mean * (pre_mean - 2.5)
        + c.female * (person["gender"] == "female")
        + c.ethnicity.get(person["ethnicity"], 0.0)
        + c.n_dependants * n_dep
        + c.age_per_decade * (age - 30) / 10
    )


def _add_assessments(
    env: _Enrolling,
    eid: str,
    dims: list[str],
    pre: dict[str, int],
    p_true: dict[str, float],
    post_done: bool,
    rows: _Rows,
) -> None:
    """Pre and (when assessed after) post scores per dimension; improved with probability ``p_true``."""
    rng_out = env.rng_out
    for d in dims:
        post = None
        if post_done:
            if rng_out.random() < p_true[d]:
                post = min(5, pre[d] + 1 + int(rng_out.random() < 0.3))
            else:
                post = max(1, pre[d] - int(rng_out.random() < 0.2))
        rows.assessments.append({"enrolment_id": eid, "dimension": d, "pre_score": pre[d], "post_score": post})


def _tables(providers: pd.DataFrame, services: pd.DataFrame, rows: _Rows) -> dict[str, pd.DataFrame]:
    """The world's tables, as the client-level contracts name them."""
    tables = {
        "providers": providers,
        "services": services,
        "clients": pd.DataFrame(rows.clients),
        "dependants": pd.DataFrame(
            rows.dependants, columns=["provider_id", "client_ref", "dependant_name", "date_of_birth"]
        ),
        "enrolments": pd.DataFrame(rows.enrolments),
        "sessions": pd.DataFrame(rows.sessions),
        "assessments": pd.DataFrame(rows.assessments),
    }
    tables["assessments"]["post_score"] = tables["assessments"]["post_score"].astype("Int64")
    return tables


def _service_truth(services_truth: pd.DataFrame, oracle: list[dict[str, Any]]) -> pd.DataFrame:
    """``truth/service_effects.csv``: the services' true effects and oracle expected counts."""
    orc = (
        pd.DataFrame(oracle)
        .groupby("service_id")
        .agg(n=("p_true", "size"), expected_true=("p_true", "sum"), expected_average=("p_average", "sum"))
        .reset_index()
    )
    truth = services_truth.merge(orc, on="service_id", how="left")
    truth["true_ratio"] = truth["expected_true"] / truth["expected_average"]
    return truth


def provider_truth(service_truth: pd.DataFrame) -> pd.DataFrame:
    """Known provider effects from the service truth, over the providers' comparison populations.

    ``effect``: the mean of the provider's service effects weighted by their comparison
    populations ``n``; ``true_ratio``: oracle expected count at the true effects over that at
    beta = 0; ``true_ratio_offering``: the same against each offering's average client
    (``expected_average`` rescaled so that, within each offering, it sums to ``expected_true``),
    which is the reference of an O/E from a model adjusted for the offering.
    """
    t = service_truth[service_truth["n"].notna()].copy()
    k = t.groupby("service_offering")["expected_true"].transform("sum") / t.groupby("service_offering")[
        "expected_average"
    ].transform("sum")
    t = t.assign(expected_offering=t["expected_average"] * k, weighted=t["effect"] * t["n"])
    out = (
        t.groupby("provider_id", sort=True)
        .agg(
            services=("service_id", "size"),
            n=("n", "sum"),
            weighted=("weighted", "sum"),
            expected_true=("expected_true", "sum"),
            expected_average=("expected_average", "sum"),
            expected_offering=("expected_offering", "sum"),
        )
        .reset_index()
    )
    out["effect"] = out.pop("weighted") / out["n"]
    out["true_ratio"] = out["expected_true"] / out["expected_average"]
    out["true_ratio_offering"] = out["expected_true"] / out.pop("expected_offering")
    return out.astype({"n": "int64"})


def _inject(rng: np.random.Generator, t: dict[str, pd.DataFrame], cfg: ClientSynthConfig) -> pd.DataFrame:
    """Break records in place; return the list of (table, key, reason)."""
    out: list[dict[str, str]] = []
    enr, ses, cli, svc = t["enrolments"], t["sessions"], t["clients"], t["services"]
    once = enr.groupby(["provider_id", "client_ref"])["enrolment_id"].transform("size") == 1
    used: set[str] = set()
    for reason, n in sorted(cfg.malformed.items()):
        for _ in range(n):
            if reason == "session_outside_enrolment":
                i = int(rng.integers(len(ses)))
                e = enr.loc[enr["enrolment_id"] == ses.at[i, "enrolment_id"]].iloc[0]
                ses.at[i, "session_date"] = _day(e["start_date"], -30)
                out.append(
                    {
                        "table": "sessions",
                        "key": f"{ses.at[i, 'enrolment_id']}#{ses.at[i, 'session_no']}",
                        "reason": reason,
                    }
                )
                continue
            cand = enr.index[once & ~enr["enrolment_id"].isin(used) & enr["end_date"].notna()]
            i = int(rng.choice(cand))
            used.add(enr.at[i, "enrolment_id"])
            if reason == "service_of_another_provider":
                other = svc[svc["provider_id"] != enr.at[i, "provider_id"]]["service_id"]
                enr.at[i, "service_id"] = str(rng.choice(other.to_numpy()))
            else:  # born_after_start
                j = cli.index[
                    (cli["provider_id"] == enr.at[i, "provider_id"]) & (cli["client_ref"] == enr.at[i, "client_ref"])
                ][0]
                cli.at[j, "date_of_birth"] = _day(enr.at[i, "start_date"], 10)
            out.append({"table": "enrolments", "key": enr.at[i, "enrolment_id"], "reason": reason})
    return pd.DataFrame(out, columns=["table", "key", "reason"]).sort_values(["table", "key"]).reset_index(drop=True)


def write_client_world(world: ClientWorld, out: str | Path, overwrite: bool = False) -> Path:
    """Write the tables as CSV files and ``truth/`` (service and provider truth and the injected defects)."""
    out = prepare_folder(out, overwrite)
    write_csv_tables(out, world.tables)
    write_csv_tables(out / "truth", world.truth)
    return out
