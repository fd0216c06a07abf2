"""Penalised regression splines: the ``penalised_spline`` family of an expected-performance model.

Every B-spline term of the formula (``bs(x, df=k)``, a main effect) gets a curvature penalty
``lambda_j * b_j' S_j b_j`` with ``S_j = c_j * integral of B''(x) B''(x)' dx`` over the term's boundary knots
(exact: Gauss-Legendre points on every knot interval), the second-derivative penalty of O'Sullivan splines,
right for the quantile knots ``bs`` places. ``c_j`` scales ``S_j`` to the term's information (the Frobenius
norm of ``X_j' X_j / 4`` over that of the integral), so that one grid of ``lambda`` suits every term and size
of data. The fit minimises the penalised deviance ``D(b) + sum_j lambda_j b_j' S_j b_j`` by penalised IRLS.

The smoothing parameters are chosen from the data by performance iteration (Gu; mgcv's ``optimizer="perf"``):
at each IRLS step, the ``lambda_j`` minimise UBRE (binomial, scale 1: ``RSS_w / n - 1 + 2 edf / n`` of the
working model) or GCV (``n RSS_w / (n - edf)^2``) by a coordinate search over a grid of ``log10 lambda`` (two
sweeps over the terms) refined by Brent's method, all on ``p x p`` matrices; once they stop moving the fit
runs to convergence at fixed ``lambda``, so a fitted model is exactly the penalised fit at its recorded
``lambda`` (statsmodels' ``GLMGam`` at ``alpha_j = lambda_j c_j / 2`` gives the same coefficients:
``tests/expected/test_penalised.py``). ``criterion="fixed"`` skips the search.

The effective degrees of freedom of a term are the trace of its block of ``(X'WX + S)^-1 X'WX``; the
covariance is the Bayesian one, ``(X'WX + S)^-1`` (mgcv's ``Vp``). Other terms (factors, linear terms,
``cr`` splines, interactions) are not penalised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import linalg, optimize

from toolkit.errors import SpecError
from toolkit.expected.design import DesignState
from toolkit.expected.irls import (
    _EPS,
    _check_rank,
    _scaled_cholesky,
    _scaled_inverse,
    _scaled_solve,
    _separation_error,
    _weighted_gram,
    binomial_deviance,
    null_deviance,
)
from toolkit.expected.terms import BSplineFactor

CRITERIA = ("ubre", "gcv", "fixed")
DEFAULTS: dict[str, Any] = {
    "criterion": "ubre",
    "fixed_lambda": 1.0,
    "log10_lambda_range": [-6.0, 6.0],
    "grid_step": 0.5,
}


def penalty_settings(params: dict[str, Any] | None) -> dict[str, Any]:
    """The penalty settings with defaults filled in, checked."""
    out = dict(DEFAULTS)
    unknown = set(params or {}) - set(DEFAULTS)
    if unknown:
        raise SpecError(f"unknown penalty setting(s) {sorted(unknown)} (known: {sorted(DEFAULTS)})")
    out.update(params or {})
    if out["criterion"] not in CRITERIA:
        raise SpecError(f"penalty criterion must be one of {CRITERIA}, not {out['criterion']!r}")
    lo, hi = (float(v) for v in out["log10_lambda_range"])
    if not lo < hi or not float(out["grid_step"]) > 0 or not float(out["fixed_lambda"]) >= 0:
        raise SpecError("penalty: log10_lambda_range must be [low, high] with low < high, grid_step > 0, lambda >= 0")
    out["log10_lambda_range"] = [lo, hi]
    return out


# ------------------------------------------------------------------------------------------ penalties


def curvature_penalty(factor: BSplineFactor) -> np.ndarray:
    """``integral of B''(x) B''(x)' dx`` over ``[lower, upper]`` for the factor's basis columns (k x k)."""
    from scipy.interpolate import BSpline

    t = factor.all_knots
    k = factor.degree
    n_basis = t.size - k - 1
    breaks = np.unique(t)
    nodes, weights = np.polynomial.legendre.leggauss(max(k, 2))  # exact for piecewise polynomials of degree 2(k-2)
    a, b = breaks[:-1, None], breaks[1:, None]
    x = ((b - a) / 2 * nodes + (a + b) / 2).ravel()
    w = ((b - a) / 2 * weights).ravel()
    d2 = np.empty((x.size, n_basis))
    for j in range(n_basis):
        coef = np.zeros(n_basis)
        coef[j] = 1.0
        d2[:, j] = BSpline(t, coef, k, extrapolate=False).derivative(2)(x) if k >= 2 else 0.0
    d2 = np.nan_to_num(d2)
    if not factor.include_intercept:
        d2 = d2[:, 1:]
    return (d2 * w[:, None]).T @ d2


@dataclass(frozen=True)
class PenaltyBlock:
    """One penalised term: its name, its columns' positions in the design, and its (scaled) penalty."""

    term: str
    columns: tuple[int, ...]
    matrix: np.ndarray
    scale: float


