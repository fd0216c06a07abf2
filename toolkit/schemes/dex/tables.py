"""Reading a DEX extract: contracts, the scheme's cross-table rules, the SLK step, exclusions.

:func:`load_dex_data` is the only place that sees client names. It validates every table
against ``data_contracts/dex/``, checks the rules that need the scheme config or two tables
at once, checks each client's statistical linkage key, and then drops the name columns and
the key itself (a salted in-memory hash stands in for linking). Everything downstream works
on name-free tables.

Records are either used or listed in ``exclusions`` with a reason, and ``accounting``
shows, per table, rows read = rows used + rows excluded.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from toolkit.config import inside_root
from toolkit.contracts import Violation, load_contracts, validate_dir, validate_tables
from toolkit.errors import DataContractError
from toolkit.paths import SHIPPED_CONTRACTS, workspace
from toolkit.schemes.dex.config import DexConfig
from toolkit.slk import SEX_DIGITS, check_keys, shared_keys

if TYPE_CHECKING:
    from toolkit.contracts import ValidationReport

NAME_COLUMNS = ("given_name", "family_name")


@dataclass
class DexData:
    """A validated, name-free DEX extract."""

    tables: dict[str, pd.DataFrame]  # typed contract tables; clients without names or key
    assessments: pd.DataFrame  # SCORE rows in the reporting periods, with case, organisation, activity
    attendance: pd.DataFrame  # identified client x session in the reporting periods, with date, case, provider
    clients: pd.DataFrame  # one row per client: provider, SLK checks, demographics_complete, consent
    exclusions: pd.DataFrame  # table, record_id, reason (pseudonymous ids only)
    accounting: pd.DataFrame  # table, read, used, excluded


def _rows(mask: np.ndarray, k: int = 5) -> tuple[int, ...]:
    return tuple(int(i) + 1 for i in np.flatnonzero(mask)[:k])


def scheme_violations(t: dict[str, pd.DataFrame], config: DexConfig) -> list[Violation]:
    """Rules beyond the single-table contracts: domain of type, client of the case's organisation,
    session client of the session's case, assessment dated on its session."""
    out: list[Violation] = []
    a = t["score_assessments"]
    allowed = {(st, d) for st, doms in config.domains.items() for d in doms}
    bad = ~np.array([(st, d) in allowed for st, d in zip(a["score_type"], a["domain"], strict=True)], dtype=bool)
    if bad.any():
        out.append(
            Violation(
                "score_assessments",
                "domain",
                "domain_of_score_type",
                int(bad.sum()),
                _rows(bad),
                "domain code not among its score type's domains (configs/schemes/dex/domains.yaml)",
            )
        )
    case_org = t["cases"].merge(t["outlets"][["outlet_id", "organisation_id"]], on="outlet_id", how="left")
    cc = (
        t["case_clients"]
        .merge(case_org[["case_id", "organisation_id"]], on="case_id", how="left")
        .merge(
            t["clients"][["client_id", "organisation_id"]].rename(columns={"organisation_id": "client_org"}),
            on="client_id",
            how="left",
        )
    )
    bad = (
        cc["organisation_id"].notna() & cc["client_org"].notna() & (cc["organisation_id"] != cc["client_org"])
    ).to_numpy()
    if bad.any():
        out.append(
            Violation(
                "case_clients",
                "client_id",
                "client_of_case_organisation",
                int(bad.sum()),
                _rows(bad),
                "the client record belongs to another organisation than the case's outlet",
            )
        )
    sc = t["session_clients"].merge(t["sessions"][["session_id", "case_id"]], on="session_id", how="left")
    known = sc.merge(t["case_clients"].assign(_in_case=True), on=["case_id", "client_id"], how="left")
    bad = sc["case_id"].notna().to_numpy() & known["_in_case"].isna().to_numpy()
    if bad.any():
        out.append(
            Violation(
                "session_clients",
                "client_id",
                "client_of_session_case",
                int(bad.sum()),
                _rows(bad),
                "the client attending is not a client of the session's case",
            )
        )
    ad = a[["session_id", "assessment_date"]].merge(
        t["sessions"][["session_id", "session_date"]], on="session_id", how="left"
    )
    bad = (ad["session_date"].notna() & (ad["assessment_date"] != ad["session_date"])).to_numpy()
    if bad.any():
        out.append(
            Violation(
                "score_assessments",
                "assessment_date",
                "assessment_on_session_date",
                int(bad.sum()),
                _rows(bad),
                "a SCORE assessment is dated on the session it is recorded against",
            )
        )
    return out


