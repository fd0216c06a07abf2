"""Registering expected-performance models and moving the ``champion`` alias."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from dataclasses import asdict
from pathlib import Path

from toolkit.contracts import load_contracts

#: Tables whose fields a registered DES model's input may carry.
INPUT_TABLES = ("measure_records", "participants", "regions")
PYFUNC_CODE = Path(__file__).with_name("expected_pyfunc.py")
PIP_REQUIREMENTS = ["numpy", "pandas", "scipy", "pyyaml", "pydantic", "mlflow"]


def input_contract(columns: list[str], name: str) -> dict:
    """The contract of a model's input: the named columns, as the data contracts declare them."""
    contracts = load_contracts()
    fields, versions = [], {}
    for col in columns:
        for t in INPUT_TABLES:
            c = contracts[t]
            if col in c.columns:
                f = asdict(c.field(col))
                cons = {k: f[k] for k in ("required", "minimum", "maximum", "pattern") if f[k] not in (None, False)}
                if f["enum"]:
                    cons["enum"] = list(f["enum"])
                fields.append({"name": col, "type": f["type"], "description": f["description"], "constraints": cons})
                versions[t] = c.version
                break
        else:
            raise KeyError(f"column {col} is in no input contract ({', '.join(INPUT_TABLES)})")
    return {"name": name, "contract_versions": versions,
            "contract": {"table": f"{name}-input", "version": "1", "fields": fields}}


def log_expected_model(model, name: str, register: bool):
    """Log ``model`` (an ExpectedModel) as a pyfunc in the active run; register it as ``name``.

    Returns the ``ModelInfo`` (``registered_model_version`` is None when not registered).
    No MLflow signature is attached: MLflow's own schema enforcement would run before the
    contract check and echo input rows in its errors; ``input_contract.json`` documents
    the input instead, and ``predict`` enforces it.
    """
    import warnings

    import mlflow

    contract = input_contract(model.design_state_.source_columns, name)
    with tempfile.TemporaryDirectory() as tmp:
        mpath = Path(tmp) / "model.json"
        cpath = Path(tmp) / "input_contract.json"
        mpath.write_text(model.to_json())
        cpath.write_text(json.dumps(contract, indent=1, sort_keys=True))
        # MLflow prints two lines per registration to stderr; our progress line says the same
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            # the model validates its input against the data contract itself (see expected_pyfunc.py)
            warnings.filterwarnings("ignore", message=".*type hints to the `predict` method.*")
            # no input example on purpose: it would be made of participant rows
            warnings.filterwarnings("ignore", message=".*An input example was not provided.*")
            return mlflow.pyfunc.log_model(
                name="model",
                python_model=str(PYFUNC_CODE),
                artifacts={"model": str(mpath), "input_contract": str(cpath)},
                pip_requirements=PIP_REQUIREMENTS,
                registered_model_name=name if register else None,
            )


def set_alias(client, versions: dict[str, str], alias: str) -> None:
    """Point ``alias`` at each registered model's version (only after a release passed its checks)."""
    for name, version in versions.items():
        client.set_registered_model_alias(name, alias, str(version))
