"""SCORE records: first/last pairing (with same-day ties), partial vs complete, change, combination rules."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from toolkit.schemes.dex.config import Period, SatisfactionRule, load_dex_config
from toolkit.schemes.dex.score import (
    client_outcomes,
    client_satisfaction,
    combine_changes,
    domain_pairs,
    period_pairs,
)

ORDER = load_dex_config().score.order_by
H2_2022 = Period("2022-H2", date(2022, 7, 1), date(2022, 12, 31), False)


def rows(*specs, client="C1", case="K1", score_type="circumstances", domain="housing"):
    """specs: (assessment_id, session_id, date, score, phase)."""
    return pd.DataFrame(
        [
            {
                "organisation_id": "O1",
                "activity_id": "A1",
                "case_id": case,
                "client_id": client,
                "score_type": score_type,
                "domain": domain,
                "assessment_id": a,
                "session_id": s,
                "assessment_date": pd.Timestamp(d),
                "score": sc,
                "phase": ph,
            }
            for a, s, d, sc, ph in specs
        ]
    )


def test_configured_order_is_date_then_session_then_assessment():
    assert ORDER == ("assessment_date", "session_id", "assessment_id")


def test_first_and_last_by_date_whatever_the_row_order():
    a = rows(
        ("A3", "S3", "2022-11-01", 4, "post"),
        ("A1", "S1", "2022-08-01", 2, "pre"),
        ("A2", "S2", "2022-09-01", 5, "post"),
    )
    p = domain_pairs(a, ORDER).iloc[0]
    # first is 1 Aug (score 2), last is 1 Nov (score 4); the September follow-up in between is not an end
    assert (p["first_assessment_id"], p["last_assessment_id"], p["n_assessments"]) == ("A1", "A3", 3)
    assert p["change"] == 2 and p["direction"] == "positive" and p["complete"]


def test_same_day_tie_in_two_sessions_resolves_by_session_id():
    # both on 3 Oct: session S10 sorts before S9 as text ("S1..." < "S9"), so S10 is first
    a = rows(("A1", "S9", "2022-10-03", 2, "pre"), ("A2", "S10", "2022-10-03", 4, "post"))
    p = domain_pairs(a, ORDER).iloc[0]
    assert (p["first_assessment_id"], p["last_assessment_id"]) == ("A2", "A1")
    assert p["change"] == -2 and p["direction"] == "negative"
    assert p["phase_mismatch"]  # the first is labelled post: counted, not used for pairing


def test_same_day_tie_in_one_session_resolves_by_assessment_id():
    a = rows(("A7", "S1", "2022-10-03", 3, "post"), ("A6", "S1", "2022-10-03", 3, "pre"))
    p = domain_pairs(a, ORDER).iloc[0]
    assert (p["first_assessment_id"], p["last_assessment_id"]) == ("A6", "A7")
    assert p["change"] == 0 and p["direction"] == "neutral" and not p["phase_mismatch"]


def test_the_tie_order_is_deterministic_under_shuffling():
    a = rows(
        ("A2", "S1", "2022-10-03", 2, "pre"),
        ("A1", "S1", "2022-10-03", 5, "pre"),
        ("A3", "S2", "2022-10-03", 1, "post"),
        ("A0", "S0", "2022-10-04", 4, "post"),
    )
    ref = domain_pairs(a, ORDER)
    for seed in range(5):
        assert domain_pairs(a.sample(frac=1, random_state=seed), ORDER).equals(ref)
    assert (ref.iloc[0]["first_assessment_id"], ref.iloc[0]["last_assessment_id"]) == ("A1", "A0")


def test_partial_and_complete():
    a = pd.concat(
        [
            rows(("A1", "S1", "2022-08-01", 3, "pre"), domain="housing"),
            rows(("A2", "S1", "2022-08-01", 3, "pre"), ("A3", "S2", "2022-09-01", 3, "post"), domain="physical_health"),
        ]
    )
    p = domain_pairs(a, ORDER).set_index("domain")
    assert not p.loc["housing", "complete"] and p.loc["housing", "direction"] == "partial"
    assert pd.isna(p.loc["housing", "change"])
    assert p.loc["physical_health", "complete"] and p.loc["physical_health", "direction"] == "neutral"


def test_pairs_are_within_a_case():
    a = pd.concat(
        [rows(("A1", "S1", "2022-08-01", 2, "pre"), case="K1"), rows(("A2", "S2", "2022-09-01", 5, "post"), case="K2")]
    )
    p = domain_pairs(a, ORDER)
    assert len(p) == 2 and not p["complete"].any()


def test_assessments_after_the_period_end_are_not_used():
    a = rows(
        ("A1", "S1", "2022-08-01", 2, "pre"),
        ("A2", "S2", "2022-12-31", 3, "post"),
        ("A3", "S3", "2023-01-02", 5, "post"),
    )
    p = period_pairs(a, H2_2022, ("circumstances",), ORDER).iloc[0]
    assert p["last_assessment_id"] == "A2" and p["change"] == 1


def test_combination_rules():
    # C1: housing +2, physical health -1 -> mean +0.5 (mean rule: positive or neutral; no-negative rule: not)
    # C2: housing 0 -> neutral under both; C3: -1 -> negative under both
    a = pd.concat(
        [
            rows(("A1", "S1", "2022-08-01", 2, "pre"), ("A2", "S2", "2022-10-01", 4, "post"), client="C1"),
            rows(
                ("A3", "S1", "2022-08-01", 4, "pre"),
                ("A4", "S2", "2022-10-01", 3, "post"),
                client="C1",
                domain="physical_health",
            ),
            rows(("A5", "S3", "2022-08-01", 3, "pre"), ("A6", "S4", "2022-10-01", 3, "post"), client="C2", case="K2"),
            rows(("A7", "S5", "2022-08-01", 3, "pre"), ("A8", "S6", "2022-10-01", 2, "post"), client="C3", case="K3"),
        ]
    )
    mean = client_outcomes(a, H2_2022, "mean_nonnegative", ORDER).set_index("client_id")
    none = client_outcomes(a, H2_2022, "none_negative", ORDER).set_index("client_id")
    assert mean["positive_or_neutral"].to_dict() == {"C1": True, "C2": True, "C3": False}
    assert none["positive_or_neutral"].to_dict() == {"C1": False, "C2": True, "C3": False}
    assert mean.loc["C1", "complete_domains"] == 2 and mean.loc["C1", "mean_change"] == 0.5


def test_partial_domains_do_not_enter_the_client_outcome():
    # complete housing +1, partial physical health: the client's mean is over housing alone
    a = pd.concat(
        [
            rows(("A1", "S1", "2022-08-01", 2, "pre"), ("A2", "S2", "2022-10-01", 3, "post")),
            rows(("A3", "S1", "2022-08-01", 5, "pre"), domain="physical_health"),
        ]
    )
    out = combine_changes(period_pairs(a, H2_2022, ("circumstances",), ORDER), "none_negative", ["client_id"])
    assert out["complete_domains"].tolist() == [1] and out["positive_or_neutral"].tolist() == [True]


@pytest.mark.parametrize(
    "scores,positive",
    [
        ([5, 4, 2], True),  # 2 of 3 statements scored 4 or 5: more than half
        ([4, 2], False),  # 1 of 2: exactly half is not more than half
        ([3], False),  # 3 is not positive
        ([4], True),
        ([5, 5, 5], True),
        ([1, 2, 4], False),  # 1 of 3
    ],
)
def test_satisfaction_is_positive_when_more_than_half_of_statements_score_4_or_5(scores, positive):
    doms = ["listened_understood", "satisfied_with_services", "better_able_to_deal"]
    a = pd.concat(
        [
            rows((f"A{i}", "S1", "2022-11-01", s, "post"), score_type="satisfaction", domain=d)
            for i, (s, d) in enumerate(zip(scores, doms, strict=False))  # one statement per score: 1 to 3
        ]
    )
    out = client_satisfaction(a, H2_2022, SatisfactionRule(), ORDER)
    assert out["positive"].tolist() == [positive]
    assert out["statements"].tolist() == [len(scores)]


def test_satisfaction_uses_the_last_answer_per_statement():
    a = rows(
        ("A1", "S1", "2022-09-01", 2, "post"),
        ("A2", "S2", "2022-11-01", 5, "post"),
        score_type="satisfaction",
        domain="listened_understood",
    )
    out = client_satisfaction(a, H2_2022, SatisfactionRule(), ORDER)
    assert out["positive"].tolist() == [True] and out["statements"].tolist() == [1]