def screen_clients(clients: pd.DataFrame, config: DexConfig) -> pd.DataFrame:
    """The SLK step: check every client's key, then return the client table without names or key.

    Added columns: ``slk_valid``, ``slk_invalid_reason``, ``slk_shared_in_organisation``
    (a valid key held by another client record of the same organisation), ``link_key``
    (a salted hash of a valid key, for counting distinct people; never written out) and
    ``demographics_complete``.
    """
    checks = check_keys(
        clients,
        placeholder_names_valid=config.slk.placeholder_names_valid,
        estimated_birth_date_valid=config.slk.estimated_birth_date_valid,
        sex_codes={k.lower(): v for k, v in config.slk.sex_codes.items()} if config.slk.sex_codes else SEX_DIGITS,
        day_first=config.slk.day_first,
    )
    salt = secrets.token_bytes(16)  # per process: the hash links within a run and means nothing outside it
    link = [
        hashlib.blake2b(k.encode(), key=salt, digest_size=12).hexdigest() if ok else None
        for k, ok in zip(checks["slk"].tolist(), checks["slk_valid"].tolist(), strict=True)
    ]
    out = clients.drop(columns=[c for c in (*NAME_COLUMNS, "slk") if c in clients.columns]).copy()
    out["slk_valid"] = checks["slk_valid"].to_numpy()
    out["slk_invalid_reason"] = checks["slk_invalid_reason"].to_numpy()
    out["link_key"] = pd.array(link, dtype="str")
    org_key = out["organisation_id"].astype("str") + "|" + out["link_key"].astype("str")
    out["slk_shared_in_organisation"] = shared_keys(org_key.where(out["link_key"].notna()), out["client_id"]).to_numpy()
    out["demographics_complete"] = demographics_complete(out, config)
    return out


def demographics_complete(clients: pd.DataFrame, config: DexConfig) -> np.ndarray:
    """True where every configured demographic item is present and not a "not stated" value."""
    ok = np.ones(len(clients), dtype=bool)
    for item in config.demographics.items:
        if item not in clients.columns:
            raise DataContractError(f"clients: demographic item {item!r} of the config is not a column of the table")
        s = clients[item]
        present = s.notna().to_numpy().copy()
        not_stated = config.demographics.not_stated.get(item, ())
        if not_stated:
            present &= ~s.astype("str").isin(list(not_stated)).to_numpy()
        ok &= present
    return ok


def contracts_dir(config: DexConfig) -> str:
    """The sub-folder of the DEX contracts, ``data_contracts/<contracts>`` (the workspace's files first,
    then the shipped ones; neither may lie outside the workspace or the shipped package data)."""
    source = f"DEX config {config.name}"
    inside_root(SHIPPED_CONTRACTS / config.contracts, "contracts", source)
    inside_root(workspace() / "data_contracts" / config.contracts, "contracts", source)
    return config.contracts


def load_dex_data(directory: str | Path, config: DexConfig) -> DexData:
    """Validate a folder of DEX tables and return the name-free extract, or raise listing every violation."""
    typed, report = validate_dir(directory, contracts_sub=contracts_dir(config))
    return _checked(typed, report, config, f"DEX tables in {directory}")


def dex_data_from_tables(tables: dict[str, pd.DataFrame], config: DexConfig) -> DexData:
    """:func:`load_dex_data` for tables already in memory (every contract table must be present)."""
    contracts = load_contracts(sub=contracts_dir(config))
    typed, report = validate_tables(tables, contracts)
    report.violations = [
        Violation(t, "", "missing_table", 0, (), "table absent") for t in sorted(set(contracts) - set(tables))
    ] + report.violations
    return _checked(typed, report, config, "DEX tables")


