"""The KPI catalogue: faithful transcription rejected, shipped catalogue accepted, validator exact."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from toolkit.contracts import load_contracts
from toolkit.errors import ConfigError
from toolkit.paths import CONFIGS, DATA_CONTRACTS
from toolkit.schemes.dcp.bands import Interval, cover_problems
from toolkit.schemes.dcp.catalogue import load_catalogue

RAW = CONFIGS / "schemes" / "dcp" / "catalogue_raw.yaml"
SEED_CONTRADICTIONS = {"1", "17", "124", "126", "180", "181", "182"}


def _problems(exc: ConfigError) -> list[str]:
    return [line[4:] for line in str(exc).splitlines() if line.startswith("  - ")]


def test_raw_transcription_is_rejected_naming_every_contradictory_kpi():
    with pytest.raises(ConfigError) as ei:
        load_catalogue(RAW)
    problems = _problems(ei.value)
    named = {re.match(r"KPI (\S+) ", p).group(1) for p in problems}
    assert named == SEED_CONTRADICTIONS
    text = "\n".join(problems)
    # the seed's four examples of the issue, each with what is wrong
    assert "KPI 124 (family_reunification), variant all: level 2 band [80%, 60%) is empty" in text
    assert "KPI 124 (family_reunification), variant all: values in [60%, 80%) fall in no level" in text
    assert "KPI 180 (general), variant all: values in (95%, 100%] fall in no level" in text
    assert "KPI 180 (general), variant all: level 1 and level 2 overlap on [90%, 95%)" in text
    assert "KPI 17 (family_reunification), variant all: level 1 band (100%, 100%] is empty" in text
    assert "KPI 182 (general), variant all: values in [95%, 100%] fall in no level" in text
    # and the others found while transcribing
    assert "KPI 1 (general), variant family_based: level 1 and level 2 overlap on 98%" in text
    assert "KPI 1 (general), variant non_family_based: level 1 and level 2 overlap on 95%" in text
    assert "KPI 126 (family_reunification), variant all: values in [65%, 70%) fall in no level" in text
    assert "KPI 181 (general), variant all: values in (95%, 100%] fall in no level" in text


def test_shipped_catalogue_passes_and_records_a_reading_per_corrected_kpi():
    cat = load_catalogue()
    tiers = [k.tier for k in cat.kpis]
    assert tiers.count(1) == 29 and tiers.count(2) == 37
    corrected = {c.kpi for c in cat.corrections}
    assert corrected == SEED_CONTRADICTIONS
    for c in cat.corrections:
        assert c.reading and c.problem
        kpi = cat.entry(c.kpi, c.stream)
        assert c.reading in kpi.readings
        band = next(b for v in kpi.variants if v.name == c.variant for b in v.bands if b.level == c.level)
        assert band.reading == c.reading and band.seed_text  # the seed's words kept beside the reading
    text = (CONFIGS / "schemes" / "dcp" / "catalogue.yaml").read_text()
    for kid in SEED_CONTRADICTIONS:  # a comment per corrected KPI
        assert re.search(rf"^#\s+KPI {kid}\s", text, re.M), kid


def test_transcription_spot_checks_against_the_seed():
    cat = load_catalogue()
    k4 = cat.entry("4", "general")
    assert k4.service_type_note == "applies to Specific Child Only and Kinship Care"
    assert k4.condition == "specific_child_or_kinship"
    assert cat.entry("11", "general").condition == "block_funded"
    assert cat.entry("15", "general").service_types == ("residential",)
    for kid, stream in (("16", "general"), ("23", "general"), ("23", "family_reunification")):
        assert cat.entry(kid, stream).missing == "level_3"
    assert all(k.missing == "not_submitted" for k in cat.kpis if k.id not in ("16", "23"))
    k1 = cat.entry("1", "general")
    assert [v.name for v in k1.variants] == ["family_based", "non_family_based"]
    assert k1.reporting_frequency == "monthly" and k1.assessment_frequency == "quarterly"
    assert cat.entry("2-88", "family_reunification").value_type == "count"
    assert {k.id for k in cat.kpis if k.assessment_frequency == "annually"} == {"2-36", "2-39", "2-40"}
    assert all(not k.variants for k in cat.kpis if k.tier == 2)
    assert cat.entry("124", "family_reunification").target.value == 0.8


def test_contract_service_types_are_the_catalogue_codes():
    cat = load_catalogue()
    for table in ("provider_services", "kpi_submissions"):
        c = load_contracts(DATA_CONTRACTS / "dcp")[table]
        assert set(c.field("service_type").enum) == set(cat.service_types)


def _write(tmp_path: Path, corrections: list[dict], extra: dict | None = None) -> Path:
    """A catalogue extending the (corrected) shipped one with more corrections."""
    shipped = yaml.safe_load((CONFIGS / "schemes" / "dcp" / "catalogue.yaml").read_text())
    doc = {
        "base": str(RAW),
        "version": "test",
        "corrections": shipped["corrections"] + corrections,
        "notes": shipped["notes"],
        **(extra or {}),
    }
    p = tmp_path / "cat.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


@pytest.mark.parametrize(
    "band,expect",
    [
        (
            {"lower": 0.9, "lower_inclusive": True, "upper": 0.95, "upper_inclusive": True},
            "level 1 and level 2 overlap on 95%",
        ),
        (
            {"lower": 0.9, "lower_inclusive": False, "upper": 0.95, "upper_inclusive": False},
            "value 90% falls in no level",
        ),
        (
            {"lower": 0.91, "lower_inclusive": True, "upper": 0.95, "upper_inclusive": False},
            "values in [90%, 91%) fall in no level",
        ),
        (
            {"lower": 0.9, "lower_inclusive": True, "upper": 1.2, "upper_inclusive": False},
            "reaches outside the value range",
        ),
    ],
)
def test_validator_names_the_kpi_and_the_defect(tmp_path, band, expect):
    p = _write(
        tmp_path,
        [
            {
                "kpi": "3",
                "stream": "general",
                "variant": "all",
                "level": 2,
                "problem": "test",
                "reading": "test",
                "band": band,
            }
        ],
    )
    with pytest.raises(ConfigError) as ei:
        load_catalogue(p)
    problems = _problems(ei.value)
    assert all(x.startswith("KPI 3 (general)") for x in problems)
    assert any(expect in x for x in problems), problems


def test_a_correction_that_does_not_apply_is_an_error(tmp_path):
    p = _write(
        tmp_path,
        [{"kpi": "999", "stream": "general", "variant": "all", "level": 2, "problem": "x", "reading": "x", "band": {}}],
    )
    with pytest.raises(ConfigError, match=r"KPI 999, general.*no such KPI"):
        load_catalogue(p)


def test_structural_problems_are_reported(tmp_path):
    raw = yaml.safe_load(RAW.read_text())
    raw.pop("_patterns")
    kpis = raw["kpis"]
    k2 = next(k for k in kpis if k["id"] == "2")
    k2["variants"] = [{"name": "all", "service_types": ["general_fbc"], "bands": k2["variants"][0]["bands"]}]
    t2 = next(k for k in kpis if k["id"] == "2-1")
    t2["variants"] = [{"name": "all", "bands": k2["variants"][0]["bands"]}]
    kpis.append(dict(next(k for k in kpis if k["id"] == "3")))
    p = tmp_path / "raw2.yaml"
    p.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as ei:
        load_catalogue(p)
    text = str(ei.value)
    assert "KPI 2 (general): no variant gives bands for service type(s) specialist_fbc, respite" in text
    assert "KPI 2-1 (general): Tier 2 measures are reported, not levelled" in text
    assert "KPI 3 (general): listed more than once" in text
    assert "KPI 3: several entries apply to service type(s)" in text


def test_yes_no_domain_is_points():
    yes = Interval.of(1, True, 1, True, "level 1")
    no = Interval.of(0, True, 0, True, "level 3")
    assert cover_problems([yes, no], points=[0, 1]) == []
    assert cover_problems([yes], points=[0, 1]) == ["value 0 falls in no level"]


#: Two cuts a hair below 1 (equal as floats to 1.0): cuts were once sorted by their float value, which
#: put 1 before them and reported a gap and an overlap where the cover is exact.
_NEAR_ONE = Fraction(5855293718561443665160293745682357, 5855293718561443665160295086555136)


@settings(max_examples=200, deadline=None)
@given(a=st.fractions(0, 1), b=st.fractions(0, 1), flags=st.lists(st.booleans(), min_size=4, max_size=4))
@example(a=_NEAR_ONE, b=_NEAR_ONE, flags=[False, False, False, True])
def test_three_bands_cover_exactly_iff_each_cut_is_closed_on_exactly_one_side(a, b, flags):
    lo, hi = sorted((a, b))
    dom = Interval.of(0, True, 1, True, "range")
    bands = [
        Interval.of(0, True, lo, flags[0], "level 3"),
        Interval.of(lo, flags[1], hi, flags[2], "level 2"),
        Interval.of(hi, flags[3], 1, True, "level 1"),
    ]
    problems = cover_problems(bands, dom)
    nonempty = [x for x in bands if not x.is_empty()]
    # by hand: every point of [0, 1] in exactly one band, checked on cuts and midpoints
    probes = sorted({Fraction(0), lo, hi, Fraction(1), lo / 2, (lo + hi) / 2, (hi + 1) / 2})
    exact = all(sum(x.contains(p) for x in nonempty) == 1 for p in probes)
    assert (problems == [] or all("is empty" in p for p in problems)) == exact
