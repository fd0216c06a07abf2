"""The entities of a synthetic world: regions, organisations, contracts, sites."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.synth.params import Scale, WorldParams

_NAME_A = ["Able", "Bright", "Coastal", "Direct", "Enable", "First", "Great", "Horizon", "Inland", "Journey",
           "Key", "Local", "Metro", "New", "Open", "Pathway", "Quest", "River", "Summit", "True", "Unity",
           "Valley", "West", "Youth", "Zenith"]
_NAME_B = ["Employment", "Futures", "Careers", "Work Solutions", "Connect", "Jobs", "Services", "Support",
           "Options", "Links"]
_STATE_DIGIT = {"NSW": 1, "VIC": 2, "QLD": 3, "SA": 4, "WA": 5, "TAS": 6, "NT": 7, "ACT": 8}


@dataclass
class Structure:
    regions: pd.DataFrame
    organisations: pd.DataFrame
    contracts: pd.DataFrame
    sites: pd.DataFrame
    contract_weight: np.ndarray  # relative caseload per contract (aligned with contracts rows)
    site_share: np.ndarray       # share of its contract's caseload per site (aligned with sites rows)


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
    return {k: int(v) for k, v in zip(keys, n) if v > 0}


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
            rows.append({
                "esa_id": f"{_STATE_DIGIT[state]}E{i:03d}",
                "esa_name": f"{state} ESA {i:03d}",
                "state": state,
                "labour_market_region": f"{state} LMR {lmr + 1}",
                "metro": metro,
                "ivi_growth": float(np.clip(lmr_ivi[lmr] + rng.normal(0, 8.0), -60, 150)),
                "low_skill_vacancy_rate": float(np.clip(rng.beta(6, 14), 0.05, 0.8)),
                "labour_market_size": float(np.round(np.exp(rng.normal(5.0 if metro else 3.8, 0.6)), 1)),
                "sfd_change": float(np.clip(sfd + rng.normal(0, 0.2), -10, 10)),
                "unemployment_rate": float(np.clip(lmr_ur[lmr] + (0 if metro else 0.8) + rng.normal(0, 1.0), 1.5, 20)),
            })
    return pd.DataFrame(rows)


def make_organisations(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, np.ndarray]:
    names = []
    for i in range(n):
        a = _NAME_A[i % len(_NAME_A)]
        b = _NAME_B[(i // len(_NAME_A) + i) % len(_NAME_B)]
        names.append(f"{a} {b} {i + 1}" if i >= len(_NAME_A) * len(_NAME_B) else f"{a} {b}")
    orgs = pd.DataFrame({"organisation_id": [f"ORG{i + 1:03d}" for i in range(n)], "organisation_name": names})
    return orgs, np.empty(0)


def make_contracts_and_sites(rng: np.random.Generator, params: WorldParams, scale: Scale,
                             regions: pd.DataFrame, orgs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
    st = params.structure
    w_start = pd.Timestamp(params.release.window_start)
    w_end = pd.Timestamp(params.release.window_end)
    n_org, n_esa = len(orgs), len(regions)
    org_w = np.exp(rng.normal(0, st["org_size_lognormal_sd"], n_org))
    org_p = org_w / org_w.sum()
    esa_w = np.exp(rng.normal(0, 0.5, n_esa)) * np.where(regions["metro"].to_numpy(), 1.5, 1.0)
    esa_p = esa_w / esa_w.sum()

    def draw_ess(n: int) -> list[tuple[int, int, str]]:
        """Every ESA gets at least one contract, every organisation at least one; the rest by weight."""
        esas = list(range(n_esa)) if n >= n_esa else list(rng.choice(n_esa, size=n, replace=False, p=esa_p))
        orgs = list(rng.permutation(n_org))
        out = []
        for k, e in enumerate(esas):
            o = orgs[k] if k < len(orgs) else int(rng.choice(n_org, p=org_p))
            out.append((int(o), int(e), "ESS"))
        for o in orgs[len(esas):]:
            if len(out) < n:
                out.append((int(o), int(rng.choice(n_esa, p=esa_p)), "ESS"))
        while len(out) < n:
            out.append((int(rng.choice(n_org, p=org_p)), int(rng.choice(n_esa, p=esa_p)), "ESS"))
        return out

    def draw_dms(n: int, ess: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
        """A share of DMS contracts mirror an ESS contract (same organisation and ESA, shared locations)."""
        perm = rng.permutation(len(ess))
        n_paired = min(len(ess), int(round(st["paired_share"] * n)))
        partner.extend(int(i) for i in perm[:n_paired])
        out = [(ess[i][0], ess[i][1], "DMS") for i in perm[:n_paired]]
        covered = {e for _, e, _ in out}
        missing = [e for e in range(n_esa) if e not in covered]
        for e in missing[: n - len(out)]:
            out.append((int(rng.choice(n_org, p=org_p)), int(e), "DMS"))
        while len(out) < n:
            out.append((int(rng.choice(n_org, p=org_p)), int(rng.choice(n_esa, p=esa_p)), "DMS"))
        return out

    partner: list[int] = []  # for the first len(partner) DMS contracts, the ESS contract they mirror
    ess = draw_ess(scale.contracts_ess)
    dms = draw_dms(scale.contracts_dms, ess)
    drawn = dms + ess
    n_c = len(drawn)
    contract_ids = [f"{(i + 1) * 37 % 10_000_000 + 200_000:07d}{chr(65 + i % 26)}" for i in range(n_c)]
    spec_mask = rng.random(n_c) < st["specialty_share"]
    specialties = np.where(spec_mask, rng.choice(st["specialties"], size=n_c), "All Client Types")

    start = np.full(n_c, w_start, dtype="datetime64[s]")
    end = np.full(n_c, np.datetime64("NaT"), dtype="datetime64[s]")
    status = np.full(n_c, "active", dtype=object)
    novated_to = np.full(n_c, None, dtype=object)
    u = rng.random(n_c)
    c_new = st["new_contract_share"]
    c_nov = c_new + st["novated_share"]
    c_cea = c_nov + st["ceased_share"]
    c_hb = c_cea + st["handed_back_share"]
    days = (w_end - w_start).days
    for i in range(n_c):
        if u[i] < c_new:
            start[i] = np.datetime64(w_end - pd.Timedelta(days=int(rng.integers(60, 360))), "s")
        elif u[i] < c_nov or u[i] < c_hb:
            end[i] = np.datetime64(w_start + pd.Timedelta(days=int(rng.integers(days // 3, days - 60))), "s")
            status[i] = "novated" if u[i] < c_nov else ("ceased" if u[i] < c_cea else "handed_back")
    # A novated contract's business goes to an active contract in the same ESA and program.
    for i in np.flatnonzero(status == "novated"):
        o, e, prog = drawn[i]
        cands = [j for j in range(n_c) if j != i and drawn[j][1] == e and drawn[j][2] == prog and status[j] == "active"]
        if not cands:
            status[i] = "ceased"
            continue
        j = cands[int(rng.integers(len(cands)))]
        novated_to[i] = contract_ids[j]
    contracts = pd.DataFrame({
        "contract_id": contract_ids,
        "organisation_id": orgs["organisation_id"].to_numpy()[[d[0] for d in drawn]],
        "program": [d[2] for d in drawn],
        "esa_id": regions["esa_id"].to_numpy()[[d[1] for d in drawn]],
        "specialty": specialties,
        "start_date": pd.to_datetime(start),
        "end_date": pd.to_datetime(end),
        "status": status.astype(str),
        "novated_to": pd.array(novated_to, dtype="str"),
    })
    contract_weight = np.exp(rng.normal(0, st["contract_size_lognormal_sd"], n_c))
    contract_weight[status != "active"] *= 0.6  # ended part-way through the window
    contract_weight[u < c_new] *= 0.4

    # Sites: number per contract from the published distribution; locations shared within (organisation, ESA).
    counts = np.array(st["sites_per_contract_counts"], float)
    k_sites = rng.choice(np.arange(1, len(counts) + 1), size=n_c, p=counts / counts.sum())
    # a mirrored DMS contract has about as many sites as its ESS partner
    n_dms = len(dms)
    for i, j in enumerate(partner):
        k_sites[i] = max(1, min(len(counts), k_sites[n_dms + j] + int(rng.integers(-1, 2))))
    pools: dict[tuple[int, int], list[str]] = {}
    n_loc = 0
    rows = []
    shares = []
    for i in range(n_c):
        o, e, _ = drawn[i]
        pool = pools.setdefault((o, e), [])
        while len(pool) < k_sites[i]:
            n_loc += 1
            pool.append(f"L{n_loc:05d}")
        locs = list(rng.permutation(pool)[: k_sites[i]]) if len(pool) > k_sites[i] else list(pool)
        sh = rng.dirichlet(np.full(k_sites[i], st["site_share_dirichlet_alpha"]))
        for loc, s in zip(sorted(locs), sh):
            open_d = pd.Timestamp(start[i])
            close_d = pd.NaT
            r = rng.random()
            if r < st["new_site_share"] and k_sites[i] > 1:
                open_d = max(open_d, w_end - pd.Timedelta(days=int(rng.integers(30, 360))))
                s *= 0.4
            elif r < st["new_site_share"] + st["closed_site_share"] and k_sites[i] > 1:
                close_d = w_start + pd.Timedelta(days=int(rng.integers(days // 3, days - 30)))
                s *= 0.6
            if not pd.isna(end[i]) and open_d >= pd.Timestamp(end[i]):
                open_d = pd.Timestamp(start[i])  # no new site in a contract that has ended
            if not pd.isna(close_d) and close_d <= open_d:
                close_d = pd.NaT
            if not pd.isna(end[i]) and (pd.isna(close_d) or close_d > pd.Timestamp(end[i])):
                close_d = pd.Timestamp(end[i])
            rows.append({"site_id": f"{contract_ids[i]}-{loc}", "contract_id": contract_ids[i], "location_id": loc,
                         "open_date": open_d, "close_date": close_d})
            shares.append(s)
    sites = pd.DataFrame(rows)
    sites["open_date"] = pd.to_datetime(sites["open_date"]).astype("datetime64[s]")
    sites["close_date"] = pd.to_datetime(sites["close_date"]).astype("datetime64[s]")
    contracts["start_date"] = contracts["start_date"].astype("datetime64[s]")
    contracts["end_date"] = contracts["end_date"].astype("datetime64[s]")
    site_share = np.asarray(shares)
    # normalise shares within contract
    cidx = pd.factorize(sites["contract_id"])[0]
    tot = np.bincount(cidx, weights=site_share)
    site_share = site_share / tot[cidx]
    return contracts, sites, contract_weight, site_share


def make_structure(rng: np.random.Generator, params: WorldParams, scale: Scale) -> Structure:
    regions = make_regions(rng, params, scale)
    orgs, _ = make_organisations(rng, scale.organisations)
    contracts, sites, cw, ss = make_contracts_and_sites(rng, params, scale, regions, orgs)
    # Organisations without a contract are dropped: the contract table defines who is a provider.
    orgs = orgs[orgs["organisation_id"].isin(contracts["organisation_id"])].reset_index(drop=True)
    return Structure(regions=regions, organisations=orgs, contracts=contracts, sites=sites,
                     contract_weight=cw, site_share=ss)
