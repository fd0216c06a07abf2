"""Evaluation of candidate expected-outcome models (``toolkit models evaluate``): a job.

Out-of-fold accuracy and calibration per measure x program with grouped K-fold (whole sites, each
participant in one fold), paired differences against the baseline, subgroup calibration (fairness of
the adjustment) and the rating impact of each rated candidate.

Modules: :mod:`~toolkit.evaluation.config`, :mod:`~toolkit.evaluation.folds`,
:mod:`~toolkit.evaluation.metrics` (pure statistics), :mod:`~toolkit.evaluation.families` (how a
candidate fits: ``spline_glm``, ``lightgbm``), :mod:`~toolkit.evaluation.compute` (tasks and tables,
no I/O), :mod:`~toolkit.evaluation.outputs` (files, plots, report), :mod:`~toolkit.evaluation.pipeline`
(:func:`evaluate_models`, tracked) and :mod:`~toolkit.evaluation.reproduce`.
"""

from __future__ import annotations

from typing import Any


def evaluate_models(*args: Any, **kwargs: Any) -> Any:
    """:func:`toolkit.evaluation.pipeline.evaluate_models` (imported when called)."""
    from toolkit.evaluation.pipeline import evaluate_models as run

    return run(*args, **kwargs)


__all__ = ["evaluate_models"]
