"""Raw event tables: read, validate against ``data_contracts/events/``, and put into working form.

The working form keys every row by ``pkey`` (one integer per participant and period of
service, from ``site_commencements``), codes sites as integers and holds dates as integer
days since 1970-01-01, with :data:`OPEN` for an empty end date. Rules then work on integer
arrays; identifiers and dates are turned back into text and dates only for the output.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from toolkit.contracts import load_contracts, validate_tables
from toolkit.contracts.validate import Violation, find_table_file, read_raw
from toolkit.errors import DataContractError
from toolkit.paths import DATA_CONTRACTS, contract_files

if TYPE_CHECKING:
    import numpy.typing as npt

#: The shipped event contracts (a workspace may override them: :func:`event_contracts`).
EVENT_CONTRACTS = DATA_CONTRACTS / "events"
EVENT_TABLES = (
    "site_commencements",
    "phases",
    "suspensions",
    "placements",
    "claims",
    "benchmarks",
    "os_assessments",
    "employment_verifications",
)
#: An empty end date (open spell, still in assistance): far beyond any real day number.
OPEN = 10**8
NEVER = -(10**8)


def to_days(s: pd.Series, empty: int = OPEN) -> np.ndarray:
    """Dates as integer days since 1970-01-01; missing dates become ``empty``."""
    v = pd.to_datetime(s).to_numpy().astype("datetime64[D]")
    out = v.astype("int64")
    out[np.isnat(v)] = empty
    return out


def from_days(d: np.ndarray) -> np.ndarray:
    """Integer days back to ``datetime64[s]``; :data:`OPEN`/:data:`NEVER` become NaT."""
    d = np.asarray(d, dtype="int64")
    out = d.astype("datetime64[D]").astype("datetime64[s]")
    out[(d >= OPEN) | (d <= NEVER)] = np.datetime64("NaT")
    return out


def take(values: npt.ArrayLike, pos: np.ndarray, fill: int | str | None) -> np.ndarray:
    """``values[pos]`` where ``pos >= 0``, ``fill`` elsewhere (safe when ``values`` is empty)."""
    values = np.asarray(values)
    pos = np.asarray(pos, dtype=np.int64)
    if len(values) == 0:
        return np.full(len(pos), fill, dtype=object if isinstance(fill, str) or fill is None else None)
    # numpy's stubs leave None out of array-likes, so a None fill resolves to the one-argument overload of
    # np.where; numpy itself takes None as an object scalar
    return np.where(pos >= 0, values[np.clip(pos, 0, len(values) - 1)], fill)  # type: ignore[return-value]


@dataclass
class Events:
    """The event tables in working form (see the module docstring)."""

    stints: pd.DataFrame  # one row per site commencement, sorted by pkey, commencement, exit
    phases: pd.DataFrame
    suspensions: pd.DataFrame
    placements: pd.DataFrame
    claims: pd.DataFrame
    benchmarks: pd.DataFrame
    assessments: pd.DataFrame
    verifications: pd.DataFrame
    people: pd.DataFrame  # pkey -> participant_id, period_of_service
    sites: pd.Index  # site code -> site_id


def read_event_tables(directory: str | Path) -> dict[str, pd.DataFrame]:
    """Read the event tables of a folder as stored (validation comes after)."""
    d = Path(directory)
    if not d.is_dir():
        raise DataContractError(f"events folder {d} does not exist")
    out, missing = {}, []
    for t in EVENT_TABLES:
        p = find_table_file(d, t)
        if p is None:
            missing.append(Violation(t, "", "missing_table", 0, (), f"no {t}.parquet or {t}.csv in {d}"))
            continue
        try:
            out[t] = read_raw(p)
        except DataContractError as exc:  # truncated, empty, another format
            missing.append(Violation(t, "", "unreadable", 0, (), str(exc)))
    if missing:
        raise DataContractError(
            f"events folder {d} lacks {len(missing)} table(s) (missing or unreadable):\n"
            + "\n".join(f"  - {v}" for v in missing),
            missing,
        )
    return out


_CONTRACTS: dict = {}


def event_contracts() -> dict:
    """The contracts of ``data_contracts/events/``, the workspace's before the shipped ones (read again
    only when a file changes)."""
    key = tuple((str(p), p.stat().st_mtime_ns) for p in contract_files("events"))
    if key not in _CONTRACTS:
        _CONTRACTS.clear()
        _CONTRACTS[key] = load_contracts(sub="events")
    return _CONTRACTS[key]


def validate_events(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Check event tables against ``data_contracts/events/``; return typed tables or raise listing every violation."""
    contracts = event_contracts()
    missing = [
        Violation(t, "", "missing_table", 0, (), "required event table not given")
        for t in EVENT_TABLES
        if t not in tables
    ]
    typed, report = validate_tables({t: tables[t] for t in EVENT_TABLES if t in tables}, contracts)
    report.violations = missing + report.violations
    report.raise_if_invalid("event tables")
    return typed


