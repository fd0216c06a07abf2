"""Diagnostics of a fitted expected-performance model: discrimination, calibration, O/E.

Pure functions of outcomes ``y`` (0/1) and predicted probabilities ``p``; the
plot functions write a PNG with matplotlib's Agg canvas (imported only when a
plot is drawn; no global pyplot state) and return its path.

Funnel-plot control limits use the normal approximation to the Poisson: an
entity with expected count ``E`` has ``O ~ Poisson(E)`` under the model, so
``O/E`` has limits ``1 +/- z / sqrt(E)`` with ``z`` the two-sided normal
quantile of the level (1.960 for 95 %, 3.090 for 99.8 %); lower limits are
floored at 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from toolkit.errors import InputError
from toolkit.expected.irls import binomial_deviance, fit_logistic, null_deviance

if TYPE_CHECKING:
    import numpy.typing as npt
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def _yp(y: npt.ArrayLike, p: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if y.shape != p.shape or y.ndim != 1:
        raise InputError("outcomes and probabilities must be 1-d arrays of the same length")
    bad_y = int(np.count_nonzero((y != 0) & (y != 1)))
    bad_p = int(np.count_nonzero(~((p >= 0) & (p <= 1))))
    if bad_y or bad_p:
        raise InputError(f"{bad_y} outcome(s) are not 0/1 and {bad_p} probabilities are outside [0, 1]")
    return y, p


def c_statistic(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Area under the ROC curve (c-statistic), exactly, from mid-ranks (ties count one half).

    Equals the share of (event, non-event) pairs in which the event has the higher
    probability, ties counting 1/2 (the Mann-Whitney statistic divided by n1 * n0).
    """
    y, p = _yp(y, p)
    n1 = float(y.sum())
    n0 = y.size - n1
    if n1 == 0 or n0 == 0:
        raise InputError("the c-statistic needs at least one event and one non-event")
    ranks = stats.rankdata(p, method="average")
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def brier_score(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Mean squared difference between probability and outcome."""
    y, p = _yp(y, p)
    return float(np.mean((p - y) ** 2))


def deviance_explained(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """``1 - deviance / null deviance`` of the predictions (the null model predicts the mean)."""
    y, p = _yp(y, p)
    with np.errstate(divide="ignore"):
        eta = np.log(p) - np.log1p(-p)
    return float(1.0 - binomial_deviance(y, eta) / null_deviance(y))


def calibration_table(y: npt.ArrayLike, p: npt.ArrayLike, n_groups: int = 10) -> pd.DataFrame:
    """Observed vs expected by risk group (deciles by default) of the predicted probability.

    Rows are sorted by ``p`` (stably) and cut into ``n_groups`` groups of equal size
    (sizes differ by at most one), so ties never produce empty groups.
    """
    y, p = _yp(y, p)
    order = np.argsort(p, kind="stable")
    group = np.empty(y.size, dtype=np.int64)
    group[order] = np.arange(y.size) * n_groups // y.size
    df = pd.DataFrame({"group": group + 1, "y": y, "p": p})
    out = df.groupby("group").agg(
        n=("y", "size"), observed=("y", "sum"), expected=("p", "sum"), p_min=("p", "min"), p_max=("p", "max")
    )
    out["observed_rate"] = out["observed"] / out["n"]
    out["expected_rate"] = out["expected"] / out["n"]
    out["oe"] = out["observed"] / out["expected"]
    return out


def calibration_slope(y: npt.ArrayLike, p: npt.ArrayLike) -> dict[str, float]:
    """Logistic recalibration of ``y`` on ``logit(p)``.

    Returns ``slope`` and ``intercept`` of ``logit P(y) = a + b logit(p)`` (ideal 1 and 0),
    their standard errors, and ``citl`` (calibration-in-the-large: the intercept
    with the slope fixed at 1, i.e. with ``logit(p)`` as an offset; ideal 0).
    """
    y, p = _yp(y, p)
    if np.any((p <= 0) | (p >= 1)):
        raise InputError("calibration slope needs probabilities strictly between 0 and 1")
    lp = np.log(p) - np.log1p(-p)
    x = np.asfortranarray(np.column_stack([np.ones_like(lp), lp]))
    res = fit_logistic(x, y, names=["intercept", "logit(p)"])
    citl = fit_logistic(np.ones((y.size, 1), order="F"), y, offset=lp, names=["intercept"])
    se = np.sqrt(np.diag(res.cov))
    return {
        "intercept": float(res.coef[0]),
        "slope": float(res.coef[1]),
        "intercept_se": float(se[0]),
        "slope_se": float(se[1]),
        "citl": float(citl.coef[0]),
    }


def observed_expected(
    frame: pd.DataFrame, group_cols: str | Sequence[str], outcome: str, p: npt.ArrayLike
) -> pd.DataFrame:
    """Per entity (e.g. site): ``n``, ``observed`` events, ``expected`` = sum of p, ``oe`` = O/E,
    and ``variance`` = sum of p(1 - p) (the binomial variance of O)."""
    cols = [group_cols] if isinstance(group_cols, str) else list(group_cols)
    missing = [c for c in cols + [outcome] if c not in frame.columns]
    if missing:
        raise InputError(f"observed_expected: missing column(s) {', '.join(map(repr, missing))}")
    y, p = _yp(frame[outcome].to_numpy(dtype=np.float64), np.asarray(p, dtype=np.float64))
    work = frame[cols].copy()
    work["_y"], work["_p"], work["_v"] = y, p, p * (1 - p)
    out = work.groupby(cols, sort=True, observed=True).agg(
        n=("_y", "size"), observed=("_y", "sum"), expected=("_p", "sum"), variance=("_v", "sum")
    )
    out["oe"] = out["observed"] / out["expected"]
    return out


def funnel_limits(expected: npt.ArrayLike, levels: Sequence[float] = (0.95, 0.998)) -> pd.DataFrame:
    """O/E control limits around 1 at each expected count (normal approximation to Poisson).

    Columns ``lower_<level>`` and ``upper_<level>``: ``1 -/+ z / sqrt(E)``, lower floored at 0,
    with ``z = Phi^{-1}(1 - (1 - level) / 2)``.
    """
    e = np.asarray(expected, dtype=np.float64)
    if np.any(e <= 0):
        raise InputError("expected counts must be positive")
    out = {"expected": e}
    for level in levels:
        z = stats.norm.ppf(1 - (1 - level) / 2)
        out[f"lower_{level:g}"] = np.maximum(1 - z / np.sqrt(e), 0.0)
        out[f"upper_{level:g}"] = 1 + z / np.sqrt(e)
    return pd.DataFrame(out)


def _canvas(width: float = 6.0, height: float = 4.5) -> tuple[Figure, Axes]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def calibration_plot(table: pd.DataFrame, path: str | Path, title: str = "Calibration by risk decile") -> Path:
    """Observed vs expected rate per risk group (from :func:`calibration_table`), saved as PNG."""
    path = Path(path)
    calibration_figure(table, title).savefig(path, format="png")
    return path


def calibration_figure(table: pd.DataFrame, title: str = "Calibration by risk decile") -> Any:
    """The figure of :func:`calibration_plot` (a matplotlib ``Figure``, not registered with pyplot)."""
    fig, ax = _canvas()
    top = float(max(table["observed_rate"].max(), table["expected_rate"].max(), 1e-9)) * 1.05
    ax.plot([0, top], [0, top], color="grey", linewidth=1, linestyle="--", label="perfect calibration")
    ax.plot(table["expected_rate"], table["observed_rate"], marker="o", label="risk group")
    ax.set_xlabel("expected rate (mean predicted probability)")
    ax.set_ylabel("observed rate")
    ax.set_title(title)
    ax.legend(loc="upper left")
    return fig


def funnel_plot(
    oe: pd.DataFrame, path: str | Path, levels: Sequence[float] = (0.95, 0.998), title: str = "O/E by expected count"
) -> Path:
    """Entity O/E against expected count with control limits (see :func:`funnel_limits`), saved as PNG."""
    path = Path(path)
    funnel_figure(oe, levels, title).savefig(path, format="png")
    return path


def funnel_figure(
    oe: pd.DataFrame, levels: Sequence[float] = (0.95, 0.998), title: str = "O/E by expected count"
) -> Any:
    """The figure of :func:`funnel_plot` (a matplotlib ``Figure``, not registered with pyplot)."""
    fig, ax = _canvas()
    e = oe["expected"].to_numpy(dtype=float)
    grid = np.linspace(max(e.min() * 0.9, 1e-3), e.max() * 1.05, 200)
    lim = funnel_limits(grid, levels)
    ax.scatter(e, oe["oe"], s=12, label="entity")
    ax.axhline(1.0, color="black", linewidth=1)
    # strict=False: the line styles cover up to three levels; further levels are not drawn
    for level, style in zip(levels, ["--", ":", "-."], strict=False):
        ax.plot(grid, lim[f"upper_{level:g}"], color="firebrick", linestyle=style, label=f"{level:.1%} limits")
        ax.plot(grid, lim[f"lower_{level:g}"], color="firebrick", linestyle=style)
    ax.set_xlabel("expected count")
    ax.set_ylabel("observed / expected")
    ax.set_title(title + " (Poisson normal approximation)")
    ax.legend(loc="upper right")
    return fig
