"""Fit a model set (one expected-performance model per measure x program) on a frame of records and
predict every record's probability: what a release fits, and what the Bayesian variant takes its offsets from."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from toolkit.expected import ExpectedModel, fit_design, fit_expected
from toolkit.expected import diagnostics as dx
from toolkit.expected.irls import SeparationError
from toolkit.expected.spec import ModelSpec

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass
class FittedMeasure:
    """One measure x program: its spec, fitted model, row positions in the frame, and diagnostics."""

    spec: ModelSpec
    model: ExpectedModel
    rows: np.ndarray
    p: np.ndarray
    metrics: dict[str, float]
    calibration: pd.DataFrame
    seconds: float
    formula: str = ""
    formula_variant: str = "full"
    warnings: list[str] = field(default_factory=list)


def choose_formula(spec: ModelSpec, data: pd.DataFrame) -> tuple[str, str]:
    """The spec's formula, or its compact one when events per design column fall below the spec's minimum."""
    if not spec.compact_formula or spec.min_events_per_parameter <= 0:
        return spec.formula, "full"
    events = float(data[spec.outcome].sum())
    n_cols = len(fit_design(data, spec.formula, spec.outcome).columns)
    non_events = len(data) - events
    if min(events, non_events) / n_cols < spec.min_events_per_parameter:
        return spec.compact_formula, "compact"
    return spec.formula, "full"


def fit_spec(spec: ModelSpec, data: pd.DataFrame) -> tuple[ExpectedModel, str]:
    """The model ``spec`` describes, fitted on ``data`` as a release fits it: its formula (full, or compact
    when the data are too few), its policies, sparse-level and aliasing rules, and its family. Returns
    the model and which terms were used (``full``/``compact``). Used by releases and model evaluations
    alike, so that a fold is fitted exactly as a release would fit it."""
    formula, variant = choose_formula(spec, data)
    try:
        model = fit_expected(
            data,
            formula,
            spec.outcome,
            out_of_range=spec.policies.out_of_range,
            unseen_level=spec.policies.unseen_level,
            sparse_levels=spec.sparse_levels.params(),
            aliased=spec.aliased,
            family=spec.family,
            penalty=spec.penalty.params() if spec.family != "spline_glm" else None,
        )
    except SeparationError as exc:  # no rule applies: the model, its terms and the separating levels
        raise SeparationError(f"model {spec.name} ({variant} terms): {exc}", exc.columns) from None
    return model, variant


def model_metrics(y: np.ndarray, p: np.ndarray, model: ExpectedModel) -> dict[str, float]:
    cal = dx.calibration_slope(y, p)
    stats = model.fit_stats_
    obs, exp = float(y.sum()), float(p.sum())
    return {
        "n": float(len(y)),
        "events": obs,
        "auc": dx.c_statistic(y, p),
        "brier": dx.brier_score(y, p),
        "calibration_slope": cal["slope"],
        "calibration_intercept": cal["intercept"],
        "calibration_in_the_large": abs(obs - exp) / max(obs, 1.0),
        "deviance": float(stats["deviance"]),
        "null_deviance": float(stats["null_deviance"]),
        "deviance_explained": dx.deviance_explained(y, p),
        "aic": float(stats["aic"]),
        "iterations": float(stats["iterations"]),
        "n_params": float(len(model.coef_)),
        "pooled_levels": float(len(model.design_state_.pooled)),  # levels and cells the sparse-level rule pooled
        "aliased_columns": float(len(model.aliased_)),  # design columns dropped as aliased (R's NA coefficients)
    }


def fit_measures(
    frame: pd.DataFrame, specs: dict[str, ModelSpec], say: Callable[[str], None] = print
) -> tuple[dict[str, FittedMeasure], np.ndarray]:
    """Fit each spec on its records; return the fits and a probability per frame row (NaN where no model)."""
    p_all = np.full(len(frame), np.nan)
    prog = frame["program"].to_numpy()
    meas = frame["measure"].to_numpy()
    fits: dict[str, FittedMeasure] = {}
    for i, (key, spec) in enumerate(sorted(specs.items()), 1):
        rows = np.flatnonzero((prog == spec.records.program) & (meas == spec.records.measure))
        if len(rows) == 0:
            say(f"model {i}/{len(specs)} {spec.name}: no records, not fitted")
            continue
        t0 = time.perf_counter()
        sub = frame.iloc[rows]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model, variant = fit_spec(spec, sub)
            p = model.predict(sub)
        y = sub[spec.outcome].to_numpy(dtype=float)
        metrics = model_metrics(y, p, model)
        secs = time.perf_counter() - t0
        p_all[rows] = p
        fits[key] = FittedMeasure(
            spec=spec,
            model=model,
            rows=rows,
            p=p,
            metrics=metrics,
            calibration=dx.calibration_table(y, p),
            seconds=secs,
            formula=model.formula,
            formula_variant=variant,
            warnings=[str(w.message) for w in caught],
        )
        pooled = model.design_state_.pooled
        say(
            f"model {i}/{len(specs)} {spec.name}: n={len(rows):,} events={int(y.sum()):,} "
            f"AUC={metrics['auc']:.3f} cols={len(model.coef_)}"
            f"{' (compact terms)' if variant == 'compact' else ''} {secs:.1f}s"
            + (f"; sparse levels pooled: {'; '.join(q.describe() for q in pooled)}" if pooled else "")
            + (f"; aliased columns dropped: {', '.join(model.aliased_)}" if model.aliased_ else "")
        )
    return fits, p_all
