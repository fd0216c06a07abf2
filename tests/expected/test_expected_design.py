"""Design matrices: patsy equality, stored state, JSON round trip, formula and input errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import patsy
import pytest
from expected_data import FORMULA

from toolkit.errors import InputError, SpecError
from toolkit.expected import DesignState, build_matrix, fit_design

PATSY_FORMULAS = [
    FORMULA,
    "y ~ bs(age, df=6) + education + indigenous:metro",
    "y ~ bs(age, knots=[30, 50], lower_bound=10, upper_bound=75) + bs(jsci_score, df=3, degree=1) + region*metro",
    "y ~ cr(unemployment_rate, df=5) + C(education, levels=['degree', 'year10', 'year12', 'certificate']) - 1",
    "y ~ C(region, Treatment(reference='south')):age + np.log(unemployment_rate) + I(age ** 2) + metro:region",
    "y ~ bs(time_on_income_support, df=5):indigenous + C(funding_level, Treatment(3)) + region:education",
]


@pytest.mark.parametrize("formula", PATSY_FORMULAS)
def test_columns_equal_patsy(frame, formula):
    state = fit_design(frame, formula)
    x = build_matrix(state, frame)
    _, ref = patsy.dmatrices(formula, frame)
    assert state.column_names == ref.design_info.column_names
    np.testing.assert_allclose(x, np.asarray(ref), rtol=0, atol=1e-12)


def test_bs_bit_for_bit_and_knots_from_quantiles(frame):
    formula = "y ~ bs(age, df=5) + bs(time_on_income_support, df=4, degree=2)"
    state = fit_design(frame, formula)
    _, ref = patsy.dmatrices(formula, frame)
    assert np.array_equal(build_matrix(state, frame), np.asarray(ref))
    age = state.factor("bs(age, df=5)")
    np.testing.assert_array_equal(age.inner_knots, np.percentile(frame["age"], [100 / 3, 200 / 3]))
    assert (age.lower, age.upper) == (frame["age"].min(), frame["age"].max())


def test_design_state_json_round_trip(frame):
    state = fit_design(frame, FORMULA)
    text = json.dumps(state.to_dict())
    again = DesignState.from_dict(json.loads(text))
    assert again == state
    assert np.array_equal(build_matrix(again, frame), build_matrix(state, frame))


def test_state_is_explicit(frame):
    state = fit_design(frame, FORMULA)
    d = state.to_dict()
    kinds = {f["name"]: f["kind"] for f in d["factors"]}
    assert kinds["bs(age, df=4)"] == "bs" and kinds["indigenous"] == "categorical"
    edu = state.factor("C(education, Treatment('year12'))")
    assert edu.levels == ("certificate", "degree", "year10", "year12") and edu.levels[edu.reference] == "year12"
    cr = state.factor("cr(unemployment_rate, df=4, constraints='center')")
    assert len(cr.knots) == 5 and len(cr.constraints[0]) == 5 and np.asarray(cr.absorber).shape == (5, 4)
    assert state.factor("indigenous").levels == (False, True)


def test_categorical_dtype_keeps_category_order(frame):
    f = frame.assign(region=pd.Categorical(frame["region"], categories=["south", "north", "east"]))
    state = fit_design(f, "y ~ region")
    _, ref = patsy.dmatrices("y ~ region", f)
    assert state.column_names == ref.design_info.column_names == ["Intercept", "region[T.north]", "region[T.east]"]


@pytest.mark.parametrize(
    "formula, fragment",
    [
        ("y ~ center(age)", "not supported"),
        ("y ~ C(region, Sum)", "only Treatment coding"),
        ("y ~ bs(age, dof=3)", "no argument 'dof'"),
        ("y ~ C(region, Treatment('west'))", "reference level 'west'"),
        ("y ~ age +", "cannot be parsed"),
        ("age + region", "no outcome"),
    ],
)
def test_formula_errors(frame, formula, fragment):
    with pytest.raises(SpecError, match=fragment):
        fit_design(frame, formula)


def test_missing_columns_and_nulls_are_named_with_counts(frame):
    bad = frame.drop(columns=["metro"]).copy()
    bad.loc[bad.index[:3], "age"] = np.nan
    bad.loc[bad.index[:2], "region"] = None
    with pytest.raises(InputError) as exc:
        fit_design(bad, FORMULA)
    msg = str(exc.value)
    assert "'metro'" in msg and "'age' has 3 missing" in msg and "'region' has 2 missing" in msg


def test_string_column_used_as_number(frame):
    with pytest.raises(SpecError, match="'region' is used as a number"):
        fit_design(frame, "y ~ bs(region, df=3)")