def _overlaps(pkey: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Rows whose spell starts before the previous spell of the same key ended (input sorted by key, start)."""
    if len(pkey) < 2:
        return np.zeros(len(pkey), bool)
    prev_end = pd.Series(np.r_[NEVER, end[:-1]]).where(np.r_[False, pkey[1:] == pkey[:-1]], NEVER)
    prev_end = prev_end.groupby(pkey).cummax().to_numpy()
    return start < prev_end


def check_spells(ev: Events) -> None:
    """Spells of one period of service must not overlap: site commencements (an exit or transfer
    ends one before the next starts) and phases. Raises :class:`DataContractError` with counts."""
    viol = []
    st = ev.stints
    bad = _overlaps(st["pkey"].to_numpy(), st["c"].to_numpy(), st["x"].to_numpy())
    if bad.any():
        viol.append(
            Violation(
                "site_commencements",
                "commencement_date,exit_date",
                "no_overlap",
                int(bad.sum()),
                tuple(int(i) + 1 for i in st["row"].to_numpy()[bad][:5]),
                "a commencement starts before the previous commencement of the period ended",
            )
        )
    ph = ev.phases.sort_values(["pkey", "ps", "pe"], kind="stable")
    bad = _overlaps(ph["pkey"].to_numpy(), ph["ps"].to_numpy(), ph["pe"].to_numpy())
    if bad.any():
        viol.append(
            Violation(
                "phases",
                "start_date,end_date",
                "no_overlap",
                int(bad.sum()),
                tuple(int(i) + 1 for i in ph["row"].to_numpy()[bad][:5]),
                "a phase spell starts before the previous spell of the period ended",
            )
        )
    if viol:
        raise DataContractError(
            f"event tables break the spell rules ({len(viol)} violation(s)):\n" + "\n".join(f"  - {v}" for v in viol),
            viol,
        )


def _merge_suspensions(su: pd.DataFrame) -> pd.DataFrame:
    """Union of overlapping suspensions per period of service (so no day is subtracted twice)."""
    if su.empty:
        return su
    su = su.sort_values(["pkey", "ss", "se"], kind="stable").reset_index(drop=True)
    same = np.r_[False, su["pkey"].to_numpy()[1:] == su["pkey"].to_numpy()[:-1]]
    prev_max = (
        pd.Series(np.r_[NEVER, su["se"].to_numpy()[:-1]]).where(same, NEVER).groupby(su["pkey"].to_numpy()).cummax()
    )
    new = ~same | (su["ss"].to_numpy() > prev_max.to_numpy())
    grp = np.cumsum(new)
    return su.groupby(grp).agg(pkey=("pkey", "first"), ss=("ss", "min"), se=("se", "max")).reset_index(drop=True)


class _Keys:
    """Integer keys of the working form: participant-period (``pkey``, from the site
    commencements) and site code. Rows whose participant-period has no site commencement are
    collected as violations (``-1`` would silently index the last participant)."""

    def __init__(self, typed: dict[str, pd.DataFrame]):
        sc = typed["site_commencements"].reset_index(drop=True)
        people_idx = pd.MultiIndex.from_arrays(
            [sc["participant_id"].astype(str), sc["period_of_service"].astype("int64")]
        )
        self.codes, self.uniq = pd.factorize(people_idx, sort=True)
        self.people = pd.DataFrame(
            {
                "participant_id": self.uniq.get_level_values(0).astype(str),
                "period_of_service": self.uniq.get_level_values(1).astype("int64"),
            }
        )
        site_ids = pd.Index(
            pd.unique(
                pd.concat(
                    [
                        typed[t]["site_id"].astype(str)
                        for t in ("site_commencements", "claims", "placements", "os_assessments")
                    ]
                )
            )
        )
        self.site_ids = site_ids.sort_values()
        self.orphans: list[Violation] = []

    def pkey(self, df: pd.DataFrame, table: str) -> np.ndarray:
        mi = pd.MultiIndex.from_arrays([df["participant_id"].astype(str), df["period_of_service"].astype("int64")])
        k = self.uniq.get_indexer(mi)
        if (k < 0).any():  # refuse, as the foreign keys do
            self.orphans.append(
                Violation(
                    table,
                    "participant_id,period_of_service",
                    "foreign_key->site_commencements",
                    int((k < 0).sum()),
                    tuple(int(i) + 1 for i in np.flatnonzero(k < 0)[:5]),
                    "no site commencement for this participant and period of service",
                )
            )
        return k

    def site(self, df: pd.DataFrame) -> np.ndarray:
        return self.site_ids.get_indexer(df["site_id"].astype(str))

    def raise_orphans(self) -> None:
        if self.orphans:
            raise DataContractError(
                "event tables refer to participants without a site commencement "
                f"({len(self.orphans)} violation(s)):\n" + "\n".join(f"  - {v}" for v in self.orphans),
                self.orphans,
            )


def _working_stints(sc: pd.DataFrame, keys: _Keys) -> pd.DataFrame:
    """Site commencements, sorted by participant-period, commencement and exit."""
    sc = sc.reset_index(drop=True)
    return (
        pd.DataFrame(
            {
                "row": np.arange(len(sc)),
                "pkey": keys.codes,
                "site": keys.site(sc),
                "program": sc["program"].astype(str).to_numpy(),
                "org": sc["organisation_id"].astype(str).to_numpy(),
                "contract": sc["contract_id"].astype(str).to_numpy(),
                "ref": to_days(sc["referral_date"]),
                "c": to_days(sc["commencement_date"]),
                "x": to_days(sc["exit_date"]),
                "xr": sc["exit_reason"].astype(object).where(sc["exit_reason"].notna(), "").astype(str).to_numpy(),
                "ind": sc["indigenous"].astype(bool).to_numpy(),
                "trans": sc["transition_phase"].astype(str).to_numpy(),
            }
        )
        .sort_values(["pkey", "c", "x", "row"], kind="stable")
        .reset_index(drop=True)
    )


def _working_spells(typed: dict[str, pd.DataFrame], keys: _Keys) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Phase spells, and suspensions merged where they overlap."""
    ph = typed["phases"].reset_index(drop=True)
    phases = pd.DataFrame(
        {
            "row": np.arange(len(ph)),
            "pkey": keys.pkey(ph, "phases"),
            "phase": ph["phase"].astype(str).to_numpy(),
            "ps": to_days(ph["start_date"]),
            "pe": to_days(ph["end_date"]),
            "level": ph["os_funding_level"].astype(str).to_numpy(),
        }
    )
    su = typed["suspensions"].reset_index(drop=True)
    susp = _merge_suspensions(
        pd.DataFrame(
            {"pkey": keys.pkey(su, "suspensions"), "ss": to_days(su["start_date"]), "se": to_days(su["end_date"])}
        )
    )
    return phases, susp


def _working_placements(pl: pd.DataFrame, keys: _Keys) -> pd.DataFrame:
    pl = pl.reset_index(drop=True)
    return pd.DataFrame(
        {
            "placement_id": pl["placement_id"].astype(str).to_numpy(),
            "pkey": keys.pkey(pl, "placements"),
            "site": keys.site(pl),
            "ps": to_days(pl["start_date"]),
            "ptype": pl["placement_type"].astype(str).to_numpy(),
            "app": pl["apprenticeship_traineeship"].astype(bool).to_numpy(),
            "dre": pl["directly_related_employment"].astype(bool).to_numpy(),
            "wa": pl["work_assist"].astype(bool).to_numpy(),
        }
    )


def _working_claims(cl: pd.DataFrame, keys: _Keys) -> pd.DataFrame:
    cl = cl.reset_index(drop=True)
    return pd.DataFrame(
        {
            "claim_id": cl["claim_id"].astype(str).to_numpy(),
            "pkey": keys.pkey(cl, "claims"),
            "site": keys.site(cl),
            "ctype": cl["claim_type"].astype(str).to_numpy(),
            "amount": cl["amount"].astype("float64").to_numpy(),
            "status": cl["status"].astype(str).to_numpy(),
            "recov": cl["recovery_confirmed"].astype(bool).to_numpy(),
            "lodged": to_days(cl["lodged_date"]),
            "placement_id": cl["placement_id"]
            .astype(object)
            .where(cl["placement_id"].notna(), "")
            .astype(str)
            .to_numpy(),
        }
    )


def _working_assessments(
    typed: dict[str, pd.DataFrame], keys: _Keys
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Benchmark assessments, Ongoing Support assessments and employment verifications."""
    bm = typed["benchmarks"].reset_index(drop=True)
    benchmarks = pd.DataFrame(
        {
            "pkey": keys.pkey(bm, "benchmarks"),
            "bd": to_days(bm["assessment_date"]),
            "bench": bm["employment_benchmark"].astype("int64").to_numpy(),
        }
    )
    oa = typed["os_assessments"].reset_index(drop=True)
    assessments = pd.DataFrame(
        {
            "pkey": keys.pkey(oa, "os_assessments"),
            "site": keys.site(oa),
            "ad": to_days(oa["assessment_date"]),
            "rec": oa["recommendation"].astype(str).to_numpy(),
        }
    )
    ve = typed["employment_verifications"].reset_index(drop=True)
    verifications = pd.DataFrame(
        {
            "pkey": keys.pkey(ve, "employment_verifications"),
            "ex": to_days(ve["exit_date"]),
            "vd": to_days(ve["verified_date"]),
            "result": ve["result"].astype(str).to_numpy(),
        }
    )
    return benchmarks, assessments, verifications


def to_working(typed: dict[str, pd.DataFrame]) -> Events:
    """Turn typed event tables into the working form (integer keys and days)."""
    keys = _Keys(typed)
    stints = _working_stints(typed["site_commencements"], keys)
    phases, susp = _working_spells(typed, keys)
    placements = _working_placements(typed["placements"], keys)
    claims = _working_claims(typed["claims"], keys)
    benchmarks, assessments, verifications = _working_assessments(typed, keys)
    keys.raise_orphans()
    ev = Events(
        stints=stints,
        phases=phases,
        suspensions=susp,
        placements=placements,
        claims=claims,
        benchmarks=benchmarks,
        assessments=assessments,
        verifications=verifications,
        people=keys.people,
        sites=keys.site_ids,
    )
    check_spells(ev)
    return ev


def load_events(source: str | Path | dict[str, pd.DataFrame]) -> Events:
    """Read (from a folder) or take (a dict of DataFrames) the event tables, validate, and convert."""
    tables = read_event_tables(source) if isinstance(source, (str, Path)) else dict(source)
    return to_working(validate_events(tables))
