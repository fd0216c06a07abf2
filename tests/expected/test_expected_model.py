"""ExpectedModel: agreement with statsmodels, invariance of predictions, policies, round trip, errors."""

from __future__ import annotations

import doctest
import json
import warnings

import numpy as np
import pandas as pd
import patsy
import pytest
import statsmodels.api as sm
from expected_data import FORMULA, make_frame

from toolkit.errors import ConvergenceError, InputError, NotFittedError, SpecError
from toolkit.expected import ExpectedModel, ExtrapolationWarning, UnseenLevelWarning, fit_expected


@pytest.fixture(scope="module")
def reference(frame):
    """statsmodels GLM Binomial on patsy's design of the same formula (tight tolerance)."""
    y, x = patsy.dmatrices(FORMULA, frame, return_type="dataframe")
    return sm.GLM(y, x, family=sm.families.Binomial()).fit(tol=1e-14, maxiter=100)


def test_coefficients_and_standard_errors_match_statsmodels(fitted, reference):
    assert list(fitted.coef_.index) == list(reference.params.index)
    np.testing.assert_allclose(fitted.coef_.to_numpy(), reference.params.to_numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fitted.bse_.to_numpy(), reference.bse.to_numpy(), rtol=1e-7)
    np.testing.assert_allclose(fitted.cov_.to_numpy(), reference.cov_params().to_numpy(), rtol=1e-6, atol=1e-12)
    s = fitted.fit_stats_
    assert s["deviance"] == pytest.approx(reference.deviance, rel=1e-10)
    assert s["null_deviance"] == pytest.approx(reference.null_deviance, rel=1e-10)
    assert s["aic"] == pytest.approx(reference.aic, rel=1e-10)
    assert s["converged"] and s["n"] == reference.nobs and s["events"] == int(reference.model.endog.sum())


def test_predictions_match_statsmodels(fitted, reference, frame):
    _, x = patsy.dmatrices(FORMULA, frame, return_type="dataframe")
    np.testing.assert_allclose(fitted.predict(frame), reference.predict(x), rtol=1e-9)
    assert fitted.predict(frame).dtype == np.float64


def test_outcome_given_separately_gives_the_same_fit(frame, fitted):
    rhs = FORMULA.split("~", 1)[1]
    other = fit_expected(frame.assign(y=frame["y"].astype(bool)), rhs, outcome="y")
    np.testing.assert_array_equal(other.coef_.to_numpy(), fitted.coef_.to_numpy())
    with pytest.raises(SpecError, match="outcome given twice"):
        fit_expected(frame, FORMULA, outcome="metro")


def test_prediction_of_a_row_does_not_depend_on_other_rows(fitted, frame):
    new = make_frame(500, seed=7)
    new = new[(new["unemployment_rate"].between(frame["unemployment_rate"].min(), frame["unemployment_rate"].max()))]
    base = fitted.predict(new)
    idx = np.random.default_rng(3).permutation(len(new))
    assert np.array_equal(fitted.predict(new.iloc[idx]), base[idx])  # shuffled
    assert np.array_equal(fitted.predict(new.iloc[10:60]), base[10:60])  # subset
    assert np.array_equal(fitted.predict(new.iloc[[5]]), base[[5]])  # single row
    extreme = new.iloc[:3].assign(age=[1, 99, 120], unemployment_rate=[0.0, 80.0, 200.0])
    with pytest.warns(ExtrapolationWarning):
        both = fitted.predict(pd.concat([new, extreme]))  # with extreme rows
    assert np.array_equal(both[: len(new)], base)
    mixed = pd.concat([new.iloc[:1], new]).reset_index(drop=True)
    assert np.array_equal(fitted.predict(mixed)[1:], base)


def test_model_json_round_trip_gives_identical_predictions(fitted, frame):
    text = fitted.to_json()
    again = ExpectedModel.from_json(text)
    assert np.array_equal(again.predict(frame), fitted.predict(frame))
    pd.testing.assert_series_equal(again.coef_, fitted.coef_)
    pd.testing.assert_frame_equal(again.cov_, fitted.cov_)
    assert again.fit_stats_ == fitted.fit_stats_
    assert len(text) < 60_000  # state, not training rows
    assert "S01" not in text and "site" not in text


def test_out_of_range_policies(fitted, frame):
    row = frame.iloc[[0, 1, 2]].assign(age=[5, 40, 95])
    expected = r"1 row\(s\) below and 1 row\(s\) above .*bs\(age, df=4\) \(column 'age'\).*clip"
    with pytest.warns(ExtrapolationWarning, match=expected):
        clipped = fitted.predict(row)
    at_bounds = fitted.predict(row.assign(age=[frame["age"].min(), 40, frame["age"].max()]))
    np.testing.assert_array_equal(clipped, at_bounds)
    with pytest.warns(ExtrapolationWarning, match="extrapolate"):
        extra = fitted.predict(row, out_of_range="extrapolate")
    assert extra[1] == clipped[1] and extra[0] != clipped[0]
    with pytest.raises(InputError, match=r"bs\(age, df=4\)"):
        fitted.predict(row, out_of_range="error")


