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

import numba
import numpy as np


@numba.njit(nogil=True, cache=False)
def _softplus(x):
    if x > 0:
        return x + np.log1p(np.exp(-x))
    return np.log1p(np.exp(x))


@numba.njit(nogil=True, cache=False)
def _expit(x):
    if x >= 0:
        return 1.0 / (1.0 + np.exp(-x))
    z = np.exp(x)
    return z / (1.0 + z)


@numba.njit(nogil=True, cache=False)
def logp_and_grad(x, n_measures, tau_ofs, lam_ofs, e_ofs, g_ofs, centred, cell_measure, cell_parent, observed,
                  node_ptr, node_offset, node_weight, shift_sd, group_sd):
    """Log density (up to a constant) and its gradient at ``x``.

    ``centred`` (flat, aligned with ``x``): 1 where an entity-measure effect is sampled centred,
    ``x ~ Normal(shift, tau)`` at the outermost level (``x`` is then the shift plus the effect)
    and ``x ~ Normal(0, tau)`` below it; 0 where non-centred, ``u = tau x``.
    """
    m_count = n_measures
    n_lv = tau_ofs.shape[0]
    grad = np.zeros_like(x)
    lp = 0.0
    for m in range(m_count):
        lp -= 0.5 * (x[m] / shift_sd) ** 2
        grad[m] = -x[m] / shift_sd ** 2
    tau = np.empty((n_lv, m_count))
    lam = np.zeros((n_lv, m_count))
    for lv in range(n_lv):
        for m in range(m_count):
            k = tau_ofs[lv] + m
            t = np.exp(x[k])
            tau[lv, m] = t
            lp += -0.5 * (t / group_sd) ** 2 + x[k]
            grad[k] = -(t / group_sd) ** 2 + 1.0
            if lam_ofs[lv] >= 0:
                k = lam_ofs[lv] + m
                t = np.exp(x[k])
                lam[lv, m] = t
                lp += -0.5 * (t / group_sd) ** 2 + x[k]
                grad[k] = -(t / group_sd) ** 2 + 1.0
    # raw effects: e_l (centred or not) then g_l, up to the next level
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
            lpc -= node_weight[nd] * _softplus(eta)
            r -= node_weight[nd] * _expit(eta)
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
    return lp, grad


@numba.njit(nogil=True, cache=False)
def level_effects(x, lv, n_entities, n_measures, tau_ofs, lam_ofs, e_ofs, g_ofs, centred):
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

    def __init__(self, n_measures: int, level_sizes: list[int], factor: bool):
        m = n_measures
        self.n_measures = m
        self.level_sizes = list(level_sizes)
        self.factor = factor
        tau, lam, e, g = [], [], [], []
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

    def offsets(self):
        return self.tau_ofs, self.lam_ofs, self.e_ofs, self.g_ofs
