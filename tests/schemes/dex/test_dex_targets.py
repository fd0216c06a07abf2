"""Every minimum requirement and target: numerator, denominator and status on a hand-built extract.

ORG1 / ACT1 in 2022-H2 (an assessed period) has ten identified clients, C01 to C10, each in
its own case with a first session on 1 August 2022 and a second on 15 November 2022:

- circumstances assessed: C01-C06 -> 6 / 10 = 60% (minimum 50%: met). Complete: C01-C05
  (C06 has only a first assessment). Changes: C01 +1, C02 0, C03 +2 and -1 (mean +0.5),
  C04 +1, C05 -1 -> positive or neutral 4 / 5 = 80% (target 80%: met, on the boundary).
  Under "no domain negative", C03 fails: 3 / 5 = 60%.
- goals assessed: C01-C04 -> 4 / 10 = 40% (minimum 50%: not met). Complete C01-C03 with
  changes +1, -2, 0 -> 2 / 3 = 66.7% (target 80%: not met).
- satisfaction assessed: C01 -> 1 / 10 = 10% (minimum 10%: met on the boundary); C01 scores
  5, 4, 2 on the three statements: 2 of 3 positive, more than half -> 1 / 1 = 100% (90%: met).
- demographics: C09 has no country of birth, C10 a "not stated" Indigenous status -> 8 / 10
  = 80% (target 80%: met).
- SLK: C10 has no names, so its key is built with 999 and 99 -> 9 / 10 = 90% (target 90%: met).

C11 is assessed in 2022-H1 (transition: reported, not assessed). C12's only session is in
June 2021, before the partnership approach: it and its records are listed as excluded. ORG2
has one client (D01) with a complete, positive circumstances SCORE in 2022-H2, and E01 whose
first assessment is in December 2022 and follow-up in February 2023.
"""

from __future__ import annotations

import pytest
from dex_builder import DexBuilder

from toolkit.schemes.dex.config import load_dex_config
from toolkit.schemes.dex.measures import compliance_table


def build() -> DexBuilder:
    b = DexBuilder().org("ORG1").org("ORG2")
    for i in range(1, 11):
        c = f"C{i:02d}"
        extra = {}
        if i == 9:
            extra["country_of_birth"] = None
        if i == 10:
            extra.update(indigenous_status="not_stated", family=None, given=None)
        b.client(c, "ORG1", **extra).case(f"K{i:02d}", [c])
        b.session(f"S{i:02d}a", f"K{i:02d}", "2022-08-01").session(f"S{i:02d}b", f"K{i:02d}", "2022-11-15")
    circ = {1: [(3, 4)], 2: [(3, 3)], 3: [(2, 4), (4, 3)], 4: [(1, 2)], 5: [(4, 3)], 6: [(2, None)]}
    for i, domains in circ.items():
        for (pre, post), dom in zip(domains, ("physical_health", "housing"), strict=False):  # 1 or 2 domains
            b.score(f"S{i:02d}a", f"C{i:02d}", "circumstances", dom, pre, "pre")
            if post is not None:
                b.score(f"S{i:02d}b", f"C{i:02d}", "circumstances", dom, post, "post")
    goals = {1: (2, 3), 2: (4, 2), 3: (3, 3), 4: (2, None)}
    for i, (pre, post) in goals.items():
        b.score(f"S{i:02d}a", f"C{i:02d}", "goals", "skills", pre, "pre")
        if post is not None:
            b.score(f"S{i:02d}b", f"C{i:02d}", "goals", "skills", post, "post")
    for dom, s in (("listened_understood", 5), ("satisfied_with_services", 4), ("better_able_to_deal", 2)):
        b.score("S01b", "C01", "satisfaction", dom, s, "post")
    b.client("C11", "ORG1").case("K11", ["C11"]).session("S11a", "K11", "2022-03-01")
    b.score("S11a", "C11", "circumstances", "housing", 2)
    b.client("C12", "ORG1").case("K12", ["C12"], created="2021-06-01").session("S12a", "K12", "2021-06-15")
    b.score("S12a", "C12", "goals", "skills", 2)
    b.client("D01", "ORG2", family="Thompson").case("L01", ["D01"], org="ORG2")
    b.session("T01a", "L01", "2022-09-01").session("T01b", "L01", "2022-10-01")
    b.score("T01a", "D01", "circumstances", "housing", 3).score("T01b", "D01", "circumstances", "housing", 4, "post")
    b.client("E01", "ORG2", family="Farr").case("L02", ["E01"], org="ORG2")
    b.session("T02a", "L02", "2022-12-20").session("T02b", "L02", "2023-02-01")
    b.score("T02a", "E01", "goals", "skills", 2).score("T02b", "E01", "goals", "skills", 3, "post")
    return b


@pytest.fixture(scope="module")
def table():
    tab, _priors = compliance_table(build().data(), load_dex_config())
    return tab.set_index(["period", "organisation_id", "activity_id", "measure"])


