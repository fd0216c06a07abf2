"""Invariants of the method, checked on generated inputs (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from toolkit.errors import InputError
from toolkit.scoring import (
    adjust_weights,
    group_ratios,
    score_arrays,
    score_entities,
    star_percentage,
    stars_from_percentage,
    truncate_percentage,
)

from ._helpers import GOLDEN

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _n_vectors(m):
    return st.lists(st.integers(0, 14), min_size=m, max_size=m)


@FAST
@given(data=st.data(), program=st.sampled_from(["DMS", "ESS"]))
def test_adjusted_weights_sum_to_program_total(method, data, program):
    p = method.program_method(program)
    n = np.array(data.draw(_n_vectors(len(p.measures))), dtype=float)
    aw = adjust_weights(n, p)
    assert (aw.weights >= 0).all()
    # A reduced measure keeps exactly w * n / saturation (Tables 7 and 8).
    red = n < p.saturation
    assert aw.weights[red] == pytest.approx((p.weights * n / p.saturation)[red], abs=1e-15)
    if (~red).any():
        assert aw.scorable
        assert aw.weights.sum() == pytest.approx(1.0, abs=1e-12)
        # A group that kept an unreduced measure never ends below its Table 1 weight,
        # and keeps exactly that weight when no group passed weight across.
        kept = ~aw.orphaned
        assert (aw.group_weights[kept] >= p.group_weights[kept] - 1e-12).all()
        if not aw.orphaned.any():
            assert aw.group_weights == pytest.approx(p.group_weights, abs=1e-12)
    else:
        assert not aw.scorable


@st.composite
def national_set(draw, m):
    """Contracts (rows) with n, A and E of m measures, plus a site as the last row."""
    k = draw(st.integers(3, 7)) + 1
    n = np.array(
        draw(st.lists(st.lists(st.integers(0, 40), min_size=m, max_size=m), min_size=k, max_size=k)), dtype=float
    )
    n[:, 0] = np.maximum(n[:, 0], 20)  # full_13 at minimum data
    if m == 7:
        n[:, 6] = np.maximum(n[:, 6], 10)
    share = np.array(draw(st.lists(st.lists(st.floats(0, 1), min_size=m, max_size=m), min_size=k, max_size=k)))
    A = np.floor(n * share)
    prob = np.array(draw(st.lists(st.lists(st.floats(0.05, 0.95), min_size=m, max_size=m), min_size=k, max_size=k)))
    E = n * prob
    return n, A, E


@FAST
@given(data=st.data(), program=st.sampled_from(["DMS", "ESS"]))
def test_one_more_actual_outcome_never_lowers_a_score(method, data, program):
    p = method.program_method(program)
    n, A, E = data.draw(national_set(len(p.measures)))
    population = np.ones(len(n), dtype=bool)
    population[-1] = False  # the last row is a site
    who = data.draw(st.integers(0, len(n) - 1))
    j = data.draw(st.integers(0, len(p.measures) - 1))
    assume(A[who, j] < n[who, j])
    A2 = A.copy()
    A2[who, j] += 1
    try:
        before = score_arrays(n, A, E, p, population=population)
        after = score_arrays(n, A2, E, p, population=population)
    except InputError:  # ratios that do not vary: no scale
        assume(False)
    assert after.performance_score[who] >= before.performance_score[who] - 1e-9
    assert (np.nan_to_num(after.scores[who] - before.scores[who]) >= -1e-9).all()
    assert (np.nan_to_num(after.ratios[who] - before.ratios[who]) >= 0).all()


@FAST
@given(data=st.data(), program=st.sampled_from(["DMS", "ESS"]), factor=st.floats(0.01, 100))
def test_scaling_a_groups_actual_and_expected_keeps_its_ratio(method, data, program, factor):
    p = method.program_method(program)
    m = len(p.measures)
    n = np.array(data.draw(_n_vectors(m)), dtype=float) + 1
    A = np.array(data.draw(st.lists(st.floats(0, 50), min_size=m, max_size=m)))
    E = np.array(data.draw(st.lists(st.floats(0.1, 50), min_size=m, max_size=m)))
    g = data.draw(st.integers(0, len(p.groups) - 1))
    in_g = p.group_index == g
    w = adjust_weights(n, p).weights
    r1 = group_ratios(A, E, w, p)
    r2 = group_ratios(np.where(in_g, A * factor, A), np.where(in_g, E * factor, E), w, p)
    assert np.isnan(r1[g]) == np.isnan(r2[g])
    if not np.isnan(r1[g]):
        assert r2[g] == pytest.approx(r1[g], rel=1e-12, abs=1e-300)
    others = np.arange(len(p.groups)) != g
    np.testing.assert_array_equal(r1[others], r2[others])


@settings(max_examples=300, deadline=None)
@given(x=st.floats(-10_000, 10_000, allow_nan=False))
def test_truncation_is_symmetric_around_zero(x):
    from toolkit.scoring import load_method

    m = load_method("des_2018")
    t, u = truncate_percentage(x, m), truncate_percentage(-x, m)
    assert t == -u
    assert float(t).is_integer()
    assert abs(t) <= abs(x) + 1e-9 and abs(x) < abs(t) + 1


@FAST
@given(s=st.floats(0.01, 4), sbar=st.floats(0.5, 3.5))
def test_star_percentage_and_stars_follow_table_6(method, s, sbar):
    p = float(star_percentage(s, sbar, method))
    exact = 100 * (s - sbar) / sbar
    assert abs(p) <= abs(exact) + 1e-6 and abs(exact - p) < 1 + 1e-6
    stars = int(stars_from_percentage(p, method))
    expected = next(b.stars for b in method.bands if (b.min is None or p >= b.min) and (b.max is None or p <= b.max))
    assert stars == expected


@pytest.fixture(scope="module")
def golden_table():
    return pd.read_csv(GOLDEN / "site_x_y.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def golden_scored(golden_table, method):
    return score_entities(golden_table, method)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(perm=st.randoms(use_true_random=False))
def test_output_independent_of_input_row_order(golden_table, golden_scored, method, perm):
    order = list(range(len(golden_table)))
    perm.shuffle(order)
    shuffled = golden_table.iloc[order].reset_index(drop=True)
    out = score_entities(shuffled, method)
    pd.testing.assert_frame_equal(out, golden_scored, check_exact=True)
    assert out.to_csv(index=False) == golden_scored.to_csv(index=False)
