"""The Bayesian variant of a release (``variant: bayes``): posterior columns beside the published ratings.

:func:`bayes_augment` computes (no I/O): the two-stage posterior per program
(:mod:`toolkit.bayes`), every draw scored, per-entity columns (posterior median and 90%
interval of the group ratios, performance score and star percentage; ``bayes_stars``;
``p_star_1..5``), per-model diagnostics and the failed gates. :func:`write_bayes_outputs`
writes the tables and plots (caterpillar plot per measure, star-band probabilities,
trace, rank and SD plots); :func:`track_bayes_models` registers one pyfunc per measure
(``des-<program>-<measure>-bayes``) that scores records with posterior mean probabilities.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from toolkit.bayes.config import BayesConfig, load_bayes_config
from toolkit.bayes.ratings import BayesRatings, bayes_ratings

if TYPE_CHECKING:
    from toolkit.bayes.ratings import ProgramFit
    from toolkit.release.compute import ComputedRelease
    from toolkit.release.config import ReleaseConfig
    from toolkit.scoring.config import MethodConfig, ProgramMethod
    from toolkit.tracking.lifecycle import TrackedRun

KEY = ["program", "level", "entity_id"]


@dataclass
class BayesAugment:
    """What the Bayesian variant adds to a release."""

    columns: pd.DataFrame  # program, level, entity_id + bayes columns
    diagnostics: pd.DataFrame  # one row per program model and per measure
    failed: list[str]  # failed gate messages (the release fails)
    config: BayesConfig
    result: BayesRatings
    plots: list[Path] = field(default_factory=list)

    @property
    def column_names(self) -> list[str]:
        return [c for c in self.columns.columns if c not in KEY]


def bayes_augment(
    comp: ComputedRelease,
    config: ReleaseConfig,
    method: MethodConfig,
    say: Callable[[str], None] = lambda msg: None,
    bayes_config: BayesConfig | None = None,
) -> BayesAugment:
    """Fit, score and gate the Bayesian variant of a computed release (``ComputedRelease``)."""
    bc = bayes_config or load_bayes_config(getattr(config, "bayes", None) or "des_2018")
    res = bayes_ratings(
        comp.frame, comp.entity_measures, comp.ratings, method, bc, int(config.seed), say, risk_fits=comp.fits
    )
    return BayesAugment(
        columns=res.columns, diagnostics=res.diagnostics, failed=list(res.failed), config=bc, result=res
    )


def merge_columns(ratings: pd.DataFrame, aug: BayesAugment) -> pd.DataFrame:
    """The ratings table with the Bayesian columns appended (published-method columns and rows unchanged)."""
    cols = aug.columns.astype({k: ratings[k].dtype for k in KEY})
    out = ratings.merge(cols, on=KEY, how="left", validate="one_to_one", sort=False)
    same = len(out) == len(ratings) and all(
        (out[k].astype(str).to_numpy() == ratings[k].astype(str).to_numpy()).all() for k in KEY
    )
    if not same:
        raise AssertionError("merging the Bayesian columns changed the ratings rows")  # a bug, not a user error
    for c in aug.column_names:
        out[c] = out[c].astype(np.float64)
    return out


def caterpillar_plot(fit: ProgramFit, measure: str, path: Path, interval: float = 0.9) -> Path:
    """Every site's effect on ``measure`` (relative to the model's average site) as an odds ratio with its
    central interval, sorted (:func:`caterpillar_figure`), as a PNG at ``path``."""
    import matplotlib.pyplot as plt

    fig = caterpillar_figure(fit, measure, interval)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def caterpillar_figure(fit: ProgramFit, measure: str, interval: float = 0.9) -> Any:
    """The caterpillar plot's matplotlib figure; the odds-ratio axis is logarithmic with plain decimal
    labels (0.5, 1, 2, 3)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from toolkit.release.dossier_plots import log_subs, plain_ticks

    summ = fit.site_summary[measure]
    lo, med, hi = summ["q_lo"].to_numpy(), summ["median"].to_numpy(), summ["q_hi"].to_numpy()
    centre = float(np.median(fit.idata["posterior"]["shift"].sel(measure=measure).values))
    lo, med, hi = lo - centre, med - centre, hi - centre  # relative to the average site of the model
    order = np.argsort(med)
    x = np.arange(len(order))
    clear = (lo[order] > 0) | (hi[order] < 0)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.vlines(x, np.exp(lo[order]), np.exp(hi[order]), color=np.where(clear, "tab:blue", "0.75"), lw=0.6)
    ax.plot(x, np.exp(med[order]), ".", ms=1.5, color="k")
    ax.axhline(1.0, color="tab:red", lw=0.8)
    ax.set_yscale("log")
    # 0.5, 1, 2, 3 rather than 6x10^-1, 4x10^0
    plain_ticks(ax.yaxis, subs=log_subs(float(np.exp(lo.min())), float(np.exp(hi.max()))))
    ax.set_xlabel(f"sites, ordered by posterior median ({len(order):,})")
    ax.set_ylabel("site effect (odds ratio vs. expected)")
    ax.set_title(
        f"{fit.program} {measure}: site effects, median and {interval:.0%} interval "
        f"(blue: interval excludes 1, {int(clear.sum()):,} sites)"
    )
    fig.tight_layout()
    return fig


