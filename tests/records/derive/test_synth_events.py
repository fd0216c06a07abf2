"""The synthetic world's raw events: valid, and derived back into exactly its measure records."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from toolkit.contracts import validate_dir
from toolkit.records.derive import EVENT_CONTRACTS, derive_records
from toolkit.synth import generate_world, write_world


@pytest.fixture(scope="module")
def small():
    return generate_world("small", seed=7)


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    key = ["program", "measure", "site_id", "participant_id", "period_of_service"]
    return df.sort_values(key, kind="stable").reset_index(drop=True)


def test_events_meet_their_contracts(tiny_world_dir):
    typed, report = validate_dir(tiny_world_dir / "events", contracts_dir=EVENT_CONTRACTS)
    assert report.ok, report.summary()
    assert len(typed["site_commencements"]) > len(typed["benchmarks"].drop_duplicates("participant_id")) * 0.99


def test_derive_reproduces_the_synthetic_records(small):
    res = derive_records(small.events, "March 2020")
    want = _sorted(small.tables["measure_records"])
    got = _sorted(res.records)
    pd.testing.assert_frame_equal(res.records, got)  # rows come sorted
    assert list(got.columns) == list(want.columns)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_the_noise_is_excluded_for_the_right_reasons(small):
    res = derive_records(small.events, "March 2020")
    rules = res.excluded.groupby("rule", observed=True).size()
    for rule in (
        "after_cutoff",
        "claim_under_one_dollar",
        "claim_status",
        "claim_recovery",
        "anchor_type",
        "anchor_within_26_weeks",
        "duration_threshold",
        "removed_by_paired_outcome",
        "eight_hour_benchmark",
    ):
        assert rules.get(rule, 0) > 0, rule
    log = res.log.set_index(["measure", "rule"])
    assert log.loc[("full_13", "ea_service_fee"), "kept_by_outcome"] > 0  # the outcome exception is exercised
    assert (res.log["considered"] == res.log["excluded"] + res.log["kept"]).all()


@pytest.mark.parametrize("release", ["December 2019", "June 2020", "September 2020"])
def test_other_releases_of_the_same_events_keep_the_invariants(small, release):
    res = derive_records(small.events, release)
    _, cutoff = (pd.Timestamp(d) for d in res.window)
    rec = res.records
    assert len(rec) > 0
    assert (rec["commencement_date"] <= cutoff).all()
    assert (rec["outcome_lodged_date"].dropna() <= cutoff).all()
    later = res.excluded[(res.excluded["rule"] == "after_cutoff")]
    if release == "December 2019":  # extended cut-off 13 January 2020
        assert str(res.window[1]) == "2020-01-13" and len(later) > 0
        assert len(rec) < len(small.tables["measure_records"])


def test_events_do_not_change_the_other_tables(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_world(generate_world("tiny", seed=3, events=False), a)
    write_world(generate_world("tiny", seed=3), b)

    def dig(d):
        return {
            p.relative_to(d).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*"))
            if p.is_file()
        }

    da, db = dig(a), dig(b)
    assert all(db[k] == v for k, v in da.items())
    assert sorted(set(db) - set(da)) == sorted(
        f"events/{t}.parquet"
        for t in (
            "site_commencements",
            "phases",
            "suspensions",
            "placements",
            "claims",
            "benchmarks",
            "os_assessments",
            "employment_verifications",
        )
    )


@pytest.mark.slow
def test_national_events_reproduce_the_national_records():
    w = generate_world("national", seed=1)
    res = derive_records(w.events, "March 2020")
    pd.testing.assert_frame_equal(_sorted(res.records), _sorted(w.tables["measure_records"]), check_dtype=False)


def _twice_in_a_contract(rec: pd.DataFrame) -> pd.DataFrame:
    """Records of participants counted at two sites of one contract for a measure (issue 16)."""
    twice = rec.duplicated(["participant_id", "period_of_service", "contract_id", "measure"], keep=False)
    return rec[twice.to_numpy()]


def _at_two_sites_of_a_contract(rec: pd.DataFrame) -> int:
    """Participants with records (of any measure) at two sites of one contract."""
    return int((rec.groupby(["participant_id", "contract_id"])["site_id"].nunique() > 1).sum())


def test_the_world_has_losing_sites_of_transfers_within_a_contract(small):
    """Table 9: the losing site of a transfer within a contract keeps a participant who passed 13 weeks
    there, so the world has participants with a 13-week record at two sites of one contract (the one
    they left not transferred in, the one they joined transferred in), and derive reproduces them."""
    two = _twice_in_a_contract(small.tables["measure_records"])
    assert len(two) > 20 and set(two["measure"]) == {"full_13"}
    by = two.sort_values("commencement_date").groupby("participant_id")
    assert (by["transferred"].agg(tuple) == (False, True)).all()
    assert (by["site_id"].nunique() == 2).all()
    res = derive_records(small.events, "March 2020")
    pd.testing.assert_frame_equal(_sorted(_twice_in_a_contract(res.records)), _sorted(two), check_dtype=False)


def test_the_earlier_reading_gives_a_world_its_derivation_reproduces():
    """Under records.one_record_per: contract the generator writes a losing-site record only when it is
    the numerator the contract keeps, and derive with that config gives back the world's records."""
    from toolkit.records.derive import DeriveParams, load_derive_params
    from toolkit.scoring import load_method
    from toolkit.synth.params import method_rules

    raw = load_derive_params().model_dump(mode="json")
    raw["records"]["one_record_per"] = "contract"
    params = DeriveParams.model_validate(raw)
    world = generate_world("small", seed=7, rules=method_rules(load_method(), params))
    rec = world.tables["measure_records"]
    assert _twice_in_a_contract(rec).empty and _at_two_sites_of_a_contract(rec) > 0
    res = derive_records(world.events, "March 2020", params=params)
    pd.testing.assert_frame_equal(_sorted(res.records), _sorted(rec), check_dtype=False)
