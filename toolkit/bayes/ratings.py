"""Bayesian ratings of a release: fit the two-stage model per program, score its draws, gate it.

:func:`bayes_ratings` is pure computation (no I/O, no tracking): ``toolkit.release.bayes_variant``
writes and logs what it returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import pandas as pd

from toolkit.bayes.config import BayesConfig
from toolkit.bayes.coupling import couple_measures, data_share
from toolkit.bayes.diagnostics import Diagnostics, check_convergence
from toolkit.bayes.expected import expected_factors
from toolkit.bayes.posterior import EntityRecords, score_draws
from toolkit.bayes.twostage import (
    LEVEL_COLUMNS,
    CellData,
    FloatArray,
    IntArray,
    cell_data,
    compile_two_stage,
    gated_variables,
)
from toolkit.errors import InputError

if TYPE_CHECKING:
    from arviz import InferenceData

    from toolkit.expected.fitting import FittedMeasure
    from toolkit.scoring.config import MethodConfig

#: A progress callback: takes one line of text.
Say: TypeAlias = Callable[[str], object]


@dataclass
class ProgramFit:
    """The two-stage posterior of one program (all its measures).

    ``idata`` holds the hyperparameters (``shift``, ``sigma_<level>``) with every draw (a re-run measure's
    thinned to the other runs' draws per chain) and the sampler statistics; ``b_draws`` (draws, sites,
    measures) holds each site's total effect, shift included, thinned evenly to the scored draws
    (:func:`scored_draws`); ``site_summary`` per measure holds the
    mean, SD and quantiles of each site's effect from every draw (sites with records only).
    """

    program: str
    cells: CellData
    idata: InferenceData
    b_draws: FloatArray
    site_summary: dict[str, pd.DataFrame]
    diagnostics: Diagnostics
    measure_diagnostics: list[Diagnostics]
    seconds: dict[str, float] = field(default_factory=dict)
    effect_correlation: dict[str, float] = field(
        default_factory=dict
    )  # measure pair -> estimated correlation of true effects
    # (two_stage.couple_measures)

    def site_effects(self, measure: str) -> pd.DataFrame:
        """Posterior mean and SD (and quantiles) of each site's effect on ``measure``, indexed by site id."""
        return self.site_summary[measure]

    def new_site_effect(self, measure: str) -> tuple[float, float]:
        """Mean and SD of the effect of a site the model has not seen (shift plus every level's spread)."""
        post = self.idata["posterior"]
        shift = post["shift"].sel(measure=measure).values.ravel()
        var = np.zeros_like(shift)  # the levels' variances, summed level by level
        for lv in self.cells.levels:
            var = var + post[f"sigma_{lv}"].sel(measure=measure).values.ravel() ** 2
        return float(shift.mean()), float(np.sqrt(shift.var() + var.mean()))


def thin_index(total: int, n_draws: int | None) -> IntArray:
    """Evenly spaced, deterministic positions of ``n_draws`` among ``total`` (chain-major) draws."""
    if not n_draws or n_draws >= total:
        return np.arange(total)
    return np.linspace(0, total - 1, n_draws).round().astype(np.int64)


def _site_summary(b: FloatArray, sites: pd.Index, interval: float) -> pd.DataFrame:
    """Mean, SD, median and central ``interval`` of each site's effect draws ``b`` (draws, sites)."""
    lo, hi = (1 - interval) / 2, 1 - (1 - interval) / 2
    q = np.quantile(b, [lo, 0.5, hi], axis=0)
    return pd.DataFrame(
        {"mean": b.mean(axis=0), "sd": b.std(axis=0, ddof=1), "q_lo": q[0], "median": q[1], "q_hi": q[2]},
        index=pd.Index(sites, name="site_id"),
    )


