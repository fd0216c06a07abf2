"""The two-stage model's hand-written density: its gradient, its likelihood, and the offset compression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from toolkit.bayes import density as dn
from toolkit.bayes.twostage import (
    _cell_ptr,
    cell_data,
    centring_flags,
    compile_two_stage,
    logit,
)


def _records(seed=0, n=2500, sites=30):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, sites, n)
    df = pd.DataFrame(
        {
            "program": "DMS",
            "measure": rng.choice(["a", "b"], n),
            "site_id": [f"S{i:02d}" for i in s],
            "rating_contract_id": [f"C{i // 3}" for i in s],
            "rating_organisation_id": [f"O{i // 10}" for i in s],
        }
    )
    df["expected_p"] = rng.uniform(0.02, 0.95, n)
    df["numerator"] = rng.random(n) < df["expected_p"]
    return df


def _args(cd, lay, centred):
    cp = np.stack([cd.site_parent[lv][cd.cell_site] for lv in cd.levels])
    return (
        len(cd.measures),
        *lay.offsets(),
        centred,
        cd.cell_measure,
        cp,
        cd.observed,
        _cell_ptr(cd),
        cd.node_offset,
        cd.node_weight,
        0.5,
        1.0,
    )


@pytest.mark.parametrize("cross", ["independent", "factor"])
@pytest.mark.parametrize("levels", [("site",), ("organisation", "contract", "site")])
@pytest.mark.parametrize("threshold", [0.0, 1e9, 20.0])
def test_gradient_matches_finite_differences(cross, levels, threshold):
    cd = cell_data(_records(), "DMS", ["a", "b"], levels, 3)
    _, lay = compile_two_stage(cd, _cfg(), cross)
    cen = centring_flags(cd, lay, threshold)
    args = _args(cd, lay, cen)
    x = np.random.default_rng(1).normal(0, 0.4, lay.ndim)
    _, g = dn.logp_and_grad(x, *args)
    h = 1e-6
    fd = np.array(
        [
            (dn.logp_and_grad(x + h * e, *args)[0] - dn.logp_and_grad(x - h * e, *args)[0]) / (2 * h)
            for e in np.eye(lay.ndim)
        ]
    )
    np.testing.assert_allclose(g, fd, atol=2e-5, rtol=1e-5)


def _cfg():
    from toolkit.bayes.config import load_bayes_config

    return load_bayes_config()


def test_exact_likelihood_is_the_bernoulli_one():
    """With every record kept (nodes_per_cell 0) and one site level, the density equals the Bernoulli
    log-likelihood with offsets plus the stated priors (up to the constant sum y_i o_i), computed here
    directly from the records."""
    df = _records(2)
    cd = cell_data(df, "DMS", ["a", "b"], ("site",), 0)
    _, lay = compile_two_stage(cd, _cfg(), "independent")
    args = _args(cd, lay, np.zeros(lay.ndim, dtype=np.int64))
    rng = np.random.default_rng(4)
    shift, log_tau, e = rng.normal(0, 0.3, 2), np.log([0.4, 0.6]), rng.normal(size=(len(cd.entities["site"]), 2))
    x = np.concatenate([shift, log_tau, e.ravel()])
    site = cd.entities["site"].get_indexer(df["site_id"])
    m = (df["measure"] == "b").to_numpy().astype(int)
    eta = logit(df["expected_p"].to_numpy()) + shift[m] + np.exp(log_tau)[m] * e[site, m]
    y = df["numerator"].to_numpy(float)
    loglik = np.sum(y * eta - np.logaddexp(0, eta))
    prior = -0.5 * np.sum((shift / 0.5) ** 2) + np.sum(-0.5 * np.exp(log_tau) ** 2 + log_tau) - 0.5 * np.sum(e**2)
    constant = np.sum(y * logit(df["expected_p"].to_numpy()))  # sum y_i o_i does not depend on the parameters
    lp, _ = dn.logp_and_grad(x, *args)
    assert lp + constant == pytest.approx(loglik + prior, rel=1e-10)


def test_centred_and_non_centred_are_the_same_model():
    """A site effect sampled centred (x = shift + u) or non-centred (u = tau e) gives the same density,
    up to the Jacobian log(tau) of the change of variables."""
    cd = cell_data(_records(5), "DMS", ["a", "b"], ("site",), 2)
    _, lay = compile_two_stage(cd, _cfg(), "independent")
    rng = np.random.default_rng(6)
    shift, log_tau = rng.normal(0, 0.3, 2), np.log([0.3, 0.5])
    u = rng.normal(0, 0.4, (len(cd.entities["site"]), 2))
    tau = np.exp(log_tau)
    x_nc = np.concatenate([shift, log_tau, (u / tau).ravel()])
    x_c = np.concatenate([shift, log_tau, (u + shift).ravel()])
    lp_nc, _ = dn.logp_and_grad(x_nc, *_args(cd, lay, np.zeros(lay.ndim, dtype=np.int64)))
    cen = np.zeros(lay.ndim, dtype=np.int64)
    cen[lay.e_ofs[0] :] = 1
    lp_c, _ = dn.logp_and_grad(x_c, *_args(cd, lay, cen))
    assert lp_c == pytest.approx(lp_nc - u.shape[0] * np.sum(log_tau), rel=1e-10)


@pytest.mark.parametrize("k", [1, 2, 4])
def test_compression_keeps_expected_outcomes_exact(k):
    df = _records(7)
    exact = cell_data(df, "DMS", ["a", "b"], ("site",), 0)
    comp = cell_data(df, "DMS", ["a", "b"], ("site",), k)
    np.testing.assert_allclose(comp.expected, exact.expected, rtol=1e-12)
    e_nodes = np.bincount(comp.node_cell, weights=comp.node_weight * expit(comp.node_offset))
    np.testing.assert_allclose(e_nodes, exact.expected, rtol=1e-10)
    np.testing.assert_array_equal(np.bincount(comp.node_cell, weights=comp.node_weight), exact.n)
    assert len(comp.node_offset) <= k * len(comp.observed)

    # the log-partition's change from b = 0 to b = 0.5 (what the posterior sees; its level is a constant)
    # matches the exact one to a share of the quadratic term that falls with k
    def change(cd, w):
        def f(b):
            return np.bincount(cd.node_cell, weights=w * np.logaddexp(0, cd.node_offset + b))

        return f(0.5) - f(0.0)

    v = np.bincount(exact.node_cell, weights=expit(exact.node_offset) * (1 - expit(exact.node_offset)))
    err = np.abs(change(comp, comp.node_weight) - change(exact, np.ones(len(exact.node_offset)))) / (v * 0.5**2 / 2)
    assert np.max(err) < {1: 0.7, 2: 0.2, 4: 0.06}[k]  # records with p from 0.02 to 0.95: a hard case for k = 1


def test_pymc_reference_model_has_the_same_density():
    """The PyMC version of the two-stage model (independent, non-centred) and the numba density differ by
    a constant only (PyMC keeps the normalising constants)."""
    df = _records(9, n=800, sites=12)
    cd = cell_data(df, "DMS", ["a", "b"], ("site",), 2)
    cfg = _cfg()
    _, lay = compile_two_stage(cd, cfg, "independent")
    args = _args(cd, lay, np.zeros(lay.ndim, dtype=np.int64))
    from toolkit.bayes.twostage import build_two_stage_model

    model = build_two_stage_model(cd, cfg, "independent")
    logp = model.compile_logp(mode="FAST_COMPILE")
    rng = np.random.default_rng(10)
    diffs = []
    for _ in range(3):
        shift, log_sigma, z = rng.normal(0, 0.3, 2), rng.normal(-1, 0.3, 2), rng.normal(size=(12, 2))
        point = {"shift": shift, "sigma_site_log__": log_sigma, "z_site": z}
        ours, _ = dn.logp_and_grad(np.concatenate([shift, log_sigma, z.ravel()]), *args)
        diffs.append(float(logp(point)) - ours)
    assert max(diffs) - min(diffs) < 1e-8
