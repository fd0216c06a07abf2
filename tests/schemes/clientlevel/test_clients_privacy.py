"""Privacy by construction: every output and tracked artifact scanned for identifiers, pseudonyms,
the secret and small counts; complementary suppression attacked; consent; published outputs
independent of the secret."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

from toolkit.privacy import TableRule, scan_outputs


def _pseudonyms(world, secret):
    """Keys an HMAC-SHA256 with the run's secret gives every person and enrolment (computed here, apart
    from the library), split by consent."""
    key = secret["value"].encode()
    c = world.tables["clients"]
    name = c["full_name"].str.casefold().str.split().str.join(" ")
    person = name + "|" + pd.to_datetime(c["date_of_birth"]).dt.strftime("%Y-%m-%d")
    pk = [hmac.new(key, f"client\x1f{x}".encode(), hashlib.sha256).hexdigest() for x in person]
    consent = pd.Series(c["consent_identifiable"].to_numpy(), index=pk).groupby(level=0).all()
    e = world.tables["enrolments"].merge(
        c.assign(pk=pk)[["provider_id", "client_ref", "pk"]], on=["provider_id", "client_ref"]
    )
    ek = {
        hmac.new(key, f"enrolment\x1f{x}".encode(), hashlib.sha256).hexdigest(): consent[p]
        for x, p in zip(e["enrolment_id"], e["pk"], strict=True)
    }
    everyone = set(pk) | set(ek)
    refused = {k for k, ok in consent.items() if not ok} | {k for k, ok in ek.items() if not ok}
    return everyone, refused, {k for k, ok in consent.items() if ok}


def _every_file(client_run):
    """Output folder, MLflow artifacts and database, and the command's own stdout/stderr."""
    files = [p for p in client_run["folder"].rglob("*") if p.is_file()]
    files += [p for p in (client_run["root"] / "store").rglob("*") if p.is_file()]
    return files


#: shapes of the synthetic identifiers: names of two or three words, client references, enrolment ids, dates
SHAPES = [
    re.compile(rb"(?=((?:[A-Z][a-z]+ ){1,2}[A-Z][a-z]+))"),
    re.compile(rb"P[0-9]{2}-C[0-9]{5}"),
    re.compile(rb"E[0-9]{7}"),
    re.compile(rb"[0-9]{4}-[0-9]{2}-[0-9]{2}"),
]


def test_secret_and_raw_identifiers_appear_nowhere(client_world, client_run, secret):
    world = client_world[0]
    c = world.tables["clients"]
    raw = set(c["full_name"]) | set(c["client_ref"]) | set(world.tables["dependants"]["dependant_name"])
    raw |= set(world.tables["enrolments"]["enrolment_id"])
    raw |= {d.isoformat() for d in c["date_of_birth"]}
    raw = {r.encode() for r in raw}
    files = _every_file(client_run)
    assert any(p.suffix == ".db" for p in files) and any("artifacts" in p.parts for p in files)
    logs = (client_run["proc"].stdout + client_run["proc"].stderr).encode()
    hits = []
    for blob, where in [(p.read_bytes(), str(p)) for p in files] + [(logs, "command output")]:
        if secret["value"].encode() in blob:
            hits.append(f"secret in {where}")
        found = {m if isinstance(m, bytes) else m[0] for rx in SHAPES for m in rx.findall(blob)}
        words = {w for f in found for w in [f] + [b" ".join(f.split()[i:]) for i in range(1, len(f.split()))]}
        if words & raw:
            hits.append(f"{len(words & raw)} identifier(s) in {where}")
    assert not hits, hits[:10]
    # the check can fail: the input itself is full of them
    blob = (client_world[1] / "clients.csv").read_bytes()
    assert len({m for rx in SHAPES for m in rx.findall(blob)} & raw) > 1000