def _sample(
    cd: CellData, config: BayesConfig, cross: str, seed: int, draws_factor: int = 1
) -> tuple[InferenceData, float, float]:
    """Sample the two-stage model of ``cd`` (``draws_factor`` times the draws, and the retry's target acceptance
    when above 1); returns the posterior and the seconds spent compiling and sampling."""
    import nutpie

    t0 = time.perf_counter()
    model, _ = compile_two_stage(cd, config, cross, seed)
    t1 = time.perf_counter()
    s = config.sampler
    accept = s.target_accept if draws_factor == 1 else max(s.target_accept, s.retry_target_accept)
    idata = nutpie.sample(
        model,
        draws=s.draws * draws_factor,
        tune=s.tune,
        chains=s.chains,
        cores=s.cores,
        seed=int(seed),
        progress_bar=False,
        save_warmup=False,
        target_accept=accept,
        low_rank_modified_mass_matrix=s.low_rank_mass_matrix,
    )
    return idata, t1 - t0, time.perf_counter() - t1


def scored_draws(config: BayesConfig) -> int:
    """How many draws of every model are scored: ``scoring.draws``, or every draw of a first run when that has
    fewer. Every model of a release (re-run or not, site or level) then gives the same number of draws, which
    scoring them together draw by draw needs."""
    return min(config.scoring.draws, config.sampler.chains * config.sampler.draws)


def block_ends(total: int, n_draws: int) -> IntArray:
    """Deterministic, evenly spread positions of ``n_draws`` among ``total`` draws of one chain: the last
    draw of each of ``n_draws`` equal blocks (every step-th draw when ``total`` is a multiple of ``n_draws``)."""
    return (np.arange(1, n_draws + 1, dtype=np.int64) * total) // n_draws - 1


def _combine(
    measures: list[str], parts: list[tuple[CellData, InferenceData]], cd_all: CellData, n_draws: int
) -> tuple[InferenceData, FloatArray]:
    """One program posterior from per-measure posteriors: hyperparameters with the draws per chain of the
    shortest run, site effects thinned to ``n_draws`` (sites without records on a measure get that measure's
    shift: they have no records to score).

    A model re-run after a failed gate (:func:`_fit_measure`) has more draws than the others, by a factor that
    depends on its diagnostics, and any measure may be the one re-run: each run is thinned within each chain to
    the shortest run's draws per chain (:func:`block_ends`), so every measure contributes the same number of
    draws, in chain order, to the scored draws. Thinning a converged chain keeps it a sample of the same
    posterior (its gate was passed on every draw)."""
    import arviz as az
    import xarray as xr

    sites = cd_all.entities["site"]
    first = parts[0][1]["posterior"]
    shape = (first.sizes["chain"], min(p[1]["posterior"].sizes["draw"] for p in parts))
    take = thin_index(shape[0] * shape[1], n_draws)
    b = np.empty((len(take), len(sites), len(measures)))
    shift = np.empty(shape + (len(measures),))
    sig = {lv: np.empty(shape + (len(measures),)) for lv in cd_all.levels}
    for j, (cd, idata) in enumerate(parts):
        post = idata["posterior"]
        if post.sizes["draw"] > shape[1]:  # a re-run model ran longer
            post = post.isel(draw=block_ends(post.sizes["draw"], shape[1]))
        shift[..., j] = post["shift"].values[..., 0]
        for lv in cd_all.levels:
            sig[lv][..., j] = post[f"sigma_{lv}"].values[..., 0]
        b[..., j] = shift[..., j].reshape(-1)[take][:, None]
        pos = sites.get_indexer(cd.entities["site"])
        b[:, pos, j] = post["b_site"].values[..., 0].reshape(-1, len(pos))[take]
    coords = {"chain": first["chain"].values, "draw": np.arange(shape[1]), "measure": measures}
    ds = xr.Dataset(
        {
            "shift": (("chain", "draw", "measure"), shift),
            **{f"sigma_{lv}": (("chain", "draw", "measure"), v) for lv, v in sig.items()},
        },
        coords=coords,
    )
    div = np.stack([p[1]["sample_stats"]["diverging"].values.reshape(shape[0], -1).sum(axis=1) for p in parts], axis=-1)
    stats = xr.Dataset(
        {"diverging": (("chain", "measure"), div)}, coords={"chain": coords["chain"], "measure": measures}
    )
    return az.InferenceData(posterior=ds, sample_stats=stats), b


