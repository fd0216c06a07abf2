"""Risk-adjusted comparison of "better off" across services: expected model, O/E, funnel, shrinkage.

The expected-performance core (:func:`toolkit.expected.fit_expected`) fits ``improved`` on client
characteristics only: the model frame handed to it holds the columns of
``data_contracts/clientlevel/derived/model_input.yaml`` and the outcome, never the provider or the
service, and a formula naming any other column is refused. Per service: observed, expected,
O/E, funnel limits (Poisson normal approximation, as the DES diagnostics), and the two-stage
shrunken effect and O/E with intervals (:mod:`~toolkit.schemes.clientlevel.shrinkage`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.errors import ConfigError
from toolkit.expected import fit_expected
from toolkit.expected import diagnostics as dx
from toolkit.expected.formula import parse_formula
from toolkit.schemes.clientlevel.config import ClientLevelConfig
from toolkit.schemes.clientlevel.features import MODEL_COLUMNS, check_formula_columns
from toolkit.schemes.clientlevel.shrinkage import shrink_effects


@dataclass
class Comparison:
    model: object                 # ExpectedModel
    frame: pd.DataFrame           # model frame with ``expected_p``
    table: pd.DataFrame           # per service, unsuppressed
    metrics: dict
    calibration: pd.DataFrame
    tau: float


def check_model_spec(config: ClientLevelConfig) -> list[str]:
    """The formula's columns, refused unless every one is a client characteristic."""
    cols = parse_formula(config.model.formula).columns
    bad = check_formula_columns(cols)
    if bad:
        raise ConfigError(f"model.formula uses {', '.join(bad)}: the expected model reads client characteristics "
                          f"only ({', '.join(MODEL_COLUMNS)}), never the provider or the service")
    return cols


def compare_services(mf: pd.DataFrame, services: pd.DataFrame, config: ClientLevelConfig) -> Comparison:
    """Fit, predict and compare (no I/O, deterministic)."""
    check_model_spec(config)
    spec = config.model
    x = mf[list(MODEL_COLUMNS) + [spec.outcome]]
    model = fit_expected(x, spec.formula, out_of_range=spec.out_of_range, unseen_level=spec.unseen_level)
    p = model.predict(x)
    y = mf[spec.outcome].to_numpy(dtype=float)
    frame = mf.assign(expected_p=p)
    oe = dx.observed_expected(frame, "service_id", spec.outcome, p).reset_index()
    lim = dx.funnel_limits(oe["expected"].to_numpy(), config.funnel_levels)
    table = pd.concat([oe, lim.drop(columns="expected")], axis=1)
    outer = max(config.funnel_levels)
    table["funnel"] = np.where(table["oe"] > table[f"upper_{outer:g}"], "above",
                               np.where(table["oe"] < table[f"lower_{outer:g}"], "below", "within"))
    g = config.shrinkage.grid
    sh = shrink_effects(y, p, mf["service_id"].to_numpy(), grid=(g.lower, g.upper, g.points),
                        interval=config.shrinkage.interval)
    eff = sh.effects_.rename(columns={"unit": "service_id"}).drop(columns=["n", "observed", "expected"])
    table = table.merge(eff, on="service_id", how="left").merge(
        services[["service_id", "provider_id", "service_offering"]], on="service_id", how="left")
    front = ["provider_id", "service_id", "service_offering", "n", "observed", "expected", "oe"]
    table = table[front + [c for c in table.columns if c not in front and c != "variance"]]
    table = table.sort_values(["service_offering", "provider_id", "service_id"]).reset_index(drop=True)
    metrics = {"n": float(len(y)), "events": float(y.sum()), "auc": dx.c_statistic(y, p),
               "brier": dx.brier_score(y, p), "calibration_in_the_large": abs(y.sum() - p.sum()) / max(y.sum(), 1),
               "deviance_explained": dx.deviance_explained(y, p), "tau": sh.tau_,
               "iterations": float(model.fit_stats_["iterations"]), "converged": float(bool(model.converged_))}
    return Comparison(model=model, frame=frame, table=table, metrics=metrics,
                      calibration=dx.calibration_table(y, p).reset_index(), tau=sh.tau_)


def check_comparison(comp: Comparison, config: ClientLevelConfig) -> list[str]:
    """The run's model checks; an empty list means passed."""
    m = comp.metrics
    failed = []
    if not m["converged"]:
        failed.append("the expected model did not converge")
    if m["calibration_in_the_large"] > config.checks.max_calibration_in_the_large:
        failed.append(f"|O - E| / O = {m['calibration_in_the_large']:.4g} exceeds "
                      f"{config.checks.max_calibration_in_the_large}")
    if m["auc"] < config.checks.min_auc:
        failed.append(f"AUC {m['auc']:.3f} below {config.checks.min_auc}")
    return failed
