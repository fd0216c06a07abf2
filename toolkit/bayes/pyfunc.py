"""MLflow pyfunc of a two-stage Bayesian model (models-from-code): posterior mean probabilities.

Artifacts: ``model.json`` (the frequentist expected-performance model whose probabilities are
the offsets: coefficients, knots, levels), ``site_effects.json`` (per site: posterior mean and
SD of its log-odds effect on this measure, shift included; and the effect of a site the model
has not seen) and ``input_contract.json``. No training rows, no participant ids.

``predict(records)`` returns, per record, ``E[expit(logit p_i + b_site)]`` over the posterior of
the site's effect (normal approximation, 20-point Gauss-Hermite quadrature)::

    model = mlflow.pyfunc.load_model("models:/des-ess-full_26-bayes@champion")
    p = model.predict(records)   # the frequentist model's columns plus site_id
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np


def posterior_mean_probability(offset, mean, sd, nodes: int = 20) -> np.ndarray:
    """``E[expit(offset + b)]`` for ``b ~ Normal(mean, sd)``, elementwise (Gauss-Hermite quadrature)."""
    x, w = np.polynomial.hermite.hermgauss(nodes)
    eta = (np.asarray(offset, float) + np.asarray(mean, float))[..., None] + np.sqrt(2.0) * np.asarray(sd, float)[..., None] * x
    return (0.5 * (1.0 + np.tanh(0.5 * eta))) @ w / np.sqrt(np.pi)


class BayesPyfunc(mlflow.pyfunc.PythonModel):
    _skip_type_hint_validation = True

    def load_context(self, context) -> None:
        from toolkit.contracts.schema import parse_contract
        from toolkit.expected import ExpectedModel

        self.model = ExpectedModel.from_json(Path(context.artifacts["model"]).read_text())
        eff = json.loads(Path(context.artifacts["site_effects"]).read_text())
        self.sites = {s: i for i, s in enumerate(eff["site_id"])}
        self.mean = np.append(np.asarray(eff["mean"], float), eff["new_site"]["mean"])
        self.sd = np.append(np.asarray(eff["sd"], float), eff["new_site"]["sd"])
        spec = json.loads(Path(context.artifacts["input_contract"]).read_text())
        self.contract = parse_contract(spec["contract"], source=f"registered model input contract {spec['name']}")
        self.name = spec["name"]

    def predict(self, context, model_input, params=None):
        import pandas as pd

        from toolkit.contracts.validate import check_table
        from toolkit.errors import DataContractError

        if not isinstance(model_input, pd.DataFrame):
            raise DataContractError(f"{self.name}: predict takes a pandas DataFrame of records")
        needed = self.contract.columns
        missing = [c for c in needed if c not in model_input.columns]
        if missing:
            raise DataContractError(
                f"{self.name}: input records lack {len(missing)} column(s) the model needs: {', '.join(missing)}")
        typed, violations, _notes = check_table(model_input[needed], self.contract)
        if violations:
            raise DataContractError(
                f"{self.name}: input records break the data contract ({len(violations)} violation(s)):\n"
                + "\n".join(f"  - {v}" for v in violations), violations)
        offset = self.model.predict_linear(typed)
        idx = np.array([self.sites.get(str(s), len(self.sites)) for s in typed["site_id"]], dtype=np.int64)
        return posterior_mean_probability(offset, self.mean[idx], self.sd[idx])


mlflow.models.set_model(BayesPyfunc())