def fit_program(
    frame: pd.DataFrame,
    program: str,
    measures: list[str],
    config: BayesConfig,
    random_seed: int,
    cross_measure: str | None = None,
    say: Say = lambda msg: None,
    suffix: str = "",
) -> ProgramFit:
    """Sample the two-stage model of one program with nutpie; diagnostics per measure and for the program.

    ``independent``: one model per measure (each adapts its own step size and mass matrix);
    ``factor``: one joint model with effects correlated across measures.
    """
    cross = cross_measure or config.two_stage.cross_measure
    levels, k = config.two_stage.levels, config.two_stage.nodes_per_cell
    frame = _program_rows(frame, program, measures, levels)
    cd_all = cell_data(frame, program, measures, levels, k)
    seconds = {"prepare_compile": 0.0, "sample": 0.0, "diagnostics": 0.0}
    effect_corr: dict[str, float] = {}
    if cross == "factor":
        idata, b, summary, per_measure = _fit_joint(cd_all, config, cross, random_seed, suffix, seconds)
    else:
        idata, b, summary, per_measure = _fit_each_measure(
            frame, cd_all, config, cross, random_seed, say, suffix, seconds
        )
        if config.two_stage.couple_measures and len(measures) > 1:
            b, effect_corr = _couple(idata, b, cd_all, config, random_seed, say, suffix)
    diag = _program_diagnostics(f"{program}{suffix} two-stage ({cross})", per_measure, seconds)
    return ProgramFit(
        program=program,
        cells=cd_all,
        idata=idata,
        b_draws=b,
        site_summary=summary,
        diagnostics=diag,
        measure_diagnostics=per_measure,
        seconds=seconds,
        effect_correlation=effect_corr,
    )


def _program_rows(frame: pd.DataFrame, program: str, measures: list[str], levels: tuple[str, ...]) -> pd.DataFrame:
    """The program's rows on ``measures`` and the columns the models read, in one pass over the release's frame."""
    keep = [
        c
        for c in dict.fromkeys(
            ["program", "measure", "expected_p", "numerator", LEVEL_COLUMNS["site"]]
            + [LEVEL_COLUMNS[lv] for lv in levels]
        )
        if c in frame.columns
    ]
    return frame.loc[(frame["program"] == program).to_numpy() & frame["measure"].isin(measures).to_numpy(), keep]


def _fit_joint(
    cd_all: CellData, config: BayesConfig, cross: str, random_seed: int, suffix: str, seconds: dict[str, float]
) -> tuple[InferenceData, FloatArray, dict[str, pd.DataFrame], list[Diagnostics]]:
    """The joint model of all the program's measures (``factor``): posterior without ``b_site``, site-effect
    draws thinned to the scored draws, site summaries and per-measure diagnostics; adds to ``seconds``."""
    program, measures = cd_all.program, cd_all.measures
    idata, tc, ts = _sample(cd_all, config, cross, random_seed)
    seconds["prepare_compile"] += tc
    seconds["sample"] += ts
    t0 = time.perf_counter()
    names = gated_variables(cd_all, cross)
    per_measure = [
        check_convergence(_measure_posterior(idata, m), config.gates, f"des-{program.lower()}-{m}-bayes{suffix}", names)
        for m in measures
    ]
    seconds["diagnostics"] += time.perf_counter() - t0
    full = np.asarray(idata["posterior"]["b_site"].transpose("chain", "draw", "site", "measure").values)
    full = full.reshape((-1,) + full.shape[2:])
    b = full[thin_index(len(full), scored_draws(config))]
    summary = {}
    for j, m in enumerate(measures):
        have = np.unique(cd_all.cell_site[cd_all.cell_measure == j])
        summary[m] = _site_summary(full[:, have, j], cd_all.entities["site"][have], config.scoring.interval)
    idata = idata.copy()
    del idata["posterior"]["b_site"]
    return idata, b, summary, per_measure