def _checked(typed: dict[str, pd.DataFrame], report: ValidationReport, config: DexConfig, what: str) -> DexData:
    if report.ok:
        report.violations += scheme_violations(typed, config)
    report.raise_if_invalid(what)
    clients = screen_clients(typed["clients"], config)
    typed["clients"] = clients.drop(columns=["link_key"])
    return prepare(typed, clients, config)


def prepare(t: dict[str, pd.DataFrame], clients: pd.DataFrame, config: DexConfig) -> DexData:
    """Join sessions and assessments to their case and provider; set aside records before the first period."""
    first = pd.Timestamp(config.reporting.first_period_start)
    provider = t["cases"].merge(t["outlets"][["outlet_id", "organisation_id"]], on="outlet_id")[
        ["case_id", "organisation_id", "activity_id"]
    ]
    sessions = t["sessions"].merge(provider, on="case_id")
    early_s = sessions["session_date"] < first
    a = t["score_assessments"].merge(
        sessions[["session_id", "case_id", "organisation_id", "activity_id"]], on="session_id"
    )
    early_a = (a["assessment_date"] < first).to_numpy()
    reason = f"before the first reporting period ({config.reporting.first_period_start})"
    attendance = t["session_clients"].merge(
        sessions.loc[~early_s, ["session_id", "session_date", "case_id", "organisation_id", "activity_id"]],
        on="session_id",
    )
    exclusions = [
        pd.DataFrame({"table": "sessions", "record_id": sessions.loc[early_s, "session_id"], "reason": reason}),
        pd.DataFrame({"table": "score_assessments", "record_id": a.loc[early_a, "assessment_id"], "reason": reason}),
    ]
    early_sc = ~t["session_clients"]["session_id"].isin(attendance["session_id"]).to_numpy()
    exclusions.append(
        pd.DataFrame(
            {
                "table": "session_clients",
                "record_id": t["session_clients"].loc[early_sc, "session_id"]
                + "/"
                + t["session_clients"].loc[early_sc, "client_id"],
                "reason": reason,
            }
        )
    )
    seen = set(attendance["client_id"])
    unseen = ~clients["client_id"].isin(seen).to_numpy()
    exclusions.append(
        pd.DataFrame(
            {
                "table": "clients",
                "record_id": clients.loc[unseen, "client_id"],
                "reason": "no session in a reporting period",
            }
        )
    )
    cases_seen = set(attendance["case_id"]) | set(a.loc[~early_a, "case_id"])
    unseen_c = ~t["cases"]["case_id"].isin(cases_seen).to_numpy()
    exclusions.append(
        pd.DataFrame(
            {
                "table": "cases",
                "record_id": t["cases"].loc[unseen_c, "case_id"],
                "reason": "no session in a reporting period",
            }
        )
    )
    cc = t["case_clients"]
    unseen_cc = cc["case_id"].isin(t["cases"].loc[unseen_c, "case_id"]).to_numpy()
    exclusions.append(
        pd.DataFrame(
            {
                "table": "case_clients",
                "record_id": cc.loc[unseen_cc, "case_id"] + "/" + cc.loc[unseen_cc, "client_id"],
                "reason": "case has no session in a reporting period",
            }
        )
    )
    excl = pd.concat(exclusions, ignore_index=True).sort_values(["table", "record_id"], ignore_index=True)
    counts = excl.groupby("table").size()
    accounting = pd.DataFrame({"table": sorted(t)})
    accounting["read"] = [len(t[name]) for name in accounting["table"]]
    accounting["excluded"] = [int(counts.get(name, 0)) for name in accounting["table"]]
    accounting["used"] = accounting["read"] - accounting["excluded"]
    return DexData(
        tables=t,
        assessments=a.loc[~early_a].reset_index(drop=True),
        attendance=attendance,
        clients=clients,
        exclusions=excl,
        accounting=accounting[["table", "read", "used", "excluded"]],
    )
