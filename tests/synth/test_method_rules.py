"""The generator reads the method's measures and the derivation's thresholds from their configs."""

from __future__ import annotations

from toolkit.records.derive import DeriveParams, load_derive_params
from toolkit.scoring import MethodConfig, load_method
from toolkit.synth import MEASURES, PROGRAM_MEASURES, generate_world, load_method_rules
from toolkit.synth.params import method_rules


def _derive_with(**changes) -> DeriveParams:
    return DeriveParams.model_validate({**load_derive_params().model_dump(mode="json"), **changes})


def test_measures_and_thresholds_are_the_configs():
    rules = load_method_rules()
    method, derive = load_method(), load_derive_params()
    assert MEASURES == rules.measures == method.measure_ids
    assert {
        prog: tuple(m for m in method.measure_ids if m in spec.weights) for prog, spec in method.programs.items()
    } == PROGRAM_MEASURES
    assert rules.threshold_days == {
        m: derive.threshold_weeks[m] * derive.days_per_week for m in derive.full_pathway_measures
    }
    assert rules.anchor_days == derive.bonus.anchor_weeks_before_end * derive.days_per_week


def test_a_program_without_a_measure_in_the_method_has_none_in_the_generator():
    raw = load_method().model_dump(mode="json")
    dms = raw["programs"]["DMS"]["weights"]
    dms["full_52"] += dms.pop("pathway_52")
    rules = method_rules(MethodConfig.model_validate(raw), load_derive_params())
    assert "pathway_52" not in rules.program_measures["DMS"]
    assert "pathway_52" in rules.program_measures["ESS"]


def _full_13_days(world) -> tuple:
    """Shortest duration in assistance of the full_13 records (time in assistance less the referral
    lag) and shortest time from commencement to a full_13 outcome lodgement. Records of participants
    who transferred in are left out: after a transfer within the contract the record's referral is the
    period's, before the losing site, and its duration counts the days there too."""
    rec = world.tables["measure_records"]
    r = rec[(rec["measure"] == "full_13") & ~rec["transferred"]]
    duration = r["time_in_assistance"] - (r["commencement_date"] - r["referral_date"]).dt.days
    num = r[r["numerator"]]
    return int(duration.min()), int((num["outcome_lodged_date"] - num["commencement_date"]).dt.days.min())


def test_a_longer_13_week_threshold_in_the_derive_config_moves_the_world():
    weeks = dict(load_derive_params().threshold_weeks, full_13=15)
    rules = method_rules(load_method(), _derive_with(threshold_weeks=weeks))
    assert rules.threshold_days["full_13"] == 105 and rules.min_days == 105
    base = _full_13_days(generate_world("tiny", seed=1, events=False))
    moved = _full_13_days(generate_world("tiny", seed=1, events=False, rules=rules))
    assert base[0] < 105 <= moved[0] and base[0] >= 91  # who is in the full_13 denominator
    assert base[1] < 105 <= moved[1] and base[1] >= 91  # when the 13-week outcome falls due
