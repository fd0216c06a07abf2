"""Site commencements as at the cut-off, transfer chains and durations in assistance.

Seed 001, principal rules: "The duration in assistance for a Participant starts from when
they commence with the Site. It includes the total time spent in both the Employment
Assistance and Post Placement Support phases combined and excludes all periods of
Suspension after commencement. For each new Period of Service ... participants start a new
duration". Attachment A: duration at a site "includes time spent at previous Sites with the
same organisation (during the same unique period of assistance)"; "If a Participant transfers
organisation or changes program ... their duration in assistance restarts"; the time in
assistance control variable is the time in EA and PPS at the site, excluding suspensions,
plus the time from referral to commencement. Table 2: the 52-week measures also count the
Ongoing Support phase, "only ... prior to reaching the 52 Week" outcome.

Days are integers; a spell ``[start, end)`` includes its start and excludes its end, so a
participant who commenced on day ``c`` and is still in assistance at the cut-off ``k`` has
``k - c`` days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.records.derive.events import NEVER, OPEN


def overlap(a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray) -> np.ndarray:
    """Days in common between ``[a0, a1)`` and ``[b0, b1)`` (elementwise).

    >>> overlap(np.array([0, 0]), np.array([10, 10]), np.array([5, 20]), np.array([15, 30])).tolist()
    [5, 0]
    """
    return np.maximum(np.minimum(a1, b1) - np.maximum(a0, b0), 0)


def transfer_chains(pkey: np.ndarray, org: np.ndarray, program: np.ndarray) -> np.ndarray:
    """Chain number of each site commencement (rows sorted by participant-period, then date).

    A chain is a run of consecutive commencements of one period of service with the same
    organisation and program; a new period, organisation or program starts a new chain
    (Attachment A: duration "restarts").

    >>> transfer_chains(np.array([0, 0, 0, 1]), np.array(["A", "A", "B", "B"]), np.array(["DMS"] * 4)).tolist()
    [0, 0, 1, 2]
    """
    n = len(pkey)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.r_[True, (pkey[1:] != pkey[:-1]) | (org[1:] != org[:-1]) | (program[1:] != program[:-1])]
    return np.cumsum(new) - 1


def stints_as_at(stints: pd.DataFrame, cutoff: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split commencements into those known at the cut-off and those after it; exits after the
    cut-off are not yet known (the participant is still in assistance at the cut-off)."""
    late = stints["c"].to_numpy() > cutoff
    st = stints.loc[~late].reset_index(drop=True).copy()
    after = st["x"].to_numpy() > cutoff
    st.loc[after, "x"] = OPEN
    st.loc[after, "xr"] = ""
    return st, stints.loc[late]


def add_chain_columns(st: pd.DataFrame, cutoff: int) -> pd.DataFrame:
    """Add chain, chain start and referral, order, transferred flag, next organisation and ends."""
    pkey, org, prog = st["pkey"].to_numpy(), st["org"].to_numpy(), st["program"].to_numpy()
    chain = transfer_chains(pkey, org, prog)
    first = np.r_[True, chain[1:] != chain[:-1]] if len(chain) else np.zeros(0, bool)
    first_idx = np.maximum.accumulate(np.where(first, np.arange(len(st)), 0))
    same_prev = np.r_[False, pkey[1:] == pkey[:-1]] if len(pkey) else np.zeros(0, bool)
    same_next = np.r_[pkey[1:] == pkey[:-1], False] if len(pkey) else np.zeros(0, bool)
    xr = st["xr"].to_numpy()
    x = st["x"].to_numpy()
    out = st.assign(
        chain=chain,
        chain_start=st["c"].to_numpy()[first_idx],
        chain_ref=st["ref"].to_numpy()[first_idx],
        order=st.groupby("pkey", sort=False).cumcount().to_numpy(),
        transferred=same_prev & (np.concatenate([np.array([""], dtype=object), xr[:-1]]) == "transfer"),
        next_org=np.where(same_next, np.concatenate([org[1:], np.array([""], dtype=object)]), ""),
        end=np.minimum(x, cutoff),
        end_incl=np.where(x <= cutoff, x, cutoff + 1),
        still_in=x >= OPEN,
    )
    return out


