"""The method configs load, and every consistency rule rejects a broken file."""

from __future__ import annotations

import copy

import pytest
from pydantic import ValidationError

from toolkit.config import load_yaml, resolve_config, validate_model
from toolkit.errors import ConfigError
from toolkit.scoring import MethodConfig, load_method


@pytest.fixture(scope="module")
def raw():
    return load_yaml(resolve_config("des_2018", "methods"))


def _invalid(data, match):
    with pytest.raises(ConfigError, match=match):
        validate_model(MethodConfig, data, "test.yaml")


def test_table_1_weights_as_printed(method):
    # Seed Table 1, read off the page (not from code).
    assert method.programs["DMS"].weights == {
        "full_13": 0.25,
        "full_26": 0.35,
        "pathway_26": 0.05,
        "bonus_26": 0.05,
        "full_52": 0.25,
        "pathway_52": 0.05,
    }
    assert method.programs["ESS"].weights["ongoing_support"] == 0.15
    dms = method.program_method("DMS")
    assert dms.groups == ("g13", "g26", "g52")
    assert dms.group_weights.tolist() == pytest.approx([0.25, 0.45, 0.30])
    ess = method.program_method("ESS")
    assert ess.group_weights.tolist() == pytest.approx([0.20, 0.40, 0.25, 0.15])
    assert {m.id: m.saturation for m in method.measures}["ongoing_support"] == 10


def test_load_by_name_and_by_path(method):
    assert load_method("methods/des_2018.yaml") == method
    assert load_method(resolve_config("des_2018", "methods")) == method
    assert method.name


def test_interim_weights_redistribute_52_week_weight_proportionally():
    m = load_method("des_2018_interim")
    dms, ess = m.programs["DMS"], m.programs["ESS"]
    assert set(dms.not_scored) == {"full_52", "pathway_52"}
    # Table 1 weight / (1 - 52-week weight): DMS 0.70, ESS 0.75.
    assert dms.weights["full_13"] == pytest.approx(0.25 / 0.70, abs=1e-12)
    assert dms.weights["full_26"] == pytest.approx(0.35 / 0.70, abs=1e-12)
    assert ess.weights["ongoing_support"] == pytest.approx(0.15 / 0.75, abs=1e-12)
    assert ess.weights["bonus_26"] == pytest.approx(0.05 / 0.75, abs=1e-12)
    assert "full_52" not in ess.weights


def test_missing_file_is_a_config_error():
    with pytest.raises(ConfigError, match="not found"):
        load_method("no_such_method")


def test_weights_must_sum_to_one(raw):
    d = copy.deepcopy(raw)
    d["programs"]["DMS"]["weights"]["full_13"] = 0.24
    _invalid(d, "sum to")


def test_measure_in_two_groups_is_rejected(raw):
    d = copy.deepcopy(raw)
    d["measures"].append({"id": "full_13", "group": "g26", "saturation": 5})
    _invalid(d, "not unique")


def test_measure_in_unknown_group_is_rejected(raw):
    d = copy.deepcopy(raw)
    d["measures"][0]["group"] = "g99"
    _invalid(d, "g99")


def test_unknown_weighted_measure_is_rejected(raw):
    d = copy.deepcopy(raw)
    d["programs"]["DMS"]["weights"]["full_99"] = 0.0
    _invalid(d, "unknown measures")


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda b: b[1].update(max=-21), "gap"),  # -20 covered by nobody
        (lambda b: b[2].update(min=-20), "gap or overlap"),  # -20 covered twice
        (lambda b: b[0].update(min=-100), "open below"),
        (lambda b: b[4].update(max=100), "open above"),
        (lambda b: b[3].update(stars=3), "not unique"),
    ],
)
def test_bands_must_tile_the_integers(raw, edit, match):
    d = copy.deepcopy(raw)
    edit(d["bands"])
    _invalid(d, match)


def test_minimum_data_must_use_weighted_measures(raw):
    d = copy.deepcopy(raw)
    d["programs"]["DMS"]["minimum_data"][0]["measures"] = ["ongoing_support"]
    _invalid(d, "not weighted")


def test_unknown_keys_are_rejected(raw):
    d = copy.deepcopy(raw)
    d["standardisation"]["centre_of_mass"] = 2
    _invalid(d, "centre_of_mass")


def test_clip_must_surround_centre(raw):
    d = copy.deepcopy(raw)
    d["standardisation"]["clip"] = [2.5, 4.0]
    _invalid(d, "clip")


def test_months_published_not_before_calculated(raw):
    d = copy.deepcopy(raw)
    d["new_entities"]["site"] = {"calculated_from_months": 12, "published_from_months": 9}
    _invalid(d, "published_from_months")


def test_config_is_frozen(method):
    with pytest.raises(ValidationError, match="frozen"):
        method.name = "other"