def penalty_blocks(state: DesignState, x: np.ndarray) -> list[PenaltyBlock]:
    """A block per B-spline main-effect term of the design, its penalty scaled to ``X_j' X_j / 4``."""
    bs = {f.name: f for f in state.factors if isinstance(f, BSplineFactor)}
    groups: dict[str, list[tuple[int, int]]] = {}
    for j, col in enumerate(state.columns):
        if len(col.pieces) == 1 and col.pieces[0][0] in bs:
            groups.setdefault(col.term, []).append((col.pieces[0][1], j))
    blocks = []
    for term, members in groups.items():
        members.sort()
        fname = state.columns[members[0][1]].pieces[0][0]
        raw = curvature_penalty(bs[fname])
        idx = [i for i, _ in members]
        raw = raw[np.ix_(idx, idx)]
        cols = tuple(j for _, j in members)
        xj = x[:, cols]
        info = np.linalg.norm(xj.T @ xj / 4.0)
        norm = np.linalg.norm(raw)
        scale = float(info / norm) if norm > 0 else 0.0
        blocks.append(PenaltyBlock(term=term, columns=cols, matrix=raw * scale, scale=scale))
    return blocks


def restrict_blocks(blocks: list[PenaltyBlock], keep: np.ndarray) -> list[PenaltyBlock]:
    """The blocks on the design restricted to columns ``keep`` (aliased columns dropped): positions renumbered,
    penalty rows and columns of dropped columns removed; a block left with no column is dropped."""
    where = {int(c): i for i, c in enumerate(keep)}
    out = []
    for blk in blocks:
        inside = [k for k, c in enumerate(blk.columns) if c in where]
        if inside:
            out.append(
                PenaltyBlock(
                    term=blk.term,
                    columns=tuple(where[blk.columns[k]] for k in inside),
                    matrix=blk.matrix[np.ix_(inside, inside)],
                    scale=blk.scale,
                )
            )
    return out


def total_penalty(blocks: list[PenaltyBlock], lambdas: np.ndarray, p: int) -> np.ndarray:
    s = np.zeros((p, p))
    for blk, lam in zip(blocks, lambdas, strict=True):
        s[np.ix_(blk.columns, blk.columns)] += lam * blk.matrix
    return s


# ------------------------------------------------------------------------------------------ the fit


@dataclass(frozen=True)
class PenalisedResult:
    """Coefficients, Bayesian covariance, fit statistics and smoothing of one penalised logistic fit."""

    coef: np.ndarray
    cov: np.ndarray
    deviance: float
    null_deviance: float
    n_iter: int
    converged: bool
    n_obs: int
    n_events: int
    lambdas: np.ndarray
    edf: np.ndarray  # per coefficient (diagonal of the influence matrix)
    criterion: str
    score: float  # the criterion at the final fit (NaN for "fixed")


def _working_score(
    gram: np.ndarray, rhs: np.ndarray, zwz: float, n: int, pen: np.ndarray, criterion: str
) -> tuple[float, np.ndarray, np.ndarray] | None:
    """UBRE or GCV of the working model at penalty ``pen``; None if ``X'WX + S`` is not positive definite."""
    try:
        chol = _scaled_cholesky(gram + pen)
    except linalg.LinAlgError:
        return None
    beta = _scaled_solve(chol, rhs)
    factor, d = chol
    infl = d[:, None] * linalg.cho_solve(factor, d[:, None] * gram, check_finite=False)  # (X'WX + S)^-1 X'WX
    edf = float(np.trace(infl))
    rss = max(zwz - 2.0 * float(beta @ rhs) + float(beta @ gram @ beta), 0.0)
    if criterion == "gcv":
        score = n * rss / max(n - edf, 1e-8) ** 2
    else:
        score = rss / n - 1.0 + 2.0 * edf / n
    return score, beta, np.diag(infl)