def _measure_posterior(idata: InferenceData, measure: str) -> InferenceData:
    """The posterior restricted to one measure (a copy)."""
    out = idata.sel(measure=[measure])
    assert out is not None  # sel returns None only in place
    return out


def _fit_each_measure(
    frame: pd.DataFrame,
    cd_all: CellData,
    config: BayesConfig,
    cross: str,
    random_seed: int,
    say: Say,
    suffix: str,
    seconds: dict[str, float],
) -> tuple[InferenceData, FloatArray, dict[str, pd.DataFrame], list[Diagnostics]]:
    """One model per measure (``independent``), each with its own seed spawned from ``random_seed``, combined
    into one program posterior (:func:`_combine`); site summaries and per-measure diagnostics."""
    parts, per_measure, summary = [], [], {}
    seeds = np.random.SeedSequence(random_seed).generate_state(len(cd_all.measures))
    for m, seed in zip(cd_all.measures, seeds, strict=True):
        cd = cell_data(frame, cd_all.program, [m], config.two_stage.levels, config.two_stage.nodes_per_cell)
        idata, d = _fit_measure(cd, config, cross, int(seed), say, suffix, seconds)
        bs = idata["posterior"]["b_site"].values[..., 0]
        summary[m] = _site_summary(bs.reshape(-1, bs.shape[-1]), cd.entities["site"], config.scoring.interval)
        parts.append((cd, idata))
        per_measure.append(d)
    idata, b = _combine(cd_all.measures, parts, cd_all, scored_draws(config))
    return idata, b, summary, per_measure


def _fit_measure(
    cd: CellData, config: BayesConfig, cross: str, seed: int, say: Say, suffix: str, seconds: dict[str, float]
) -> tuple[InferenceData, Diagnostics]:
    """Sample one measure's model and gate it; a model that fails its gate is re-run once (fresh seed, more
    draws: :func:`retry_factor`; non-centred after divergences: :func:`retry_config`). Adds to ``seconds``."""
    program, m = cd.program, cd.measures[0]
    name = f"des-{program.lower()}-{m}-bayes{suffix}"
    factor, retry, attempt_config, how = 1, config.sampler.retry_draws_factor, config, ""
    while True:
        idata, tc, ts = _sample(cd, attempt_config, cross, seed + (factor > 1), factor)
        t0 = time.perf_counter()
        d = check_convergence(idata, config.gates, name, gated_variables(cd, cross))
        d.compile_seconds, d.sample_seconds = tc, ts
        seconds["diagnostics"] += time.perf_counter() - t0
        seconds["prepare_compile"] += tc
        seconds["sample"] += ts
        if d.passed or factor > 1 or retry <= 1:
            break
        factor = retry_factor(d, config)
        attempt_config, how = retry_config(d, config)
        say(
            f"bayes {program} {m}{suffix}: gate failed ({'; '.join(d.failures)}); "
            f"re-running with {factor} x {config.sampler.draws} draws{how}"
        )
    d.attempts = 2 if factor > 1 else 1
    unit = f"{suffix[1:]}s" if suffix else "sites"
    say(f"bayes {program} {m}{suffix}: {len(cd.observed):,} {unit}, sampling {ts:.1f}s; {d.summary()}")
    return idata, d


def _couple(
    idata: InferenceData, b: FloatArray, cd_all: CellData, config: BayesConfig, random_seed: int, say: Say, suffix: str
) -> tuple[FloatArray, dict[str, float]]:
    """The independent models' draws reordered to carry the correlation of true effects across measures
    (:func:`toolkit.bayes.coupling.couple_measures`), and that correlation per measure pair."""
    measures, levels = cd_all.measures, config.two_stage.levels
    post = idata["posterior"]
    tau = np.sqrt(sum(post[f"sigma_{lv}"].mean(dim=("chain", "draw")).values ** 2 for lv in levels))
    shift = post["shift"].values.reshape(-1, len(measures))[
        thin_index(post.sizes["chain"] * post.sizes["draw"], scored_draws(config))
    ]
    b, r = couple_measures(b, shift, data_share(cd_all, tau), tau, random_seed + 7)
    effect_corr = {
        f"{measures[i]}~{measures[j]}": float(r[i, j])
        for i in range(len(measures))
        for j in range(i + 1, len(measures))
    }
    vals = list(effect_corr.values())
    say(
        f"bayes {cd_all.program}{suffix}: draws coupled across measures; correlation of true effects "
        f"{min(vals):.2f} to {max(vals):.2f}, mean {np.mean(vals):.2f}"
    )
    return b, effect_corr


