"""The vectorised core: a leading draw axis gives per-draw results, chunks do not matter."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.scoring import arrays as arrays_module
from toolkit.scoring import score_arrays


def world(program, entities, draws, seed):
    rng = np.random.default_rng(seed)
    m = len(program.measures)
    n = rng.integers(0, 60, size=(entities, m)).astype(float)
    n[:, 0] = rng.integers(20, 60, size=entities)
    prob = rng.uniform(0.05, 0.6, size=(entities, m))
    actual = rng.binomial(n.astype(int), prob, size=(draws, entities, m)).astype(float)
    expected = np.broadcast_to(n * rng.uniform(0.05, 0.6, size=(entities, m)), actual.shape)
    return n, actual, np.ascontiguousarray(expected)


@pytest.mark.parametrize("prog", ["DMS", "ESS"])
def test_draws_equal_one_call_per_draw(method, prog):
    p = method.program_method(prog)
    n, A, E = world(p, 40, 5, seed=3)
    pop = np.arange(40) < 30
    together = score_arrays(n, A, E, p, population=pop)
    assert together.performance_score.shape == (5, 40) and together.national_average.shape == (5,)
    assert together.ratios.shape == (5, 40, len(p.groups)) and together.mu.shape == (5, len(p.groups))
    for d in range(5):
        one = score_arrays(n, A[d], E[d], p, population=pop)
        np.testing.assert_allclose(together.performance_score[d], one.performance_score, rtol=0, atol=1e-12)
        np.testing.assert_allclose(together.mu[d], one.mu, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(together.stars[d], one.stars)
        np.testing.assert_array_equal(together.star_percentage[d], one.star_percentage)
    # Scale and national average really are per draw.
    assert np.unique(together.national_average).size == 5


def test_chunking_does_not_change_results(method, monkeypatch):
    p = method.program_method("ESS")
    n, A, E = world(p, 30, 12, seed=5)
    whole = score_arrays(n, A, E, p)
    monkeypatch.setattr(arrays_module, "_CHUNK_ELEMENTS", 30 * 7 * 5)  # chunks of 5 draws
    chunked = score_arrays(n, A, E, p, keep_group_arrays=False)
    assert chunked.ratios is None and chunked.scores is None
    np.testing.assert_array_equal(chunked.performance_score, whole.performance_score)
    np.testing.assert_array_equal(chunked.stars, whole.stars)


def test_two_dimensional_input_has_no_draw_axis(method):
    p = method.program_method("DMS")
    n, A, E = world(p, 25, 1, seed=7)
    out = score_arrays(n, A[0], E[0], p)
    assert out.performance_score.shape == (25,) and out.national_average.shape == ()
    assert out.stars.dtype == np.int8
    assert set(np.unique(out.stars)) <= {1, 2, 3, 4, 5}
    # Default population: every entity meeting minimum data, taken as contracts.
    assert out.population.sum() == out.meets_minimum.sum()


def test_shapes_are_checked(method):
    p = method.program_method("DMS")
    with pytest.raises(ValueError, match="shapes"):
        score_arrays(np.ones((3, 6)), np.ones((3, 5)), np.ones((3, 5)), p)