def _subtract_suspensions(rows: pd.DataFrame, susp: pd.DataFrame, windows: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """For each (stint, phase spell) row and each named window, subtract suspended days inside it."""
    if susp.empty or rows.empty:
        return rows
    j = rows[["rid", "pkey", "ps", "pe"] + sorted({c for w in windows.values() for c in w})].merge(
        susp, on="pkey", how="inner"
    )
    if j.empty:
        return rows
    sub = {}
    for name, (w0, w1) in windows.items():
        a0 = np.maximum(j["ps"].to_numpy(), j[w0].to_numpy())
        a1 = np.minimum(j["pe"].to_numpy(), j[w1].to_numpy())
        sub[name] = overlap(a0, a1, j["ss"].to_numpy(), j["se"].to_numpy())
    s = pd.DataFrame({"rid": j["rid"].to_numpy(), **sub}).groupby("rid").sum()
    rows = rows.copy()
    pos = pd.Index(s.index).get_indexer(rows["rid"])
    hit = pos >= 0
    for name in windows:
        v = rows[name].to_numpy().copy()
        v[hit] -= s[name].to_numpy()[pos[hit]]
        rows[name] = v
    return rows


_METRIC_DEFAULTS = {
    "eapps_chain": 0,
    "eapps_site": 0,
    "os52_chain": 0,
    "os52_site": 0,
    "os_days_chain": 0,
    "os_days_site": 0,
    "os_first": OPEN,
    "os_last_end": NEVER,
    "os_flexible": False,
    "os_on_cutoff": False,
    "os_at_exit": False,
    "os_after_52": False,
}
_METRIC_AGG = {
    "eapps_chain": "sum",
    "eapps_site": "sum",
    "os52_chain": "sum",
    "os52_site": "sum",
    "os_days_chain": "sum",
    "os_days_site": "sum",
    "os_first": "min",
    "os_last_end": "max",
    "os_flexible": "any",
    "os_on_cutoff": "any",
    "os_at_exit": "any",
    "os_after_52": "any",
}


def _phase_rows(
    st: pd.DataFrame,
    phases: pd.DataFrame,
    susp: pd.DataFrame,
    program_start: int,
    os_cut: np.ndarray,
    out52: np.ndarray,
) -> pd.DataFrame:
    """One row per commencement and phase spell of its participant-period, with the days of EA
    and PPS (chain and site) and of OS before the 52-week cut, net of suspensions."""
    base = pd.DataFrame(
        {
            "sid": np.arange(len(st)),
            "pkey": st["pkey"].to_numpy(),
            "cs": st["chain_start"].to_numpy(),
            "c": st["c"].to_numpy(),
            "end": st["end"].to_numpy(),
            "endi": st["end_incl"].to_numpy(),
        }
    )
    base["ocut"] = np.minimum(base["end"].to_numpy(), os_cut[base["pkey"].to_numpy()])
    base["csp"] = np.maximum(base["cs"].to_numpy(), program_start)
    base["o52"] = np.maximum(base["c"].to_numpy(), out52[base["pkey"].to_numpy()])
    j = base.merge(phases[["pkey", "phase", "ps", "pe", "level"]], on="pkey", how="inner")
    j["rid"] = np.arange(len(j))
    ps, pe = j["ps"].to_numpy(), j["pe"].to_numpy()
    ea = j["phase"].isin(["EA", "PPS"]).to_numpy()
    os_ = (j["phase"] == "OS").to_numpy()
    cs, c, end = j["cs"].to_numpy(), j["c"].to_numpy(), j["end"].to_numpy()
    j["eapps_chain"] = np.where(ea, overlap(ps, pe, cs, end), 0)
    j["eapps_site"] = np.where(ea, overlap(ps, pe, c, end), 0)
    j["os52_chain"] = np.where(os_, overlap(ps, pe, cs, j["ocut"].to_numpy()), 0)
    j["os52_site"] = np.where(os_, overlap(ps, pe, c, j["ocut"].to_numpy()), 0)
    # windows for the suspension subtraction: the same bounds as above
    j["w_cs"], j["w_c"] = cs, c
    j["w_end_ea"] = np.where(ea, end, NEVER)
    j["w_end_os"] = np.where(os_, j["ocut"].to_numpy(), NEVER)
    return _subtract_suspensions(
        j,
        susp,
        {
            "eapps_chain": ("w_cs", "w_end_ea"),
            "eapps_site": ("w_c", "w_end_ea"),
            "os52_chain": ("w_cs", "w_end_os"),
            "os52_site": ("w_c", "w_end_os"),
        },
    )


def _os_facts(j: pd.DataFrame, cutoff: int, flexible_level: str) -> pd.DataFrame:
    """OS facts of each (commencement, phase) row: calendar OS days since the program start
    (chain) and at the site, first and last OS day, Flexible level, OS at the cut-off, at the
    exit, and after the 52-week outcome."""
    ps, pe = j["ps"].to_numpy(), j["pe"].to_numpy()
    os_ = (j["phase"] == "OS").to_numpy()
    c, end, endi, csp = j["c"].to_numpy(), j["end"].to_numpy(), j["endi"].to_numpy(), j["csp"].to_numpy()
    in_chain_os = os_ & (overlap(ps, pe, csp, endi) > 0)
    j["os_days_chain"] = np.where(os_, overlap(ps, pe, csp, end), 0)
    j["os_days_site"] = np.where(os_, overlap(ps, pe, c, endi), 0)
    j["os_first"] = np.where(in_chain_os, np.maximum(ps, csp), OPEN)
    j["os_last_end"] = np.where(in_chain_os, np.minimum(pe, endi), NEVER)
    j["os_flexible"] = in_chain_os & (j["level"] == flexible_level).to_numpy()
    j["os_on_cutoff"] = os_ & (ps <= cutoff) & (cutoff < pe) & (endi == cutoff + 1)
    j["os_at_exit"] = os_ & (endi <= cutoff) & (ps <= endi - 1) & (endi - 1 < pe)
    j["os_after_52"] = np.where(os_, overlap(ps, pe, j["o52"].to_numpy(), endi), 0) > 0
    return j


def phase_metrics(
    st: pd.DataFrame,
    phases: pd.DataFrame,
    susp: pd.DataFrame,
    cutoff: int,
    program_start: int,
    os_cut: np.ndarray,
    out52: np.ndarray,
    flexible_level: str,
) -> pd.DataFrame:
    """Per site commencement: days in EA and PPS (chain and site, net of suspensions), OS days
    before the 52-week outcome, calendar OS days since the program start, and OS facts.

    ``os_cut`` (per participant-period) is the day OS stops counting for the 52-week measures
    (the 52-week outcome; :data:`NEVER` for transition Ongoing Support participants);
    ``out52`` the earliest 52-week outcome lodgement (:data:`OPEN` if none).
    """
    j = _os_facts(_phase_rows(st, phases, susp, program_start, os_cut, out52), cutoff, flexible_level)
    agg = j.groupby("sid").agg(**{col: (col, how) for col, how in _METRIC_AGG.items()})
    out = pd.DataFrame(index=pd.RangeIndex(len(st)))
    for col, dflt in _METRIC_DEFAULTS.items():
        v = agg[col].reindex(out.index)
        out[col] = v.fillna(dflt).to_numpy().astype(type(dflt) if not isinstance(dflt, bool) else bool)
    return out


def benchmark_at(st: pd.DataFrame, benchmarks: pd.DataFrame) -> np.ndarray:
    """Employment benchmark in effect at each commencement's end (exit, or the cut-off): the
    latest assessment on or before it (0 if none)."""
    left = pd.DataFrame(
        {"pkey": st["pkey"].to_numpy(), "t": st["end"].to_numpy(), "i": np.arange(len(st))}
    ).sort_values("t", kind="stable")
    if benchmarks.empty:
        return np.zeros(len(st), dtype=np.int64)
    right = benchmarks.rename(columns={"bd": "t"}).sort_values("t", kind="stable")[["pkey", "t", "bench"]]
    m = pd.merge_asof(left, right, on="t", by="pkey", direction="backward")
    out = np.zeros(len(st), dtype=np.int64)
    out[m["i"].to_numpy()] = m["bench"].fillna(0).to_numpy().astype(np.int64)
    return out
