"""The two-stage model's log density and gradient, hand-written in numba for nutpie.

The PyMC version of the same model (:func:`toolkit.bayes.twostage.build_two_stage_model`)
compiles for about 30 to 50 s per program and samples slowly, because PyTensor's gathers
and scatter-adds over 50,000 nodes are costly; this one compiles in seconds and evaluates
the log density and its gradient in one pass over the cells (``O(cells + nodes)``).

Parameters, in order: ``shift`` (M); then per level ``l`` (outer to inner): ``log_tau_l`` (M),
``log_lambda_l`` (M, factor model only), ``e_l`` (entities x M) and ``g_l`` (entities, factor
model only). A level's effect on measure ``m`` is ``u_l[j, m] = lambda_lm g_l[j] + tau_lm e_l[j, m]``:
a general factor shared by an entity's measures plus a measure-specific part, so that effects
are correlated across measures (``corr = lambda_m lambda_k / (sigma_m sigma_k)``) with
``sigma_lm^2 = lambda_lm^2 + tau_lm^2``; the independent model has ``lambda = 0``. Priors:
``shift ~ Normal(0, shift_sd)``, ``tau, lambda ~ HalfNormal(group_sd)`` (sampled on the log
scale, with the Jacobian), ``e, g ~ Normal(0, 1)`` (non-centred). An entity-measure effect whose
data are informative (Fisher information above ``centre_information``) is sampled centred
instead, ``u ~ Normal(0, tau)``: the non-centred form mixes slowly where the likelihood
dominates the prior, the centred one where it does not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numba
import numpy as np
from nutpie.compile_pymc import address_as_void_pointer

if TYPE_CHECKING:
    from toolkit.bayes.twostage import FloatArray, IntArray


@numba.njit(nogil=True, cache=True)
def logp_and_grad(
    x: FloatArray,
    n_measures: int,
    tau_ofs: IntArray,
    lam_ofs: IntArray,
    e_ofs: IntArray,
    g_ofs: IntArray,
    centred: IntArray,
    cell_measure: IntArray,
    cell_parent: IntArray,
    observed: FloatArray,
    node_ptr: IntArray,
    node_offset: FloatArray,
    node_weight: FloatArray,
    shift_sd: float,
    group_sd: float,
) -> tuple[float, FloatArray]:
    """Log density (up to a constant) and its gradient at ``x``.

    ``centred`` (flat, aligned with ``x``): 1 where an entity-measure effect is sampled centred,
    ``x ~ Normal(shift, tau)`` at the outermost level (``x`` is then the shift plus the effect)
    and ``x ~ Normal(0, tau)`` below it; 0 where non-centred, ``u = tau x``.

    The terms are added in a fixed order (priors of the shift and the SDs, of the raw effects, then
    cell by cell), each step adding to the running ``lp`` and ``grad``.
    """
    n_lv = tau_ofs.shape[0]
    grad = np.zeros_like(x)
    tau = np.empty((n_lv, n_measures))
    lam = np.zeros((n_lv, n_measures))
    lp = _hyper_prior(x, n_measures, tau_ofs, lam_ofs, shift_sd, group_sd, tau, lam, grad)
    lp = _effect_prior(x, n_measures, tau_ofs, e_ofs, centred, tau, lp, grad)
    lp = _likelihood(
        x,
        n_measures,
        tau_ofs,
        lam_ofs,
        e_ofs,
        g_ofs,
        centred,
        cell_measure,
        cell_parent,
        observed,
        node_ptr,
        node_offset,
        node_weight,
        tau,
        lam,
        lp,
        grad,
    )
    return lp, grad


@numba.njit(nogil=True, cache=True)
def _hyper_prior(
    x: FloatArray,
    m_count: int,
    tau_ofs: IntArray,
    lam_ofs: IntArray,
    shift_sd: float,
    group_sd: float,
    tau: FloatArray,
    lam: FloatArray,
    grad: FloatArray,
) -> float:
    """Priors of the shifts (normal) and of the SDs ``tau`` and ``lambda`` (half-normal, on the log scale with
    the Jacobian): returns their log density, fills ``tau`` and ``lam`` (levels x M) and their gradient."""
    lp = 0.0
    for m in range(m_count):
        lp -= 0.5 * (x[m] / shift_sd) ** 2
        grad[m] = -x[m] / shift_sd**2
    for lv in range(tau_ofs.shape[0]):
        for m in range(m_count):
            k = tau_ofs[lv] + m
            t = np.exp(x[k])
            tau[lv, m] = t
            lp += -0.5 * (t / group_sd) ** 2 + x[k]
            grad[k] = -((t / group_sd) ** 2) + 1.0
            if lam_ofs[lv] >= 0:
                k = lam_ofs[lv] + m
                t = np.exp(x[k])
                lam[lv, m] = t
                lp += -0.5 * (t / group_sd) ** 2 + x[k]
                grad[k] = -((t / group_sd) ** 2) + 1.0
    return lp


@numba.njit(nogil=True, cache=True)
def _effect_prior(
    x: FloatArray,
    m_count: int,
    tau_ofs: IntArray,
    e_ofs: IntArray,
    centred: IntArray,
    tau: FloatArray,
    lp: float,
    grad: FloatArray,
) -> float:
    """``lp`` plus the prior of the raw effects (``e_l``, centred or not, then ``g_l``, up to the next level);
    their gradient (and the centred effects' share of the SDs' and shifts' gradient) into ``grad``."""
    n_lv = tau_ofs.shape[0]
    for lv in range(n_lv):
        start = e_ofs[lv]
        stop = tau_ofs[lv + 1] if lv + 1 < n_lv else x.shape[0]
        for k in range(start, stop):
            if centred[k] == 1:
                m = (k - start) % m_count
                t = tau[lv, m]
                d = x[k] - x[m] if lv == 0 else x[k]  # the outermost level is centred on the shift
                lp += -0.5 * (d / t) ** 2 - np.log(t)
                grad[k] = -d / (t * t)
                grad[tau_ofs[lv] + m] += (d / t) ** 2 - 1.0
                if lv == 0:
                    grad[m] += d / (t * t)
            else:
                lp -= 0.5 * x[k] * x[k]
                grad[k] = -x[k]
    return lp


@numba.njit(nogil=True, cache=True)
def _likelihood(
    x: FloatArray,
    m_count: int,
    tau_ofs: IntArray,
    lam_ofs: IntArray,
    e_ofs: IntArray,
    g_ofs: IntArray,
    centred: IntArray,
    cell_measure: IntArray,
    cell_parent: IntArray,
    observed: FloatArray,
    node_ptr: IntArray,
    node_offset: FloatArray,
    node_weight: FloatArray,
    tau: FloatArray,
    lam: FloatArray,
    lp: float,
    grad: FloatArray,
) -> float:
    """``lp`` plus the log-likelihood of every cell, ``O b - sum_n w_n softplus(o_n + b)`` over its nodes;
    its gradient into ``grad`` (through ``r = d loglik / d b``).

    One call for all the cells: a call per cell (even inlined) made the gradient about 1.5 times slower.
    """
    n_lv = tau_ofs.shape[0]
    for c in range(cell_measure.shape[0]):
        m = cell_measure[c]
        c0 = centred[e_ofs[0] + cell_parent[0, c] * m_count + m] == 1  # outermost effect holds the shift
        b = 0.0 if c0 else x[m]
        for lv in range(n_lv):
            j = cell_parent[lv, c]
            ke = e_ofs[lv] + j * m_count + m
            b += x[ke] if centred[ke] == 1 else tau[lv, m] * x[ke]
            if g_ofs[lv] >= 0:
                b += lam[lv, m] * x[g_ofs[lv] + j]
        r = observed[c]
        lpc = observed[c] * b
        for nd in range(node_ptr[c], node_ptr[c + 1]):
            eta = node_offset[nd] + b
            w = node_weight[nd]
            if eta > 0:  # softplus and expit share one exp (a quarter of the gradient's time)
                z = np.exp(-eta)
                lpc -= w * (eta + np.log1p(z))
                r -= w / (1.0 + z)
            else:
                z = np.exp(eta)
                lpc -= w * np.log1p(z)
                r -= w * z / (1.0 + z)
        lp += lpc
        if not c0:
            grad[m] += r
        for lv in range(n_lv):
            j = cell_parent[lv, c]
            ke = e_ofs[lv] + j * m_count + m
            if centred[ke] == 1:
                grad[ke] += r
            else:
                grad[tau_ofs[lv] + m] += r * x[ke] * tau[lv, m]
                grad[ke] += r * tau[lv, m]
            if g_ofs[lv] >= 0:
                kg = g_ofs[lv] + j
                grad[lam_ofs[lv] + m] += r * x[kg] * lam[lv, m]
                grad[kg] += r * lam[lv, m]
    return lp


@numba.njit(nogil=True, cache=True)
def level_effects(
    x: FloatArray,
    lv: int,
    n_entities: int,
    n_measures: int,
    tau_ofs: IntArray,
    lam_ofs: IntArray,
    e_ofs: IntArray,
    g_ofs: IntArray,
    centred: IntArray,
) -> FloatArray:
    """``u_l`` (entities x M) of level ``lv`` at ``x``."""
    u = np.empty((n_entities, n_measures))
    for m in range(n_measures):
        t = np.exp(x[tau_ofs[lv] + m])
        lmb = np.exp(x[lam_ofs[lv] + m]) if lam_ofs[lv] >= 0 else 0.0
        for j in range(n_entities):
            k = e_ofs[lv] + j * n_measures + m
            v = (x[k] - (x[m] if lv == 0 else 0.0)) if centred[k] == 1 else t * x[k]
            if g_ofs[lv] >= 0:
                v += lmb * x[g_ofs[lv] + j]
            u[j, m] = v
    return u


class Layout:
    """Where each parameter block sits in the flat parameter vector."""

    def __init__(self, n_measures: int, level_sizes: list[int], factor: bool) -> None:
        m = n_measures
        self.n_measures = m
        self.level_sizes = list(level_sizes)
        self.factor = factor
        tau: list[int] = []
        lam: list[int] = []
        e: list[int] = []
        g: list[int] = []
        k = m
        for n in level_sizes:
            tau.append(k)
            k += m
            if factor:
                lam.append(k)
                k += m
            else:
                lam.append(-1)
            e.append(k)
            k += n * m
            if factor:
                g.append(k)
                k += n
            else:
                g.append(-1)
        self.tau_ofs, self.lam_ofs = np.array(tau, np.int64), np.array(lam, np.int64)
        self.e_ofs, self.g_ofs = np.array(e, np.int64), np.array(g, np.int64)
        self.ndim = k

    def offsets(self) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        """The offsets of the ``tau``, ``lambda``, ``e`` and ``g`` blocks per level (-1: no such block)."""
        return self.tau_ofs, self.lam_ofs, self.e_ofs, self.g_ofs


# ---- C callbacks for nutpie (toolkit.bayes.native). They live in this file so that numba's on-disk cache
# (cache=True) is invalidated whenever the density changes: numba checks only the defining file's stamp.

# slots of the uint64 table handed to the callbacks (scalars, then array addresses)
_N_MEASURES, _N_LEVELS, _N_DIM, _N_SITES, _N_EXPANDED, _FACTOR = range(6)
(
    _TAU,
    _LAM,
    _E,
    _G,
    _CENTRED,
    _CELL_MEASURE,
    _CELL_PARENT,
    _OBSERVED,
    _NODE_PTR,
    _NODE_OFFSET,
    _NODE_WEIGHT,
    _PRIORS,
    _SITE_PARENT,
    _SIZES,
    _N_CELLS,
    _N_NODES,
) = range(6, 22)
_SLOTS = 22
_I64, _F64 = np.int64, np.float64


@numba.njit(inline="always", cache=True)
def _arr(ud: Any, slot: int, n: int, dtype: Any) -> Any:
    """The array of ``n`` elements whose address is in slot ``slot`` of the user-data table ``ud``."""
    return numba.carray(address_as_void_pointer(ud[slot]), (n,), dtype)


_LOGP_SIG = numba.types.int64(
    numba.types.uint64,
    numba.types.CPointer(numba.types.double),
    numba.types.CPointer(numba.types.double),
    numba.types.CPointer(numba.types.double),
    numba.types.voidptr,
)


@numba.cfunc(_LOGP_SIG, nogil=True, cache=True)
def logp_c(dim: int, x_: Any, out_: Any, logp_: Any, user_data_: Any) -> int:
    """nutpie's log-density callback: :func:`logp_and_grad` at ``x_`` into ``logp_`` and ``out_``; 0 when finite.

    The arguments are C pointers (numba ``CPointer``s); the model's arrays are read from ``user_data_``.
    """
    ud = numba.carray(user_data_, (_SLOTS,), np.uint64)
    n_dim = ud[_N_DIM]
    if dim != n_dim:
        return -1
    m, n_lv, n_cells, n_nodes = ud[_N_MEASURES], ud[_N_LEVELS], ud[_N_CELLS], ud[_N_NODES]
    x = numba.carray(x_, (n_dim,))
    out = numba.carray(out_, (n_dim,))
    logp = numba.carray(logp_, (1,))
    priors = _arr(ud, _PRIORS, 2, _F64)
    cell_parent = _arr(ud, _CELL_PARENT, n_lv * n_cells, _I64).reshape((n_lv, n_cells))
    lp, grad = logp_and_grad(
        x,
        m,
        _arr(ud, _TAU, n_lv, _I64),
        _arr(ud, _LAM, n_lv, _I64),
        _arr(ud, _E, n_lv, _I64),
        _arr(ud, _G, n_lv, _I64),
        _arr(ud, _CENTRED, n_dim, _I64),
        _arr(ud, _CELL_MEASURE, n_cells, _I64),
        cell_parent,
        _arr(ud, _OBSERVED, n_cells, _F64),
        _arr(ud, _NODE_PTR, n_cells + 1, _I64),
        _arr(ud, _NODE_OFFSET, n_nodes, _F64),
        _arr(ud, _NODE_WEIGHT, n_nodes, _F64),
        priors[0],
        priors[1],
    )
    logp[0] = lp
    out[:] = grad
    if not np.all(np.isfinite(grad)):
        return 3
    if not np.isfinite(lp):
        return 4
    return 0


_EXPAND_SIG = numba.types.int64(
    numba.types.uint64,
    numba.types.uint64,
    numba.types.CPointer(numba.types.double),
    numba.types.CPointer(numba.types.double),
    numba.types.voidptr,
)


@numba.cfunc(_EXPAND_SIG, nogil=True, cache=True)
def expand_c(dim: int, expanded: int, x_: Any, out_: Any, user_data_: Any) -> int:
    """nutpie's expansion callback: the stored variables of the draw ``x_`` into ``out_``, in the order of
    :func:`toolkit.bayes.twostage.stored_variables` (the Python model's :func:`~toolkit.bayes.twostage.expand_draw`).
    """
    ud = numba.carray(user_data_, (_SLOTS,), np.uint64)
    n_dim, n_exp = ud[_N_DIM], ud[_N_EXPANDED]
    if dim != n_dim or expanded != n_exp:
        return -1
    m, n_lv, n_sites, factor = ud[_N_MEASURES], ud[_N_LEVELS], ud[_N_SITES], ud[_FACTOR]
    x = numba.carray(x_, (n_dim,))
    out = numba.carray(out_, (n_exp,))
    tau_ofs, lam_ofs = _arr(ud, _TAU, n_lv, _I64), _arr(ud, _LAM, n_lv, _I64)
    e_ofs, g_ofs = _arr(ud, _E, n_lv, _I64), _arr(ud, _G, n_lv, _I64)
    centred = _arr(ud, _CENTRED, n_dim, _I64)
    sizes = _arr(ud, _SIZES, n_lv, _I64)
    site_parent = _arr(ud, _SITE_PARENT, n_lv * n_sites, _I64).reshape((n_lv, n_sites))
    b = np.empty((n_sites, m))
    for s in range(n_sites):
        for j in range(m):
            b[s, j] = x[j]
    pos = 0
    for j in range(m):
        out[pos + j] = x[j]
    pos += m
    for k in range(n_lv):
        sig = np.empty(m)
        tau = np.empty(m)
        lam = np.zeros(m)
        for j in range(m):
            tau[j] = np.exp(x[tau_ofs[k] + j])
            if factor == 1:
                lam[j] = np.exp(x[lam_ofs[k] + j])
            sig[j] = np.sqrt(tau[j] ** 2 + lam[j] ** 2)
        out[pos : pos + m] = sig
        out[pos + m : pos + 2 * m] = tau
        pos += 2 * m
        if factor == 1:
            out[pos : pos + m] = lam
            pos += m
            for i in range(m):
                for j in range(m):
                    out[pos + i * m + j] = 1.0 if i == j else lam[i] * lam[j] / (sig[i] * sig[j])
            pos += m * m
        u = level_effects(x, k, sizes[k], m, tau_ofs, lam_ofs, e_ofs, g_ofs, centred)
        if k < n_lv - 1:  # every level above the site is stored; the site level only inside b_site
            out[pos : pos + u.size] = u.ravel()
            pos += u.size
        for s in range(n_sites):
            for j in range(m):
                b[s, j] += u[site_parent[k, s], j]
    out[pos : pos + b.size] = b.ravel()
    return 0
