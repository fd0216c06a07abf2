"""The entities of a synthetic world: regions, organisations, contracts, sites."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.synth.params import Scale, WorldParams

_NAME_A = [
    "Able",
    "Bright",
    "Coastal",
    "Direct",
    "Enable",
    "First",
    "Great",
    "Horizon",
    "Inland",
    "Journey",
    "Key",
    "Local",
    "Metro",
    "New",
    "Open",
    "Pathway",
    "Quest",
    "River",
    "Summit",
    "True",
    "Unity",
    "Valley",
    "West",
    "Youth",
    "Zenith",
]
_NAME_B = [
    "Employment",
    "Futures",
    "Careers",
    "Work Solutions",
    "Connect",
    "Jobs",
    "Services",
    "Support",
    "Options",
    "Links",
]
_STATE_DIGIT = {"NSW": 1, "VIC": 2, "QLD": 3, "SA": 4, "WA": 5, "TAS": 6, "NT": 7, "ACT": 8}


@dataclass
class Structure:
    regions: pd.DataFrame
    organisations: pd.DataFrame
    contracts: pd.DataFrame
    sites: pd.DataFrame
    contract_weight: np.ndarray  # relative caseload per contract (aligned with contracts rows)
    site_share: np.ndarray  # share of its contract's caseload per site (aligned with sites rows)


def _apportion(total: int, shares: dict[str, float], minimum: int = 1) -> dict[str, int]:
    keys = list(shares)
    p = np.array([shares[k] for k in keys], float)
    p /= p.sum()
    n = np.maximum(minimum, np.floor(p * total)).astype(int)
    while n.sum() > total:  # small totals: drop from the smallest states
        i = int(np.argmin(np.where(n > 0, p, np.inf)))
        n[i] -= 1
    while n.sum() < total:
        i = int(np.argmax(p * total - n))
        n[i] += 1
    return {k: int(v) for k, v in zip(keys, n, strict=True) if v > 0}


def make_regions(rng: np.random.Generator, params: WorldParams, scale: Scale) -> pd.DataFrame:
    st = params.structure
    per_state = _apportion(scale.esas, st["state_shares"], minimum=1 if scale.esas >= 8 else 0)
    rows = []
    i = 0
    for state, k in per_state.items():
        n_lmr = max(1, min(k, st["labour_market_regions_per_state"].get(state, 1)))
        sfd = rng.normal(1.5, 1.2)
        lmr_ivi = rng.normal(5.0, 15.0, size=n_lmr)
        lmr_ur = rng.normal(5.5, 1.2, size=n_lmr)
        for j in range(k):
            i += 1
            lmr = j % n_lmr
            metro = bool(lmr == 0 and rng.random() < 0.9) or bool(rng.random() < params.structure["metro_share"] * 0.3)
            rows.append(
                {
                    "esa_id": f"{_STATE_DIGIT[state]}E{i:03d}",
                    "esa_name": f"{state} ESA {i:03d}",
                    "state": state,
                    "labour_market_region": f"{state} LMR {lmr + 1}",
                    "metro": metro,
                    "ivi_growth": float(np.clip(lmr_ivi[lmr] + rng.normal(0, 8.0), -60, 150)),
                    "low_skill_vacancy_rate": float(np.clip(rng.beta(6, 14), 0.05, 0.8)),
                    "labour_market_size": float(np.round(np.exp(rng.normal(5.0 if metro else 3.8, 0.6)), 1)),
                    "sfd_change": float(np.clip(sfd + rng.normal(0, 0.2), -10, 10)),
                    "unemployment_rate": float(
                        np.clip(lmr_ur[lmr] + (0 if metro else 0.8) + rng.normal(0, 1.0), 1.5, 20)
                    ),
                }
            )
    return pd.DataFrame(rows)


def make_organisations(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, np.ndarray]:
    names = []
    for i in range(n):
        a = _NAME_A[i % len(_NAME_A)]
        b = _NAME_B[(i // len(_NAME_A) + i) % len(_NAME_B)]
        names.append(f"{a} {b} {i + 1}" if i >= len(_NAME_A) * len(_NAME_B) else f"{a} {b}")
    orgs = pd.DataFrame({"organisation_id": [f"ORG{i + 1:03d}" for i in range(n)], "organisation_name": names})
    return orgs, np.empty(0)


@dataclass
class _Draw:
    """What the contract and site steps share: the structure parameters, window and entity weights."""

    st: dict
    w_start: pd.Timestamp
    w_end: pd.Timestamp
    n_org: int
    n_esa: int
    org_p: np.ndarray  # probability of each organisation (relative size)
    esa_p: np.ndarray  # probability of each ESA (metro ESAs weigh more)

    @property
    def days(self) -> int:
        return (self.w_end - self.w_start).days

    def org(self, rng: np.random.Generator) -> int:
        return int(rng.choice(self.n_org, p=self.org_p))

    def esa(self, rng: np.random.Generator) -> int:
        return int(rng.choice(self.n_esa, p=self.esa_p))


def _entity_weights(rng: np.random.Generator, params: WorldParams, regions: pd.DataFrame, n_org: int) -> _Draw:
    """Relative sizes of organisations (lognormal) and ESAs (lognormal, metro ESAs 1.5 times)."""
    st = params.structure
    n_esa = len(regions)
    org_w = np.exp(rng.normal(0, st["org_size_lognormal_sd"], n_org))
    esa_w = np.exp(rng.normal(0, 0.5, n_esa)) * np.where(regions["metro"].to_numpy(), 1.5, 1.0)
    return _Draw(
        st=st,
        w_start=pd.Timestamp(params.release.window_start),
        w_end=pd.Timestamp(params.release.window_end),
        n_org=n_org,
        n_esa=n_esa,
        org_p=org_w / org_w.sum(),
        esa_p=esa_w / esa_w.sum(),
    )


def _draw_ess(rng: np.random.Generator, d: _Draw, n: int) -> list[tuple[int, int, str]]:
    """ESS contracts as (organisation, ESA, program): every ESA gets at least one contract, every
    organisation at least one; the rest by weight."""
    esas = list(range(d.n_esa)) if n >= d.n_esa else list(rng.choice(d.n_esa, size=n, replace=False, p=d.esa_p))
    orgs = list(rng.permutation(d.n_org))
    out = []
    for k, e in enumerate(esas):
        o = orgs[k] if k < len(orgs) else d.org(rng)
        out.append((int(o), int(e), "ESS"))
    for o in orgs[len(esas) :]:
        if len(out) < n:
            out.append((int(o), d.esa(rng), "ESS"))
    while len(out) < n:
        out.append((d.org(rng), d.esa(rng), "ESS"))
    return out


def _draw_dms(
    rng: np.random.Generator, d: _Draw, n: int, ess: list[tuple[int, int, str]]
) -> tuple[list[tuple[int, int, str]], list[int]]:
    """DMS contracts: a share mirror an ESS contract (same organisation and ESA, shared locations),
    then uncovered ESAs, then by weight. Also returns, for the first DMS contracts, the ESS
    contract each mirrors."""
    perm = rng.permutation(len(ess))
    n_paired = min(len(ess), round(d.st["paired_share"] * n))
    partner = [int(i) for i in perm[:n_paired]]
    out = [(ess[i][0], ess[i][1], "DMS") for i in perm[:n_paired]]
    covered = {e for _, e, _ in out}
    missing = [e for e in range(d.n_esa) if e not in covered]
    for e in missing[: n - len(out)]:
        out.append((d.org(rng), int(e), "DMS"))
    while len(out) < n:
        out.append((d.org(rng), d.esa(rng), "DMS"))
    return out, partner


def _contract_ids(n_c: int) -> list[str]:
    return [f"{(i + 1) * 37 % 10_000_000 + 200_000:07d}{chr(65 + i % 26)}" for i in range(n_c)]


def _contract_lifecycles(rng: np.random.Generator, d: _Draw, n_c: int) -> dict[str, np.ndarray]:
    """Per contract: start and end dates and status (new in the window, novated, ceased, handed
    back or active), and the uniform 'u' that chose it."""
    st = d.st
    start = np.full(n_c, d.w_start, dtype="datetime64[s]")
    end = np.full(n_c, np.datetime64("NaT"), dtype="datetime64[s]")
    status = np.full(n_c, "active", dtype=object)
    u = rng.random(n_c)
    c_new = st["new_contract_share"]
    c_nov = c_new + st["novated_share"]
    c_cea = c_nov + st["ceased_share"]
    c_hb = c_cea + st["handed_back_share"]
    for i in range(n_c):
        if u[i] < c_new:
            start[i] = np.datetime64(d.w_end - pd.Timedelta(days=int(rng.integers(60, 360))), "s")
        elif u[i] < c_nov or u[i] < c_hb:
            end[i] = np.datetime64(d.w_start + pd.Timedelta(days=int(rng.integers(d.days // 3, d.days - 60))), "s")
            status[i] = "novated" if u[i] < c_nov else ("ceased" if u[i] < c_cea else "handed_back")
    return {"start": start, "end": end, "status": status, "u": u, "new": u < c_new}


def _novations(
    rng: np.random.Generator, drawn: list[tuple[int, int, str]], status: np.ndarray, contract_ids: list[str]
) -> np.ndarray:
    """The contract each novated contract's business went to: an active contract in the same ESA
    and program (a novated contract without one is ceased instead; ``status`` is updated)."""
    n_c = len(drawn)
    novated_to = np.full(n_c, None, dtype=object)
    for i in np.flatnonzero(status == "novated"):
        _, e, prog = drawn[i]
        cands = [j for j in range(n_c) if j != i and drawn[j][1] == e and drawn[j][2] == prog and status[j] == "active"]
        if not cands:
            status[i] = "ceased"
            continue
        j = cands[int(rng.integers(len(cands)))]
        novated_to[i] = contract_ids[j]
    return novated_to


def _contracts(
    rng: np.random.Generator, d: _Draw, regions: pd.DataFrame, orgs: pd.DataFrame, drawn: list[tuple[int, int, str]]
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The contracts table (specialty, dates, status, novations) and the lifecycle arrays."""
    n_c = len(drawn)
    contract_ids = _contract_ids(n_c)
    spec_mask = rng.random(n_c) < d.st["specialty_share"]
    specialties = np.where(spec_mask, rng.choice(d.st["specialties"], size=n_c), "All Client Types")
    life = _contract_lifecycles(rng, d, n_c)
    novated_to = _novations(rng, drawn, life["status"], contract_ids)
    contracts = pd.DataFrame(
        {
            "contract_id": contract_ids,
            "organisation_id": orgs["organisation_id"].to_numpy()[[x[0] for x in drawn]],
            "program": [x[2] for x in drawn],
            "esa_id": regions["esa_id"].to_numpy()[[x[1] for x in drawn]],
            "specialty": specialties,
            "start_date": pd.to_datetime(life["start"]),
            "end_date": pd.to_datetime(life["end"]),
            "status": life["status"].astype(str),
            "novated_to": pd.array(novated_to, dtype="str"),
        }
    )
    return contracts, life


