"""Binomial-logit maximum likelihood by iteratively reweighted least squares.

Plain NumPy/SciPy, float64 throughout. Each iteration forms ``X'WX`` with a
symmetric rank-k BLAS update over row chunks (bounded memory), solves by a
Jacobi-scaled Cholesky, halves the step if the deviance rises, and stops when
both the relative deviance change and the largest coefficient step are below
their tolerances. The covariance is the inverse Fisher information at
convergence. Rank deficiency and (quasi-)separation are reported as errors.

Chosen by measurement over glum 3.4 (same design, same answer to ~1e-8): on
1M x 81 a dense random design took 2.2 s here against 1.9 s for glum, and on
the DES-shaped designs 2.5 s against 2.7 s (1M x 79) and 0.5 s against 1.7 s
(200k x 79); glum is also not a dependency of the toolkit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg
from scipy.linalg import blas

from toolkit.errors import ConvergenceError, SpecError

CHUNK_ROWS = 16384
_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class IRLSResult:
    """Coefficients, covariance and fit statistics of one logistic fit."""

    coef: np.ndarray
    cov: np.ndarray
    deviance: float
    null_deviance: float
    n_iter: int
    converged: bool
    n_obs: int
    n_events: int


def log_expit_pair(eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``log(p)`` and ``log(1 - p)`` for ``p = expit(eta)``, stable for large ``|eta|``."""
    return -np.logaddexp(0.0, -eta), -np.logaddexp(0.0, eta)


def binomial_deviance(y: np.ndarray, eta: np.ndarray) -> float:
    """Deviance of 0/1 outcomes ``y`` at linear predictor ``eta`` (logit link)."""
    lp, lq = log_expit_pair(eta)
    return float(-2.0 * (np.dot(y, lp) + np.dot(1.0 - y, lq)))


def null_deviance(y: np.ndarray, offset: np.ndarray | None = None) -> float:
    """Deviance of the intercept-only model (with ``offset``, the intercept is fitted by Newton)."""
    if offset is None:
        ybar = float(np.mean(y))
        if ybar in (0.0, 1.0):
            return 0.0
        return binomial_deviance(y, np.full(y.shape, np.log(ybar / (1 - ybar))))
    res = fit_logistic(np.ones((y.size, 1), order="F"), y, offset=offset, with_null=False)
    return res.deviance


