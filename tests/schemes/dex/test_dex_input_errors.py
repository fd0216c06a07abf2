"""Bad DEX input: one clear error naming table, column, rule and count; never a value or a name."""

from __future__ import annotations

import pandas as pd
import pytest
from dex_builder import DexBuilder

from toolkit.errors import DataContractError
from toolkit.schemes.dex.config import load_dex_config
from toolkit.schemes.dex.tables import dex_data_from_tables


def base() -> DexBuilder:
    b = DexBuilder().org("ORG1").org("ORG2")
    for c in ("C1", "C2", "C3"):
        b.client(c, "ORG1", family="Thompson", given="Marigold")
    b.case("K1", ["C1", "C2", "C3"]).session("S1", "K1", "2022-08-01").session("S2", "K1", "2022-10-01")
    b.score("S1", "C1", "circumstances", "housing", 2).score("S2", "C1", "circumstances", "housing", 4, "post")
    return b


def violations(tables: dict[str, pd.DataFrame]) -> dict:
    with pytest.raises(DataContractError) as err:
        dex_data_from_tables(tables, load_dex_config())
    for name in ("Thompson", "Marigold"):
        assert name not in str(err.value)
    return {(v.table, v.column, v.rule): v.n_rows for v in err.value.violations}


def test_base_is_valid():
    base().data()


def test_domain_of_another_type():
    b = base().score("S1", "C2", "goals", "housing", 3).score("S1", "C3", "circumstances", "skills", 3)
    assert violations(b.tables()) == {("score_assessments", "domain", "domain_of_score_type"): 2}


def test_score_out_of_range_and_unknown_type():
    t = base().score("S1", "C2", "goals", "skills", 6).score("S1", "C3", "goals", "skills", 0).tables()
    t["score_assessments"].loc[0, "score_type"] = "wellbeing"
    v = violations(t)
    assert v[("score_assessments", "score", "maximum")] == 1
    assert v[("score_assessments", "score", "minimum")] == 1
    assert v[("score_assessments", "score_type", "enum")] == 1


def test_community_assessment_with_a_client_and_client_assessment_without():
    b = base().score("S1", "C2", "community", "social_cohesion", 3).score("S1", None, "goals", "skills", 3)
    v = violations(b.tables())
    assert v[("score_assessments", "score_type,client_id", "check:community_has_no_client")] == 1
    assert v[("score_assessments", "score_type,client_id", "check:client_assessed_unless_community")] == 1


def test_assessment_of_a_client_not_at_the_session():
    b = base()
    b.session("S3", "K1", "2022-11-01", clients=["C1"]).score("S3", "C2", "goals", "skills", 3)
    v = violations(b.tables())
    assert v == {
        ("score_assessments", "session_id,client_id", "foreign_key->session_clients(session_id, client_id)"): 1
    }


def test_client_of_another_organisation_in_a_case():
    b = base().client("X1", "ORG2").case("K2", ["X1"], org="ORG1").session("S9", "K2", "2022-09-01")
    assert violations(b.tables()) == {("case_clients", "client_id", "client_of_case_organisation"): 1}


def test_session_client_not_in_the_case():
    b = base().client("C4", "ORG1").case("K2", ["C4"]).session("S9", "K2", "2022-09-01", clients=["C4", "C1"])
    assert violations(b.tables()) == {("session_clients", "client_id", "client_of_session_case"): 1}


def test_assessment_dated_off_its_session():
    b = base().score("S1", "C2", "goals", "skills", 3, date="2022-08-02")
    assert violations(b.tables()) == {("score_assessments", "assessment_date", "assessment_on_session_date"): 1}


def test_every_violation_at_once_and_missing_table():
    t = base().tables()
    t["clients"].loc[0, "sex"] = "unknown"
    t["clients"]["birth_date_is_estimate"] = t["clients"]["birth_date_is_estimate"].astype("object")
    t["clients"].loc[1, "birth_date_is_estimate"] = None
    t["sessions"] = t["sessions"].drop(columns="service_type")
    del t["program_activities"]
    v = violations(t)
    assert v[("clients", "sex", "enum")] == 1
    assert v[("clients", "birth_date_is_estimate", "required")] == 1
    assert v[("sessions", "service_type", "missing_column")] == 2
    assert ("program_activities", "", "missing_table") in v


def test_cli_exit_code_2_without_traceback(tmp_path, run_cli):
    b = base().score("S1", "C2", "goals", "housing", 3)
    data = b.write(tmp_path / "bad")
    r = run_cli(
        "dex",
        "report",
        "--data",
        data,
        "--tracking-uri",
        f"sqlite:///{tmp_path / 'mlflow.db'}",
        "--out",
        tmp_path / "out",
    )
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert "score_assessments.domain: rule 'domain_of_score_type' broken by 1 row" in r.stderr
    assert "Thompson" not in r.stderr and "Marigold" not in r.stderr
    assert not (tmp_path / "out").exists()  # nothing written, no run started
