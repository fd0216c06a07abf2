"""The two-stage model: frequentist expected probabilities as offsets, site effects from the records.

Per program, for site ``s`` and measure ``m``, every record ``i`` contributes the Bernoulli
log-likelihood ``y_i (o_i + b_sm) - log(1 + exp(o_i + b_sm))`` with ``o_i = logit(p_i)`` the
frequentist expected probability. Summed over a cell's records this is
``O_sm b_sm - sum_i log1p(exp(o_i + b_sm))``: the observed count and the offsets are
sufficient. The offsets of a cell are compressed to at most ``nodes_per_cell`` weighted nodes
(equal-count quantile groups, each node at the logit of its group's mean probability, so the
expected outcomes at ``b = 0`` and the gradient there are exact); ``nodes_per_cell = 0`` keeps
every record (exact), ``1`` is the binomial approximation ``O ~ Binomial(n, expit(logit(E/n) + b))``.

Effects: ``b_sm = shift_m + sum_l u_l[level_l(s), m]`` over the configured nested levels
(organisation, contract, site; the release uses the site level alone). :func:`compile_two_stage`
builds the model that is sampled: a hand-written numba density (:mod:`toolkit.bayes.density`)
for nutpie, with effects independent across measures (``cross_measure: independent``, one model
per measure) or correlated through a general factor per entity (``factor``, one model per
program), each effect centred or non-centred by the information its records carry.
:func:`build_two_stage_model` is the same model in PyMC (non-centred; LKJ-correlated or
independent), the reference that the hand-written density is tested against.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
from numpy.typing import NDArray

from toolkit.bayes.config import BayesConfig
from toolkit.errors import InputError

if TYPE_CHECKING:  # importing these costs seconds (numba, nutpie, PyMC); the model builders import them when called
    import pymc as pm
    from nutpie.sample import CompiledModel

    from toolkit.bayes.density import Layout

FloatArray: TypeAlias = NDArray[np.float64]
IntArray: TypeAlias = NDArray[np.int64]
#: :func:`toolkit.bayes.density.logp_and_grad`'s arguments after ``x``: the number of measures, the layout's
#: offsets (tau, lambda, e, g), the centring flags, each cell's measure and entity per level, observed counts,
#: the cells' node pointers, the nodes' offsets and weights, and the prior SDs of the shift and of the levels.
DensityArgs: TypeAlias = tuple[
    int,
    IntArray,
    IntArray,
    IntArray,
    IntArray,
    IntArray,
    IntArray,
    IntArray,
    FloatArray,
    IntArray,
    FloatArray,
    FloatArray,
    float,
    float,
]

#: Frame column of each level's entity id.
LEVEL_COLUMNS = {"organisation": "rating_organisation_id", "contract": "rating_contract_id", "site": "site_id"}


def logit(p: npt.ArrayLike) -> FloatArray:
    """``log(p / (1 - p))``, with ``p`` clipped to ``[1e-12, 1 - 1e-12]``."""
    q = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
    return np.log(q) - np.log1p(-q)


@dataclass
class CellData:
    """A program's records reduced to what the two-stage model needs."""

    program: str
    measures: list[str]
    levels: list[str]
    entities: dict[str, pd.Index]  # level -> entity ids (sorted)
    site_parent: dict[str, IntArray]  # level -> code of each site's entity at that level
    cell_site: IntArray  # (C,) site code of each cell
    cell_measure: IntArray  # (C,) measure code
    observed: FloatArray  # (C,) O
    n: FloatArray  # (C,) records
    expected: FloatArray  # (C,) E = sum p
    node_cell: IntArray  # (K,) cell of each node
    node_offset: FloatArray  # (K,) logit of the node's probability
    node_weight: FloatArray  # (K,) records the node stands for


