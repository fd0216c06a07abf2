"""Scheme configs are data: the paths they name (contracts, catalogues, domains, parents, output
roots) must stay inside the repository, and their MLflow names follow MLflow's rules. Paths given on
the command line are the user's own and may be anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from toolkit.errors import ConfigError
from toolkit.paths import CONFIGS


def _write(tmp_path: Path, name: str, raw: dict) -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(raw))
    return p


def _shipped(rel: str) -> dict:
    return yaml.safe_load((CONFIGS / rel).read_text())


def test_dex_contracts_and_domains_stay_in_the_repository(tmp_path):
    from toolkit.schemes.dex.config import load_dex_config
    from toolkit.schemes.dex.tables import contracts_dir

    raw = _shipped("schemes/dex/partnership.yaml")
    cfg = load_dex_config(_write(tmp_path, "a.yaml", {**raw, "contracts": "../../../../../../../tmp"}))
    with pytest.raises(ConfigError, match=r"contracts names .* outside the workspace"):
        contracts_dir(cfg)
    (tmp_path / "domains.yaml").write_text((CONFIGS / "schemes/dex/domains.yaml").read_text())
    with pytest.raises(ConfigError, match=r"domains names .* outside the workspace"):
        load_dex_config(_write(tmp_path, "b.yaml", {**raw, "domains": str(tmp_path / "domains.yaml")}))


def test_extends_outside_the_repository_is_refused_and_inside_is_found(tmp_path):
    from toolkit.schemes.dex.config import load_dex_config

    (tmp_path / "parent.yaml").write_text((CONFIGS / "schemes/dex/partnership.yaml").read_text())
    with pytest.raises(ConfigError, match=r"extends names .* outside the workspace"):
        load_dex_config(_write(tmp_path, "child.yaml", {"extends": "parent.yaml", "seed": 3}))
    cfg = load_dex_config(_write(tmp_path, "child2.yaml", {"extends": "schemes/dex/partnership.yaml", "seed": 3}))
    assert cfg.seed == 3


def test_cohort_contract_outside_the_repository_is_refused(tmp_path):
    from toolkit.schemes.cohort.config import load_cohort_config
    from toolkit.schemes.cohort.pipeline import check_cohort

    (tmp_path / "c.yaml").write_text((CONFIGS / "schemes/cohort/contracts/cohort_outcomes.yaml").read_text())
    raw = _shipped("schemes/cohort/default.yaml")
    cfg = load_cohort_config(_write(tmp_path, "cohort.yaml", {**raw, "contract": str(tmp_path / "c.yaml")}))
    import pandas as pd

    with pytest.raises(ConfigError, match=r"contract names .* outside the workspace"):
        check_cohort(pd.DataFrame({"participant_id": ["P1"]}), cfg)


def test_dcp_catalogue_from_the_config_must_be_inside_but_from_the_command_line_anywhere(tmp_path):
    from toolkit.schemes.dcp.config import catalogue_path, load_report_config

    cat = tmp_path / "catalogue.yaml"
    cat.write_text("x: 1\n")
    raw = _shipped("schemes/dcp/report.yaml")
    cfg, p = load_report_config(_write(tmp_path, "run.yaml", {**raw, "catalogue": str(cat)}))
    with pytest.raises(ConfigError, match=r"catalogue names .* outside the workspace"):
        catalogue_path(cfg, p)
    cfg, p = load_report_config(_write(tmp_path, "run2.yaml", {**raw, "catalogue": "catalogue.yaml"}))
    with pytest.raises(ConfigError, match="outside the workspace"):  # beside a config outside
        catalogue_path(cfg, p)


@pytest.mark.parametrize(
    "scheme, rel",
    [
        ("dcp", "schemes/dcp/report.yaml"),
        ("dex", "schemes/dex/partnership.yaml"),
        ("cohort", "schemes/cohort/default.yaml"),
        ("clientlevel", "schemes/clientlevel/report.yaml"),
    ],
)
def test_output_root_of_a_scheme_config_stays_inside_unless_given(scheme, rel, tmp_path):
    from toolkit.schemes.clientlevel.config import load_clientlevel_config
    from toolkit.schemes.cohort.config import load_cohort_config
    from toolkit.schemes.config import output_root
    from toolkit.schemes.dcp.config import load_report_config
    from toolkit.schemes.dex.config import load_dex_config

    load = {
        "dcp": load_report_config,
        "dex": load_dex_config,
        "cohort": load_cohort_config,
        "clientlevel": load_clientlevel_config,
    }[scheme]
    raw = _shipped(rel)
    for value in (str(tmp_path / "out"), "../../../../../../../../tmp/out"):
        with pytest.raises(ConfigError, match=r"output_root names .* outside the workspace"):
            load(_write(tmp_path, "c.yaml", {**raw, "output_root": value}))
    assert output_root("ignored", tmp_path / "given") == tmp_path / "given"  # --out: the user's own choice


@pytest.mark.parametrize(
    "loader, rel, change, words",
    [
        ("dcp", "schemes/dcp/report.yaml", {"tracking": {"experiment": ""}}, "tracking.experiment"),
        ("dex", "schemes/dex/partnership.yaml", {"tracking": {"experiment": " "}}, "tracking.experiment"),
        ("cohort", "schemes/cohort/default.yaml", {"tracking": {"experiment": ""}}, "tracking.experiment"),
        ("clientlevel", "schemes/clientlevel/report.yaml", {"tracking": {"alias": "a/b"}}, "tracking.alias"),
        ("clientlevel", "schemes/clientlevel/report.yaml", {"tracking": {"alias": "v2"}}, "reserved"),
    ],
)
def test_mlflow_names_of_scheme_configs(loader, rel, change, words, tmp_path):
    from toolkit.schemes.clientlevel.config import load_clientlevel_config
    from toolkit.schemes.cohort.config import load_cohort_config
    from toolkit.schemes.dcp.config import load_report_config
    from toolkit.schemes.dex.config import load_dex_config

    raw = _shipped(rel)
    for k, v in change.items():
        raw[k] = {**raw.get(k, {}), **v}
    if loader == "dex":
        raw["domains"] = "schemes/dex/domains.yaml"
    p = _write(tmp_path, "c.yaml", raw)
    load = {
        "dcp": load_report_config,
        "dex": load_dex_config,
        "cohort": load_cohort_config,
        "clientlevel": load_clientlevel_config,
    }[loader]
    with pytest.raises(ConfigError, match=words):
        load(p)


def test_dcp_report_refuses_an_outside_output_root_before_creating_anything(tmp_path, run_cli):
    raw = _shipped("schemes/dcp/report.yaml")
    out = tmp_path / "out"
    cfg = _write(
        tmp_path,
        "run.yaml",
        {**raw, "catalogue": str(CONFIGS / "schemes/dcp/catalogue.yaml"), "output_root": str(out)},
    )
    store = tmp_path / "store"
    args = ("dcp", "report", "--data", tmp_path, "--config", cfg, "--tracking-uri", f"sqlite:///{store / 'mlflow.db'}")
    r = run_cli(*args)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "output_root names" in r.stderr and "outside the workspace" in r.stderr
    assert not store.exists() and not out.exists()