def _weighted_gram(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``X' diag(w) X`` (both triangles), by a BLAS rank-k update per chunk of rows."""
    n, p = x.shape
    gram = np.zeros((p, p), order="F")
    sw = np.sqrt(w)
    buf = np.empty((min(CHUNK_ROWS, n), p), order="F")
    for start in range(0, n, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, n)
        xs = buf[: stop - start]
        np.multiply(x[start:stop], sw[start:stop, None], out=xs)
        gram = blas.dsyrk(1.0, xs, beta=1.0, c=gram, trans=1, lower=0, overwrite_c=1)
    return np.triu(gram) + np.triu(gram, 1).T


def _scaled_cholesky(gram: np.ndarray) -> tuple:
    """Cholesky factor of ``D G D`` with ``D = diag(G)^-1/2`` (Jacobi scaling: columns on very
    different scales, such as counts in thousands next to 0/1 indicators, lose no precision)."""
    d = 1.0 / np.sqrt(np.diag(gram))
    return linalg.cho_factor(gram * np.outer(d, d), lower=False, check_finite=False), d


def _scaled_solve(chol: tuple, rhs: np.ndarray) -> np.ndarray:
    """Solve ``G b = rhs`` (1-d) from :func:`_scaled_cholesky` output."""
    factor, d = chol
    return d * linalg.cho_solve(factor, d * rhs, check_finite=False)


def _scaled_inverse(chol: tuple) -> np.ndarray:
    """``G^-1`` from :func:`_scaled_cholesky` output."""
    factor, d = chol
    return linalg.cho_solve(factor, np.eye(d.size), check_finite=False) * np.outer(d, d)


def dependent_columns(gram: np.ndarray, tol: float = 1e-10) -> list[int]:
    """Columns that are (numerically) linear combinations of the columns before them, or all zero.

    A left-looking Cholesky of the Jacobi-scaled ``X'WX`` in column order: column ``j`` is
    dependent when its squared residual on the earlier independent columns is below ``tol``
    (as R flags aliased coefficients, the later column of a collinear set is named).
    """
    d = np.sqrt(np.diag(gram))
    safe = np.where(d > 0, d, 1.0)
    s = gram / np.outer(safe, safe)
    p = s.shape[0]
    low = np.zeros((p, p))
    dependent = []
    for j in range(p):
        v = s[j:, j] - low[j:, :j] @ low[j, :j]
        if d[j] <= 0 or v[0] <= tol:
            dependent.append(j)
            continue
        low[j:, j] = v / np.sqrt(v[0])
    return dependent


class AliasedColumnsError(SpecError):
    """The design is rank-deficient; ``columns`` are the positions of the aliased (dependent) columns."""

    def __init__(self, message: str, columns: list[int]):
        super().__init__(message)
        self.columns = columns


def _check_rank(gram: np.ndarray, names: list[str] | None) -> None:
    """Raise :class:`AliasedColumnsError` naming the columns that are linear combinations of earlier ones
    (or all zero)."""
    bad = dependent_columns(gram)
    if bad:
        label = [names[i] if names else f"column {i}" for i in bad]
        raise AliasedColumnsError(
            f"the design is rank-deficient: {len(bad)} column(s) are all zero or linear combinations of earlier "
            f"columns ({', '.join(label[:10])}{', ...' if len(label) > 10 else ''}); "
            "drop a term, merge sparse levels, or lower a spline's df",
            bad,
        )


def fit_logistic(
    x: np.ndarray,
    y: np.ndarray,
    *,
    offset: np.ndarray | None = None,
    max_iter: int = 50,
    dev_tol: float = 1e-12,
    step_tol: float = 1e-9,
    names: list[str] | None = None,
    final_information: bool = False,
    with_null: bool = True,
) -> IRLSResult:
    """Fit ``logit P(y=1) = offset + X b`` by IRLS.

    Parameters
    ----------
    x : (n, p) float64 array (Fortran order is fastest).
    y : (n,) array of 0/1.
    offset : optional (n,) array added to the linear predictor.
    max_iter : iteration limit; reaching it raises ConvergenceError.
    dev_tol : relative deviance change ``|D_k - D_{k-1}| / (|D_k| + 0.1)`` to stop at.
    step_tol : largest ``|b_k - b_{k-1}| / (1 + |b_k|)`` to stop at (both criteria must hold).
    names : column names, used in error messages.
    final_information : if True, recompute ``X'WX`` at the final coefficients for the
        covariance; by default the last iteration's (at coefficients within ``step_tol``
        of the final ones, as statsmodels does) is inverted, saving one pass over X.
    with_null : compute the null deviance (intercept-only, with the offset if any).

    Raises
    ------
    SpecError
        If the design is rank-deficient.
    ConvergenceError
        If the iterations do not converge (typically (quasi-)separation).
    """
    y = np.asarray(y, dtype=np.float64)
    n, p = x.shape
    off = np.zeros(n) if offset is None else np.asarray(offset, dtype=np.float64)
    mu = (y + 0.5) / 2.0  # statsmodels' and R's starting values
    eta = np.log(mu / (1.0 - mu))
    beta = np.zeros(p)
    dev = binomial_deviance(y, eta)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        mu_c = np.clip(mu, _EPS, 1.0 - _EPS)  # as statsmodels: keeps weights positive under separation
        w = mu_c * (1.0 - mu_c)
        z = eta - off + (y - mu_c) / w
        gram = _weighted_gram(x, w)
        if it == 1:
            _check_rank(gram, names)
        rhs = x.T @ (w * z)
        try:
            chol = _scaled_cholesky(gram)
        except linalg.LinAlgError:
            raise _separation_error(
                x, y, beta, eta, it, names, "the weighted information matrix became singular"
            ) from None
        new = _scaled_solve(chol, rhs)
        if not np.all(np.isfinite(new)):
            raise _separation_error(x, y, beta, eta, it, names, "the coefficients became non-finite")
        step = new - beta if it > 1 else np.zeros(p)
        new_eta = off + x @ new
        new_dev = binomial_deviance(y, new_eta)
        halvings = 0
        while (not np.isfinite(new_dev) or new_dev > dev * (1 + 1e-12)) and it > 1 and halvings < 30:
            step = step / 2.0
            new = beta + step
            new_eta = off + x @ new
            new_dev = binomial_deviance(y, new_eta)
            halvings += 1
        dev_change = abs(new_dev - dev) / (abs(new_dev) + 0.1)
        max_step = float(np.max(np.abs(new - beta) / (1.0 + np.abs(new)))) if p else 0.0
        beta, eta, dev = new, new_eta, new_dev
        mu = np.exp(-np.logaddexp(0.0, -eta))
        if it > 1 and dev_change < dev_tol and max_step < step_tol:
            converged = True
            break
    if not converged:
        raise _separation_error(x, y, beta, eta, it, names, f"no convergence in {max_iter} iterations")
    if final_information:
        try:
            mu_c = np.clip(mu, _EPS, 1.0 - _EPS)
            chol = _scaled_cholesky(_weighted_gram(x, mu_c * (1.0 - mu_c)))
        except linalg.LinAlgError:
            raise _separation_error(x, y, beta, eta, it, names, "the information matrix is singular") from None
    cov = _scaled_inverse(chol)
    return IRLSResult(
        coef=beta,
        cov=(cov + cov.T) / 2.0,
        deviance=dev,
        null_deviance=null_deviance(y, offset) if with_null else float("nan"),
        n_iter=it,
        converged=True,
        n_obs=n,
        n_events=int(y.sum()),
    )


class SeparationError(ConvergenceError):
    """IRLS did not converge; ``columns`` names the design columns with the largest coefficients."""

    def __init__(self, message: str, columns: list[str] | None = None):
        super().__init__(message)
        self.columns = list(columns or [])


def _separation_error(
    x: np.ndarray, y: np.ndarray, beta: np.ndarray, eta: np.ndarray, it: int, names: list[str] | None, why: str
) -> SeparationError:
    extreme = int(np.count_nonzero(np.abs(eta) > 15))
    big = np.argsort(-np.abs(beta))[:5]
    label = [(names[i] if names else f"column {i}") for i in big if abs(beta[i]) > 8]
    hint = (
        (
            f"; {extreme} row(s) have fitted probabilities within 3e-7 of 0 or 1, which suggests "
            "(quasi-)complete separation"
        )
        if extreme
        else ""
    )
    cols = f"; largest coefficients: {', '.join(label)}" if label else ""
    return SeparationError(
        f"logistic fit failed after {it} iteration(s): {why}{hint}{cols}. "
        "Merge sparse levels, drop the separating term, or lower spline df.",
        label,
    )
