"""Spline bases with explicit state: patsy's ``bs`` (B-splines) and ``cr`` (natural cubic).

Knot placement follows patsy exactly (see ``patsy/splines.py`` and
``patsy/mgcv_cubic_splines.py``); evaluation is reimplemented in vectorised
NumPy so that it is fast on a million rows, bit-for-bit equal to patsy's
``bs`` on training data, and defined outside the boundary knots when the
caller asks for extrapolation. Every function here is pure: knots in, basis out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.errors import SpecError

# ---------------------------------------------------------------- B-splines (bs)


def bs_knots(
    x: np.ndarray,
    *,
    df: int | None,
    knots: list[float] | None,
    degree: int,
    include_intercept: bool,
    lower_bound: float | None,
    upper_bound: float | None,
    name: str,
) -> tuple[np.ndarray, float, float]:
    """Interior knots and boundaries of ``bs(x, ...)`` as patsy's ``BS.memorize_finish`` computes them."""
    if degree < 0 or int(degree) != degree:
        raise SpecError(f"{name}: degree must be a non-negative integer")
    if df is None and knots is None:
        raise SpecError(f"{name}: give df or knots")
    order = degree + 1
    if df is not None:
        n_inner = df - order + (0 if include_intercept else 1)
        if n_inner < 0:
            raise SpecError(f"{name}: df={df} is too small for degree={degree} (must be >= {df - n_inner})")
        if knots is not None and len(knots) != n_inner:
            raise SpecError(f"{name}: df={df} with degree={degree} implies {n_inner} knots, {len(knots)} given")
        if knots is None:
            probs = np.linspace(0, 1, n_inner + 2)[1:-1]
            # patsy's _R_compat_quantile: one np.percentile call per probability
            inner = np.asarray([np.percentile(x, 100 * p) for p in probs.ravel(order="C")], dtype=float)
    if knots is not None:
        inner = np.asarray(knots, dtype=float)
    lower = float(np.min(x)) if lower_bound is None else float(lower_bound)
    upper = float(np.max(x)) if upper_bound is None else float(upper_bound)
    if not lower < upper:
        raise SpecError(f"{name}: the lower boundary must be below the upper one (is the column constant?)")
    if inner.ndim != 1 or np.any(inner < lower) or np.any(inner > upper):
        raise SpecError(f"{name}: interior knots must be a list within [lower_bound, upper_bound]")
    return inner, lower, upper


def bs_all_knots(inner: np.ndarray, lower: float, upper: float, degree: int) -> np.ndarray:
    """The full knot vector: boundaries repeated ``degree + 1`` times plus the interior knots, sorted."""
    all_knots = np.concatenate(([lower, upper] * (degree + 1), np.asarray(inner, dtype=float)))
    all_knots.sort()
    return all_knots


#: Columns longer than this are evaluated per distinct value when they repeat values (4 rows per value or more).
UNIQUE_FROM = 4096