def star_probability_plot(
    ratings: pd.DataFrame, program: str, path: Path, method: MethodConfig | ProgramMethod
) -> Path:
    """Rated contracts ordered by posterior median star percentage: interval, published stars, band probabilities.

    Dashed lines mark the edges of ``method``'s star bands on the percentage axis. Star percentages are truncated
    toward zero, so the edge between two adjacent bands lies at the lower band's ``max`` when it is negative and
    at the upper band's ``min`` otherwise (des_2018: -50 and below 1 star, -20 and below at most 2; 20 and above
    at least 4 stars, 40 and above 5).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = ratings[(ratings["program"] == program) & (ratings["level"] == "contract") & ratings["calculated"]]
    r = r.dropna(subset=["bayes_star_percentage"]).sort_values("bayes_star_percentage")
    x = np.arange(len(r))
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True, height_ratios=[2, 1])
    ax.vlines(
        x, r["bayes_star_percentage_q5"], r["bayes_star_percentage_q95"], color="0.7", lw=0.6, label="90% interval"
    )
    ax.plot(x, r["bayes_star_percentage"], ".", ms=2, color="k", label="posterior median")
    ax.plot(
        x,
        r["calculated_star_percentage"].astype(float),
        ".",
        ms=2,
        color="tab:orange",
        alpha=0.6,
        label="published method",
    )
    bands = sorted(method.bands, key=lambda b: -np.inf if b.min is None else b.min)
    for lower, upper in pairwise(bands):
        edge = lower.max if lower.max is not None and lower.max < 0 else upper.min
        if edge is not None:  # only the lowest band is open below
            ax.axhline(edge, color="tab:red", lw=0.5, ls="--")
    ax.set_ylabel("star percentage")
    ax.set_title(f"{program} contracts: star percentage and the probability of each star band")
    ax.legend(loc="upper left", fontsize=8)
    stars = sorted(b.stars for b in method.bands)
    probs = r[[f"p_star_{k}" for k in stars]].to_numpy().T
    ax2.stackplot(
        x,
        probs,
        labels=[f"{k} star{'s' if k > 1 else ''}" for k in stars],
        colors=["#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641"],
    )
    ax2.set_ylabel("P(star band)")
    ax2.set_xlabel(f"contracts ({len(r):,})")
    ax2.legend(loc="center left", fontsize=7, ncol=5)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_bayes_outputs(
    folder: Path, aug: BayesAugment, ratings: pd.DataFrame, *, method: MethodConfig | None = None
) -> list[Path]:
    """Write the diagnostics table and the plots; returns the written paths.

    ``method``: the release's method (its star bands are drawn); default ``des_2018``, the release default.
    """
    from toolkit.bayes.diagnostics import convergence_plots
    from toolkit.scoring import load_method

    folder = Path(folder)
    out = [folder / "bayes_diagnostics.csv"]
    aug.diagnostics.to_csv(out[0], index=False)
    corr = [
        {
            "program": key.split(".")[0],
            "model": key.split(".")[1] if "." in key else "site",
            "measures": pair,
            "effect_correlation": v,
        }
        for key, fit in sorted({**aug.result.fits, **aug.result.level_fits}.items())
        for pair, v in fit.effect_correlation.items()
    ]
    if corr:  # two_stage.couple_measures: the estimated correlation of true effects the draws were given
        out.append(folder / "bayes_effect_correlation.csv")
        pd.DataFrame(corr).to_csv(out[-1], index=False, float_format="%.4f")
    plots = folder / "plots" / "bayes"
    plots.mkdir(parents=True, exist_ok=True)
    for prog, fit in sorted(aug.result.fits.items()):
        for m in fit.cells.measures:
            out.append(
                caterpillar_plot(fit, m, plots / f"caterpillar_{prog.lower()}_{m}.png", aug.config.scoring.interval)
            )
        out.append(
            star_probability_plot(
                ratings, prog, plots / f"star_bands_{prog.lower()}.png", method or load_method("des_2018")
            )
        )
        hyper = ["shift"] + [f"sigma_{lv}" for lv in fit.cells.levels]
        out += convergence_plots(fit.idata, hyper, plots, prog.lower(), f"{prog} two-stage model")
    aug.plots = [p for p in out[1:] if p.suffix == ".png"]
    return out


def track_bayes_models(
    tr: TrackedRun, aug: BayesAugment, fits: dict, register: bool, say: Callable[[str], None] = lambda msg: None
) -> dict[str, str]:
    """Log (and register) one pyfunc per measure, the frequentist offset model plus the site effects, each in
    a child run of the release with its diagnostics; returns the registered versions.

    ``fits`` are the release's frequentist fits (``ComputedRelease.fits``), keyed ``<program>_<measure>``.
    """
    from toolkit.tracking.models import input_contract, site_effects_payload

    versions: dict[str, str] = {}
    diag = aug.diagnostics.set_index("model")
    for prog, fit in sorted(aug.result.fits.items()):
        for m in fit.cells.measures:
            key = f"{prog.lower()}_{m}"
            if key not in fits:
                continue
            name = f"des-{prog.lower()}-{m}-bayes"
            with tr.child(name, "bayes_model", {"model.program": prog, "model.measure": m}) as child:
                row = diag.loc[name]
                child.log_metrics(
                    {k: float(row[k]) for k in ("max_rhat", "min_ess_bulk", "min_ess_tail", "divergences")}
                )
                model = fits[key].model
                v = child.log_model(
                    model,
                    name,
                    register=register,
                    contract=input_contract([*model.design_state_.source_columns, "site_id"], name),
                    site_effects=site_effects_payload(fit.site_effects(m), fit.new_site_effect(m), prog, m),
                )
            if v is not None:
                versions[name] = v
            say(f"tracked {name}" + (f" (registered version {v})" if v is not None else ""))
    return versions