def _compress(
    o_sorted: FloatArray, starts: IntArray, counts: IntArray, k: int
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Nodes of each run ``o_sorted[starts[c]:starts[c]+counts[c]]``: at most ``k`` equal-count groups."""
    if k == 0:
        cell = np.repeat(np.arange(len(starts)), counts)
        return cell, o_sorted.copy(), np.ones(len(o_sorted))
    groups = np.minimum(counts, k)
    # group g of a cell holds ranks [floor(g n / G), floor((g+1) n / G)) of the cell's sorted records
    rank = np.arange(len(o_sorted)) - np.repeat(starts, counts)
    g = (rank * np.repeat(groups, counts)) // np.repeat(counts, counts)
    gid = np.repeat(np.concatenate([[0], np.cumsum(groups)[:-1]]), counts) + g
    w = np.bincount(gid, minlength=int(groups.sum())).astype(float)
    p = 1.0 / (1.0 + np.exp(-o_sorted))
    pbar = np.bincount(gid, weights=p, minlength=len(w)) / w
    cell = np.repeat(np.arange(len(starts)), groups)
    return cell, logit(pbar), w


def cell_data(
    frame: pd.DataFrame,
    program: str,
    measures: list[str],
    levels: Sequence[str],
    nodes_per_cell: int,
    p_col: str = "expected_p",
    y_col: str = "numerator",
) -> CellData:
    """Reduce a program's records (one row per record, with its expected probability) to cells and nodes."""
    rec = frame.loc[(frame["program"] == program) & frame["measure"].isin(measures)]
    if rec.empty:
        raise InputError(f"program {program}: no records for the two-stage model")
    need = [LEVEL_COLUMNS[lv] for lv in levels] + ["measure", p_col, y_col]
    missing = [c for c in need if c not in rec.columns]
    if missing:
        raise InputError(f"records lack column(s) {missing} for the two-stage model")
    site_col = LEVEL_COLUMNS["site"]
    site_codes, _ = pd.factorize(rec[site_col].astype(str), sort=True)
    entities: dict[str, pd.Index] = {}
    site_parent: dict[str, IntArray] = {}
    first = np.unique(site_codes, return_index=True)[1]
    for lv in levels:
        col = rec[LEVEL_COLUMNS[lv]].astype(str).to_numpy()
        codes, ids = pd.factorize(col, sort=True)
        entities[lv] = pd.Index(ids, name=lv)
        parent = codes[first]
        # each site belongs to one entity of every level above it
        check = pd.Series(codes).groupby(site_codes).nunique()
        if (check > 1).any():
            raise InputError(f"{int((check > 1).sum())} site(s) of {program} belong to more than one {lv}")
        site_parent[lv] = parent
    mcode = pd.Categorical(rec["measure"], categories=measures).codes.astype(np.int64)
    cell_key = site_codes.astype(np.int64) * len(measures) + mcode
    o = logit(rec[p_col].to_numpy(dtype=float))
    y = rec[y_col].to_numpy(dtype=float)
    order = np.lexsort((o, cell_key))
    ck, o_sorted = cell_key[order], o[order]
    uniq, starts, counts = np.unique(ck, return_index=True, return_counts=True)
    observed = np.add.reduceat(y[order], starts)
    expected = np.add.reduceat(1.0 / (1.0 + np.exp(-o_sorted)), starts)
    node_cell, node_offset, node_weight = _compress(o_sorted, starts, counts, nodes_per_cell)
    return CellData(
        program=program,
        measures=list(measures),
        levels=list(levels),
        entities=entities,
        site_parent=site_parent,
        cell_site=(uniq // len(measures)).astype(np.int64),
        cell_measure=(uniq % len(measures)).astype(np.int64),
        observed=observed,
        n=counts.astype(float),
        expected=expected,
        node_cell=node_cell,
        node_offset=node_offset,
        node_weight=node_weight,
    )


def build_two_stage_model(cd: CellData, config: BayesConfig, cross_measure: str | None = None) -> pm.Model:
    """The PyMC model of a program's cells, non-centred (see the module docstring).

    The reference implementation of the two-stage model, and the one with LKJ correlations
    across measures. The release samples :func:`compile_two_stage` instead, the same model
    (checked by ``tests/bayes/test_density.py``) with a hand-written density: PyMC's graph
    compiled for 15 to 50 s per program and sampled 3 to 10 times slower at national scale
    (``experiments/bayes_speed.py``).
    """
    import pymc as pm
    import pytensor.tensor as pt

    pr = config.priors
    cross = cross_measure or config.two_stage.cross_measure
    if cross not in ("lkj", "independent"):
        raise ValueError(f"the PyMC two-stage model has cross_measure 'lkj' or 'independent', not {cross!r}")
    m = len(cd.measures)
    coords = {"measure": cd.measures, "measure_": cd.measures, **{lv: list(cd.entities[lv]) for lv in cd.levels}}
    with pm.Model(coords=coords) as model:
        shift = pm.Normal("shift", 0.0, pr.offset_intercept_sd, dims="measure")
        b = shift[cd.cell_measure]
        for lv in cd.levels:
            z = pm.Normal(f"z_{lv}", 0.0, 1.0, dims=(lv, "measure"))
            if cross == "lkj" and m > 1:
                chol, _corr, _sd = pm.LKJCholeskyCov(
                    f"chol_{lv}",
                    n=m,
                    eta=pr.lkj_eta,
                    compute_corr=True,
                    store_in_trace=False,
                    sd_dist=pm.HalfNormal.dist(pr.group_sd, shape=m),
                )
                pm.Deterministic(f"sigma_{lv}", _sd, dims="measure")
                pm.Deterministic(f"corr_{lv}", _corr, dims=("measure", "measure_"))
                u = pt.dot(z, chol.T)
            else:
                sigma = pm.HalfNormal(f"sigma_{lv}", pr.group_sd, dims="measure")
                u = z * sigma[None, :]
            b = b + u[cd.site_parent[lv][cd.cell_site], cd.cell_measure]
        eta = cd.node_offset + b[cd.node_cell]
        pm.Potential("loglik", pt.sum(cd.observed * b) - pt.sum(cd.node_weight * pt.softplus(eta)))
    return model


def _cell_ptr(cd: CellData) -> IntArray:
    """Where each cell's nodes start in the node arrays (nodes are sorted by cell), and the end."""
    return np.concatenate([[0], np.cumsum(np.bincount(cd.node_cell, minlength=len(cd.observed)))]).astype(np.int64)


def cell_information(cd: CellData) -> FloatArray:
    """Fisher information of each cell's effect at ``b = 0``: ``sum p (1 - p)`` over its records (nodes)."""
    p = 1.0 / (1.0 + np.exp(-cd.node_offset))
    info = np.bincount(cd.node_cell, weights=cd.node_weight * p * (1 - p), minlength=len(cd.observed))
    return cast(FloatArray, info)  # numpy's stubs type a weighted bincount as integer


def moment_sd(cd: CellData, min_information: float = 5.0) -> FloatArray:
    """A quick moment estimate of the between-site SD of each measure's effects (log-odds).

    One Newton step from ``b = 0`` gives ``b_s ~ (O_s - E_s) / V_s`` with ``V_s = sum p (1 - p)``,
    whose variance is about ``sd^2 + 1 / V_s``; averaged over sites with ``V_s >= min_information``.
    Used only to choose each site's parameterisation, never as an estimate.
    """
    v = cell_information(cd)
    out = np.empty(len(cd.measures))
    for j in range(len(cd.measures)):
        sel = (cd.cell_measure == j) & (v >= min_information)
        if not sel.any():
            out[j] = 0.3
            continue
        b = (cd.observed[sel] - cd.expected[sel]) / v[sel]
        out[j] = np.sqrt(max(float(np.mean(b**2 - 1.0 / v[sel])), 0.05**2))
    return out


def centring_flags(cd: CellData, lay: Layout, threshold: float | str) -> IntArray:
    """1 for each ``e`` parameter sampled centred: the Fisher information at ``b = 0`` of the entity's
    records on that measure, ``sum_i p_i (1 - p_i)``, exceeds ``threshold``; ``"auto"``: exceeds
    ``(2 / sd)^2`` with ``sd`` the measure's :func:`moment_sd`: the data's SD for the effect is below
    half the between-site SD, so the centred form meets no funnel unless the SD's posterior reaches
    below half its rough estimate."""
    info_cell = cell_information(cd)
    flags = np.zeros(lay.ndim, dtype=np.int64)
    m = len(cd.measures)
    limit = (2.0 / moment_sd(cd)) ** 2 if threshold == "auto" else np.full(m, float(threshold))
    for k, lv in enumerate(cd.levels):
        parent = cd.site_parent[lv][cd.cell_site]
        info = np.bincount(parent * m + cd.cell_measure, weights=info_cell, minlength=len(cd.entities[lv]) * m)
        flags[lay.e_ofs[k] : lay.e_ofs[k] + len(info)] = info > np.tile(limit, len(cd.entities[lv]))
    return flags


def compile_two_stage(
    cd: CellData, config: BayesConfig, cross_measure: str | None = None, random_seed: int = 0
) -> tuple[CompiledModel, Layout]:
    """The two-stage model as a nutpie model (hand-written numba density, :mod:`toolkit.bayes.density`).

    The posterior holds ``shift`` (measure), per level ``sigma_<level>``, ``tau_<level>``
    (and ``lambda_<level>``, ``corr_<level>`` for the factor model), ``u_<level>`` for the levels
    above the site, and ``b_site`` (site x measure): each site's total effect, shift included.
    Returns the model and the layout of its parameter vector.
    """
    from toolkit.bayes import density as dn

    cross = cross_measure or config.two_stage.cross_measure
    lay = dn.Layout(len(cd.measures), [len(cd.entities[lv]) for lv in cd.levels], factor=(cross == "factor"))
    centred = centring_flags(cd, lay, config.two_stage.centre_information)
    args = density_args(cd, config, lay, centred)
    site_parent = [cd.site_parent[lv].astype(np.int64) for lv in cd.levels]
    names, shapes, dims = stored_variables(cd, lay)
    coords = model_coords(cd)
    initial_point = partial(initial_point_of, lay, random_seed)
    if config.sampler.callbacks == "native":
        from toolkit.bayes.native import native_model

        return native_model(
            args, site_parent, lay.level_sizes, lay.factor, names, shapes, dims, coords, initial_point
        ), lay
    from nutpie.compiled_pyfunc import from_pyfunc

    dn.logp_and_grad(np.zeros(lay.ndim), *args)  # compile now (seconds), not inside the sampler threads
    return from_pyfunc(
        lay.ndim,
        partial(_python_logp_fn, args),
        partial(_python_expand_fn, cd, lay, site_parent, centred),
        [np.dtype("float64")] * len(names),
        shapes,
        names,
        coords=coords,
        dims=dims,
        make_initial_point_fn=initial_point,
    ), lay


def density_args(cd: CellData, config: BayesConfig, lay: Layout, centred: IntArray) -> DensityArgs:
    """The arguments of :func:`toolkit.bayes.density.logp_and_grad` after ``x``, for ``cd`` laid out as ``lay``."""
    cell_parent = np.stack([cd.site_parent[lv][cd.cell_site] for lv in cd.levels]).astype(np.int64)
    return (
        len(cd.measures),
        *lay.offsets(),
        centred,
        cd.cell_measure.astype(np.int64),
        cell_parent,
        cd.observed.astype(float),
        _cell_ptr(cd),
        cd.node_offset.astype(float),
        cd.node_weight.astype(float),
        float(config.priors.offset_intercept_sd),
        float(config.priors.group_sd),
    )


def stored_variables(cd: CellData, lay: Layout) -> tuple[list[str], list[tuple[int, ...]], dict[str, tuple[str, ...]]]:
    """Names, shapes and dims of the variables a draw expands to, in the order the expansion writes them.

    ``shift``; per level ``sigma``, ``tau`` (factor model: ``lambda`` and ``corr``) and, above the site,
    ``u``; then ``b_site``.
    """
    m = len(cd.measures)
    names: list[str] = ["shift"]
    shapes: list[tuple[int, ...]] = [(m,)]
    dims: dict[str, tuple[str, ...]] = {"shift": ("measure",)}
    for lv, n in zip(cd.levels, lay.level_sizes, strict=True):
        for stem in ("sigma", "tau") + (("lambda",) if lay.factor else ()):
            names.append(f"{stem}_{lv}")
            shapes.append((m,))
            dims[f"{stem}_{lv}"] = ("measure",)
        if lay.factor:
            names.append(f"corr_{lv}")
            shapes.append((m, m))
            dims[f"corr_{lv}"] = ("measure", "measure_")
        if lv != "site":
            names.append(f"u_{lv}")
            shapes.append((n, m))
            dims[f"u_{lv}"] = (lv, "measure")
    names.append("b_site")
    shapes.append((lay.level_sizes[-1] if cd.levels[-1] == "site" else len(cd.entities["site"]), m))
    dims["b_site"] = ("site", "measure")
    return names, shapes, dims


def model_coords(cd: CellData) -> dict[str, list[str]]:
    """The coordinates of the stored variables: measures (twice, for correlations) and each level's entities."""
    coords = {"measure": cd.measures, "measure_": cd.measures, **{lv: list(cd.entities[lv]) for lv in cd.levels}}
    coords.setdefault("site", list(cd.entities["site"]))
    return coords


def initial_point_of(lay: Layout, random_seed: int, seed: int) -> FloatArray:
    """A chain's initial point (nutpie's ``make_initial_point_fn``, given its chain ``seed``): effects and
    shifts uniform in (-0.1, 0.1), every SD (``tau``, ``lambda``) about 0.2."""
    m = lay.n_measures
    rng = np.random.default_rng([int(random_seed), int(seed) % (2**32)])
    x = rng.uniform(-0.1, 0.1, lay.ndim)
    for k in range(len(lay.level_sizes)):
        x[lay.tau_ofs[k] : lay.tau_ofs[k] + m] = np.log(0.2) + rng.uniform(-0.1, 0.1, m)
        if lay.factor:
            x[lay.lam_ofs[k] : lay.lam_ofs[k] + m] = np.log(0.2) + rng.uniform(-0.1, 0.1, m)
    return x


def expand_draw(
    cd: CellData, lay: Layout, site_parent: list[IntArray], centred: IntArray, x: FloatArray
) -> dict[str, FloatArray]:
    """The stored variables (:func:`stored_variables`) of the parameter vector ``x``, in Python.

    The native model does the same in :func:`toolkit.bayes.density.expand_c`.
    """
    from toolkit.bayes import density as dn

    m = lay.n_measures
    out = {"shift": x[:m].copy()}
    b = np.repeat(x[None, :m], len(cd.entities["site"]), axis=0)
    for k, (lv, n) in enumerate(zip(cd.levels, lay.level_sizes, strict=True)):
        tau = np.exp(x[lay.tau_ofs[k] : lay.tau_ofs[k] + m])
        lam = np.exp(x[lay.lam_ofs[k] : lay.lam_ofs[k] + m]) if lay.factor else np.zeros(m)
        sig = np.sqrt(tau**2 + lam**2)
        out[f"sigma_{lv}"], out[f"tau_{lv}"] = sig, tau
        if lay.factor:
            out[f"lambda_{lv}"] = lam
            corr = np.outer(lam, lam) / np.outer(sig, sig)
            np.fill_diagonal(corr, 1.0)
            out[f"corr_{lv}"] = corr
        u = dn.level_effects(x, k, n, m, *lay.offsets(), centred)
        if lv != "site":
            out[f"u_{lv}"] = u
        b += u[site_parent[k]]
    out["b_site"] = b
    return out


def _python_logp(args: DensityArgs, x: FloatArray, **_: Any) -> tuple[float, FloatArray]:
    """The log density and its gradient at ``x`` (the Python model's ``logp``; nutpie passes no shared data)."""
    from toolkit.bayes import density as dn

    lp, g = dn.logp_and_grad(x, *args)
    return float(lp), g


def _python_logp_fn(args: DensityArgs) -> Callable[..., tuple[float, FloatArray]]:
    """nutpie's ``make_logp_fn`` of the Python model."""
    return partial(_python_logp, args)


def _python_expand(
    cd: CellData, lay: Layout, site_parent: list[IntArray], centred: IntArray, x: FloatArray, **_: Any
) -> dict[str, FloatArray]:
    """The Python model's ``expand``: :func:`expand_draw` (nutpie passes no shared data)."""
    return expand_draw(cd, lay, site_parent, centred, x)


def _python_expand_fn(
    cd: CellData, lay: Layout, site_parent: list[IntArray], centred: IntArray, seed1: int, seed2: int, chain: int
) -> Callable[..., dict[str, FloatArray]]:
    """nutpie's ``make_expand_fn`` of the Python model (the expansion draws nothing: the seeds are unused)."""
    return partial(_python_expand, cd, lay, site_parent, centred)


def gated_variables(cd: CellData, cross: str) -> list[str]:
    """The quantities the convergence gate checks: hyperparameters, level effects and site effects."""
    out = ["shift"]
    for lv in cd.levels:
        out += [f"tau_{lv}"] + ([f"lambda_{lv}"] if cross == "factor" else [])
        if lv != "site":
            out.append(f"u_{lv}")
    return out + ["b_site"]
