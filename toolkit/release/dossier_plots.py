"""The dossier's plots, drawn to inline SVG (:func:`toolkit.html.svg`): calibration by risk decile with
95% intervals and counts, funnel plots with exact Poisson limits on a log axis (the vertical axis clipped,
clipped points marked), and the Bayesian variant's contracts with their intervals. Tick labels are plain
decimals throughout (no ``4x10^0``)."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup
from scipy import stats

from toolkit.html import svg as _svg

_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)


def svg(fig: Any, *, title: str, dpi: float | None = None) -> Markup:
    """:func:`toolkit.html.svg` without the RDF metadata block (bytes that say nothing to a reader)."""
    return Markup(_METADATA.sub("", str(_svg(fig, title=title, dpi=dpi)), count=1))


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 8, "axes.titlesize": 9, "svg.fonttype": "none"})
    return plt


def plain_ticks(axis: Any, subs: tuple[float, ...] | None = None) -> None:
    """Plain decimal tick labels on a (log) axis: 0.5, 1, 2, 4 rather than 5x10^-1. ``subs``: major ticks
    at these multiples of each power of ten (``(1, 2, 5)``: ..., 0.5, 1, 2, 5, 10, ...), for an axis that
    spans less than a decade and would otherwise have one labelled tick or none."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    if subs is not None:
        axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def log_subs(lo: float, hi: float) -> tuple[float, ...]:
    """Multiples of each power of ten to put major ticks at on a log axis from ``lo`` to ``hi`` (> 0), so
    that it has a few labelled ticks: 1, 2, 5 over more than 1.5 decades, 1, 2, 3, 5 over more than 0.6,
    every multiple (0.7, 0.8, 0.9, 1, 2) over less."""
    decades = math.log10(hi / lo) if lo > 0 and hi > lo else 0.0
    if decades > 1.5:
        return (1.0, 2.0, 5.0)
    if decades > 0.6:
        return (1.0, 2.0, 3.0, 5.0)
    return tuple(float(k) for k in range(1, 10))


def _grid(k: int) -> tuple[int, int]:
    cols = min(4, k)
    return math.ceil(k / cols), cols