def retry_factor(d: Diagnostics, config: BayesConfig) -> int:
    """How many times the draws a failed model is re-run with: ``retry_draws_factor``, or more when the ESS
    gate failed, ``retry_ess_margin`` times as many as the first run's ESS says the gate needs (ESS grows
    about linearly with the draws, but a tail ESS near 100 is itself a noisy estimate), at most
    ``retry_max_draws_factor``."""
    s, g = config.sampler, config.gates
    ratios = np.array([d.min_ess_bulk / g.min_ess_bulk, d.min_ess_tail / g.min_ess_tail], dtype=float)
    worst = float(ratios.min()) if np.isfinite(ratios).all() else float("nan")
    need = int(np.ceil(s.retry_ess_margin / worst)) if worst > 0 else s.retry_max_draws_factor  # NaN or 0: the most
    return int(min(s.retry_max_draws_factor, max(s.retry_draws_factor, need)))


def retry_config(d: Diagnostics, config: BayesConfig) -> tuple[BayesConfig, str]:
    """The configuration of a failed model's re-run, and how it differs: after divergent transitions, every
    effect non-centred (``sampler.retry_non_centred``). Centred effects meet a funnel when the between-entity
    SD is small: world 2's organisation models of ESS pathway_52 diverged on 3 seeds of 3 with ``auto``
    centring (7-140 divergences) and on none non-centred."""
    if d.divergences > 0 and config.sampler.retry_non_centred:
        ts = config.two_stage.model_copy(update={"centre_information": float("inf")})
        return config.model_copy(update={"two_stage": ts}), ", every effect non-centred (divergences)"
    return config, ""


def _program_diagnostics(name: str, parts: list[Diagnostics], seconds: dict[str, float]) -> Diagnostics:
    """The worst of a program's per-measure diagnostics."""
    r = max(parts, key=lambda d: d.max_rhat)
    b = min(parts, key=lambda d: min(d.min_ess_bulk, d.min_ess_tail))
    return Diagnostics(
        model=name,
        max_rhat=r.max_rhat,
        min_ess_bulk=min(d.min_ess_bulk for d in parts),
        min_ess_tail=min(d.min_ess_tail for d in parts),
        divergences=sum(d.divergences for d in parts),
        parameters=sum(d.parameters for d in parts),
        draws=parts[0].draws,
        worst_rhat=f"{r.model}: {r.worst_rhat}",
        worst_ess=f"{b.model}: {b.worst_ess}",
        failures=[f for d in parts for f in d.failures],
        compile_seconds=seconds["prepare_compile"],
        sample_seconds=seconds["sample"],
    )


def fit_level_model(
    frame: pd.DataFrame,
    program: str,
    measures: list[str],
    config: BayesConfig,
    level: str,
    random_seed: int,
    site_cells: CellData,
    cross_measure: str | None = None,
    say: Say = lambda msg: None,
) -> tuple[ProgramFit, FloatArray]:
    """The two-stage model with its random intercept at ``level`` (contract or organisation): one effect per
    entity and measure shared by the entity's records. Returns the fit and its draws mapped onto the site
    model's sites, (draws, sites, measures), each site carrying its entity's effect.

    Why: scored from the site model, a contract's band probabilities treat its sites' effects as independent
    given the national spread, while true effects are shared within contracts and organisations; the
    aggregate's prior spread is then too small and its stars over-confident (reliability of contracts
    5/10 deciles, organisations 2/10; ``experiments/bayes_results.md``).
    """
    col = LEVEL_COLUMNS[level]
    rec = frame.loc[(frame["program"] == program) & frame["measure"].isin(measures)]
    pairs = rec[[LEVEL_COLUMNS["site"], col]].astype(str).drop_duplicates()
    if pairs[LEVEL_COLUMNS["site"]].duplicated().any():
        raise InputError(f"program {program}: some sites belong to more than one {level}")
    relabelled = rec[["program", "measure", "expected_p", "numerator", col]].copy()
    relabelled[LEVEL_COLUMNS["site"]] = relabelled[col].astype(str)
    own = config.model_copy(update={"two_stage": config.two_stage.model_copy(update={"levels": ("site",)})})
    fit = fit_program(relabelled, program, measures, own, random_seed, cross_measure, say, suffix=f"-{level}")
    parent = pairs.set_index(LEVEL_COLUMNS["site"])[col].reindex(site_cells.entities["site"])
    idx = fit.cells.entities["site"].get_indexer(pd.Index(parent.to_numpy()))
    if (idx < 0).any():
        raise InputError(f"program {program}: {int((idx < 0).sum())} site(s) have no {level} in the records")
    return fit, fit.b_draws[:, idx, :]


