"""The vectorised R-hat and ESS agree with ArviZ's, parameter by parameter."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest

from toolkit.bayes.config import Gates
from toolkit.bayes.convergence import ess_bulk, ess_tail, rhat_rank, summaries
from toolkit.bayes.diagnostics import check_convergence


@pytest.fixture(scope="module")
def draws():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(40, 2, 500)).cumsum(axis=2) * 0.05 + rng.normal(size=(40, 2, 500))
    a[5, 1] += 0.8  # one parameter whose chains disagree
    a[7] = np.exp(a[7])  # a skewed one
    return a


def test_matches_arviz(draws):
    ref_r = np.array([az.rhat(x, method="rank") for x in draws])
    ref_b = np.array([az.ess(x, method="bulk") for x in draws])
    ref_t = np.array([az.ess(x, method="tail") for x in draws])
    np.testing.assert_allclose(rhat_rank(draws), ref_r, rtol=1e-10)
    np.testing.assert_allclose(ess_bulk(draws), ref_b, rtol=1e-10)
    np.testing.assert_allclose(ess_tail(draws), ref_t, rtol=1e-10)
    r, b, t = summaries(draws)
    np.testing.assert_allclose(r, ref_r, rtol=1e-10)
    np.testing.assert_allclose(b, ref_b, rtol=1e-10)
    np.testing.assert_allclose(t, ref_t, rtol=1e-10)


def test_gate_names_the_worst_parameter(draws):
    import xarray as xr

    post = xr.Dataset({"theta": (("chain", "draw", "k"), draws.transpose(1, 2, 0))})
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((2, 500), dtype=bool))})
    idata = az.InferenceData(posterior=post, sample_stats=stats)
    d = check_convergence(idata, Gates(), "toy")
    ref = np.array([az.rhat(x, method="rank") for x in draws])
    assert not d.passed and d.worst_rhat == f"theta[{int(np.argmax(ref))}]"
    assert d.max_rhat == pytest.approx(float(ref.max()))
    assert any("R-hat" in f for f in d.failures) and d.parameters == 40
    ok = check_convergence(idata, Gates(max_rhat=100, min_ess_bulk=0, min_ess_tail=0), "toy")
    assert ok.passed
