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
from toolkit.privacy import Secret, keyed_hash
from toolkit.schemes.clientlevel.config import ClientLevelConfig

CONTRACTS = DATA_CONTRACTS / "clientlevel"
MODEL_CONTRACTS = CONTRACTS / "derived"
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
    typed, report = validate_dir(data_dir, tables=list(TABLES), contracts_dir=CONTRACTS)
    report.raise_if_invalid(f"client-level tables in {data_dir}")
    return pseudonymise_and_check(typed, secret, config)


def pseudonymise_and_check(t: dict[str, pd.DataFrame], secret: Secret, config: ClientLevelConfig) -> ClientData:
    clients = t["clients"].reset_index(drop=True)
    ref = list(zip(clients["provider_id"], clients["client_ref"]))
    person = (
        _normalise_name(clients["full_name"]) + "|" + pd.to_datetime(clients["date_of_birth"]).dt.strftime("%Y-%m-%d")
    )
    client_key = dict(zip(ref, keyed_hash(secret, "client", person)))
    dob = dict(zip(ref, clients["date_of_birth"]))
    consent_by_key = (
        pd.Series(clients["consent_identifiable"].astype(bool).to_numpy(), index=[client_key[r] for r in ref])
        .groupby(level=0)
        .all()
    )
    attrs = clients.assign(client_key=[client_key[r] for r in ref])[
        ["provider_id", "client_ref", "client_key", "gender", "ethnicity", "area"]
    ]

    enr = t["enrolments"].reset_index(drop=True)
    enr_keys = keyed_hash(secret, "enrolment", enr["enrolment_id"])
    e = enr.assign(row=np.arange(1, len(enr) + 1), enrolment_key=enr_keys).merge(
        attrs, on=["provider_id", "client_ref"], how="left", validate="many_to_one"
    )
    e["consent"] = e["client_key"].map(consent_by_key).astype(bool)
    born = pd.Series([dob[(p, c)] for p, c in zip(e["provider_id"], e["client_ref"])], index=e.index)
    dep = t["dependants"]
    dep_n = dep.groupby(["provider_id", "client_ref"]).size()
    dep_young = dep.groupby(["provider_id", "client_ref"])["date_of_birth"].max()
    pair = list(zip(e["provider_id"], e["client_ref"]))
    e["n_dependants"] = [int(dep_n.get(k, 0)) for k in pair]
    youngest = pd.Series([dep_young.get(k, pd.NaT) for k in pair], index=e.index)
    under5 = youngest.notna() & (_age(youngest.fillna(e["start_date"]), e["start_date"]) < 5)
    e["youngest_dependant_under5"] = under5.astype("int64")
    svc = t["services"].set_index("service_id")
    e["service_offering"] = e["service_id"].map(svc["service_offering"])
    reason = pd.Series(pd.NA, index=e.index, dtype="object")
    reason[e["service_id"].map(svc["provider_id"]) != e["provider_id"]] = "service_of_another_provider"
    reason[reason.isna() & (pd.to_datetime(born) > pd.to_datetime(e["start_date"]))] = "born_after_start"
    w0, w1 = pd.Timestamp(config.window.start), pd.Timestamp(config.window.end)
    outside = (pd.to_datetime(e["start_date"]) > w1) | (pd.to_datetime(e["end_date"]) < w0)
    reason[reason.isna() & outside] = "outside_window"
    e["age"] = _age(born.where(reason.isna(), e["start_date"]), e["start_date"])
    del born, dob, person  # identifiers go no further than this function
    e = e.drop(columns=["enrolment_id", "client_ref"])
    excluded_enr = e.loc[reason.notna(), ["row", "consent"]].assign(table="enrolments", reason=reason[reason.notna()])
    used_e = e.loc[reason.isna()].reset_index(drop=True)
    key_of = dict(zip(enr["enrolment_id"], enr_keys))
    ok_keys = set(used_e["enrolment_key"])
    consent_of = dict(zip(e["enrolment_key"], e["consent"]))

    ses = t["sessions"].reset_index(drop=True)
    ses = ses.assign(row=np.arange(1, len(ses) + 1), enrolment_key=ses["enrolment_id"].map(key_of)).drop(
        columns="enrolment_id"
    )
    span = used_e.set_index("enrolment_key")[["start_date", "end_date"]]
    s_reason = pd.Series(pd.NA, index=ses.index, dtype="object")
    s_reason[~ses["enrolment_key"].isin(ok_keys)] = "enrolment_excluded"
    st_ = pd.to_datetime(ses["enrolment_key"].map(span["start_date"]))
    en_ = pd.to_datetime(ses["enrolment_key"].map(span["end_date"]))
    sd = pd.to_datetime(ses["session_date"])
    s_reason[s_reason.isna() & ((sd < st_) | (en_.notna() & (sd > en_)))] = "session_outside_enrolment"
    ass = t["assessments"].reset_index(drop=True)
    ass = ass.assign(row=np.arange(1, len(ass) + 1), enrolment_key=ass["enrolment_id"].map(key_of)).drop(
        columns="enrolment_id"
    )
    a_reason = pd.Series(pd.NA, index=ass.index, dtype="object")
    a_reason[~ass["enrolment_key"].isin(ok_keys)] = "enrolment_excluded"

    excl = [excluded_enr[["table", "row", "reason", "consent"]]]
    for name, df, rs in (("sessions", ses, s_reason), ("assessments", ass, a_reason)):
        m = rs.notna()
        excl.append(
            pd.DataFrame(
                {
                    "table": name,
                    "row": df.loc[m, "row"].to_numpy(),
                    "reason": rs[m].to_numpy(),
                    "consent": df.loc[m, "enrolment_key"].map(consent_of).fillna(False).to_numpy(bool),
                }
            )
        )
    exclusions = pd.concat(excl, ignore_index=True).sort_values(["table", "row"]).reset_index(drop=True)
    ledger = _ledger(
        {
            "clients": len(clients),
            "dependants": len(dep),
            "enrolments": len(enr),
            "sessions": len(ses),
            "assessments": len(ass),
        },
        exclusions,
    )
    keys = frozenset(client_key.values()) | frozenset(enr_keys)
    nonconsenting = frozenset(k for k, ok in consent_by_key.items() if not ok) | frozenset(
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


def _ledger(read: dict[str, int], exclusions: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for table, n in read.items():
        ex = exclusions[exclusions["table"] == table]["reason"].value_counts()
        rows.append({"table": table, "item": "read", "rows": n})
        rows.append({"table": table, "item": "used", "rows": n - int(ex.sum())})
        rows += [{"table": table, "item": f"excluded: {r}", "rows": int(ex.get(r, 0))} for r in REASONS]
    out = pd.DataFrame(rows)
    return out[(out["rows"] > 0) | out["item"].isin(["read", "used"])].reset_index(drop=True)
