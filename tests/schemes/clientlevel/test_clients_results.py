"""Client-level results: recovery of known service and provider effects, the scorecard (service,
provider, offering, national), nothing lost, the model never sees the provider, tracking and
registry, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import ConfigError
from toolkit.privacy import Secret
from toolkit.schemes.clientlevel.config import load_clientlevel_config
from toolkit.schemes.clientlevel.load import pseudonymise_and_check
from toolkit.schemes.clientlevel.run import compute_clientlevel


@pytest.fixture(scope="module")
def computed(client_world, secret):
    cfg, _ = load_clientlevel_config()
    tables = {k: v.copy() for k, v in client_world[0].tables.items()}
    data = pseudonymise_and_check(tables, Secret(secret["value"].encode(), "test"), cfg)
    return cfg, data, compute_clientlevel(data, cfg)


def recovery(table: pd.DataFrame, truth: pd.DataFrame) -> dict:
    m = table.merge(truth, on="service_id")
    return {
        "services": len(m),
        "corr_effect": float(np.corrcoef(m["effect"], m["effect_mean"])[0, 1]),
        "corr_log_oe": float(np.corrcoef(np.log(m["true_ratio"]), np.log(m["oe"]))[0, 1]),
        "rmse_oe_raw": float(np.sqrt(np.mean((m["oe"] - m["true_ratio"]) ** 2))),
        "rmse_oe_shrunk": float(np.sqrt(np.mean((m["oe_shrunk"] - m["true_ratio"]) ** 2))),
        "coverage_oe": float(
            np.mean((m["oe_shrunk_lower"] <= m["true_ratio"]) & (m["true_ratio"] <= m["oe_shrunk_upper"]))
        ),
        "coverage_effect_sign": float(np.mean(np.sign(m["effect_mean"]) == np.sign(m["effect"]))),
    }


def test_risk_adjusted_comparison_recovers_the_known_service_effects(client_world, computed):
    _, _, res = computed
    truth = client_world[0].truth["service_effects"]
    r = recovery(res.comparison.table, truth)
    print("\nrecovery:", {k: round(v, 3) for k, v in r.items()})
    assert r["services"] == len(truth) >= 15
    assert r["corr_effect"] > 0.8
    assert r["corr_log_oe"] > 0.8
    assert r["rmse_oe_shrunk"] < r["rmse_oe_raw"]  # shrinkage helps against the truth
    assert r["coverage_oe"] >= 0.7  # nominal 90 %, tau plugged in, ~20 services


def provider_recovery(providers: pd.DataFrame, truth: pd.DataFrame) -> dict:
    m = providers.merge(truth, on="provider_id", suffixes=("", "_truth"))
    ratio = m["true_ratio_offering"]  # against the offering's average client, the reference of O/E
    return {
        "providers": len(m),
        "corr_effect": float(np.corrcoef(m["effect"], m["effect_mean"])[0, 1]),
        "corr_log_oe": float(np.corrcoef(np.log(ratio), np.log(m["oe"]))[0, 1]),
        "corr_log_oe_shrunk": float(np.corrcoef(np.log(ratio), np.log(m["oe_shrunk"]))[0, 1]),
        "rmse_oe_raw": float(np.sqrt(np.mean((m["oe"] - ratio) ** 2))),
        "rmse_oe_shrunk": float(np.sqrt(np.mean((m["oe_shrunk"] - ratio) ** 2))),
        "coverage_oe": float(np.mean((m["oe_shrunk_lower"] <= ratio) & (ratio <= m["oe_shrunk_upper"]))),
    }


def test_risk_adjusted_comparison_recovers_the_known_provider_effects(client_world, computed):
    """Provider O/E (service expected counts summed per provider) and provider-level shrinkage.

    Measured on this world (seed 7; 12 providers, 7 with more than one service): corr_effect 0.926,
    corr_log_oe 0.822, corr_log_oe_shrunk 0.869, RMSE of O/E 0.150 raw and 0.104 shrunk, coverage
    11/12. On 20 worlds (seeds 1-19, 2024) the lowest were 0.815, 0.822, 0.791 and 8/12, so the
    thresholds below (0.8, 0.7, 0.75, 9/12) leave a margin of at least 0.1 on this world and hold on
    most other worlds as well; shrunk beating raw RMSE held on 15 of the 20 worlds, here by 0.046.
    """
    _, _, res = computed
    truth = client_world[0].truth["provider_effects"]
    r = provider_recovery(res.comparison.providers, truth)
    print("\nprovider recovery:", {k: round(v, 3) for k, v in r.items()})
    assert r["providers"] == len(truth) == res.comparison.providers["provider_id"].nunique() == 12
    assert r["corr_effect"] > 0.8
    assert r["corr_log_oe"] > 0.7
    assert r["corr_log_oe_shrunk"] > 0.75
    assert r["rmse_oe_shrunk"] < r["rmse_oe_raw"]
    assert r["coverage_oe"] >= 0.75  # nominal 90 %, tau plugged in, 12 providers
    assert 0 < res.comparison.tau_provider < 3


def test_provider_comparison_is_the_sum_of_its_services(computed):
    _, data, res = computed
    svc, prov = res.comparison.table, res.comparison.providers
    owner = data.services.set_index("service_id")["provider_id"]
    sums = svc.assign(p=svc["service_id"].map(owner)).groupby("p")[["n", "observed", "expected"]].sum()
    got = prov.set_index("provider_id")
    assert sorted(got.index) == sorted(data.services["provider_id"].unique())
    assert (got["n"] == sums.loc[got.index, "n"]).all()
    assert (got["observed"] == sums.loc[got.index, "observed"]).all()
    np.testing.assert_allclose(got["expected"], sums.loc[got.index, "expected"], rtol=1e-12)
    np.testing.assert_allclose(got["oe"], got["observed"] / got["expected"], rtol=1e-12)
    fr = res.comparison.frame  # the client-level sums the provider shrinkage ran on agree with the service sums
    cl = fr.assign(p=fr["service_id"].map(owner)).groupby("p").agg(n=("expected_p", "size"), e=("expected_p", "sum"))
    assert (got["n"] == cl.loc[got.index, "n"]).all()
    np.testing.assert_allclose(got["expected"], cl.loc[got.index, "e"], rtol=1e-12)
    assert (got["services"] == svc["service_id"].map(owner).value_counts().loc[got.index]).all()
    assert ((got["oe_shrunk_lower"] <= got["oe_shrunk"]) & (got["oe_shrunk"] <= got["oe_shrunk_upper"])).all()
    # published: a provider row per provider after the service rows, its counts the scorecard's
    cmp_ = res.publication.tables["comparison.csv"]
    assert list(cmp_["level"].unique()) == ["service", "provider"]
    rows = cmp_[cmp_["level"] == "provider"].set_index("provider_id")
    assert sorted(rows.index) == sorted(got.index) and (rows["service_id"] == "").all()
    sc = res.publication.tables["scorecard.csv"]
    whole = sc[(sc["level"] == "provider") & (sc["period"] == "all")].set_index("provider_id")
    assert (rows["n"].astype(str) == whole.loc[rows.index, "assessed_any"].astype(str)).all()
    assert (rows["observed"].astype(str) == whole.loc[rows.index, "improved_any"].astype(str)).all()


def test_scorecard_provider_rows_are_the_sum_of_their_services(client_world, computed):
    from toolkit.schemes.clientlevel.features import enrolment_facts, sessions_by_period
    from toolkit.schemes.clientlevel.scorecard import count_cells, service_counts

    cfg, data, res = computed
    f = enrolment_facts(data.enrolments, data.assessments, cfg)
    values, _, _ = count_cells(service_counts(f, sessions_by_period(data.sessions, f, cfg), cfg), data.services, cfg)
    owner = data.services.set_index("service_id")["provider_id"]
    cells = values.reset_index(name="value")
    svc = cells[cells["level"] == "service"].assign(unit=lambda d: d["unit"].map(owner))
    want = svc.groupby(["measure", "unit", "period"])["value"].sum()
    got = cells[cells["level"] == "provider"].set_index(["measure", "unit", "period"])["value"]
    assert len(got) == len(want) > 0
    assert (got.sort_index() == want.sort_index()).all()  # every measure, clients included
    periods = [p for p, _, _ in cfg.periods()] + ["all"]
    sc = res.publication.tables["scorecard.csv"]
    prov = sc[sc["level"] == "provider"]
    assert sorted(prov["provider_id"].unique()) == sorted(client_world[0].tables["providers"]["provider_id"])
    assert (
        len(prov) == 12 * len(periods) and (prov["service_id"] == "").all() and (prov["service_offering"] == "").all()
    )
    assert list(dict.fromkeys(sc["level"])) == ["service", "provider", "offering", "national"]
    # in the published table: wherever a provider and all its services are shown, they add up
    shown_sums = 0
    srows = sc[sc["level"] == "service"]
    for r in prov.itertuples(index=False):
        parts = srows[(srows["provider_id"] == r.provider_id) & (srows["period"] == r.period)]
        for m in ("starts", "ended", "sessions", "assessed_any", "improved_any", "clients"):
            vals = [getattr(r, m)] + list(parts[m])
            if "s" not in vals:
                assert int(vals[0]) == sum(int(v) for v in vals[1:]), (r.provider_id, r.period, m)
                shown_sums += 1
    assert shown_sums > 100
    # the national row is also the sum of the providers
    nat = sc[(sc["level"] == "national") & (sc["period"] == "all")].iloc[0]
    whole = prov[prov["period"] == "all"]
    if "s" not in set(whole["starts"]):
        assert int(nat["starts"]) == whole["starts"].astype(int).sum()


def test_risk_adjustment_matters_in_this_world(client_world, computed):
    """The crude share improved ranks services worse than O/E does (case mix differs by design)."""
    _, _, res = computed
    m = res.comparison.table.merge(client_world[0].truth["service_effects"], on="service_id")
    crude = m["observed"] / m["n_x"]
    rel = crude / crude.mean()
    assert (
        np.corrcoef(np.log(m["true_ratio"]), np.log(m["oe"]))[0, 1]
        > np.corrcoef(np.log(m["true_ratio"]), np.log(rel))[0, 1]
    )


def test_the_model_never_sees_the_provider(computed):
    cfg, _, res = computed
    model = res.comparison.model
    assert set(model.design_state_.source_columns) <= {
        "age",
        "gender",
        "ethnicity",
        "n_dependants",
        "youngest_dependant_under5",
        "pre_mean",
        "n_dimensions",
        "service_offering",
    }
    assert not any(("P0" in t or "S0" in t) for t in model.coef_.index)
    from toolkit.schemes.clientlevel.compare import check_model_spec

    bad = cfg.model_copy(update={"model": cfg.model.model_copy(update={"formula": "improved ~ age + C(provider_id)"})})
    with pytest.raises(ConfigError, match="uses provider_id"):
        check_model_spec(bad)


def test_nothing_is_lost_and_malformed_records_are_listed(client_world, computed):
    _, data, _ = computed
    world = client_world[0]
    led = data.ledger.pivot_table(index="table", columns="item", values="rows", aggfunc="sum").fillna(0)
    excl = led[[c for c in led.columns if c.startswith("excluded")]].sum(axis=1)
    assert (led["read"] == led["used"] + excl).all()
    for t in ("enrolments", "sessions", "assessments", "clients", "dependants"):
        assert led.loc[t, "read"] == len(world.tables[t])
    truth = world.truth["malformed"]
    enr = world.tables["enrolments"].reset_index(drop=True)
    listed = data.exclusions[
        (data.exclusions["table"] == "enrolments") & (data.exclusions["reason"] != "outside_window")
    ]
    got = sorted(zip(enr.loc[listed["row"] - 1, "enrolment_id"], listed["reason"], strict=True))
    want = sorted(
        zip(
            truth.loc[truth["table"] == "enrolments", "key"],
            truth.loc[truth["table"] == "enrolments", "reason"],
            strict=True,
        )
    )
    assert got == want
    ses = world.tables["sessions"].reset_index(drop=True)
    bad = data.exclusions[data.exclusions["reason"] == "session_outside_enrolment"]
    got = sorted(ses.loc[bad["row"] - 1, "enrolment_id"] + "#" + ses.loc[bad["row"] - 1, "session_no"].astype(str))
    assert got == sorted(truth.loc[truth["table"] == "sessions", "key"])


def test_scorecard_counts_add_up_and_rates_follow(computed):
    cfg, _, res = computed
    sc = res.publication.tables["scorecard.csv"]
    nat = sc[(sc["level"] == "national")].set_index("period")
    years = [p for p, _, _ in cfg.periods()]
    for m in ("starts", "ended", "assessed_any", "improved_any", "sessions"):
        if nat.loc["all", m] != "s" and all(nat.loc[y, m] != "s" for y in years):
            assert int(nat.loc["all", m]) == sum(int(nat.loc[y, m]) for y in years)
    shown = sc[(sc["completed"] != "s") & (sc["ended"] != "s") & (sc["ended"].astype(str) != "0")]
    rate = shown["completed"].astype(float) / shown["ended"].astype(float)
    np.testing.assert_allclose(shown["completion_rate"].astype(float), rate, atol=1e-4)


def test_run_is_tracked_and_its_model_registered(client_world, client_run):
    import mlflow
    from mlflow.tracking import MlflowClient

    from toolkit.config import file_sha256

    client = MlflowClient(tracking_uri=client_run["uri"])
    run = client.get_run(client_run["run_id"])
    p = run.data.params
    for key in ("config_hash", "git_commit", "git_dirty", "seed", "versions.numpy", "secret_source"):
        assert key in p, key
    assert p["secret_source"] == "$TOOLKIT_TEST_CLIENT_SECRET"
    assert p["input_sha256.enrolments.csv"] == file_sha256(client_world[1] / "enrolments.csv")
    assert run.data.tags["toolkit.status"] == "passed" and client_run["meta"]["privacy_scan"] == "clean"
    v = client.get_model_version_by_alias("ci-improved", "champion")
    assert str(v.version) == client_run["meta"]["model_version"]
    mlflow.set_tracking_uri(client_run["uri"])
    loaded = mlflow.pyfunc.load_model("models:/ci-improved@champion")
    x = pd.DataFrame(
        {
            "age": [30, 12],
            "gender": ["female", "male"],
            "ethnicity": ["maori", "european"],
            "n_dependants": [2, 0],
            "youngest_dependant_under5": [1, 0],
            "pre_mean": [2.5, 3.0],
            "n_dimensions": [4, 3],
            "service_offering": ["family_start", "social_workers_in_schools"],
        }
    )
    p_reg = np.asarray(loaded.predict(x))
    assert p_reg.shape == (2,) and ((p_reg > 0) & (p_reg < 1)).all()
    from toolkit.errors import DataContractError

    with pytest.raises(DataContractError, match="service_offering"):
        loaded.predict(x.assign(service_offering=["family_start", "unknown_offering"]))


def test_bad_input_is_a_clear_error_and_nothing_is_written(client_world, run_toolkit, secret, tmp_path):
    src = client_world[1]
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in src.glob("*.csv"):
        (bad / f.name).write_bytes(f.read_bytes())
    clients = pd.read_csv(bad / "clients.csv", dtype=str, keep_default_na=False)
    secret_name = clients.loc[4, "full_name"]
    clients.loc[[2, 4], "date_of_birth"] = "someday"
    clients.to_csv(bad / "clients.csv", index=False)
    ass = pd.read_csv(bad / "assessments.csv", dtype=str, keep_default_na=False)
    ass.loc[[0, 1, 2], "pre_score"] = "9"
    ass.to_csv(bad / "assessments.csv", index=False)
    out = tmp_path / "out"
    proc = run_toolkit(
        "clients",
        "report",
        "--data",
        bad,
        "--secret-env",
        secret["var"],
        "--tracking-uri",
        f"sqlite:///{tmp_path / 'mlflow.db'}",
        "--out",
        out,
        env={secret["var"]: secret["value"]},
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "clients.date_of_birth: rule 'type' broken by 2 rows (rows 3, 5)" in proc.stderr
    assert "assessments.pre_score: rule 'maximum' broken by 3 rows (rows 1, 2, 3)" in proc.stderr
    assert "someday" not in proc.stderr and secret_name not in proc.stderr
    assert not out.exists()


def test_the_secret_comes_from_a_named_variable_that_is_set(client_world, secret, tmp_path, capsys, monkeypatch):
    from toolkit.cli import main

    monkeypatch.delenv("TOOLKIT_UNSET_VAR_XYZ", raising=False)
    out = tmp_path / "out"
    args = ["clients", "report", "--data", str(client_world[1]), "--out", str(out), "--quiet", "--secret-env"]
    assert main(args + ["TOOLKIT_UNSET_VAR_XYZ"]) == 2
    err = capsys.readouterr().err
    assert "environment variable named by --secret-env is not set" in err and "NAME of an environment variable" in err
    assert "TOOLKIT_UNSET_VAR_XYZ" not in err  # what was given is never repeated: it might be the secret
    assert main(args + [secret["value"]]) == 2  # a secret typed as the variable name is refused, not echoed
    err = capsys.readouterr().err
    assert "NAME of an environment variable" in err and secret["value"] not in err
    monkeypatch.setenv("TOOLKIT_SHORT_SECRET", "abc")
    assert main(args + ["TOOLKIT_SHORT_SECRET"]) == 2
    assert "shorter than 16 characters" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("command", ["report", "reproduce"])
def test_a_secret_passed_as_the_variable_name_is_never_printed(command, client_world, run_toolkit, tmp_path):
    """A secret that looks like a variable name (letters and digits only) used to be echoed:
    "environment variable <the secret> (the pseudonymisation secret) is not set"."""
    leaked = "Xq7vR2mK9pL4sT8wY3nBzz"  # a plausible secret, also a valid variable name
    where = ["--data", client_world[1]] if command == "report" else ["0123456789abcdef0123456789abcdef"]
    proc = run_toolkit(
        "clients",
        command,
        *where,
        "--secret-env",
        leaked,
        "--tracking-uri",
        f"sqlite:///{tmp_path / 'mlflow.db'}",
        *(["--out", tmp_path / "out"] if command == "report" else []),
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "is not set" in proc.stderr and "NAME of an environment variable" in proc.stderr
    assert leaked not in proc.stdout and leaked not in proc.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "mlflow.db").exists()