def test_pseudonyms_only_in_restricted_and_only_with_consent(client_world, client_run, secret):
    everyone, refused, consenting_people = _pseudonyms(client_world[0], secret)
    restricted = client_run["folder"] / "restricted"
    assert restricted.stat().st_mode & 0o777 == 0o700  # record level: its owner only
    assert {p.stat().st_mode & 0o777 for p in restricted.iterdir()} == {0o600}
    found_restricted = set()
    for p in _every_file(client_run):
        words = set(p.read_bytes().decode("latin-1").replace(",", " ").replace('"', " ").split())
        hit = words & everyone
        if restricted in p.parents:
            assert not hit & refused, f"a person without consent in {p}"
            found_restricted |= hit
        else:
            assert not hit, f"{len(hit)} pseudonym(s) in {p}"
    # the restricted table does hold consenting people (so the scan above could have failed)
    results = pd.read_csv(restricted / "client_results.csv")
    assert len(results) > 100 and set(results["client_key"]) <= consenting_people
    assert set(results["client_key"]) <= found_restricted


def test_every_tracked_artifact_passes_the_scan(client_run, tmp_path):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=client_run["uri"])
    run_id = client_run["run_id"]
    local = client.download_artifacts(run_id, "", str(tmp_path / "parent"))
    manifest = json.loads((client_run["folder"] / "manifest.json").read_text())
    rules = {
        f"outputs/{k}": TableRule(tuple(v["counts"]), {a: tuple(b) for a, b in v["rates"].items()})
        for k, v in manifest["tables"].items()
    }
    assert scan_outputs(local, rules, threshold=manifest["threshold"], marker=manifest["marker"]) == []
    children = client.search_runs([client.get_run(run_id).info.experiment_id], f"tags.mlflow.parentRunId = '{run_id}'")
    assert len(children) == 1
    child_local = client.download_artifacts(children[0].info.run_id, "", str(tmp_path / "child"))
    child_rules = {"coefficients.csv": TableRule((), {}), "calibration.csv": rules["outputs/calibration.csv"]}
    assert scan_outputs(child_local, child_rules, threshold=5, skip=["model"]) == []
    # the published scorecard, read independently: every count is suppressed or at least 5 (or 0)
    sc = pd.read_csv(client_run["folder"] / "scorecard.csv", dtype=str, keep_default_na=False)
    counts = [c for c in sc.columns if c in manifest["tables"]["scorecard.csv"]["counts"]]
    shown = sc[counts].replace("s", np.nan).apply(pd.to_numeric)
    assert ((shown >= 5) | (shown == 0) | shown.isna()).all().all()
    assert (sc[counts] == "s").to_numpy().sum() > 0  # there was something to suppress


def _relations(sc: pd.DataFrame):
    """The scorecard's additive structure, written from what the table means (not from the library)."""
    periods = sorted(p for p in sc["period"].unique() if p != "all")
    svc = sc[sc["level"] == "service"][["service_id", "provider_id", "service_offering"]].drop_duplicates()
    unit = {
        "service": sorted(svc["service_id"]),
        "provider": sorted(svc["provider_id"].unique()),
        "offering": sorted(svc["service_offering"].unique()),
        "national": ["all"],
    }
    by_off = svc.groupby("service_offering")["service_id"].apply(sorted).to_dict()
    by_prov = svc.groupby("provider_id")["service_id"].apply(sorted).to_dict()
    families = {
        "completion": ("ended", ["completed", "not_completed"]),
        "timeliness": ("starts", ["timely", "late"]),
        "attendance": ("sessions", ["attended", "missed"]),
    }
    for d in ("knowledge", "attitude", "skills", "behaviour", "circumstances", "any"):
        families[d] = (f"assessed_{d}", [f"improved_{d}", f"not_improved_{d}"])
    out = {}
    for fam, (total, parts) in families.items():
        rel = []
        for m in [total] + parts:
            for lvl in unit:
                for u in unit[lvl]:
                    rel.append(((m, lvl, u, "all"), [(m, lvl, u, p) for p in periods]))
            for p in periods + ["all"]:
                for o, sids in by_off.items():
                    rel.append(((m, "offering", o, p), [(m, "service", s, p) for s in sids]))
                for u, sids in by_prov.items():  # a provider is the sum of its services
                    rel.append(((m, "provider", u, p), [(m, "service", s, p) for s in sids]))
                rel.append(((m, "national", "all", p), [(m, "offering", o, p) for o in unit["offering"]]))
                rel.append(((m, "national", "all", p), [(m, "provider", u, p) for u in unit["provider"]]))
        for lvl in unit:
            for u in unit[lvl]:
                for p in periods + ["all"]:
                    rel.append(((total, lvl, u, p), [(parts[0], lvl, u, p), (parts[1], lvl, u, p)]))
        out[fam] = rel
    return out


