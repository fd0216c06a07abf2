"""The MLflow pyfunc of every model the toolkit registers (models-from-code; logged by
:func:`toolkit.tracking.models.log_model`).

This file runs where the model is loaded, which may be an environment without this repository: it
imports only what the model carries (the scoring part of ``toolkit``, logged as the model's
``code_paths``; :data:`toolkit.tracking.models.SCORING_MODULES`) and its pinned requirements.

Artifacts: ``model.json`` (an :class:`~toolkit.expected.ExpectedModel`: coefficients, covariance,
knots, boundaries, factor levels), ``input_contract.json`` (the data-contract fields of the columns
the model reads) and, for a two-stage Bayesian model, ``site_effects.json`` (per site the posterior
mean and SD of its log-odds effect on the measure, and the effect of a site the model has not seen).

``predict(records)`` validates the input frame against the contract (missing columns, types,
allowed values, ranges; no value is echoed) and returns the probabilities as a numpy array in row
order: the expected-performance model's, or for a Bayesian model ``E[expit(logit p_i + b_site)]``
over the posterior of the site's effect (normal approximation, 20-point Gauss-Hermite quadrature)::

    import mlflow
    model = mlflow.pyfunc.load_model("models:/des-ess-full_26@champion")
    p = model.predict(records)   # participant characteristics + labour-market factors (+ site_id: Bayesian)

Input that breaks the contract raises :class:`ModelInputError`, a ``DataContractError`` that is also
an ``MlflowException`` with ``INVALID_PARAMETER_VALUE``: the scoring server (``mlflow models serve``)
answers it with HTTP 400 and the contract's message.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc import PythonModel

from toolkit.errors import DataContractError


class ModelInputError(DataContractError, MlflowException):
    """Records a registered model cannot score: a :class:`~toolkit.errors.DataContractError` for callers
    in Python, an ``MlflowException`` with ``INVALID_PARAMETER_VALUE`` (HTTP 400) for MLflow's scoring server.

    The message is the contract's and never changes: MLflow 3.17's scoring server rewrites the message of
    an ``MlflowException`` raised by ``predict`` to ``"Failed to predict data '<the whole input frame>'..."``
    (``mlflow/pyfunc/scoring_server/__init__.py``, ``invocations``), which would echo the records in the
    response; assignments to ``message`` after construction are ignored.
    """

    def __init__(self, message: str, violations: list | None = None):
        DataContractError.__init__(self, message, violations)
        MlflowException.__init__(self, message, error_code=INVALID_PARAMETER_VALUE)

    @property
    def message(self) -> str:
        return self._contract_message

    @message.setter
    def message(self, value: str) -> None:
        if not hasattr(self, "_contract_message"):
            self._contract_message = value


def posterior_mean_probability(offset: Any, mean: Any, sd: Any, nodes: int = 20) -> np.ndarray:
    """``E[expit(offset + b)]`` for ``b ~ Normal(mean, sd)``, elementwise (Gauss-Hermite quadrature)."""
    x, w = np.polynomial.hermite.hermgauss(nodes)
    eta = (np.asarray(offset, float) + np.asarray(mean, float))[..., None] + np.sqrt(2.0) * np.asarray(sd, float)[
        ..., None
    ] * x
    return (0.5 * (1.0 + np.tanh(0.5 * eta))) @ w / np.sqrt(np.pi)


class ToolkitPyfunc(PythonModel):
    # MLflow would validate inputs from type hints on predict; this model validates them against
    # the data contract instead (below), so MLflow's own type-hint check is switched off.
    _skip_type_hint_validation = True

    def load_context(self, context: Any) -> None:
        from toolkit.contracts.schema import parse_contract
        from toolkit.expected import ExpectedModel

        self.model = ExpectedModel.from_json(Path(context.artifacts["model"]).read_text())
        spec = json.loads(Path(context.artifacts["input_contract"]).read_text())
        self.contract = parse_contract(spec["contract"], source=f"registered model input contract {spec['name']}")
        self.name = spec["name"]
        self.sites: dict[str, int] | None = None
        if "site_effects" in context.artifacts:
            eff = json.loads(Path(context.artifacts["site_effects"]).read_text())
            self.sites = {s: i for i, s in enumerate(eff["site_id"])}
            self.mean = np.append(np.asarray(eff["mean"], float), eff["new_site"]["mean"])
            self.sd = np.append(np.asarray(eff["sd"], float), eff["new_site"]["sd"])

    # a DataFrame hint: MLflow infers no signature from it (the signature is the contract's, logged with the model)
    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> np.ndarray:
        from toolkit.contracts.validate import check_table

        if not isinstance(model_input, pd.DataFrame):
            raise ModelInputError(f"{self.name}: predict takes a pandas DataFrame of records")
        needed = self.contract.columns
        missing = [c for c in needed if c not in model_input.columns]
        if missing:
            raise ModelInputError(
                f"{self.name}: input records lack {len(missing)} column(s) the model needs: {', '.join(missing)}"
            )
        typed, violations, _notes = check_table(model_input[needed], self.contract)
        if violations:
            raise ModelInputError(
                f"{self.name}: input records break the data contract ({len(violations)} violation(s)):\n"
                + "\n".join(f"  - {v}" for v in violations),
                violations,
            )
        if self.sites is None:
            return np.asarray(self.model.predict(typed))
        offset = self.model.predict_linear(typed)
        idx = np.array([self.sites.get(str(s), len(self.sites)) for s in typed["site_id"]], dtype=np.int64)
        return posterior_mean_probability(offset, self.mean[idx], self.sd[idx])


mlflow.models.set_model(ToolkitPyfunc())