def test_bs_extrapolation_continues_the_boundary_cubic(frame):
    from scipy.interpolate import BSpline

    m = fit_expected(frame, "y ~ bs(age, df=5)", out_of_range="extrapolate")
    f = m.design_state_.factor("bs(age, df=5)")
    ages = np.array([2.0, 8.0, 40.0, 80.0, 100.0])
    with pytest.warns(ExtrapolationWarning):
        x = m.design_matrix(pd.DataFrame({"age": ages})).to_numpy()[:, 1:]
    ref = BSpline.design_matrix(ages, f.all_knots, 3, extrapolate=True).toarray()[:, 1:]
    np.testing.assert_allclose(x, ref, atol=1e-12)


def test_cr_extrapolation_is_linear(frame):
    m = fit_expected(frame, "y ~ cr(unemployment_rate, df=4, constraints='center')", out_of_range="extrapolate")
    hi = m.design_state_.factor("cr(unemployment_rate, df=4, constraints='center')").knots[-1]
    pts = pd.DataFrame({"unemployment_rate": hi + np.array([1.0, 2.0, 3.0])})
    with pytest.warns(ExtrapolationWarning):
        eta = m.predict_linear(pts)
    assert abs(eta[2] - 2 * eta[1] + eta[0]) < 1e-10


def test_unseen_level_policies(fitted, frame):
    rows = frame.iloc[:4].assign(region=pd.array(["north", "west", "west", "south"], dtype="str"))
    with pytest.raises(InputError, match=r"2 row\(s\) of column 'region' have a level not seen") as exc:
        fitted.predict(rows)
    assert "west" not in str(exc.value)
    with pytest.warns(UnseenLevelWarning, match=r"2 row\(s\) of column 'region'.*reference"):
        p = fitted.predict(rows, unseen_level="reference")
    ref_level = fitted.design_state_.factor("region").levels[0]
    np.testing.assert_array_equal(p, fitted.predict(rows.assign(region=["north", ref_level, ref_level, "south"])))


def test_in_range_data_raises_no_warning(fitted, frame):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fitted.predict(frame.iloc[:100])


def test_non_binary_outcome_and_nulls_are_clear_errors(frame):
    with pytest.raises(InputError, match=r"outcome column 'age' has \d+ value\(s\) other than 0 and 1"):
        fit_expected(frame, "age ~ region")
    with pytest.raises(InputError, match="must be boolean or 0/1"):
        fit_expected(frame, "region ~ age")
    bad = frame.copy()
    bad.loc[bad.index[:4], "y"] = np.nan
    with pytest.raises(InputError, match=r"'y' has 4 missing"):
        fit_expected(bad, FORMULA)


def test_separation_is_a_convergence_error(frame):
    sep = frame.assign(y=(frame["age"] > 40).astype(int))
    with pytest.raises(ConvergenceError, match="separation"):
        fit_expected(sep, "y ~ age + region")


def test_rank_deficient_design_names_columns(frame):
    f = frame.assign(age2=frame["age"] * 2.0)
    with pytest.raises(SpecError, match=r"rank-deficient: 1 column\(s\).*\(age2\)"):
        fit_expected(f, "y ~ age + age2 + region")
    with pytest.raises(SpecError, match=r"region\[T.south\]:metro\[T.True\]"):
        fit_expected(f.assign(metro=f["region"] == "south"), "y ~ region + metro + region:metro")


def test_summary_table_and_text(fitted):
    table = fitted.summary()
    assert list(table.columns) == ["coef", "std err", "z", "P>|z|", "[0.025", "0.975]"]
    row = table.loc["C(education, Treatment('year12'))[T.degree]"]
    assert row["[0.025"] == pytest.approx(row["coef"] - 1.959963984540054 * row["std err"])
    assert set(table.attrs["fit"]) >= {"deviance", "null_deviance", "aic", "n", "events", "iterations", "converged"}
    text = fitted.summary_text()
    assert "Null deviance" in text and "bs(age, df=4)[0]" in text and "Converged = True" in text


def test_estimator_conventions(frame):
    m = ExpectedModel(formula="y ~ age")
    assert not hasattr(m, "coef_")
    with pytest.raises(NotFittedError, match=r"ExpectedModel\.predict: the model is not fitted"):
        m.predict(frame)
    assert m.fit(frame) is m and m.n_iter_ >= 1
    with pytest.raises(TypeError):
        ExpectedModel("y ~ age")  # keyword-only
    with pytest.raises(SpecError, match="out_of_range"):
        fit_expected(frame, "y ~ age", out_of_range="wrap")


def test_docstring_example_runs():
    import toolkit.expected.model as mod

    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_to_dict_is_plain_json(fitted):
    d = json.loads(json.dumps(fitted.to_dict()))
    assert d["design"]["columns"][0]["name"] == "Intercept"
    assert len(d["coef"]) == len(d["cov"]) == len(fitted.coef_)
