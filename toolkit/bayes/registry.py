"""Logging and registering two-stage Bayesian models as MLflow pyfunc models (no participant rows)."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import warnings
from pathlib import Path

import pandas as pd

PYFUNC_CODE = Path(__file__).with_name("pyfunc.py")


def site_effects_payload(effects: pd.DataFrame, new_site: tuple[float, float], program: str, measure: str) -> dict:
    """JSON of a measure's site effects: ``effects`` indexed by site id with ``mean`` and ``sd``."""
    return {"program": program, "measure": measure, "site_id": [str(s) for s in effects.index],
            "mean": [float(v) for v in effects["mean"]], "sd": [float(v) for v in effects["sd"]],
            "new_site": {"mean": float(new_site[0]), "sd": float(new_site[1])}}


def log_bayes_model(expected_model, payload: dict, name: str, register: bool):
    """Log a two-stage model (offset model + site effects) as a pyfunc in the active run; register as ``name``."""
    import mlflow

    from toolkit.tracking.registry import PIP_REQUIREMENTS, input_contract

    cols = list(expected_model.design_state_.source_columns) + ["site_id"]
    contract = input_contract(cols, name)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {"model": Path(tmp) / "model.json", "site_effects": Path(tmp) / "site_effects.json",
                 "input_contract": Path(tmp) / "input_contract.json"}
        paths["model"].write_text(expected_model.to_json())
        paths["site_effects"].write_text(json.dumps(payload, sort_keys=True))
        paths["input_contract"].write_text(json.dumps(contract, indent=1, sort_keys=True))
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.filterwarnings("ignore", message=".*type hints to the `predict` method.*")
            warnings.filterwarnings("ignore", message=".*An input example was not provided.*")
            return mlflow.pyfunc.log_model(name="model", python_model=str(PYFUNC_CODE),
                                           artifacts={k: str(v) for k, v in paths.items()},
                                           pip_requirements=PIP_REQUIREMENTS,
                                           registered_model_name=name if register else None)