def clopper_pearson(events: np.ndarray, n: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact binomial interval of ``events / n``."""
    a = (1 - level) / 2
    e, n = np.asarray(events, float), np.asarray(n, float)
    lo = np.where(e > 0, stats.beta.ppf(a, e, n - e + 1), 0.0)
    hi = np.where(e < n, stats.beta.ppf(1 - a, e + 1, n - e), 1.0)
    return lo, hi


def calibration_svg(program: str, calibration: dict[str, pd.DataFrame]) -> Markup:
    """One panel per measure of ``program``: observed against expected rate per risk decile, with exact 95%
    intervals of the observed rate and the number of records of each decile."""
    plt = _plt()
    rows, cols = _grid(len(calibration))
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.5 * rows), squeeze=False)
    for ax, (measure, cal) in zip(axes.flat, sorted(calibration.items()), strict=False):
        n = cal["n"].to_numpy(float)
        obs, exp_ = cal["observed_rate"].to_numpy(float), cal["expected_rate"].to_numpy(float)
        lo, hi = clopper_pearson(cal["observed"].to_numpy(float), n)
        top = float(max(np.nanmax(hi, initial=0), np.nanmax(exp_, initial=0), 0.05)) * 1.05
        ax.plot([0, top], [0, top], color="0.6", lw=0.7, ls="--")
        ax.errorbar(exp_, obs, yerr=[obs - lo, hi - obs], fmt="o", ms=3, lw=0.8, capsize=1.5, color="#1f5f99")
        for x, y, k in zip(exp_, hi, n, strict=True):
            ax.annotate(f"{int(k)}", (x, y), fontsize=5.5, color="0.35", ha="center", va="bottom")
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_title(f"{measure} ({int(n.sum()):,} records)")
        ax.set_xlabel("expected rate")
        ax.set_ylabel("observed rate")
    for ax in list(axes.flat)[len(calibration) :]:
        ax.axis("off")
    fig.tight_layout()
    return svg(
        fig,
        title=f"{program}: calibration by risk decile, observed rate with exact 95% interval against expected "
        "rate, records per decile above each interval",
    )


#: A funnel panel with more sites than this draws its points as an embedded image (``rasterized``).
RASTER_ABOVE = 200


def funnel_limits(expected: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact Poisson limits of observed/expected when the entity performs as expected."""
    e = np.asarray(expected, float)
    a = (1 - level) / 2
    return stats.poisson.ppf(a, e) / e, stats.poisson.ppf(1 - a, e) / e


def funnel_svg(program: str, sites: pd.DataFrame, measures: list[str]) -> Markup:
    """One panel per measure: each site's observed/expected against its expected outcomes (log axis), exact
    95% and 99.8% Poisson limits; the vertical axis stops at 3 (or lower) and sites above it are drawn as
    triangles on the edge and counted."""
    plt = _plt()
    rows, cols = _grid(len(measures))
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.4 * rows), squeeze=False)
    for ax, m in zip(axes.flat, measures, strict=False):
        d = sites[(sites["measure"] == m) & (sites["expected"] > 0)]
        e = d["expected"].to_numpy(float)
        oe = d["actual"].to_numpy(float) / e if len(d) else np.array([])
        if len(d) == 0:
            ax.set_title(f"{m}: no site")
            ax.axis("off")
            continue
        xs = np.geomspace(max(e.min() * 0.8, 0.05), e.max() * 1.25, 120)
        for level, style in ((0.95, "--"), (0.998, ":")):
            lo, hi = funnel_limits(xs, level)
            ax.plot(xs, lo, color="0.45", lw=0.7, ls=style, drawstyle="steps-post")
            ax.plot(xs, hi, color="0.45", lw=0.7, ls=style, drawstyle="steps-post")
        ymax = 3.0 if np.nanmax(oe) > 3.0 else max(2.0, float(np.nanmax(oe)) * 1.1)
        inside = oe <= ymax
        # thousands of sites: the points as an embedded image, not one SVG element each (megabytes)
        many = len(d) > RASTER_ABOVE
        ax.plot(e[inside], oe[inside], "o", ms=2.2, color="#1f5f99", alpha=0.75, rasterized=many)
        clipped = int((~inside).sum())
        if clipped:
            ax.plot(e[~inside], np.full(clipped, ymax * 0.985), "^", ms=3.5, color="#a4262c")
        ax.axhline(1.0, color="0.2", lw=0.6)
        ax.set_xscale("log")
        plain_ticks(ax.xaxis)
        ax.set_ylim(0, ymax)
        ax.set_title(f"{m} ({len(d):,} sites" + (f", {clipped} above {ymax:g}" if clipped else "") + ")")
        ax.set_xlabel("expected outcomes")
        ax.set_ylabel("observed / expected")
    for ax in list(axes.flat)[len(measures) :]:
        ax.axis("off")
    fig.tight_layout()
    return svg(
        fig,
        dpi=150,
        title=f"{program}: funnel plots of site observed/expected against expected outcomes, with exact 95% "
        "(dashed) and 99.8% (dotted) Poisson limits; red triangles are sites above the axis",
    )


def bayes_svg(program: str, contracts: pd.DataFrame) -> Markup:
    """Rated contracts by posterior median star percentage with their 90% intervals and the published
    method's percentage (plain decimal axis)."""
    plt = _plt()
    r = contracts.sort_values("bayes_star_percentage")
    x = np.arange(len(r))
    fig, ax = plt.subplots(figsize=(8, 3))
    many = len(r) > RASTER_ABOVE  # the marks as an embedded image, not thousands of SVG elements
    ax.vlines(x, r["bayes_star_percentage_q5"], r["bayes_star_percentage_q95"], color="0.65", lw=0.8, rasterized=many)
    ax.plot(x, r["bayes_star_percentage"], "o", ms=2.2, color="k", label="posterior median", rasterized=many)
    ax.plot(
        x,
        r["calculated_star_percentage"].astype(float),
        ".",
        ms=3,
        color="#d9822b",
        label="published method",
        rasterized=many,
    )
    ax.axhline(0, color="0.3", lw=0.6)
    plain_ticks(ax.yaxis)
    ax.set_xlabel(f"contracts ordered by posterior median ({len(r):,})")
    ax.set_ylabel("star percentage")
    ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    return svg(fig, dpi=150, title=f"{program}: contracts' star percentage, posterior median and 90% interval")
