"""The penalised_spline family: agreement with statsmodels' GLMGam at a fixed penalty, smoothing chosen from the
data (a wiggly term gets more degrees of freedom than a smooth one), round trip, specs and a model set."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import SpecError
from toolkit.expected import ExpectedModel, fit_expected
from toolkit.expected.penalised import curvature_penalty, penalty_settings

FORMULA = "y ~ bs(age, df=10) + bs(u, df=8) + C(grp)"


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 6000
    df = pd.DataFrame({"age": rng.uniform(15, 65, n), "u": rng.gamma(2.0, 50.0, n), "grp": rng.choice(list("abc"), n)})
    eta = -0.8 + np.sin(df["age"] / 7) + 0.4 * np.log1p(df["u"] / 50) - 0.5 * (df["grp"] == "b")
    df["y"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return df


def glmgam_fit(model: ExpectedModel, frame: pd.DataFrame, alphas: list[float]):
    """statsmodels GLMGam on the model's own design: the unpenalised columns as exog, each B-spline term's columns
    as a generic smoother with the model's curvature penalty."""
    from statsmodels.gam.api import GLMGam
    from statsmodels.gam.smooth_basis import GenericSmoothers, UnivariateGenericSmoother
    from statsmodels.genmod.families import Binomial

    x = model.design_matrix(frame)
    smoothed = [c for s in model.smoothing_ for c in s["columns"]]
    exog = x[[c for c in x.columns if c not in smoothed]]
    smoothers = []
    for s in model.smoothing_:
        factor = model.design_state_.factor(s["term"])
        basis = x[s["columns"]].to_numpy()
        zero = np.zeros_like(basis)
        smoothers.append(
            UnivariateGenericSmoother(frame[factor.expr].to_numpy(), basis, zero, zero, curvature_penalty(factor))
        )
    gs = GenericSmoothers(
        frame[[model.design_state_.factor(s["term"]).expr for s in model.smoothing_]].to_numpy(), smoothers
    )
    res = GLMGam(frame["y"].to_numpy(), exog=exog.to_numpy(), smoother=gs, alpha=alphas, family=Binomial()).fit(
        method="pirls", max_start_irls=0, maxiter=200, tol=1e-13
    )
    names = list(exog.columns) + smoothed
    return pd.Series(np.asarray(res.params), index=names), res


@pytest.mark.parametrize("lam", [0.01, 1.0, 30.0])
def test_fixed_penalty_agrees_with_statsmodels_glmgam(frame, lam):
    m = fit_expected(frame, FORMULA, family="penalised_spline", penalty={"criterion": "fixed", "fixed_lambda": lam})
    assert [s["lambda"] for s in m.smoothing_] == [lam, lam]
    # our objective D + lambda c b'Sb is GLMGam's -loglik + alpha b'Sb (its PIRLS step adds 2 alpha S)
    # at alpha = lambda c / 2
    alphas = [s["lambda"] * s["penalty_scale"] / 2.0 for s in m.smoothing_]
    ref, res = glmgam_fit(m, frame, alphas)
    ours = m.coef_[ref.index]
    np.testing.assert_allclose(ours.to_numpy(), ref.to_numpy(), rtol=1e-6, atol=1e-7)
    x = m.design_matrix(frame)[ref.index].to_numpy()
    np.testing.assert_allclose(m.predict(frame), res.model.family.fitted(x @ ref.to_numpy()), rtol=1e-7, atol=1e-9)
    # effective degrees of freedom: GLMGam's edf per coefficient, summed per term
    edf_ref = pd.Series(np.asarray(res.edf), index=ref.index)
    for s in m.smoothing_:
        assert s["edf"] == pytest.approx(float(edf_ref[s["columns"]].sum()), rel=1e-5)


def test_smoothing_chosen_from_the_data(frame):
    glm = fit_expected(frame, FORMULA)
    for criterion in ("ubre", "gcv"):
        m = fit_expected(frame, FORMULA, family="penalised_spline", penalty={"criterion": criterion})
        by_term = {s["term"]: s for s in m.smoothing_}
        assert set(by_term) == {"bs(age, df=10)", "bs(u, df=8)"}
        # the sine of age needs more freedom than the logarithm of u; both use less than their basis
        assert by_term["bs(u, df=8)"]["edf"] < by_term["bs(age, df=10)"]["edf"] < 10
        assert by_term["bs(u, df=8)"]["edf"] < 8
        assert m.fit_stats_["converged"] and m.fit_stats_["smoothing_criterion"] == criterion
        assert m.fit_stats_["edf"] == pytest.approx(1 + 2 + sum(s["edf"] for s in m.smoothing_), rel=1e-9)
        assert m.fit_stats_["edf"] < len(m.coef_)
        assert m.fit_stats_["aic"] < glm.fit_stats_["aic"]  # smoother and no worse a fit
        # the chosen fit is the fixed-lambda fit at the chosen lambdas (same term order)
        assert all(np.isfinite(s["log10_lambda"]) for s in m.smoothing_)


def test_round_trip_and_prediction_interface(frame):
    m = fit_expected(frame, FORMULA, family="penalised_spline")
    text = m.to_json()
    back = ExpectedModel.from_json(text)
    assert back.family == "penalised_spline" and back.smoothing_ == m.smoothing_
    np.testing.assert_array_equal(back.predict(frame.head(50)), m.predict(frame.head(50)))
    assert json.loads(text)["params"]["family"] == "penalised_spline"
    # the default family's stored form has no family, penalty or smoothing keys (existing models unchanged)
    d = fit_expected(frame, FORMULA).to_dict()
    assert "family" not in d["params"] and "penalty" not in d["params"] and "smoothing" not in d
    assert fit_expected(frame, FORMULA).smoothing_ == []


def test_bad_settings_are_spec_errors(frame):
    with pytest.raises(SpecError, match="family must be one of"):
        fit_expected(frame, FORMULA, family="gam")
    with pytest.raises(SpecError, match="unknown penalty setting"):
        fit_expected(frame, FORMULA, family="penalised_spline", penalty={"lamda": 1})
    with pytest.raises(SpecError, match="criterion"):
        penalty_settings({"criterion": "aic"})


def test_model_set_gam_is_des_2018_with_the_penalised_family():
    from toolkit.expected.spec import load_model_set

    base, gam = load_model_set("des_2018"), load_model_set("des_2018_gam")
    assert set(base) == set(gam)
    for key, spec in base.items():
        assert spec.family == "spline_glm" and "family" not in spec.model_dump(mode="json")
        g = gam[key]
        assert g.family == "penalised_spline"
        assert (g.program, g.measure, g.outcome, g.records, g.policies) == (
            spec.program,
            spec.measure,
            spec.outcome,
            spec.records,
            spec.policies,
        )
        assert g.model_dump(mode="json")["penalty"]["criterion"] == "ubre"
