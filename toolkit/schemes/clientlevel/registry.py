"""Registering the client-level expected model, composed from :mod:`toolkit.tracking.registry`.

:func:`toolkit.tracking.registry.log_expected_model` builds a model's input contract from the DES
data contracts (``measure_records``, ``participants``, ``regions``). The client-level model reads
the derived columns of ``data_contracts/clientlevel/derived/model_input.yaml`` instead, so this
module builds that contract and logs the same pyfunc (``toolkit/tracking/expected_pyfunc.py``,
which validates input against whatever contract it carries). Generalising
``input_contract(columns, name)`` with a ``contracts_dir`` and a table list would make this module
a two-line call.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import warnings
from dataclasses import asdict
from pathlib import Path

from toolkit.contracts import load_contracts
from toolkit.schemes.clientlevel.load import MODEL_CONTRACTS


def model_input_contract(columns: list[str], name: str) -> dict:
    """The input contract of the model: the named columns as ``model_input.yaml`` declares them."""
    c = load_contracts(MODEL_CONTRACTS)["model_input"]
    fields = []
    for col in columns:
        f = asdict(c.field(col))
        cons = {k: f[k] for k in ("required", "minimum", "maximum", "pattern") if f[k] not in (None, False)}
        if f["enum"]:
            cons["enum"] = list(f["enum"])
        fields.append({"name": col, "type": f["type"], "description": f["description"], "constraints": cons})
    return {"name": name, "contract_versions": {"model_input": c.version},
            "contract": {"table": f"{name}-input", "version": "1", "fields": fields}}


def log_client_model(model, name: str, register: bool):
    """Log ``model`` (an ExpectedModel) as the toolkit's expected-model pyfunc; register it as ``name``.

    Only coefficients, covariance, knots, bounds and levels (``model.json``) and the input
    contract travel with it: no training rows, no pseudonyms, no input example.
    """
    import mlflow

    from toolkit.tracking.registry import PIP_REQUIREMENTS, PYFUNC_CODE

    contract = model_input_contract(model.design_state_.source_columns, name)
    with tempfile.TemporaryDirectory() as tmp:
        mpath, cpath = Path(tmp) / "model.json", Path(tmp) / "input_contract.json"
        mpath.write_text(model.to_json())
        cpath.write_text(json.dumps(contract, indent=1, sort_keys=True))
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.filterwarnings("ignore", message=".*type hints to the `predict` method.*")
            warnings.filterwarnings("ignore", message=".*An input example was not provided.*")
            return mlflow.pyfunc.log_model(name="model", python_model=str(PYFUNC_CODE),
                                           artifacts={"model": str(mpath), "input_contract": str(cpath)},
                                           pip_requirements=PIP_REQUIREMENTS,
                                           registered_model_name=name if register else None)
