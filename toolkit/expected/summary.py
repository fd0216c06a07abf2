"""Coefficient tables and fit statistics in the form an actuary expects."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

COLUMNS = ["coef", "std err", "z", "P>|z|", "[0.025", "0.975]"]


def coefficient_table(coef: pd.Series, bse: pd.Series, level: float = 0.95) -> pd.DataFrame:
    """coef, standard error, Wald z, two-sided p and a Wald confidence interval per design column."""
    from scipy import stats

    z = coef / bse
    q = stats.norm.ppf(0.5 + level / 2.0)
    lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
    return pd.DataFrame(
        {
            "coef": coef,
            "std err": bse,
            "z": z,
            "P>|z|": 2.0 * stats.norm.sf(np.abs(z)),
            f"[{lo:.3f}": coef - q * bse,
            f"{hi:.3f}]": coef + q * bse,
        },
        index=coef.index.rename("term"),
    )


def fit_statistics(
    *, deviance: float, null_deviance: float, n_obs: int, n_events: int, n_params: int, n_iter: int, converged: bool
) -> dict[str, Any]:
    """Model-level statistics of a binary logistic fit (log-likelihood = -deviance / 2)."""
    return {
        "n": int(n_obs),
        "events": int(n_events),
        "parameters": int(n_params),
        "df_resid": int(n_obs - n_params),
        "deviance": float(deviance),
        "null_deviance": float(null_deviance),
        "deviance_explained": float(1.0 - deviance / null_deviance) if null_deviance > 0 else float("nan"),
        "log_likelihood": float(-deviance / 2.0),
        "aic": float(deviance + 2.0 * n_params),
        "bic": float(deviance + np.log(n_obs) * n_params),
        "iterations": int(n_iter),
        "converged": bool(converged),
    }


def summary_text(table: pd.DataFrame, fit_stats: dict[str, Any], formula: str, outcome: str) -> str:
    """A plain-text summary: model header, statistics, then the coefficient table."""
    s = fit_stats
    width = max(78, max((len(str(i)) for i in table.index), default=0) + 66)
    lines = [
        "Binomial GLM, logit link (IRLS)".center(width),
        "=" * width,
        f"Formula:   {formula}",
        f"Outcome:   {outcome}",
        f"n = {s['n']:,}   events = {s['events']:,}   parameters = {s['parameters']}   df resid = {s['df_resid']:,}",
        f"Deviance = {s['deviance']:.4f}   Null deviance = {s['null_deviance']:.4f}   "
        f"Explained = {s['deviance_explained']:.4f}",
        f"Log-likelihood = {s['log_likelihood']:.4f}   AIC = {s['aic']:.4f}   BIC = {s['bic']:.4f}",
        f"Iterations = {s['iterations']}   Converged = {s['converged']}",
        "-" * width,
        table.to_string(float_format=lambda v: f"{v:.4f}"),
        "=" * width,
    ]
    return "\n".join(lines)
