"""Risk-adjusted comparison of "better off" across services and providers: expected model, O/E, funnel, shrinkage.

The expected-performance core (:func:`toolkit.expected.fit_expected`) fits ``improved`` on client
characteristics only: the model frame handed to it holds the columns of
``data_contracts/clientlevel/derived/model_input.yaml`` and the outcome, never the provider or the
service, and a formula naming any other column is refused. Per service: observed, expected,
O/E, funnel limits (Poisson normal approximation, as the DES diagnostics), and the two-stage
shrunken effect and O/E with intervals (:mod:`~toolkit.schemes.clientlevel.shrinkage`).

Per provider (:func:`provider_table`): n, observed and expected are the sums over the provider's
services (the same client-level expected probabilities, so a provider's E is the sum of its
services' E), O/E and funnel limits from those sums, and the shrunken effect and O/E from
:func:`~toolkit.schemes.clientlevel.shrinkage.shrink_effects` run again with the provider as the
unit: ``y_i ~ Bernoulli(expit(o_i + b_provider))``, ``b_provider ~ Normal(0, tau_provider^2)``,
``tau_provider`` estimated from the providers. This is the model one would fit to compare
providers, and the same one as for services; its limitation is that it gives every client of a
provider one effect, so when a provider's services differ from one another the provider's
interval does not widen for it (a nested provider/service model would; with 1 to 3 services per
provider, tau for services within providers would be poorly estimated). Measured on 20 synthetic
worlds (seeds 1-19 and 2024, 12 providers each, 4 to 11 of them with more than one service),
against the known provider effects of ``truth/provider_effects.csv``: correlation of the
shrunken effect with the client-weighted true effect 0.903 on average (lowest 0.815), of log
shrunken O/E with the log true ratio 0.923 (lowest 0.791), 90 % interval coverage 0.887 (lowest
0.667). The truth there is ``true_ratio_offering``, the ratio against the average client of the
same offering, which is what an O/E from a model adjusted for the offering estimates; against
the world's beta = 0 (``true_ratio``) coverage is 0.746. The alternative, summing the service
posteriors per provider (by simulation), did about the same on the same worlds (against
``true_ratio``: correlation of log O/E 0.913 against 0.907 for provider shrinkage, RMSE of O/E
0.054 against 0.055, coverage 0.754 against 0.746), so the provider level is shrunk like the
services, which is simpler and deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from toolkit.errors import ConfigError
from toolkit.expected import diagnostics as dx
from toolkit.expected import fit_expected
from toolkit.expected.formula import parse_formula
from toolkit.schemes.clientlevel.config import ClientLevelConfig
from toolkit.schemes.clientlevel.features import MODEL_COLUMNS, check_formula_columns
from toolkit.schemes.clientlevel.shrinkage import shrink_effects

if TYPE_CHECKING:
    from toolkit.expected import ExpectedModel


@dataclass
class Comparison:
    model: ExpectedModel
    frame: pd.DataFrame  # model frame with ``expected_p``
    table: pd.DataFrame  # per service, unsuppressed
    metrics: dict
    calibration: pd.DataFrame
    tau: float
    providers: pd.DataFrame  # per provider, unsuppressed (:func:`provider_table`)
    tau_provider: float = float("nan")


def check_model_spec(config: ClientLevelConfig) -> list[str]:
    """The formula's columns, refused unless every one is a client characteristic."""
    cols = parse_formula(config.model.formula).columns
    bad = check_formula_columns(cols)
    if bad:
        raise ConfigError(
            f"model.formula uses {', '.join(bad)}: the expected model reads client characteristics "
            f"only ({', '.join(MODEL_COLUMNS)}), never the provider or the service"
        )
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
    table["funnel"] = _funnel_flag(table, config)
    g = config.shrinkage.grid
    sh = shrink_effects(
        y, p, mf["service_id"].to_numpy(), grid=(g.lower, g.upper, g.points), interval=config.shrinkage.interval
    )
    eff = sh.effects_.rename(columns={"unit": "service_id"}).drop(columns=["n", "observed", "expected"])
    table = table.merge(eff, on="service_id", how="left").merge(
        services[["service_id", "provider_id", "service_offering"]], on="service_id", how="left"
    )
    front = ["provider_id", "service_id", "service_offering", "n", "observed", "expected", "oe"]
    table = table[front + [c for c in table.columns if c not in front and c != "variance"]]
    table = table.sort_values(["service_offering", "provider_id", "service_id"]).reset_index(drop=True)
    providers, tau_provider = provider_table(frame, table, services, config)
    metrics = {
        "n": float(len(y)),
        "events": float(y.sum()),
        "auc": dx.c_statistic(y, p),
        "brier": dx.brier_score(y, p),
        "calibration_in_the_large": abs(y.sum() - p.sum()) / max(y.sum(), 1),
        "deviance_explained": dx.deviance_explained(y, p),
        "tau": sh.tau_,
        "tau_provider": tau_provider,
        "iterations": float(model.fit_stats_["iterations"]),
        "converged": float(bool(model.converged_)),
    }
    return Comparison(
        model=model,
        frame=frame,
        table=table,
        metrics=metrics,
        calibration=dx.calibration_table(y, p).reset_index(),
        tau=sh.tau_,
        providers=providers,
        tau_provider=tau_provider,
    )