@dataclass
class BayesRatings:
    """What :func:`bayes_ratings` returns: the Bayesian columns, the fits and their diagnostics."""

    columns: pd.DataFrame  # program, level, entity_id + bayes columns
    fits: dict[str, ProgramFit]
    diagnostics: pd.DataFrame  # one row per program model and per measure
    failed: list[str]
    seconds: dict[str, float]
    level_fits: dict[str, ProgramFit] = field(default_factory=dict)  # "<program>.<level>" (rating_models: per_level)


def bayes_ratings(
    frame: pd.DataFrame,
    entity_measures: pd.DataFrame,
    ratings: pd.DataFrame,
    method: MethodConfig,
    config: BayesConfig,
    random_seed: int,
    say: Say = lambda msg: None,
    cross_measure: str | None = None,
    risk_fits: dict[str, FittedMeasure] | None = None,
) -> BayesRatings:
    """Two-stage posterior per program, every draw scored; per-entity summaries and gate results.

    Parameters
    ----------
    frame : the release's records with ``expected_p`` (``ComputedRelease.frame``).
    entity_measures, ratings : the release's entity-measure and ratings tables.
    method : MethodConfig. config : BayesConfig. random_seed : int (one per program is spawned from it).
    risk_fits : the release's fitted risk models (``ComputedRelease.fits``); needed unless
        ``config.scoring.expected_uncertainty`` is ``none``.
    """
    eu = config.scoring.expected_uncertainty
    if eu != "none" and not risk_fits:
        raise InputError(
            f"scoring.expected_uncertainty is '{eu}': bayes_ratings needs the release's fitted risk "
            "models (risk_fits=ComputedRelease.fits), or set it to 'none'"
        )
    programs = sorted(ratings["program"].unique())
    seeds = np.random.SeedSequence(random_seed).generate_state(len(programs))
    fits: dict[str, ProgramFit] = {}
    extra_fits: dict[str, ProgramFit] = {}
    parts: list[pd.DataFrame] = []
    secs: dict[str, float] = {}
    for prog, seed in zip(programs, seeds, strict=True):
        measures = list(method.program_method(prog).measures)
        fit = fit_program(frame, prog, measures, config, int(seed), cross_measure, say)
        say(
            f"bayes {prog}: {len(fit.cells.observed):,} site-measure cells, {len(fit.cells.node_offset):,} nodes; "
            f"compile {fit.seconds['prepare_compile']:.1f}s, sampling {fit.seconds['sample']:.1f}s; "
            f"{fit.diagnostics.summary()}"
        )
        level_fits = {}
        if config.two_stage.rating_models == "per_level":
            level_fits = _level_models(frame, fit, config, int(seed), cross_measure, say, secs)
        parts.append(
            _score_program(
                frame, entity_measures, ratings, method, fit, level_fits, config, int(seed), risk_fits, say, secs
            )
        )
        fits[prog] = fit
        for level, (lf, _) in level_fits.items():
            extra_fits[f"{prog}.{level}"] = lf
    return _collect(fits, extra_fits, parts, secs)