def _contract_weights(rng: np.random.Generator, d: _Draw, life: dict[str, np.ndarray]) -> np.ndarray:
    """Relative caseload per contract: lognormal, less for contracts that ended or began in the window."""
    contract_weight = np.exp(rng.normal(0, d.st["contract_size_lognormal_sd"], len(life["u"])))
    contract_weight[life["status"] != "active"] *= 0.6  # ended part-way through the window
    contract_weight[life["new"]] *= 0.4
    return contract_weight


def _sites_per_contract(rng: np.random.Generator, d: _Draw, n_c: int, partner: list[int], n_dms: int) -> np.ndarray:
    """Number of sites per contract from the published distribution; a mirrored DMS contract has
    about as many sites as its ESS partner."""
    counts = np.array(d.st["sites_per_contract_counts"], float)
    k_sites = rng.choice(np.arange(1, len(counts) + 1), size=n_c, p=counts / counts.sum())
    for i, j in enumerate(partner):
        k_sites[i] = max(1, min(len(counts), k_sites[n_dms + j] + int(rng.integers(-1, 2))))
    return k_sites


def _site_dates(
    rng: np.random.Generator, d: _Draw, k: int, c_start: np.datetime64, c_end: np.datetime64, share: float
) -> tuple:
    """Opening and closing dates of one site of a contract with ``k`` sites (new and closed sites
    only in contracts with several, none outside the contract), and its caseload share."""
    st = d.st
    open_d = pd.Timestamp(c_start)
    close_d = pd.NaT
    r = rng.random()
    if r < st["new_site_share"] and k > 1:
        open_d = max(open_d, d.w_end - pd.Timedelta(days=int(rng.integers(30, 360))))
        share *= 0.4
    elif r < st["new_site_share"] + st["closed_site_share"] and k > 1:
        close_d = d.w_start + pd.Timedelta(days=int(rng.integers(d.days // 3, d.days - 30)))
        share *= 0.6
    if not pd.isna(c_end) and open_d >= pd.Timestamp(c_end):
        open_d = pd.Timestamp(c_start)  # no new site in a contract that has ended
    if not pd.isna(close_d) and close_d <= open_d:
        close_d = pd.NaT
    if not pd.isna(c_end) and (pd.isna(close_d) or close_d > pd.Timestamp(c_end)):
        close_d = pd.Timestamp(c_end)
    return open_d, close_d, share


def _sites(
    rng: np.random.Generator,
    d: _Draw,
    drawn: list[tuple[int, int, str]],
    contract_ids: list[str],
    k_sites: np.ndarray,
    life: dict[str, np.ndarray],
) -> tuple[pd.DataFrame, np.ndarray]:
    """The sites table, locations shared within (organisation, ESA), and each site's share of its
    contract's caseload (normalised within the contract)."""
    pools: dict[tuple[int, int], list[str]] = {}
    n_loc = 0
    rows, shares = [], []
    for i in range(len(drawn)):
        o, e, _ = drawn[i]
        pool = pools.setdefault((o, e), [])
        while len(pool) < k_sites[i]:
            n_loc += 1
            pool.append(f"L{n_loc:05d}")
        locs = list(rng.permutation(pool)[: k_sites[i]]) if len(pool) > k_sites[i] else list(pool)
        sh = rng.dirichlet(np.full(k_sites[i], d.st["site_share_dirichlet_alpha"]))
        for loc, s in zip(sorted(locs), sh, strict=True):
            open_d, close_d, s = _site_dates(rng, d, k_sites[i], life["start"][i], life["end"][i], s)
            rows.append(
                {
                    "site_id": f"{contract_ids[i]}-{loc}",
                    "contract_id": contract_ids[i],
                    "location_id": loc,
                    "open_date": open_d,
                    "close_date": close_d,
                }
            )
            shares.append(s)
    sites = pd.DataFrame(rows)
    sites["open_date"] = pd.to_datetime(sites["open_date"]).astype("datetime64[s]")
    sites["close_date"] = pd.to_datetime(sites["close_date"]).astype("datetime64[s]")
    site_share = np.asarray(shares)
    cidx = pd.factorize(sites["contract_id"])[0]
    tot = np.bincount(cidx, weights=site_share)
    return sites, site_share / tot[cidx]


def make_contracts_and_sites(
    rng: np.random.Generator, params: WorldParams, scale: Scale, regions: pd.DataFrame, orgs: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
    """Contracts, sites, each contract's relative caseload and each site's share of its contract's.

    The steps draw from ``rng`` in this order (changing it changes every world).
    """
    d = _entity_weights(rng, params, regions, len(orgs))
    ess = _draw_ess(rng, d, scale.contracts_ess)
    dms, partner = _draw_dms(rng, d, scale.contracts_dms, ess)
    drawn = dms + ess
    contracts, life = _contracts(rng, d, regions, orgs, drawn)
    contract_weight = _contract_weights(rng, d, life)
    k_sites = _sites_per_contract(rng, d, len(drawn), partner, len(dms))
    sites, site_share = _sites(rng, d, drawn, contracts["contract_id"].tolist(), k_sites, life)
    contracts["start_date"] = contracts["start_date"].astype("datetime64[s]")
    contracts["end_date"] = contracts["end_date"].astype("datetime64[s]")
    return contracts, sites, contract_weight, site_share


def make_structure(rng: np.random.Generator, params: WorldParams, scale: Scale) -> Structure:
    regions = make_regions(rng, params, scale)
    orgs, _ = make_organisations(rng, scale.organisations)
    contracts, sites, cw, ss = make_contracts_and_sites(rng, params, scale, regions, orgs)
    # Organisations without a contract are dropped: the contract table defines who is a provider.
    orgs = orgs[orgs["organisation_id"].isin(contracts["organisation_id"])].reset_index(drop=True)
    return Structure(
        regions=regions, organisations=orgs, contracts=contracts, sites=sites, contract_weight=cw, site_share=ss
    )
