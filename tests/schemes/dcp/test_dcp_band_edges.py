"""Every band edge of every Tier 1 KPI: hand-written fixtures, their completeness, and that moving
or re-closing any boundary of the shipped catalogue breaks a fixture."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest
import yaml

from toolkit.schemes.dcp.bands import classify
from toolkit.schemes.dcp.catalogue import Band, catalogue_problems, load_catalogue
from toolkit.schemes.dcp.config import load_report_config
from toolkit.schemes.dcp.report import compute_dcp
from toolkit.schemes.dcp.submissions import value_of

FIXTURES = yaml.safe_load((Path(__file__).parent / "fixtures" / "band_edges.yaml").read_text())["kpis"]


def _cases():
    for entry in FIXTURES:
        for text in entry["cases"]:
            given, level = (x.strip() for x in text.split("->"))
            if "/" in given:
                n, d = given.split("/")
                yield entry, {"numerator": int(n), "denominator": int(d), "answer": None}, int(level), text
            else:
                yield entry, {"numerator": None, "denominator": None, "answer": given}, int(level), text


CASES = list(_cases())


def _exact_value(value_type: str, sub: dict) -> Fraction:
    """The value as the seed defines it, written out independently of the code under test."""
    if sub["answer"] is not None:
        return Fraction(1 if sub["answer"] == "yes" else 0)
    n, d = Fraction(sub["numerator"]), Fraction(sub["denominator"])
    if value_type == "yes_no":
        return Fraction(1 if n == d else 0)
    if value_type == "deficit_share":
        return max(Fraction(0), (n - d) / d)
    return n / d


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def _level(cat, entry, sub) -> int:
    kpi = cat.entry(entry["kpi"], entry["stream"])
    reason, value = value_of(kpi, sub["numerator"], sub["denominator"], sub["answer"])
    assert reason is None
    variant = kpi.variant_for(entry["service_type"])
    return variant.bands[classify(value, [b.interval() for b in variant.bands])].level


@pytest.mark.parametrize(
    "entry,sub,level,text", CASES, ids=[f"kpi{e['kpi']}-{e['service_type']}-{t}" for e, _, _, t in CASES]
)
def test_band_edge_case(catalogue, entry, sub, level, text):
    assert _level(catalogue, entry, sub) == level, text


def test_fixtures_hold_through_the_whole_assessment(catalogue):
    """The same cases as submissions of one-case providers, through validation-free compute_dcp."""
    cfg, _ = load_report_config()
    q = cfg.periods.first
    providers, services, subs, want = [], [], [], {}
    for i, (entry, sub, level, _text) in enumerate(CASES):
        pid = f"F{i:04d}"
        providers.append({"provider_id": pid, "provider_name": pid})
        services.append(
            {
                "provider_id": pid,
                "service_type": entry["service_type"],
                "first_quarter": q,
                "last_quarter": q,
                "block_funded": True,
                "section_36_facility": True,
                "specific_child_or_kinship": True,
            }
        )
        subs.append(
            {"provider_id": pid, "service_type": entry["service_type"], "kpi_id": entry["kpi"], "quarter": q, **sub}
        )
        want[(pid, entry["kpi"])] = level
    tables = {
        "providers": pd.DataFrame(providers),
        "provider_services": pd.DataFrame(services),
        "kpi_submissions": pd.DataFrame(subs),
    }
    res = compute_dcp(tables, catalogue, cfg).results
    got = res[res["status"] == "assessed"].set_index(["provider_id", "kpi_id"])["level"].to_dict()
    assert got == want


def _variant_cases(cat, kpi, variant):
    sts = set(variant.service_types or kpi.service_types)
    return [
        (e, s, lvl)
        for e, s, lvl, _ in CASES
        if e["kpi"] == kpi.id and e["stream"] == kpi.stream and e["service_type"] in sts
    ]


def test_fixtures_cover_every_band_edge_of_every_tier1_kpi(catalogue):
    missing = []
    for kpi in (k for k in catalogue.kpis if k.tier == 1):
        vt = catalogue.value_types[kpi.value_type]
        for variant in kpi.variants:
            values = [_exact_value(kpi.value_type, s) for _, s, _ in _variant_cases(catalogue, kpi, variant)]
            if vt.points is not None:
                for p in vt.points:
                    if Fraction(p) not in values:
                        missing.append(f"KPI {kpi.id} {variant.name}: no case at {p}")
                continue
            rng = vt.range
            ends = {Fraction(str(x)) for b in variant.bands for x in (b.lower, b.upper) if abs(x) != float("inf")}
            for e in sorted(ends):
                if e not in values:
                    missing.append(f"KPI {kpi.id} {variant.name}: no case exactly at {e}")
                if e > Fraction(str(rng.lower)) and not any(e - Fraction(1, 100) < v < e for v in values):
                    missing.append(f"KPI {kpi.id} {variant.name}: no case just below {e}")
                below_top = rng.upper == float("inf") or e < Fraction(str(rng.upper))
                if below_top and not any(e < v < e + Fraction(1, 100) for v in values):
                    missing.append(f"KPI {kpi.id} {variant.name}: no case just above {e}")
    assert not missing, "\n".join(missing)


def _shift(cat, kpi, variant, edge, *, delta=Fraction(0), flip=False):
    """The catalogue with every band end equal to ``edge`` in one variant moved (or its closedness flipped)."""

    def move(b: Band) -> Band:
        upd = {}
        for side in ("lower", "upper"):
            x = getattr(b, side)
            if abs(x) != float("inf") and Fraction(str(x)) == edge:
                upd[side] = float(edge + delta)
                if flip:
                    upd[f"{side}_inclusive"] = not getattr(b, f"{side}_inclusive")
        return b.model_copy(update=upd)

    new_v = variant.model_copy(update={"bands": tuple(move(b) for b in variant.bands)})
    new_k = kpi.model_copy(update={"variants": tuple(new_v if v is variant else v for v in kpi.variants)})
    return cat.model_copy(update={"kpis": tuple(new_k if k is kpi else k for k in cat.kpis)})


def _internal_edges(cat):
    for kpi in (k for k in cat.kpis if k.tier == 1 and cat.value_types[k.value_type].range is not None):
        rng = cat.value_types[kpi.value_type].range
        for variant in kpi.variants:
            ends = {
                Fraction(str(x))
                for b in variant.bands
                for x in (b.lower, b.upper)
                if abs(x) != float("inf") and x not in (rng.lower, rng.upper)
            }
            for e in sorted(ends):
                yield kpi, variant, e


def test_moving_or_reclosing_any_boundary_breaks_a_fixture(catalogue):
    unpinned = []
    for kpi, variant, edge in _internal_edges(catalogue):
        for how in ({"delta": Fraction(1, 500)}, {"delta": -Fraction(1, 500)}, {"flip": True}):
            moved = _shift(catalogue, kpi, variant, edge, **how)
            assert not catalogue_problems(moved), (kpi.id, variant.name, edge, how)  # still an exact cover
            cases = _variant_cases(moved, kpi, variant)
            if all(_level(moved, e, s) == lvl for e, s, lvl in cases):
                unpinned.append(f"KPI {kpi.id} {variant.name} edge {float(edge)} {how}")
    assert not unpinned, "no fixture notices:\n" + "\n".join(unpinned)


@pytest.mark.parametrize("value_type", ["percentage", "contract_relative", "deficit_share", "yes_no", "count"])
def test_an_infinite_value_is_excluded_as_value_form(catalogue, value_type):
    """Infinity passes the contract as a number but is no count, share or ratio: excluded, never levelled."""
    kpi = next(k for k in catalogue.kpis if k.value_type == value_type)
    inf = float("inf")
    if value_type == "count":
        assert value_of(kpi, inf, None, None) == ("value_form", None)
    else:
        assert value_of(kpi, inf, 10, None) == ("value_form", None)
        assert value_of(kpi, 5, inf, None) == ("value_form", None)