EXPECTED_ORG1_2022H2 = {
    # measure: (numerator, denominator, status)
    "assessed_circumstances": (6, 10, "met"),
    "assessed_goals": (4, 10, "not met"),
    "assessed_satisfaction": (1, 10, "met"),
    "circumstances_positive_or_neutral": (4, 5, "met"),
    "goals_positive_or_neutral": (2, 3, "not met"),
    "satisfaction_positive": (1, 1, "met"),
    "complete_demographics": (8, 10, "met"),
    "valid_slk": (9, 10, "met"),
}


@pytest.mark.parametrize("measure", list(EXPECTED_ORG1_2022H2))
def test_numerator_denominator_and_status(table, measure):
    row = table.loc[("2022-H2", "ORG1", "ACT1", measure)]
    num, den, status = EXPECTED_ORG1_2022H2[measure]
    assert (row["numerator"], row["denominator"], row["status"]) == (num, den, status)
    assert row["share"] == pytest.approx(num / den)


def test_targets_come_from_the_config(table):
    cfg = load_dex_config()
    org1 = table.loc[("2022-H2", "ORG1", "ACT1")]
    for m, spec in cfg.measures.items():
        assert org1.loc[m, "target"] == spec.share and org1.loc[m, "kind"] == spec.kind
    assert [cfg.measures[m].share for m in EXPECTED_ORG1_2022H2] == [0.5, 0.5, 0.1, 0.8, 0.8, 0.9, 0.8, 0.9]


def test_moving_a_target_by_a_hair_flips_the_boundary_cases():
    cfg = load_dex_config()
    raised = cfg.model_copy(
        update={"measures": {m: s.model_copy(update={"share": s.share + 0.001}) for m, s in cfg.measures.items()}}
    )
    tab, _ = compliance_table(build().data(raised), raised)
    tab = tab.set_index(["period", "organisation_id", "measure"])
    for m in ("assessed_satisfaction", "circumstances_positive_or_neutral", "complete_demographics", "valid_slk"):
        assert tab.loc[("2022-H2", "ORG1", m), "status"] == "not met", m


def test_the_alternative_change_rule_is_stricter():
    cfg = load_dex_config("partnership_no_domain_negative")
    assert cfg.score.change_rule == "none_negative"
    tab, _ = compliance_table(build().data(cfg), cfg)
    row = tab.set_index(["period", "organisation_id", "measure"]).loc[
        ("2022-H2", "ORG1", "circumstances_positive_or_neutral")
    ]
    assert (row["numerator"], row["denominator"], row["status"]) == (3, 5, "not met")


def test_transition_period_is_reported_not_assessed(table):
    row = table.loc[("2022-H1", "ORG1", "ACT1", "assessed_circumstances")]
    assert bool(row["transition"]) and (row["numerator"], row["denominator"]) == (1, 1)
    assert bool(row["met"]) and row["status"] == "not assessed (transition)"
    periods = set(table.index.get_level_values("period"))
    assert "2021-H1" not in periods  # June 2021 is before the partnership approach


def test_providers_are_counted_separately(table):
    row = table.loc[("2022-H2", "ORG2", "ACT1", "circumstances_positive_or_neutral")]
    assert (row["numerator"], row["denominator"]) == (1, 1)
    assert table.loc[("2022-H2", "ORG2", "ACT1", "assessed_circumstances"), "denominator"] == 2  # D01 and E01


def test_a_score_completed_in_the_next_period_counts_there(table):
    # E01: first goals assessment in December 2022 (partial in 2022-H2), follow-up in February 2023
    assert table.loc[("2022-H2", "ORG2", "ACT1", "goals_positive_or_neutral"), "denominator"] == 0
    assert table.loc[("2022-H2", "ORG2", "ACT1", "goals_positive_or_neutral"), "status"] == "no denominator"
    row = table.loc[("2023-H1", "ORG2", "ACT1", "goals_positive_or_neutral")]
    assert (row["numerator"], row["denominator"]) == (1, 1)


def test_every_record_is_used_or_listed_with_a_reason():
    data = build().data()
    acc = data.accounting.set_index("table")
    assert (acc["read"] == acc["used"] + acc["excluded"]).all()
    ex = data.exclusions
    assert set(ex.loc[ex["table"] == "sessions", "record_id"]) == {"S12a"}
    assert set(ex.loc[ex["table"] == "score_assessments", "reason"]) == {
        "before the first reporting period (2021-07-01)"
    }
    assert set(ex.loc[ex["table"] == "clients", "record_id"]) == {"C12"}
    assert set(ex.loc[ex["table"] == "cases", "record_id"]) == {"K12"}


def test_names_are_gone_after_the_slk_step():
    data = build().data()
    assert "family_name" not in data.tables["clients"].columns
    assert "given_name" not in data.tables["clients"].columns
    assert "slk" not in data.tables["clients"].columns and "slk" not in data.clients.columns
    text = data.clients.to_csv() + data.assessments.to_csv() + data.attendance.to_csv()
    for name in ("Smith", "John", "Thompson", "Farr"):
        assert name not in text