def _profile(
    gram: np.ndarray, rhs: np.ndarray, zwz: float, n: int, others: np.ndarray, s_j: np.ndarray, criterion: str
) -> Any:
    """The working criterion as a function of ``log10 lambda_j`` (vectorised) with the other penalties ``others``
    fixed: with ``B = X'WX + others = L L'`` and ``L^-1 S_j L^-T = U diag(e) U'``, ``(B + lambda S_j)^-1`` is
    ``L^-T U diag(1 / (1 + lambda e)) U' L^-1``, so each lambda costs O(p^2) after one O(p^3) setup (all on the
    Jacobi-scaled matrices). None when ``B`` is not positive definite."""
    b = gram + others
    d = 1.0 / np.sqrt(np.diag(b))
    try:
        low = linalg.cholesky(b * np.outer(d, d), lower=True, check_finite=False)
    except linalg.LinAlgError:
        return None

    def half(m: np.ndarray) -> np.ndarray:  # L^-1 (D m D) L^-T
        t = linalg.solve_triangular(low, m * np.outer(d, d), lower=True, check_finite=False)
        return linalg.solve_triangular(low, t.T, lower=True, check_finite=False).T

    e, u = linalg.eigh(half(s_j), check_finite=False)
    e = np.clip(e, 0.0, None)
    h = u.T @ half(gram) @ u
    c = u.T @ linalg.solve_triangular(low, d * rhs, lower=True, check_finite=False)
    h_diag = np.diag(h).copy()

    def f(log_lam: np.ndarray) -> np.ndarray:
        lam = 10.0 ** np.atleast_1d(np.asarray(log_lam, dtype=float))
        shrink = 1.0 / (1.0 + lam[:, None] * e[None, :])  # (k, p)
        coef = c[None, :] * shrink
        edf = shrink @ h_diag
        rss = np.maximum(zwz - 2.0 * (coef @ c) + np.einsum("ki,ij,kj->k", coef, h, coef), 0.0)
        if criterion == "gcv":
            return n * rss / np.maximum(n - edf, 1e-8) ** 2
        return rss / n - 1.0 + 2.0 * edf / n

    return f


def _select(
    gram: np.ndarray,
    rhs: np.ndarray,
    zwz: float,
    n: int,
    blocks: list[PenaltyBlock],
    log_lam: np.ndarray,
    settings: dict[str, Any],
) -> np.ndarray:
    """``log10 lambda`` per block minimising the criterion of the working model: coordinate search, two sweeps;
    each coordinate over the whole grid, then Brent's method within a grid step of the best point. A coordinate
    moves only if that lowers the criterion by more than ``1e-3 / n`` (a thousandth of an effective degree of
    freedom), so a flat criterion (a term already linear, lambda at the top of the range) does not wander."""
    from threadpoolctl import threadpool_limits

    lo, hi = settings["log10_lambda_range"]
    step = float(settings["grid_step"])
    grid = np.arange(lo, hi + step / 2, step)
    p = gram.shape[0]
    tol = 1e-3 / n
    cur = np.clip(log_lam.astype(float), lo, hi)
    with threadpool_limits(limits=1):  # p x p work: one BLAS thread is fastest, and spins no idle cores
        for _ in range(2):
            for j, blk in enumerate(blocks):
                others = total_penalty(blocks, np.where(np.arange(len(blocks)) == j, 0.0, 10.0**cur), p)
                s_j = np.zeros((p, p))
                s_j[np.ix_(blk.columns, blk.columns)] = blk.matrix
                f = _profile(gram, rhs, zwz, n, others, s_j, settings["criterion"])
                if f is None:
                    continue
                now = float(f(cur[j])[0])
                values = f(grid)
                g = float(grid[int(np.argmin(values))])
                r = optimize.minimize_scalar(
                    lambda v, f=f: float(f(v)[0]),
                    bounds=(max(lo, g - step), min(hi, g + step)),
                    method="bounded",
                    options={"xatol": 1e-3},
                )
                best, at = (float(r.fun), float(r.x)) if r.fun < values.min() else (float(values.min()), g)
                if best < now - tol:
                    cur[j] = at
    return cur