def _cell_values(sc: pd.DataFrame) -> dict:
    vals = {}
    key = {"service": "service_id", "provider": "provider_id", "offering": "service_offering"}
    for r in sc.to_dict("records"):
        u = r[key[r["level"]]] if r["level"] in key else "all"
        for k, v in r.items():
            vals[(k, r["level"], u, r["period"])] = v
    return vals


def test_suppressed_small_counts_cannot_be_recovered_from_the_published_scorecard(client_world, client_run, secret):
    """An attacker with every published count and every relation (integer programs) never pins a small count."""
    from toolkit.privacy import Secret
    from toolkit.schemes.clientlevel.config import load_clientlevel_config
    from toolkit.schemes.clientlevel.features import enrolment_facts, sessions_by_period
    from toolkit.schemes.clientlevel.load import pseudonymise_and_check
    from toolkit.schemes.clientlevel.scorecard import count_cells, service_counts

    # the true counts, to know which hidden cells are small
    cfg, _ = load_clientlevel_config()
    world = client_world[0]
    data = pseudonymise_and_check(
        {k: v.copy() for k, v in world.tables.items()}, Secret(secret["value"].encode(), "test"), cfg
    )
    f = enrolment_facts(data.enrolments, data.assessments, cfg)
    truth, _, _ = count_cells(service_counts(f, sessions_by_period(data.sessions, f, cfg), cfg), data.services, cfg)
    sc = pd.read_csv(client_run["folder"] / "scorecard.csv", dtype=str, keep_default_na=False)
    shown = _cell_values(sc)
    checked = checked_provider = 0
    for rels in _relations(sc).values():
        cells = sorted({c for t, ps in rels for c in [t, *ps]})
        hidden = [c for c in cells if shown.get(c, "s") == "s"]
        small = [c for c in hidden if 0 < truth[c] < 5]
        if not small:
            continue
        idx = {c: i for i, c in enumerate(hidden)}
        a, b = [], []
        for t, ps in rels:
            row, rhs = np.zeros(len(hidden)), 0.0
            for c, s in [(t, -1)] + [(p, 1) for p in ps]:
                if c in idx:
                    row[idx[c]] += s
                else:
                    rhs -= s * float(shown[c])
            if row.any():
                a.append(row)
                b.append(rhs)
        for c in small:
            ends = []
            for s in (1, -1):
                obj = np.zeros(len(hidden))
                obj[idx[c]] = s
                r = milp(
                    obj,
                    constraints=[LinearConstraint(np.array(a), b, b)],
                    integrality=np.ones(len(hidden)),
                    bounds=Bounds(0, np.inf),
                )
                ends.append(np.inf if s < 0 and r.status in (3, 4) else round(r.x[idx[c]]))
            assert ends[0] <= truth[c] <= ends[1]
            assert ends[1] > ends[0], f"{c} = {truth[c]} recovered from the published scorecard"
            checked += 1
            checked_provider += c[1] == "provider"
    assert checked >= 10
    assert checked_provider >= 1  # small provider counts were among those attacked


def test_comparison_hides_what_a_hidden_count_would_reveal(client_run):
    cmp_ = pd.read_csv(client_run["folder"] / "comparison.csv", dtype=str, keep_default_na=False)
    hidden = (cmp_["observed"] == "s") | (cmp_["n"] == "s")
    for c in ("oe", "oe_shrunk", "effect_mean", "funnel"):
        assert (cmp_.loc[hidden, c] == "").all()
        assert (cmp_.loc[~hidden, c] != "").all()


