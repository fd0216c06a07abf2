"""DCP assessment on synthetic submissions with known truth; runs and escalation; roll-up."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit.schemes.dcp.catalogue import load_catalogue
from toolkit.schemes.dcp.config import Escalation, load_report_config
from toolkit.schemes.dcp.report import compute_dcp, load_dcp_tables
from toolkit.schemes.dcp.rollup import level3_runs
from toolkit.schemes.dcp.synth import (
    generate_submissions,
    load_synth_config,
    write_dcp_world,
)

KEY = ["provider_id", "service_type", "kpi_id", "quarter"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = generate_submissions(5)
    d = tmp_path_factory.mktemp("dcp_world")
    write_dcp_world(w, d)
    return w, d


@pytest.fixture(scope="module")
def result(world):
    cfg, _ = load_report_config()
    return compute_dcp(load_dcp_tables(world[1]), load_catalogue(), cfg)


def test_every_malformed_submission_is_excluded_with_its_reason(world, result):
    truth = world[0].truth["malformed"].sort_values(KEY).reset_index(drop=True)
    got = result.exclusions[KEY + ["reason"]].sort_values(KEY).reset_index(drop=True)
    assert len(truth) == sum(load_synth_config()[0].malformed.values())
    pd.testing.assert_frame_equal(got, truth, check_dtype=False)


def test_nothing_is_lost(world, result):
    led = result.ledger.set_index("item")["rows"]
    n = len(world[0].tables["kpi_submissions"])
    assert led["submissions read"] == n
    assert led["used"] + led[[i for i in led.index if i.startswith("excluded")]].sum() == n
    # every used submission is a row of the results
    res = result.results
    submitted = res[res["status"].isin(["assessed", "reported", "no_cases"])]
    assert len(submitted) == led["used"]


def test_missing_submissions_get_the_configured_status(world, result):
    res = result.results.set_index(KEY)
    missing = world[0].truth["missing"]
    assert len(missing) > 20
    for r in missing.itertuples(index=False):
        row = res.loc[(r.provider_id, r.service_type, str(r.kpi_id), r.quarter)]
        assert row["status"] == "not_submitted"
        if str(r.kpi_id) in ("16", "23"):
            assert row["level"] == 3 and row["level_source"] == "missing_policy" and not row["target_met"]
        else:
            assert pd.isna(row["level"])
    invalid = result.results[result.results["status"] == "invalid"]
    replaced = world[0].truth["malformed"]
    replaced = replaced[
        replaced["reason"].isin(["numerator_exceeds_denominator", "not_whole", "value_form", "denominator_zero"])
    ]
    assert len(invalid) == len(replaced)


def test_tier2_is_reported_not_levelled_and_levels_come_with_their_band(result):
    res = result.results
    t2 = res[res["tier"] == 2]
    assert t2["level"].isna().all() and set(t2["status"]) <= {"reported", "no_cases", "not_submitted", "invalid"}
    lv = res[res["level_source"] == "band"]
    assert lv["band"].str.match(r"^[\[(].*[\])]$").all() and (lv["band_seed_text"] != "").all()
    corrected = lv[lv["band_reading"] != ""]
    assert set(corrected["kpi_id"]) <= {"1", "17", "124", "126", "180", "181", "182"}


def test_the_poor_provider_escalates(world, result):
    poor = world[0].truth["provider_quality"].sort_values("quality")["provider_id"].iloc[0]
    runs = result.runs
    assert runs.loc[runs["provider_id"] == poor, "escalated"].any()
    esc = result.results[result.results["escalate"]]
    assert (esc["consecutive_level_3"] >= 2).all() and (esc["level"] == 3).all()


def test_rollup_counts_add_up(result):
    r = result.rollup
    one = r[r["domain"] != "all"].groupby(["provider_id", "quarter", "tier"])[["expected", "level_3"]].sum()
    tot = r[r["domain"] == "all"].set_index(["provider_id", "quarter", "tier"])[["expected", "level_3"]]
    pd.testing.assert_frame_equal(one.sort_index(), tot.sort_index())
    assert r["expected"].sum() == 2 * len(result.results)


def test_same_input_same_bytes(world, tmp_path):
    cfg, _ = load_report_config()
    a = compute_dcp(load_dcp_tables(world[1]), load_catalogue(), cfg)
    b = compute_dcp(load_dcp_tables(world[1]), load_catalogue(), cfg)
    assert a.results.to_csv(index=False) == b.results.to_csv(index=False)
    assert a.rollup.to_csv(index=False) == b.rollup.to_csv(index=False)


def _seq(levels: list) -> pd.DataFrame:
    rows = []
    for i, lv in enumerate(levels):
        status = "not_submitted" if lv is None else "assessed"
        rows.append(
            {
                "provider_id": "P",
                "service_type": "general_fbc",
                "kpi_id": "3",
                "stream": "general",
                "quarter": f"2024Q{i + 1}" if i < 4 else f"2025Q{i - 3}",
                "tier": 1,
                "level": lv,
                "status": status,
            }
        )
    df = pd.DataFrame(rows)
    df["level"] = df["level"].astype("Int64")
    return df


@pytest.mark.parametrize(
    "policy,runs_expected,escalated",
    [
        ("break", [1, 2], False),  # 3 | missing | 3 3 | 1: the missing quarter ends the first run
        ("bridge", [3], True),  # the missing quarter neither ends nor extends the run
        ("count", [4], True),  # the missing quarter counts as level 3
    ],
)
def test_not_submitted_quarters_break_bridge_or_count(policy, runs_expected, escalated):
    runs, running = level3_runs(_seq([3, None, 3, 3, 1]), Escalation(consecutive_level_3=3, not_submitted=policy))
    assert list(runs["quarters"]) == runs_expected
    assert bool(runs["escalated"].any()) is escalated
    assert running.max() == max(runs_expected)
    assert not runs["ongoing"].any()  # the run ends at level 1 in the last quarter


def test_run_that_reaches_the_last_quarter_is_ongoing():
    runs, running = level3_runs(_seq([1, 3, 3]), Escalation(consecutive_level_3=2))
    assert runs[["first_quarter", "last_quarter", "quarters", "escalated", "ongoing"]].to_dict("records") == [
        {"first_quarter": "2024Q2", "last_quarter": "2024Q3", "quarters": 2, "escalated": True, "ongoing": True}
    ]
    assert list(running) == [0, 1, 2]
