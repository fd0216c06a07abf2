"""The two-stage density as a nutpie model whose log density and draws never pass through Python.

``nutpie.compiled_pyfunc.from_pyfunc`` calls a Python function for every gradient: on the
national DMS full_13 model (2,970 parameters, 5,838 nodes) the numba density itself takes
about 145 us, the call through Python about 100 us more. Here the density
(:func:`toolkit.bayes.density.logp_and_grad`) and the expansion of a draw into the stored
variables are numba C callbacks that nutpie's Rust sampler calls directly, the way nutpie
runs a PyMC model compiled with its numba backend (``nutpie.compile_pymc``). The callbacks
(in :mod:`toolkit.bayes.density`, beside the density) are compiled once (about 5 s) and cached
on disk by numba; they read a model's arrays through a table of addresses (``user_data``), so a
new model costs no compilation.

Same density, same initial points, same seeds: the draws equal those of the Python-callback
model (``tests/bayes/test_native.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from toolkit.bayes.density import (
    _CELL_MEASURE,
    _CELL_PARENT,
    _CENTRED,
    _E,
    _FACTOR,
    _G,
    _LAM,
    _N_CELLS,
    _N_DIM,
    _N_EXPANDED,
    _N_LEVELS,
    _N_MEASURES,
    _N_NODES,
    _N_SITES,
    _NODE_OFFSET,
    _NODE_PTR,
    _NODE_WEIGHT,
    _OBSERVED,
    _PRIORS,
    _SITE_PARENT,
    _SIZES,
    _SLOTS,
    _TAU,
    expand_c,
    logp_c,
)

if TYPE_CHECKING:
    from nutpie.compile_pymc import CompiledPyMCModel

    from toolkit.bayes.twostage import DensityArgs, FloatArray, IntArray


def native_model(
    args: DensityArgs,
    site_parent: list[IntArray],
    sizes: list[int],
    factor: bool,
    names: list[str],
    shapes: list[tuple[int, ...]],
    dims: dict[str, tuple[str, ...]],
    coords: dict[str, list[str]],
    initial_point: Callable[[int], FloatArray],
) -> CompiledPyMCModel:
    """A nutpie model of the two-stage density with C callbacks.

    ``args`` are :func:`~toolkit.bayes.density.logp_and_grad`'s arguments after ``x``; ``names`` and
    ``shapes`` list the stored variables in the order the expansion writes them (shift, per level sigma,
    tau[, lambda, corr][, u], then b_site); the site level is the last level (``cell_data``).
    """
    (
        m,
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
        shift_sd,
        group_sd,
    ) = args
    n_dim = len(centred)
    n_sites = len(site_parent[0])
    n_expanded = int(sum(int(np.prod(s)) for s in shapes))
    keep = {  # the arrays the callbacks read: C-contiguous, owned by the model so they outlive the sampler
        "tau": tau_ofs,
        "lam": lam_ofs,
        "e": e_ofs,
        "g": g_ofs,
        "centred": centred,
        "cell_measure": cell_measure,
        "cell_parent": cell_parent,
        "observed": observed,
        "node_ptr": node_ptr,
        "node_offset": node_offset,
        "node_weight": node_weight,
        "priors": np.array([shift_sd, group_sd], dtype=np.float64),
        "site_parent": np.stack(site_parent),
        "sizes": np.asarray(sizes),
    }
    keep = {
        k: np.ascontiguousarray(
            v, dtype=np.float64 if k in ("observed", "node_offset", "node_weight", "priors") else np.int64
        )
        for k, v in keep.items()
    }
    ud = np.zeros(_SLOTS, dtype=np.uint64)
    ud[[_N_MEASURES, _N_LEVELS, _N_DIM, _N_SITES, _N_EXPANDED, _FACTOR, _N_CELLS, _N_NODES]] = [
        m,
        len(sizes),
        n_dim,
        n_sites,
        n_expanded,
        int(factor),
        len(cell_measure),
        len(node_offset),
    ]
    for slot, key in (
        (_TAU, "tau"),
        (_LAM, "lam"),
        (_E, "e"),
        (_G, "g"),
        (_CENTRED, "centred"),
        (_CELL_MEASURE, "cell_measure"),
        (_CELL_PARENT, "cell_parent"),
        (_OBSERVED, "observed"),
        (_NODE_PTR, "node_ptr"),
        (_NODE_OFFSET, "node_offset"),
        (_NODE_WEIGHT, "node_weight"),
        (_PRIORS, "priors"),
        (_SITE_PARENT, "site_parent"),
        (_SIZES, "sizes"),
    ):
        ud[slot] = keep[key].ctypes.data
    slices, start = [], 0
    for s in shapes:
        n = int(np.prod(s))
        slices.append(slice(start, start + n))
        start += n
    return _native_class()(
        _n_dim=n_dim,
        dims=dims,
        _coords=coords,
        _shapes={n: tuple(s) for n, s in zip(names, shapes, strict=True)},
        compiled_logp_func=logp_c,
        compiled_expand_func=expand_c,
        initial_point_func=initial_point,
        shared_data={},
        user_data=ud,
        n_expanded=n_expanded,
        shape_info=(list(names), slices, [tuple(s) for s in shapes]),
        logp_func=None,
        expand_func=None,
        _arrays=keep,
    )


@lru_cache(maxsize=1)
def _native_class() -> type[CompiledPyMCModel]:
    """nutpie's model class for numba callbacks, holding the arrays the callbacks read (built on first use:
    importing nutpie costs seconds)."""
    from nutpie.compile_pymc import CompiledPyMCModel

    @dataclass(frozen=True)
    class NativeModel(CompiledPyMCModel):
        _arrays: dict[str, Any] = dataclasses.field(default_factory=dict)

    return NativeModel