def test_published_outputs_do_not_depend_on_the_secret(client_run, run_toolkit, secret):
    proc = run_toolkit(
        "clients",
        "reproduce",
        client_run["run_id"],
        "--secret-env",
        secret["var"],
        "--tracking-uri",
        client_run["uri"],
        env={secret["var"]: "a-completely-different-secret-value"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "reproduced (13 identical, 0 different, 0 missing)" in proc.stdout


def test_provider_level_is_suppressed_like_the_other_levels(client_world, client_run, secret):
    """Provider rows: every small count hidden, every count shown at least 5 (or 0), O/E blank with a
    hidden count; and the provider relations are needed: suppression that ignores them, with the
    provider totals then published, lets an attacker pin down small service counts."""
    from toolkit.privacy import Secret, attack, protect
    from toolkit.schemes.clientlevel.config import load_clientlevel_config
    from toolkit.schemes.clientlevel.features import enrolment_facts, sessions_by_period
    from toolkit.schemes.clientlevel.load import pseudonymise_and_check
    from toolkit.schemes.clientlevel.scorecard import count_cells, service_counts

    cfg, _ = load_clientlevel_config()
    data = pseudonymise_and_check(
        {k: v.copy() for k, v in client_world[0].tables.items()}, Secret(secret["value"].encode(), "test"), cfg
    )
    f = enrolment_facts(data.enrolments, data.assessments, cfg)
    truth, published, relations = count_cells(
        service_counts(f, sessions_by_period(data.sessions, f, cfg), cfg), data.services, cfg
    )
    manifest = json.loads((client_run["folder"] / "manifest.json").read_text())
    counts = manifest["tables"]["scorecard.csv"]["counts"]
    sc = pd.read_csv(client_run["folder"] / "scorecard.csv", dtype=str, keep_default_na=False)
    prov = sc[sc["level"] == "provider"]
    assert len(prov) == 12 * 3
    small = 0
    for r in prov.to_dict("records"):
        for m in counts:
            t = truth[(m, "provider", r["provider_id"], r["period"])]
            if 0 < t < 5:
                assert r[m] == "s", (m, r["provider_id"], r["period"], t)
                small += 1
            assert r[m] == "s" or int(r[m]) == t
            assert r[m] == "s" or int(r[m]) >= 5 or int(r[m]) == 0
    assert small >= 1  # there were small provider counts to hide
    assert (prov[counts] == "s").to_numpy().sum() > small  # and complementary ones around them
    cmp_ = pd.read_csv(client_run["folder"] / "comparison.csv", dtype=str, keep_default_na=False)
    pc = cmp_[cmp_["level"] == "provider"]
    assert len(pc) == 12
    hidden = (pc["observed"] == "s") | (pc["n"] == "s")
    for c in ("oe", "oe_shrunk", "oe_shrunk_lower", "oe_shrunk_upper", "effect_mean", "funnel"):
        assert (pc.loc[hidden, c] == "").all() and (pc.loc[~hidden, c] != "").all()
    assert (
        scan_outputs(
            client_run["folder"],
            {
                k: TableRule(tuple(v["counts"]), {a: tuple(b) for a, b in v["rates"].items()})
                for k, v in manifest["tables"].items()
            },
            threshold=manifest["threshold"],
            marker=manifest["marker"],
            skip=["restricted", "run.json"],
        )
        == []
    )
    # the control: protect without the provider level, then publish provider totals as they are
    lvl = truth.index.get_level_values("level")
    keep = lvl != "provider"
    no_prov = [r for r in relations if r.total[1] != "provider" and all(x[1] != "provider" for x in r.parts)]
    p = protect(truth[keep], no_prov, 5, published=published[keep], min_values=2)
    unknown = (p.suppressed.reindex(truth.index, fill_value=False) | ~published).to_numpy()
    pos = {c: i for i, c in enumerate(truth.index)}
    rels = [(pos[r.total], [pos[x] for x in r.parts]) for r in relations]
    targets = np.flatnonzero(unknown & (truth.to_numpy() > 0) & (truth.to_numpy() < 5))
    pinned = [a for a in attack(truth.to_numpy(), rels, unknown, targets) if a["values"] < 2]
    assert pinned, "publishing unprotected provider totals should have exposed a small service count"
