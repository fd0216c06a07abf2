"""Correlated true effects across measures carried into independent per-measure draws
(``two_stage.couple_measures``, :mod:`toolkit.bayes.coupling`)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from toolkit.bayes.coupling import couple_measures, effect_correlation


def _posterior_means(rho=0.5, n=4000, tau=0.4, seed=0):
    """Entities with true effects correlated rho across 2 measures, data information V per entity, and the
    normal-normal posterior means s * b_hat."""
    rng = np.random.default_rng(seed)
    b = rng.multivariate_normal([0, 0], tau**2 * np.array([[1, rho], [rho, 1]]), size=n)
    v = rng.uniform(2, 60, size=(n, 2))
    b_hat = b + rng.normal(size=(n, 2)) / np.sqrt(v)
    share = v * tau**2 / (1 + v * tau**2)
    return share * b_hat, share


def test_effect_correlation_recovers_the_true_one():
    for rho in (0.0, 0.35, 0.7):
        mean, share = _posterior_means(rho)
        r = effect_correlation(mean, share, np.array([0.4, 0.4]))
        assert abs(r[0, 1] - rho) < 0.07, (rho, r[0, 1])
        assert np.allclose(np.diag(r), 1)


def test_coupling_keeps_marginals_and_gives_prior_led_entities_the_effect_correlation():
    rng = np.random.default_rng(1)
    d, n = 3000, 6
    b = rng.normal(size=(d, n, 2)) + 1.0
    shift = np.ones((d, 2))
    # entities 0-2: led by the prior (s ~ 0); 3-5: led by their data (s ~ 1); the correlation of true effects
    # is estimated from 3,000 more entities' posterior means (true correlation 0.6), appended below
    share = np.array([[0.0001, 0.0001]] * 3 + [[0.999, 0.999]] * 3)
    mean, s_big = _posterior_means(0.6, n=3000, seed=2)
    b_all = np.concatenate([b, np.broadcast_to(shift[:, None, :] + mean[None, :, :], (d, 3000, 2))], axis=1)
    share_all = np.concatenate([share, s_big])
    out, r = couple_measures(b_all, shift, share_all, np.array([0.4, 0.4]), seed=3)
    np.testing.assert_array_equal(np.sort(out, axis=0), np.sort(b_all, axis=0))  # marginals unchanged
    assert abs(r[0, 1] - 0.6) < 0.1
    got = np.array([stats.spearmanr(out[:, e, 0], out[:, e, 1])[0] for e in range(n)])
    target = 6 / np.pi * np.arcsin(r[0, 1] * np.sqrt((1 - share[:, 0]) * (1 - share[:, 1])) / 2)
    np.testing.assert_allclose(got, target, atol=0.06)
    assert got[:3].min() > 0.45 and np.abs(got[3:]).max() < 0.08
