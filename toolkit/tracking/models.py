"""Every model the toolkit registers is logged here, as one MLflow pyfunc (:mod:`toolkit.tracking.pyfunc`).

A logged model carries JSON artifacts and nothing else of substance:

- ``model.json``: the expected-performance model (coefficients, covariance, knots, boundaries,
  factor levels; :class:`~toolkit.expected.ExpectedModel`);
- ``input_contract.json``: the data-contract fields of the columns the model reads, with the
  contract versions (:func:`input_contract`);
- ``site_effects.json`` (Bayesian two-stage models only): each site's posterior mean and SD of its
  log-odds effect, and the effect of a site the model has not seen (:func:`site_effects_payload`).

No training rows, no participant ids, no input example. No MLflow signature is attached:
MLflow's own schema enforcement would run before the contract check and echo input rows in its
errors; the pyfunc validates its input against the contract instead.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from toolkit.contracts import load_contracts

if TYPE_CHECKING:
    from mlflow.models.model import ModelInfo

    from toolkit.expected import ExpectedModel

#: Tables whose fields a registered DES model's input may carry.
INPUT_TABLES = ("measure_records", "participants", "regions")
#: The models-from-code file every logged model runs.
PYFUNC_CODE = Path(__file__).with_name("pyfunc.py")
PIP_REQUIREMENTS = ["numpy", "pandas", "scipy", "pyyaml", "pydantic", "mlflow"]


def input_contract(
    columns: Sequence[str], name: str, tables: Sequence[str] = INPUT_TABLES, contracts_dir: str | Path | None = None
) -> dict[str, Any]:
    """The contract of a model's input: each named column as the first of ``tables`` (data contracts in
    ``contracts_dir``, the shipped ones by default) that declares it."""
    contracts = load_contracts(contracts_dir)
    fields, versions = [], {}
    for col in columns:
        for t in tables:
            c = contracts[t]
            if col in c.columns:
                f = asdict(c.field(col))
                cons = {k: f[k] for k in ("required", "minimum", "maximum", "pattern") if f[k] not in (None, False)}
                if f["enum"]:
                    cons["enum"] = list(f["enum"])
                field = {"name": col, "type": f["type"], "description": f["description"], "constraints": cons}
                if f["aliases"]:
                    field["aliases"] = dict(f["aliases"])
                fields.append(field)
                versions[t] = c.version
                break
        else:
            raise KeyError(f"column {col} is in no input contract ({', '.join(tables)})")
    return {
        "name": name,
        "contract_versions": versions,
        "contract": {"table": f"{name}-input", "version": "1", "fields": fields},
    }


def site_effects_payload(
    effects: pd.DataFrame, new_site: tuple[float, float], program: str, measure: str
) -> dict[str, Any]:
    """JSON of a measure's site effects: ``effects`` indexed by site id with ``mean`` and ``sd``."""
    return {
        "program": program,
        "measure": measure,
        "site_id": [str(s) for s in effects.index],
        "mean": [float(v) for v in effects["mean"]],
        "sd": [float(v) for v in effects["sd"]],
        "new_site": {"mean": float(new_site[0]), "sd": float(new_site[1])},
    }


def log_model(
    model: ExpectedModel,
    name: str,
    *,
    register: bool,
    contract: dict[str, Any],
    site_effects: dict[str, Any] | None = None,
) -> ModelInfo:
    """Log ``model`` as the toolkit's pyfunc in the active run and register it as ``name`` when asked.

    ``contract`` is the model's :func:`input_contract`; ``site_effects`` (a :func:`site_effects_payload`)
    makes it a two-stage Bayesian model whose predictions average over each site's posterior effect.
    Returns MLflow's ``ModelInfo`` (``registered_model_version`` is None when not registered).
    """
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        files = {
            "model": (Path(tmp) / "model.json", model.to_json()),
            "input_contract": (Path(tmp) / "input_contract.json", json.dumps(contract, indent=1, sort_keys=True)),
        }
        if site_effects is not None:
            files["site_effects"] = (Path(tmp) / "site_effects.json", json.dumps(site_effects, sort_keys=True))
        for path, text in files.values():
            path.write_text(text)
        # MLflow prints two lines per registration to stderr; the caller's progress line says the same
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.filterwarnings("ignore", message=".*type hints to the `predict` method.*")
            # no input example on purpose: it would be made of participant rows
            warnings.filterwarnings("ignore", message=".*An input example was not provided.*")
            return mlflow.pyfunc.log_model(
                name="model",
                python_model=str(PYFUNC_CODE),
                artifacts={k: str(p) for k, (p, _) in files.items()},
                pip_requirements=PIP_REQUIREMENTS,
                registered_model_name=name if register else None,
            )
