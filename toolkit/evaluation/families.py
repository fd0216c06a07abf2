"""Families of candidate models: how a candidate fits one measure x program on a training frame.

A family is a function ``fit(candidate, spec, train, seed) -> Fitted``, registered in :data:`FAMILIES`
by the ``family`` key of the candidate config; the fitted model has ``predict(frame) -> probabilities``.
New families (a penalised GAM, ...) plug in by adding one function here and one name to
:data:`toolkit.evaluation.config.Family`.

- ``spline_glm``: the published method's models, the spec of the candidate's model set fitted as a
  release fits it (:func:`toolkit.expected.fitting.fit_spec`: compact terms when events are few, the
  sparse-level rule, aliased columns dropped, the spec's family);
- ``lightgbm``: gradient-boosted trees on the same covariates (numbers, booleans as 0/1, categories as
  codes of the training levels), single-threaded and deterministic: a yardstick of what a flexible model
  gains out of fold, never a rating model (see docs/method.md).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from toolkit.evaluation.config import Candidate, LightGBMParams
from toolkit.expected.fitting import fit_spec
from toolkit.expected.formula import parse_formula
from toolkit.expected.spec import ModelSpec


class Predictor(Protocol):
    def predict(self, frame: pd.DataFrame) -> np.ndarray: ...


@dataclass
class Fitted:
    """A fitted candidate model of one measure x program, and what to say about the fit."""

    model: Predictor
    info: dict[str, Any] = field(default_factory=dict)


def fit_spline_glm(candidate: Candidate, spec: ModelSpec, train: pd.DataFrame, seed: int) -> Fitted:
    """The spec fitted as a release fits it (its model family too: a penalised-spline spec is fitted with its
    smoothing chosen from the training folds alone)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # clipping and unseen-level notes: the release logs them, not the folds
        model, variant = fit_spec(spec, train)
    return Fitted(
        _Quiet(model),
        {"terms": variant, "n_params": len(model.coef_), "converged": bool(model.converged_)},
    )


class _Quiet:
    """A model whose prediction warnings (clipped values, unseen levels) are not repeated per fold."""

    def __init__(self, model: Any):
        self.model = model

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(self.model.predict(frame), dtype=float)


def covariates(spec: ModelSpec) -> list[str]:
    """The data columns the spec's (full) formula uses, in formula order."""
    return list(parse_formula(spec.formula, spec.outcome).columns)


class _Trees:
    """LightGBM on the spec's covariates; categories coded by their training levels (unseen: missing)."""

    def __init__(self, booster: Any, columns: list[str], levels: dict[str, list[str]]):
        self.booster, self.columns, self.levels = booster, columns, levels

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        return tree_matrix(frame, self.columns, self.levels)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.booster.predict_proba(self.matrix(frame))[:, 1], dtype=float)


def tree_matrix(frame: pd.DataFrame, columns: list[str], levels: dict[str, list[str]]) -> np.ndarray:
    out = np.empty((len(frame), len(columns)), dtype=np.float64)
    for j, c in enumerate(columns):
        s = frame[c]
        if c in levels:
            codes = pd.Categorical(s.astype(object).astype(str).where(s.notna(), None), categories=levels[c]).codes
            out[:, j] = np.where(codes < 0, np.nan, codes)
        else:
            out[:, j] = s.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def fit_lightgbm(candidate: Candidate, spec: ModelSpec, train: pd.DataFrame, seed: int) -> Fitted:
    import lightgbm as lgb

    params = candidate.lightgbm or LightGBMParams()
    cols = covariates(spec)
    levels = {
        c: sorted(train[c].dropna().astype(object).astype(str).unique())
        for c in cols
        if not (pd.api.types.is_numeric_dtype(train[c].dtype) or pd.api.types.is_bool_dtype(train[c].dtype))
    }
    x = tree_matrix(train, cols, levels)
    y = train[spec.outcome].to_numpy(dtype=float).astype(int)
    booster = lgb.LGBMClassifier(
        num_leaves=params.num_leaves,
        n_estimators=params.n_estimators,
        learning_rate=params.learning_rate,
        min_child_samples=params.min_child_samples,
        random_state=seed,
        n_jobs=1,
        deterministic=True,
        force_col_wise=True,
        verbose=-1,
    )
    cat = [j for j, c in enumerate(cols) if c in levels]
    booster.fit(x, y, categorical_feature=cat or "auto")
    return Fitted(_Trees(booster, cols, levels), {"terms": "trees", "n_params": params.n_estimators, "converged": True})


FAMILIES: dict[str, Callable[[Candidate, ModelSpec, pd.DataFrame, int], Fitted]] = {
    "spline_glm": fit_spline_glm,
    "lightgbm": fit_lightgbm,
}


def fit_candidate(candidate: Candidate, spec: ModelSpec, train: pd.DataFrame, seed: int) -> Fitted:
    return FAMILIES[candidate.family](candidate, spec, train, seed)
