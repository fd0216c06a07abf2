"""Reading client-level tables: validate, pseudonymise on load, check, and account for every record.

:func:`load_client_data` is the only place that sees names, dates of birth and the providers'
record ids. It validates the folder against ``data_contracts/clientlevel/`` (a violation is a
:class:`~toolkit.errors.DataContractError` naming table, column, rule and count, never a value),
then immediately

- keys each person by ``HMAC(secret, "client", normalised name | date of birth)`` (the same
  person at two providers gets the same key), each enrolment by ``HMAC(secret, "enrolment", id)``;
- derives age at the start of each enrolment, the number of dependants and whether the youngest
  was under five, and drops names, dates of birth, client references, enrolment ids and iwi;
- decides consent per person: identifiable use only when every record of the person consents.

Records that cannot be used are listed by table, 1-based row of the input file and reason (with
the person's consent, so that outputs can keep non-consenting people to aggregates); the ledger
shows, per table, rows read = rows used + rows excluded by reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.contracts import validate_dir
from toolkit.paths import DATA_CONTRACTS
from toolkit.privacy import Secret, keyed_hash_present
from toolkit.schemes.clientlevel.config import ClientLevelConfig

#: The client-level input contracts: ``data_contracts/clientlevel/`` (a workspace may override files).
CONTRACTS = "clientlevel"
#: The contract of the model's derived input: the toolkit's own columns, always the shipped one.
MODEL_CONTRACTS = DATA_CONTRACTS / "clientlevel" / "derived"
TABLES = ("providers", "services", "clients", "dependants", "enrolments", "sessions", "assessments")

#: Reasons a record is not used, per table.
REASONS = {
    "service_of_another_provider": "the enrolment's service belongs to another provider",
    "born_after_start": "the client's date of birth is after the start of the service",
    "outside_window": "the enrolment does not overlap the reporting window (not an error)",
    "session_outside_enrolment": "the session is dated outside its enrolment",
    "enrolment_excluded": "the record belongs to an excluded enrolment",
}


@dataclass
class ClientData:
    """Pseudonymised, checked client-level data (no names, dates of birth or provider record ids)."""

    providers: pd.DataFrame
    services: pd.DataFrame
    enrolments: pd.DataFrame  # one row per used enrolment, keyed by enrolment_key and client_key
    sessions: pd.DataFrame
    assessments: pd.DataFrame
    exclusions: pd.DataFrame  # table, row, reason, consent
    ledger: pd.DataFrame  # table, item, rows
    keys: frozenset[str]  # every pseudonym made (for output scans; held in memory only)
    nonconsenting_keys: frozenset[str]


def _normalise_name(s: pd.Series) -> pd.Series:
    return s.astype("str").str.casefold().str.split().str.join(" ")


def _age(born: pd.Series, at: pd.Series) -> pd.Series:
    b, a = pd.to_datetime(born), pd.to_datetime(at)
    years = a.dt.year - b.dt.year - ((a.dt.month < b.dt.month) | ((a.dt.month == b.dt.month) & (a.dt.day < b.dt.day)))
    return years.astype("int64")


def load_client_data(data_dir: str | Path, secret: Secret, config: ClientLevelConfig) -> ClientData:
    """Validate, pseudonymise and check the tables of ``data_dir`` (see the module docstring)."""
    typed, report = validate_dir(data_dir, tables=list(TABLES), contracts_sub=CONTRACTS)
    report.raise_if_invalid(f"client-level tables in {data_dir}")
    return pseudonymise_and_check(typed, secret, config)


def pseudonymise_and_check(t: dict[str, pd.DataFrame], secret: Secret, config: ClientLevelConfig) -> ClientData:
    """Key people and enrolments, derive the model's client characteristics, drop every identifier,
    and check each enrolment, session and assessment (see the module docstring)."""
    people = _key_people(t["clients"], secret)
    enr = t["enrolments"].reset_index(drop=True)
    enr_keys = keyed_hash_present(secret, "enrolment", enr["enrolment_id"])
    e, reason = _check_enrolments(enr, enr_keys, people, t["dependants"], t["services"], config)
    used_e = e.loc[reason.isna()].reset_index(drop=True)
    key_of = dict(zip(enr["enrolment_id"], enr_keys, strict=True))
    ok_keys = set(used_e["enrolment_key"])
    ses, s_reason = _check_records(t["sessions"], key_of, ok_keys)
    s_reason[s_reason.isna() & _outside_enrolment(ses, used_e)] = "session_outside_enrolment"
    ass, a_reason = _check_records(t["assessments"], key_of, ok_keys)
    excluded_enr = e.loc[reason.notna(), ["row", "consent"]].assign(table="enrolments", reason=reason[reason.notna()])
    consent_of = dict(zip(e["enrolment_key"], e["consent"], strict=True))
    excl = [excluded_enr[["table", "row", "reason", "consent"]]]
    for name, df, rs in (("sessions", ses, s_reason), ("assessments", ass, a_reason)):
        excl.append(_excluded(name, df, rs, consent_of))
    exclusions = pd.concat(excl, ignore_index=True).sort_values(["table", "row"]).reset_index(drop=True)
    ledger = _ledger(
        {
            "clients": len(t["clients"]),
            "dependants": len(t["dependants"]),
            "enrolments": len(enr),
            "sessions": len(ses),
            "assessments": len(ass),
        },
        exclusions,
    )
    keys = frozenset(people.client_key.values()) | frozenset(enr_keys)
    nonconsenting = frozenset(k for k, ok in people.consent_by_key.items() if not ok) | frozenset(
        e.loc[~e["consent"], "enrolment_key"]
    )
    return ClientData(
        providers=t["providers"],
        services=t["services"].reset_index(drop=True),
        enrolments=used_e,
        sessions=ses.loc[s_reason.isna()].reset_index(drop=True),
        assessments=ass.loc[a_reason.isna()].reset_index(drop=True),
        exclusions=exclusions,
        ledger=ledger,
        keys=keys,
        nonconsenting_keys=nonconsenting,
    )


@dataclass
class _People:
    """The clients keyed: per (provider, client reference) the person's key and date of birth, each
    key's consent, and the clients' attributes by key (no name, no date of birth)."""

    client_key: dict[tuple[str, str], str]
    born: dict[tuple[str, str], pd.Timestamp]  # date of birth: used for ages here, never returned
    consent_by_key: pd.Series  # person key -> every record of the person consents
    attrs: pd.DataFrame  # provider_id, client_ref, client_key, gender, ethnicity, area


def _key_people(clients: pd.DataFrame, secret: Secret) -> _People:
    """Key each person by ``HMAC(secret, "client", normalised name | date of birth)``; consent per person."""
    clients = clients.reset_index(drop=True)
    ref = list(zip(clients["provider_id"], clients["client_ref"], strict=True))
    person = (
        _normalise_name(clients["full_name"]) + "|" + pd.to_datetime(clients["date_of_birth"]).dt.strftime("%Y-%m-%d")
    )
    client_key = dict(zip(ref, keyed_hash_present(secret, "client", person), strict=True))
    consent_by_key = (
        pd.Series(clients["consent_identifiable"].astype(bool).to_numpy(), index=[client_key[r] for r in ref])
        .groupby(level=0)
        .all()
    )
    attrs = clients.assign(client_key=[client_key[r] for r in ref])[
        ["provider_id", "client_ref", "client_key", "gender", "ethnicity", "area"]
    ]
    born = dict(zip(ref, clients["date_of_birth"], strict=True))
    return _People(client_key=client_key, born=born, consent_by_key=consent_by_key, attrs=attrs)


def _check_enrolments(
    enr: pd.DataFrame,
    enr_keys: list[str],
    people: _People,
    dep: pd.DataFrame,
    services: pd.DataFrame,
    config: ClientLevelConfig,
) -> tuple[pd.DataFrame, pd.Series]:
    """Enrolments with their keys, consent, age, dependants and offering, without enrolment ids or
    client references; and the reason each one is excluded (NA: used)."""
    e = enr.assign(row=np.arange(1, len(enr) + 1), enrolment_key=enr_keys).merge(
        people.attrs, on=["provider_id", "client_ref"], how="left", validate="many_to_one"
    )
    e["consent"] = e["client_key"].map(people.consent_by_key).astype(bool)
    born = pd.Series(
        [people.born[(p, c)] for p, c in zip(e["provider_id"], e["client_ref"], strict=True)], index=e.index
    )
    dep_n = dep.groupby(["provider_id", "client_ref"]).size()
    dep_young = dep.groupby(["provider_id", "client_ref"])["date_of_birth"].max()
    pair = list(zip(e["provider_id"], e["client_ref"], strict=True))
    e["n_dependants"] = [int(dep_n.get(k, 0)) for k in pair]
    youngest = pd.Series([dep_young.get(k, pd.NaT) for k in pair], index=e.index)
    under5 = youngest.notna() & (_age(youngest.fillna(e["start_date"]), e["start_date"]) < 5)
    e["youngest_dependant_under5"] = under5.astype("int64")
    svc = services.set_index("service_id")
    e["service_offering"] = e["service_id"].map(svc["service_offering"])
    reason = pd.Series(pd.NA, index=e.index, dtype="object")
    reason[e["service_id"].map(svc["provider_id"]) != e["provider_id"]] = "service_of_another_provider"
    reason[reason.isna() & (pd.to_datetime(born) > pd.to_datetime(e["start_date"]))] = "born_after_start"
    w0, w1 = pd.Timestamp(config.window.start), pd.Timestamp(config.window.end)
    outside = (pd.to_datetime(e["start_date"]) > w1) | (pd.to_datetime(e["end_date"]) < w0)
    reason[reason.isna() & outside] = "outside_window"
    e["age"] = _age(born.where(reason.isna(), e["start_date"]), e["start_date"])
    return e.drop(columns=["enrolment_id", "client_ref"]), reason


def _check_records(records: pd.DataFrame, key_of: dict[str, str], ok_keys: set[str]) -> tuple[pd.DataFrame, pd.Series]:
    """Sessions or assessments keyed by their enrolment's key (the enrolment id dropped), with their
    1-based input row; and the reason each one is excluded so far (its enrolment is)."""
    out = records.reset_index(drop=True)
    out = out.assign(row=np.arange(1, len(out) + 1), enrolment_key=out["enrolment_id"].map(key_of)).drop(
        columns="enrolment_id"
    )
    reason = pd.Series(pd.NA, index=out.index, dtype="object")
    reason[~out["enrolment_key"].isin(ok_keys)] = "enrolment_excluded"
    return out, reason


def _outside_enrolment(ses: pd.DataFrame, used_e: pd.DataFrame) -> pd.Series:
    """Sessions dated before their enrolment's start or after its end."""
    span = used_e.set_index("enrolment_key")[["start_date", "end_date"]]
    st_ = pd.to_datetime(ses["enrolment_key"].map(span["start_date"]))
    en_ = pd.to_datetime(ses["enrolment_key"].map(span["end_date"]))
    sd = pd.to_datetime(ses["session_date"])
    return (sd < st_) | (en_.notna() & (sd > en_))


def _excluded(name: str, df: pd.DataFrame, reason: pd.Series, consent_of: dict[str, bool]) -> pd.DataFrame:
    """The excluded rows of one table: table, row, reason and the consent of the enrolment's person."""
    m = reason.notna()
    return pd.DataFrame(
        {
            "table": name,
            "row": df.loc[m, "row"].to_numpy(),
            "reason": reason[m].to_numpy(),
            "consent": df.loc[m, "enrolment_key"].map(consent_of).fillna(False).to_numpy(bool),
        }
    )


def _ledger(read: dict[str, int], exclusions: pd.DataFrame) -> pd.DataFrame:
    rows: list[dict[str, object]] = []
    for table, n in read.items():
        ex = exclusions[exclusions["table"] == table]["reason"].value_counts()
        rows.append({"table": table, "item": "read", "rows": n})
        rows.append({"table": table, "item": "used", "rows": n - int(ex.sum())})
        rows += [{"table": table, "item": f"excluded: {r}", "rows": int(ex.get(r, 0))} for r in REASONS]
    out = pd.DataFrame(rows)
    return out[(out["rows"] > 0) | out["item"].isin(["read", "used"])].reset_index(drop=True)