def fit_penalised_logistic(
    x: np.ndarray,
    y: np.ndarray,
    blocks: list[PenaltyBlock],
    settings: dict[str, Any],
    *,
    max_iter: int = 100,
    dev_tol: float = 1e-12,
    step_tol: float = 1e-9,
    names: list[str] | None = None,
    select_iter: int = 40,
) -> PenalisedResult:
    """Penalised IRLS of ``logit P(y=1) = X b`` minimising ``D(b) + sum_j lambda_j b_j' S_j b_j``, with the
    ``lambda_j`` chosen by ``settings["criterion"]`` (module docstring) for the first ``select_iter`` steps at
    most, then fixed until convergence."""
    y = np.asarray(y, dtype=np.float64)
    n, p = x.shape
    criterion = settings["criterion"]
    fixed = criterion == "fixed"
    log_lam = np.zeros(len(blocks))  # the search starts at lambda = 1 for every term

    def lambdas() -> np.ndarray:
        return np.full(len(blocks), float(settings["fixed_lambda"])) if fixed else 10.0**log_lam

    mu = (y + 0.5) / 2.0
    eta = np.log(mu / (1.0 - mu))
    beta = np.zeros(p)
    dev = binomial_deviance(y, eta)
    converged = False
    selecting = not fixed and bool(blocks)
    stalled = 0
    it = 0
    chol = None
    for it in range(1, max_iter + 1):
        mu_c = np.clip(mu, _EPS, 1.0 - _EPS)
        w = mu_c * (1.0 - mu_c)
        z = eta + (y - mu_c) / w
        gram = _weighted_gram(x, w)
        if it == 1:
            _check_rank(gram, names)
        rhs = x.T @ (w * z)
        moved = False
        if selecting:
            new_log = _select(gram, rhs, float(np.dot(w, z * z)), n, blocks, log_lam, settings)
            moved = bool(np.max(np.abs(new_log - log_lam), initial=0.0) > 0.02)
            log_lam = new_log
            if it >= select_iter or (it > 2 and not moved):
                selecting = False  # lambdas settled (or the iteration budget for choosing them is spent)
        pen = total_penalty(blocks, lambdas(), p)
        try:
            chol = _scaled_cholesky(gram + pen)
        except linalg.LinAlgError:
            raise _separation_error(x, y, beta, eta, it, names, "the penalised information became singular") from None
        new = _scaled_solve(chol, rhs)
        if not np.all(np.isfinite(new)):
            raise _separation_error(x, y, beta, eta, it, names, "the coefficients became non-finite")
        new_eta = x @ new
        new_dev = binomial_deviance(y, new_eta)
        new_pen_dev = new_dev + float(new @ pen @ new)
        old_pen_dev = dev + float(beta @ pen @ beta)  # the objective at the current coefficients, same penalty
        if not moved and it > 1:  # halve a step that made the penalised deviance worse
            step = new - beta
            halvings = 0
            while (not np.isfinite(new_pen_dev) or new_pen_dev > old_pen_dev * (1 + 1e-12)) and halvings < 30:
                step = step / 2.0
                new = beta + step
                new_eta = x @ new
                new_dev = binomial_deviance(y, new_eta)
                new_pen_dev = new_dev + float(new @ pen @ new)
                halvings += 1
        dev_change = abs(new_pen_dev - old_pen_dev) / (abs(new_pen_dev) + 0.1)
        max_step = float(np.max(np.abs(new - beta) / (1.0 + np.abs(new)))) if p else 0.0
        beta, eta, dev = new, new_eta, new_dev
        mu = np.exp(-np.logaddexp(0.0, -eta))
        if it > 1 and not selecting and not moved:
            # converged; or stalled at rounding level (a term near its null space under a large lambda leaves
            # the penalised deviance and coefficients wobbling at ~1e-10 and ~1e-7): three such steps in a row
            stalled = stalled + 1 if dev_change < 1e-8 and max_step < 1e-6 else 0
            if (dev_change < dev_tol and max_step < step_tol) or stalled >= 3:
                converged = True
                break
    if not converged or chol is None:
        raise _separation_error(x, y, beta, eta, it, names, f"no convergence in {max_iter} iterations")
    mu_c = np.clip(mu, _EPS, 1.0 - _EPS)
    w = mu_c * (1.0 - mu_c)
    gram = _weighted_gram(x, w)
    pen = total_penalty(blocks, lambdas(), p)
    chol = _scaled_cholesky(gram + pen)
    cov = _scaled_inverse(chol)
    edf = np.diag(cov @ gram)
    score = float("nan")
    if not fixed:
        z = eta + (y - mu_c) / w
        r = _working_score(gram, x.T @ (w * z), float(np.dot(w, z * z)), n, pen, criterion)
        score = float("nan") if r is None else r[0]
    return PenalisedResult(
        coef=beta,
        cov=(cov + cov.T) / 2.0,
        deviance=dev,
        null_deviance=null_deviance(y),
        n_iter=it,
        converged=True,
        n_obs=n,
        n_events=int(y.sum()),
        lambdas=lambdas(),
        edf=edf,
        criterion=criterion,
        score=score,
    )


def smoothing_table(blocks: list[PenaltyBlock], res: PenalisedResult, names: list[str]) -> list[dict[str, Any]]:
    """Per penalised term: its columns (``names``: the fitted design's), chosen ``lambda`` (and ``log10``),
    penalty scale and effective degrees of freedom."""
    out = []
    for blk, lam in zip(blocks, res.lambdas, strict=True):
        cols = list(blk.columns)
        out.append(
            {
                "term": blk.term,
                "columns": [names[c] for c in cols],
                "lambda": float(lam),
                "log10_lambda": float(np.log10(lam)) if lam > 0 else None,
                "penalty_scale": float(blk.scale),
                "edf": float(np.sum(res.edf[cols])),
            }
        )
    return out
