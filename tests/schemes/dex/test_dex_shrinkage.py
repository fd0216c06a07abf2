"""Beta-binomial shrinkage: exact pieces against scipy, the hierarchical fit's honesty, and coverage."""

from __future__ import annotations

import numpy as np
from scipy.special import betainc
from scipy.stats import beta as beta_dist

from toolkit.schemes.shrinkage import BetaMixture, fit_prior, mixture_posterior


def test_single_beta_prior_gives_beta_posterior_quantiles():
    prior = BetaMixture(np.array([2.0]), np.array([3.0]), np.array([1.0]), "fixed", 0)
    x, n = np.array([0, 3, 10]), np.array([4, 10, 10])
    post = mixture_posterior(x, n, prior, level=0.9, target=0.6)
    a, b = 2 + x, 3 + n - x
    np.testing.assert_allclose(post["lower"], beta_dist.ppf(0.05, a, b), atol=1e-9)
    np.testing.assert_allclose(post["upper"], beta_dist.ppf(0.95, a, b), atol=1e-9)
    np.testing.assert_allclose(post["posterior_mean"], a / (a + b))
    np.testing.assert_allclose(post["p_target_met"], beta_dist.sf(0.6, a, b), atol=1e-12)


def test_mixture_quantiles_solve_the_mixture_cdf():
    rng = np.random.default_rng(3)
    n = rng.integers(1, 80, 30).astype(float)
    x = rng.binomial(n.astype(int), rng.beta(8, 3, 30)).astype(float)
    prior = fit_prior(x, n)
    assert len(prior.weight) > 10 and prior.method == "hierarchical"
    post = mixture_posterior(x, n, prior, level=0.9)
    A = prior.alpha[:, None] + x[None, :]
    B = prior.beta[:, None] + (n - x)[None, :]
    for col, q in (("lower", 0.05), ("upper", 0.95)):
        cdf = (prior.weight[:, None] * betainc(A, B, post[col].to_numpy()[None, :])).sum(axis=0)
        np.testing.assert_allclose(cdf, q, atol=1e-7)


def test_fallback_with_few_providers():
    p = fit_prior(np.array([3, 4]), np.array([5, 9]), min_groups=5)
    assert p.method == "fallback" and (p.alpha[0], p.beta[0]) == (0.5, 0.5)
    p = fit_prior(np.array([3, 4, 0, 0, 0]), np.array([5, 9, 0, 0, 0]), min_groups=3)
    assert p.method == "fallback" and p.n_groups == 2  # providers without a denominator do not count


def test_hierarchical_keeps_a_small_provider_uncertain_where_plug_in_eb_does_not():
    # 12 small providers at 85% with no extra spread: the marginal likelihood keeps rising with kappa,
    # yet a dozen small counts cannot tell kappa = 75 from kappa = 10,000
    rng = np.random.default_rng(0)
    n = rng.integers(3, 15, 12).astype(float)
    x = rng.binomial(n.astype(int), 0.85).astype(float)
    eb = fit_prior(x, n, method="empirical_bayes")
    hb = fit_prior(x, n, method="hierarchical")
    assert eb.method == "capped" and eb.concentration > 5000
    small_x, small_n = np.array([1.0]), np.array([2.0])  # 1 of 2: 50%, target 80%
    post_eb = mixture_posterior(small_x, small_n, eb, target=0.8).iloc[0]
    post_hb = mixture_posterior(small_x, small_n, hb, target=0.8).iloc[0]
    assert post_eb["upper"] - post_eb["lower"] < 0.02 and post_eb["p_target_met"] > 0.99  # plug-in: "clearly met"
    assert post_hb["upper"] - post_hb["lower"] > 0.2 and 0.1 < post_hb["p_target_met"] < 0.9  # full Bayes: uncertain


def test_many_homogeneous_providers_do_justify_strong_shrinkage():
    # 40 providers of 20-120 clients all at 85%: the data themselves say providers barely differ
    rng = np.random.default_rng(7)
    n = rng.integers(20, 120, 40).astype(float)
    x = rng.binomial(n.astype(int), 0.85).astype(float)
    hb = fit_prior(x, n)
    assert hb.concentration > 300
    assert mixture_posterior(np.array([1.0]), np.array([2.0]), hb, target=0.8)["p_target_met"].iloc[0] > 0.9


def test_large_providers_keep_their_own_share():
    x, n = np.array([900.0, 50, 45, 40, 48, 52]), np.array([1000.0, 60, 60, 60, 60, 60])
    post = mixture_posterior(x, n, fit_prior(x, n), level=0.9)
    assert abs(post["posterior_mean"].iloc[0] - 0.9) < 0.005


def _coverage(method: str) -> float:
    rng = np.random.default_rng(2024)
    covered, total = 0, 0
    for _ in range(60):
        p = rng.beta(8, 2, 40)
        n = np.maximum(1, np.round(rng.lognormal(2.5, 1.0, 40))).astype(float)
        x = rng.binomial(n.astype(int), p).astype(float)
        post = mixture_posterior(x, n, fit_prior(x, n, method=method), level=0.9)
        covered += int(((post["lower"] <= p) & (p <= post["upper"])).sum())
        total += len(p)
    return covered / total


def test_intervals_cover_true_provider_shares_at_about_their_rate():
    """60 worlds of 40 providers with shares from Beta(8, 2) and mostly small counts (2,400 providers):
    the hierarchical 90% intervals cover the true shares about 90% of the time (Monte Carlo SE 0.6
    points); the plug-in empirical-Bayes intervals, which ignore the uncertainty in the prior, cover less."""
    hb, eb = _coverage("hierarchical"), _coverage("empirical_bayes")
    assert abs(hb - 0.9) < 0.02, hb
    assert eb < hb, (eb, hb)