def bspline_basis(x: np.ndarray, all_knots: np.ndarray, degree: int) -> np.ndarray:
    """All B-spline basis functions at ``x`` (n x (len(knots) - degree - 1)).

    Uses the recurrence of FITPACK's ``fpbspl`` (what patsy reaches through
    ``scipy.interpolate.splev``) in the same order of operations, so values on
    ``[t[degree], t[-degree-1]]`` equal patsy's. Points outside that interval
    are evaluated on the first or last polynomial piece (extrapolation).
    """
    t = np.asarray(all_knots, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1 and x.size > UNIQUE_FROM:
        # a column of a million rows holds a few thousand values (ages, scores, an ESA's rates): each basis row
        # is computed once per distinct value (the operations are elementwise: the same numbers) and repeated
        inv, u = pd.factorize(x, use_na_sentinel=False)  # hashed, not sorted
        if 4 * u.size < x.size:
            return np.ascontiguousarray(bspline_basis(np.asarray(u, dtype=np.float64), t, degree).T[:, inv]).T
    k = int(degree)
    n_bases = t.size - k - 1
    # interval l with t[l] <= x < t[l+1], restricted to the non-trivial range [k, n_bases - 1]
    ell = np.searchsorted(t, x, side="right") - 1
    np.clip(ell, k, n_bases - 1, out=ell)
    h = np.zeros((k + 1, x.size))
    h[0] = 1.0
    for j in range(1, k + 1):
        hh = h[:j].copy()
        h[0] = 0.0
        for i in range(1, j + 1):
            t_li = t[ell + i]
            t_lj = t[ell + i - j]
            f = hh[i - 1] / (t_li - t_lj)
            h[i - 1] = h[i - 1] + f * (t_li - x)
            h[i] = f * (x - t_lj)
    out = np.zeros((n_bases, x.size))  # returned transposed: columns contiguous (Fortran order)
    flat = out.reshape(-1)
    base = (ell - k) * x.size + np.arange(x.size)
    for i in range(k + 1):
        flat[base + i * x.size] = h[i]
    return out.T


# ---------------------------------------------- natural cubic regression splines (cr)


def cr_knots(
    x: np.ndarray,
    *,
    df: int | None,
    knots: list[float] | None,
    lower_bound: float | None,
    upper_bound: float | None,
    center: bool,
    name: str,
) -> np.ndarray:
    """All knots of ``cr(x, ...)`` as patsy's ``_get_all_sorted_knots`` computes them."""
    if df is None and knots is None:
        raise SpecError(f"{name}: give df or knots")
    n_constraints = 1 if center else 0
    n_inner = None
    if df is not None:
        min_df = 1 if n_constraints else 2
        if df < min_df:
            raise SpecError(f"{name}: df must be at least {min_df}")
        n_inner = df - 2 + n_constraints
    lower = float(np.min(x)) if lower_bound is None else float(lower_bound)
    upper = float(np.max(x)) if upper_bound is None else float(upper_bound)
    if upper < lower:
        raise SpecError(f"{name}: lower bound above upper bound")
    if knots is None:
        if n_inner is None:  # unreachable: without knots, df is given (checked above)
            raise SpecError(f"{name}: give df or knots")
        inside = np.unique(x[(lower <= x) & (x <= upper)])
        if inside.size == 0 and n_inner > 0:
            raise SpecError(f"{name}: no data between the bounds to place knots")
        q = np.linspace(0, 100, n_inner + 2)[1:-1]
        inner = np.asarray(np.percentile(inside, q.tolist())) if inside.size else np.array([])
    else:
        inner = np.unique(np.asarray(knots, dtype=float))
        if n_inner is not None and n_inner != inner.size:
            raise SpecError(f"{name}: df={df} needs {n_inner} interior knots, {inner.size} given")
        if np.any(inner < lower) or np.any(inner > upper):
            raise SpecError(f"{name}: interior knots must lie within [lower_bound, upper_bound]")
        n_inner = inner.size
    all_knots = np.unique(np.concatenate(([lower, upper], inner)))
    if all_knots.size != n_inner + 2:
        raise SpecError(
            f"{name}: cannot place {n_inner + 2} distinct knots ({all_knots.size} distinct values); lower df"
        )
    return all_knots


def _natural_f(knots: np.ndarray) -> np.ndarray:
    """Map from spline values at the knots to second derivatives (patsy's ``_get_natural_f``)."""
    from scipy import linalg

    h = knots[1:] - knots[:-1]
    diag = (h[:-1] + h[1:]) / 3.0
    ul_diag = h[1:-1] / 6.0
    banded_b = np.array([np.r_[0.0, ul_diag], diag, np.r_[ul_diag, 0.0]])
    d = np.zeros((knots.size - 2, knots.size))
    for i in range(knots.size - 2):
        d[i, i] = 1.0 / h[i]
        d[i, i + 2] = 1.0 / h[i + 1]
        d[i, i + 1] = -d[i, i] - d[i, i + 2]
    fm = linalg.solve_banded((1, 1), banded_b, d)
    return np.vstack([np.zeros(knots.size), fm, np.zeros(knots.size)])


def cr_free_basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Unconstrained natural cubic regression spline basis (n x len(knots)).

    Beyond the boundary knots the basis is linear (mgcv's ``crspl``), as in patsy.
    """
    x = np.asarray(x, dtype=np.float64)
    lb = np.searchsorted(knots, x) - 1
    lb[lb == -1] = 0
    lb[lb == knots.size - 1] = knots.size - 2
    j = lb
    h = knots[1:] - knots[:-1]
    hj = h[j]
    xj1_x = knots[j + 1] - x
    x_xj = x - knots[j]
    ajm = xj1_x / hj
    ajp = x_xj / hj
    cjm_3 = xj1_x * xj1_x * xj1_x / (6.0 * hj)
    cjm_3[x > np.max(knots)] = 0.0
    cjm = cjm_3 - hj * xj1_x / 6.0
    cjp_3 = x_xj * x_xj * x_xj / (6.0 * hj)
    cjp_3[x < np.min(knots)] = 0.0
    cjp = cjp_3 - hj * x_xj / 6.0
    f = _natural_f(knots)
    cols = np.arange(knots.size)
    # same sum, in the same order, as patsy: ajm*I[j] + ajp*I[j+1] + cjm*F[j] + cjp*F[j+1]
    return (
        ajm[:, None] * (cols == j[:, None])
        + ajp[:, None] * (cols == (j + 1)[:, None])
        + cjm[:, None] * f[j, :]
        + cjp[:, None] * f[j + 1, :]
    )


def cr_absorber(constraints: np.ndarray) -> np.ndarray:
    """The matrix ``Z`` that absorbs ``constraints @ beta = 0`` into a basis (patsy's QR)."""
    from scipy import linalg

    m = constraints.shape[0]
    q, _r = linalg.qr(np.transpose(constraints))
    return q[:, m:]


def row_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` accumulated column by column, so each row's result depends on that row only."""
    out = np.zeros((a.shape[0], b.shape[1]))
    for c in range(b.shape[1]):
        col = out[:, c]
        for k in range(a.shape[1]):
            col += a[:, k] * b[k, c]
    return out