def _level_models(
    frame: pd.DataFrame,
    fit: ProgramFit,
    config: BayesConfig,
    seed: int,
    cross_measure: str | None,
    say: Say,
    secs: dict[str, float],
) -> dict[str, tuple[ProgramFit, FloatArray]]:
    """``rating_models: per_level``: the contract and organisation models of the site model ``fit``'s program,
    each with its draws mapped onto the site model's sites (:func:`fit_level_model`); adds to ``secs``."""
    prog = fit.program
    level_fits = {}
    for k, level in enumerate(("contract", "organisation")):
        lf, lb = fit_level_model(
            frame, prog, fit.cells.measures, config, level, seed + 1 + k, fit.cells, cross_measure, say
        )
        level_fits[level] = (lf, lb)
        say(
            f"bayes {prog} {level} model: {len(lf.cells.observed):,} cells, sampling "
            f"{lf.seconds['sample']:.1f}s; {lf.diagnostics.summary()}"
        )
        secs.update({f"{prog}.{level}.{k2}": v for k2, v in lf.seconds.items()})
    return level_fits


def _score_program(
    frame: pd.DataFrame,
    entity_measures: pd.DataFrame,
    ratings: pd.DataFrame,
    method: MethodConfig,
    fit: ProgramFit,
    level_fits: dict[str, tuple[ProgramFit, FloatArray]],
    config: BayesConfig,
    seed: int,
    risk_fits: dict[str, FittedMeasure] | None,
    say: Say,
    secs: dict[str, float],
) -> pd.DataFrame:
    """Every draw of a program's entities scored (:func:`~toolkit.bayes.posterior.score_draws`): actual outcomes
    from the site model, or from each level's own model (``level_fits``); with the expected outcomes'
    uncertainty unless ``scoring.expected_uncertainty`` is ``none``. Adds to ``secs``."""
    prog, measures, eu = fit.program, fit.cells.measures, config.scoring.expected_uncertainty
    t0 = time.perf_counter()
    recs = EntityRecords(frame, fit.cells)
    b = fit.b_draws
    actual = recs.actual_draws(b, [lv for lv in recs.ids if lv not in level_fits])
    for level, (_, lb) in level_fits.items():  # each level's actual outcomes from its own level's model
        actual.update(recs.actual_draws(lb, [level]))
    factor = None
    if eu != "none":
        assert risk_fits is not None  # bayes_ratings checked
        t1 = time.perf_counter()
        factor = expected_factors(frame, risk_fits, prog, measures, recs, b.shape[0], eu, seed + 3)
        secs[f"{prog}.expected_uncertainty"] = time.perf_counter() - t1
        say(
            f"bayes {prog}: expected outcomes' uncertainty ({eu}-clustered risk-model covariance) "
            f"in {secs[f'{prog}.expected_uncertainty']:.1f}s"
        )
    scored = score_draws(entity_measures, ratings, method, prog, actual, recs.ids, config.scoring.interval, factor)
    secs[f"{prog}.score"] = time.perf_counter() - t0
    secs.update({f"{prog}.{k}": v for k, v in fit.seconds.items()})
    say(f"bayes {prog}: {b.shape[0]} draws scored in {secs[f'{prog}.score']:.1f}s")
    return scored


def _collect(
    fits: dict[str, ProgramFit], extra_fits: dict[str, ProgramFit], parts: list[pd.DataFrame], secs: dict[str, float]
) -> BayesRatings:
    """The release's :class:`BayesRatings`: scored columns, and the diagnostics and failed gates of every model."""
    everything = list(fits.values()) + list(extra_fits.values())
    diags = [f.diagnostics for f in everything] + [d for f in everything for d in f.measure_diagnostics]
    table = pd.DataFrame([d.as_row() for d in diags])
    failed = [msg for f in everything for msg in f.diagnostics.failures]
    return BayesRatings(
        columns=pd.concat(parts, ignore_index=True),
        fits=fits,
        diagnostics=table,
        failed=failed,
        seconds=secs,
        level_fits=extra_fits,
    )
