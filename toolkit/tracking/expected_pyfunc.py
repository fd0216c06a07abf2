"""MLflow pyfunc wrapper of an :class:`~toolkit.expected.ExpectedModel` (models-from-code).

The registered model carries two JSON artifacts and nothing else of substance:
``model.json`` (coefficients, covariance, knots, boundaries, factor levels) and
``input_contract.json`` (the data-contract fields of the columns the model reads,
with the contract versions). No training rows, no participant ids, no input example.

``predict`` validates the input frame against that contract (missing columns, types,
allowed values, ranges) and returns the probabilities as a numpy array in row order.

Downstream code::

    import mlflow
    model = mlflow.pyfunc.load_model("models:/des-ess-full_26@champion")
    p = model.predict(records)   # records: participant characteristics + labour-market factors
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow



class ExpectedPyfunc(mlflow.pyfunc.PythonModel):
    # MLflow would validate inputs from type hints on predict; this model validates them against
    # the data contract instead (below), so MLflow's own type-hint check is switched off.
    _skip_type_hint_validation = True

    def load_context(self, context) -> None:
        from toolkit.contracts.schema import parse_contract
        from toolkit.expected import ExpectedModel

        self.model = ExpectedModel.from_json(Path(context.artifacts["model"]).read_text())
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
        return self.model.predict(typed)


mlflow.models.set_model(ExpectedPyfunc())