def _funnel_flag(table: pd.DataFrame, config: ClientLevelConfig) -> np.ndarray:
    outer = max(config.funnel_levels)
    return np.where(
        table["oe"] > table[f"upper_{outer:g}"],
        "above",
        np.where(table["oe"] < table[f"lower_{outer:g}"], "below", "within"),
    )


def provider_table(
    frame: pd.DataFrame, service_table: pd.DataFrame, services: pd.DataFrame, config: ClientLevelConfig
) -> tuple[pd.DataFrame, float]:
    """Per provider: services, n, observed, expected (sums of the service rows), O/E, funnel, shrinkage.

    ``frame`` is the model frame with ``expected_p``; the provider of each client is looked up
    from ``services`` by its service. Returns the table (sorted by provider) and ``tau_provider``.
    See the module docstring for the provider-level shrinkage and why it is done this way.
    """
    outcome = config.model.outcome
    prov_of = services.set_index("service_id")["provider_id"]
    sums = (
        service_table.assign(provider_id=service_table["service_id"].map(prov_of))
        .groupby("provider_id", sort=True)
        .agg(
            services=("service_id", "size"), n=("n", "sum"), observed=("observed", "sum"), expected=("expected", "sum")
        )
        .reset_index()
    )
    sums["oe"] = sums["observed"] / sums["expected"]
    lim = dx.funnel_limits(sums["expected"].to_numpy(), config.funnel_levels)
    table = pd.concat([sums, lim.drop(columns="expected")], axis=1)
    table["funnel"] = _funnel_flag(table, config)
    g = config.shrinkage.grid
    units = frame["service_id"].map(prov_of).to_numpy()
    sh = shrink_effects(
        frame[outcome].to_numpy(dtype=float),
        frame["expected_p"].to_numpy(),
        units,
        grid=(g.lower, g.upper, g.points),
        interval=config.shrinkage.interval,
    )
    # n, observed and expected are the service rows' sums above (tests/schemes/clientlevel: the same as the
    # client-level sums of shrink_effects); only the shrinkage columns are taken from it
    eff = sh.effects_.rename(columns={"unit": "provider_id"}).drop(columns=["n", "observed", "expected"])
    table = table.merge(eff, on="provider_id", how="left")
    return table.sort_values("provider_id").reset_index(drop=True), sh.tau_


def check_comparison(comp: Comparison, config: ClientLevelConfig) -> list[str]:
    """The run's model checks; an empty list means passed."""
    m = comp.metrics
    failed = []
    if not m["converged"]:
        failed.append("the expected model did not converge")
    if m["calibration_in_the_large"] > config.checks.max_calibration_in_the_large:
        failed.append(
            f"|O - E| / O = {m['calibration_in_the_large']:.4g} exceeds {config.checks.max_calibration_in_the_large}"
        )
    if m["auc"] < config.checks.min_auc:
        failed.append(f"AUC {m['auc']:.3f} below {config.checks.min_auc}")
    return failed
