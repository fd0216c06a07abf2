"""The sparse-level rule (issue 15): levels with too few events or non-events are pooled before the fit,
the pooling is stored with the design and applied to new records, and a fit that still separates names its
model, term and level."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import ConvergenceError
from toolkit.expected import ExpectedModel, fit_expected
from toolkit.expected.spec import ModelSpec, SparseLevels

RULE = {"min_events": 1, "min_non_events": 1}
FORMULA = "y ~ x + C(support, Treatment('jobseeker')) + homeless + indigenous + indigenous:metro"


def _frame(n=3000, seed=3):
    """Records where support 'other' (60 rows) and homeless (40 rows) have no event: quasi-complete separation."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "support": rng.choice(["jobseeker", "dsp", "youth"], n),
            "homeless": False,
            "indigenous": rng.random(n) < 0.2,
            "metro": rng.random(n) < 0.5,
        }
    )
    df.loc[:59, "support"] = "other"
    df.loc[60:99, "homeless"] = True
    eta = -0.5 + 0.6 * df["x"] + 0.3 * (df["support"] == "dsp")
    df["y"] = rng.random(n) < 1 / (1 + np.exp(-eta))
    df.loc[:99, "y"] = False
    return df


def test_without_the_rule_the_fit_fails_on_separation():
    with pytest.raises(ConvergenceError, match="separation"):
        fit_expected(_frame(), FORMULA)


def test_sparse_levels_are_pooled_into_the_reference_and_recorded():
    df = _frame()
    m = fit_expected(df, FORMULA, sparse_levels=RULE)
    assert m.converged_
    pooled = {(p.term, p.level): p for p in m.design_state_.pooled}
    assert set(pooled) == {("C(support, Treatment('jobseeker'))", "other"), ("homeless", "True")}
    other = pooled["C(support, Treatment('jobseeker'))", "other"]
    assert (other.into, other.events, other.non_events, other.reason) == ("jobseeker", 0, 60, "sparse")
    assert pooled["homeless", "True"].into == "False"
    names = list(m.coef_.index)
    assert not any("other" in c for c in names) and not any(c.startswith("homeless") for c in names)
    # pooled records are scored as the reference level, which keeps the MLE's O = E overall
    as_ref = df.assign(support=df["support"].replace("other", "jobseeker"), homeless=False)
    np.testing.assert_allclose(m.predict(df), m.predict(as_ref), rtol=0, atol=0)
    np.testing.assert_allclose(m.predict(df).sum(), df["y"].sum(), rtol=1e-8)


def test_the_pooling_is_part_of_the_stored_design_and_applies_to_new_records():
    df = _frame()
    m = fit_expected(df, FORMULA, sparse_levels=RULE, unseen_level="error")
    again = ExpectedModel.from_json(m.to_json())
    assert again.design_state_.pooled == m.design_state_.pooled and again.sparse_levels == RULE
    new = _frame(200, seed=9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 'other' is a pooled level, not an unseen one
        np.testing.assert_array_equal(again.predict(new), m.predict(new))
    d = m.design_state_.to_dict()
    factor = next(f for f in d["factors"] if f["name"] == "C(support, Treatment('jobseeker'))")
    assert factor["pooled"] == [["other", "jobseeker"]] and "other" not in factor["levels"]


def test_a_model_the_rule_does_not_touch_keeps_its_stored_state():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"x": rng.normal(size=800), "g": rng.choice(["a", "b"], 800)})
    df["y"] = rng.random(800) < 0.4
    plain, ruled = fit_expected(df, "y ~ x + g"), fit_expected(df, "y ~ x + g", sparse_levels=RULE)
    assert ruled.design_state_.pooled == ()
    assert ruled.design_state_.to_dict() == plain.design_state_.to_dict()  # no "pooled" keys anywhere
    np.testing.assert_array_equal(ruled.coef_.to_numpy(), plain.coef_.to_numpy())
    assert "sparse_levels" not in plain.to_dict()["params"]


def test_a_named_neighbour_takes_the_level_and_a_sparse_reference_takes_in_the_largest_level():
    rng = np.random.default_rng(5)
    n = 2000
    df = pd.DataFrame(
        {"edu": rng.choice(["year10", "year12", "degree"], n, p=[0.3, 0.5, 0.2]), "x": rng.normal(size=n)}
    )
    df.loc[:29, "edu"] = "below_year10"
    df["y"] = rng.random(n) < 0.3
    df.loc[:29, "y"] = False
    rule = {**RULE, "neighbours": {"edu": {"below_year10": "year10"}}}
    m = fit_expected(df, "y ~ x + C(edu, Treatment('year12'))", sparse_levels=rule)
    (p,) = m.design_state_.pooled
    assert (p.level, p.into) == ("below_year10", "year10")
    same = df.assign(edu=df["edu"].replace("below_year10", "year10"))
    np.testing.assert_array_equal(m.predict(df), m.predict(same))
    # the reference level itself without events: the largest other level joins it
    df2 = df.assign(edu=np.where(df.index < 30, "none", df["edu"]))
    m2 = fit_expected(df2, "y ~ x + C(edu, Treatment('none'))", sparse_levels=RULE)
    (q,) = m2.design_state_.pooled
    assert (q.level, q.into, q.reason) == ("year12", "none", "sparse reference")


def test_a_sparse_interaction_cell_is_dropped():
    df = _frame()
    cell = df["indigenous"] & df["metro"]
    df.loc[cell, "y"] = False  # no event among indigenous metro records
    m = fit_expected(df, FORMULA, sparse_levels=RULE)
    dropped = [p for p in m.design_state_.pooled if p.term == "indigenous:metro"]
    assert [(p.level, p.into, p.events) for p in dropped] == [("indigenous[True]:metro[T.True]", "reference cell", 0)]
    assert "indigenous[True]:metro[T.True]" not in m.coef_.index
    assert "indigenous[False]:metro[T.True]" in m.coef_.index


def test_separation_no_rule_applies_to_names_the_model_term_and_level():
    from toolkit.expected.fitting import fit_measures

    rng = np.random.default_rng(2)
    n = 1500
    df = pd.DataFrame(
        {
            "program": "DMS",
            "measure": "m",
            "x": rng.normal(size=n),
            "site": rng.choice(["s1", "s2", "s3"], n),
        }
    )
    df["numerator"] = (rng.random(n) < 0.3) & (df["site"] != "s3")  # s3: 500 records, no event: sparse
    spec = ModelSpec(
        name="des-dms-m",
        program="DMS",
        measure="m",
        outcome="numerator",
        terms=(),
        records={"program": "DMS", "measure": "m"},
        formula="x + site",
        sparse_levels=SparseLevels(min_events=0, min_non_events=1),  # asks for non-events only: s3 stays
    )
    with pytest.raises(ConvergenceError) as err:
        fit_measures(df, {"dms_m": spec}, say=lambda m: None)
    msg = str(err.value)
    assert msg.startswith("model des-dms-m (full terms): logistic fit failed")
    assert "Separating: term site, level s3 (0 events, " in msg
    assert "sparse-level rule (at least 0 event(s) and 1 non-event(s) per level) pooled nothing" in msg
    ok = spec.model_copy(update={"sparse_levels": SparseLevels(min_events=1, min_non_events=1)})
    fits, p = fit_measures(df, {"dms_m": ok}, say=lambda m: None)
    assert fits["dms_m"].metrics["pooled_levels"] == 1 and np.isfinite(p).all()
