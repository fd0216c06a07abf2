"""The statistics of an evaluation, as pure functions of outcomes and probabilities.

- :func:`log_loss`, :func:`brier`, AUC (:func:`toolkit.expected.diagnostics.c_statistic`), calibration slope
  and intercept (:func:`toolkit.expected.diagnostics.calibration_slope`): :func:`fold_metrics`;
- :func:`wilson_interval`: the interval of an observed rate (calibration by risk decile);
- :func:`paired_interval`: mean of per-fold differences with a t interval over the K folds;
- :func:`oe_interval`: observed / expected of a subgroup with an interval from the variance of a sum of
  Bernoulli outcomes with the model's probabilities, ``var(O) = sum p (1 - p)``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from toolkit.expected import diagnostics as dx

#: Probabilities are kept in [EPS, 1 - EPS] for the log loss and the calibration fit.
EPS = 1e-12
#: The metrics of a fold, in table order; for each, whether lower is better.
METRICS = {
    "log_loss": True,
    "brier": True,
    "auc": False,
    "calibration_slope": False,
    "calibration_intercept": False,
    "oe": False,
}


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean negative log-likelihood of 0/1 outcomes ``y`` under probabilities ``p``."""
    q = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    y = np.asarray(y, dtype=float)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log1p(-q)))


def brier(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((np.asarray(p, dtype=float) - np.asarray(y, dtype=float)) ** 2))


def fold_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Log loss, Brier, AUC, calibration slope and intercept (``logit P(y) = a + b logit p``) and O/E of one
    set of out-of-fold predictions; NaN where a statistic is undefined (no event, or no non-event)."""
    y = np.asarray(y, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    out = {"n": float(len(y)), "events": float(y.sum()), "log_loss": log_loss(y, p), "brier": brier(y, p)}
    both = 0 < y.sum() < len(y)
    out["auc"] = dx.c_statistic(y, p) if both else math.nan
    try:
        cal = dx.calibration_slope(y, p) if both else None
    except Exception:  # a recalibration fit that separates (tiny folds): no slope
        cal = None
    out["calibration_slope"] = cal["slope"] if cal else math.nan
    out["calibration_intercept"] = cal["intercept"] if cal else math.nan
    out["oe"] = float(y.sum() / p.sum())
    return out


def wilson_interval(events: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``events / n``."""
    if n <= 0:
        return math.nan, math.nan
    z = float(stats.norm.ppf(0.5 + level / 2))
    phat = events / n
    centre = (phat + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def decile_calibration(y: np.ndarray, p: np.ndarray, level: float = 0.95, groups: int = 10) -> pd.DataFrame:
    """Observed vs expected rate by risk decile of ``p``, with the Wilson interval of the observed rate."""
    t = dx.calibration_table(y, p, min(groups, max(1, len(y)))).reset_index()
    lo_hi = [wilson_interval(o, n, level) for o, n in zip(t["observed"], t["n"], strict=True)]
    t["observed_lower"] = [a for a, _ in lo_hi]
    t["observed_upper"] = [b for _, b in lo_hi]
    return t[
        ["group", "n", "observed", "expected", "observed_rate", "expected_rate", "observed_lower", "observed_upper"]
    ]


def paired_interval(diffs: np.ndarray, level: float = 0.95) -> tuple[float, float, float, float]:
    """Mean of per-fold differences, its standard error and the t interval with K - 1 degrees of freedom:
    ``(mean, se, lower, upper)``. Folds are the pairing unit: both candidates are scored on the same
    held-out sites, so the fold-to-fold variation of the data cancels in the difference."""
    d = np.asarray(diffs, dtype=float)
    d = d[np.isfinite(d)]
    if len(d) == 0:
        return math.nan, math.nan, math.nan, math.nan
    mean = float(d.mean())
    if len(d) < 2:
        return mean, math.nan, math.nan, math.nan
    se = float(d.std(ddof=1) / math.sqrt(len(d)))
    t = float(stats.t.ppf(0.5 + level / 2, len(d) - 1))
    return mean, se, mean - t * se, mean + t * se


def oe_interval(observed: float, p: np.ndarray, level: float = 0.95) -> dict[str, float]:
    """O/E of a subgroup with an interval under the model: O is a sum of Bernoulli outcomes with the
    subgroup's probabilities, so if the model is calibrated for the subgroup, E(O) = E = sum p and
    var(O) = sum p (1 - p). The interval is ``O/E +- z sqrt(var O) / E`` (the E-based, normal interval);
    it excludes 1 exactly when ``|O - E| > z sqrt(var O)``: ``flagged``."""
    p = np.asarray(p, dtype=float)
    e = float(p.sum())
    v = float((p * (1 - p)).sum())
    z = float(stats.norm.ppf(0.5 + level / 2))
    oe = observed / e if e > 0 else math.nan
    half = z * math.sqrt(v) / e if e > 0 else math.nan
    zscore = (observed - e) / math.sqrt(v) if v > 0 else math.nan
    return {
        "observed": float(observed),
        "expected": e,
        "oe": oe,
        "oe_lower": oe - half,
        "oe_upper": oe + half,
        "z": zscore,
        "flagged": bool(abs(zscore) > z) if math.isfinite(zscore) else False,
    }
