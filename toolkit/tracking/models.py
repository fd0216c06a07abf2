"""Every model the toolkit registers is logged here, as one MLflow pyfunc (:mod:`toolkit.tracking.pyfunc`).

A logged model is self-contained: it loads and predicts in a fresh environment built from its own
``requirements.txt`` alone, without this repository. It carries

- ``model.json``: the expected-performance model (coefficients, covariance, knots, boundaries,
  factor levels; :class:`~toolkit.expected.ExpectedModel`);
- ``input_contract.json``: the data-contract fields of the columns the model reads, with the
  contract versions (:func:`input_contract`);
- ``site_effects.json`` (Bayesian two-stage models only): each site's posterior mean and SD of its
  log-odds effect, and the effect of a site the model has not seen (:func:`site_effects_payload`);
- ``code/toolkit/``: the scoring code, a filtered copy of the toolkit modules the pyfunc imports when
  it loads and predicts (:data:`SCORING_MODULES`: ``errors``, ``paths``, ``config``, ``contracts``,
  ``expected``; 21 files). Their import closure outside the standard library is numpy,
  pandas (with pyarrow), scipy, pyyaml and pydantic: no statsmodels, patsy, PyMC or matplotlib
  (``tests/tracking/test_model_code.py`` measures it in a fresh interpreter). The alternative, a
  toolkit wheel logged as an artifact, was measured and not taken: the wheel is 466 kB (the whole
  package, 1.25 MB of source, of which a model needs 12%), and installing it with its declared dependencies pulls
  statsmodels, PyMC, nutpie, numba and matplotlib into the scoring environment, while installing it
  with ``--no-deps`` makes the environment depend on a step the requirements do not state. Loading
  costs the same either way (the same modules are imported);
- ``requirements.txt``: :func:`pinned_requirements`, the exact installed versions;
- a signature and an input example (:func:`model_signature`, :func:`input_example`).

No training rows, no participant ids. The input example is synthetic, built from the contract
alone (each category's allowed values, numbers inside their ranges, a made-up site id).

The signature names every column the model reads, as an optional column of any type, and the output
``expected_p`` (double). The contract's types (``signature_types``) go into the model's metadata
instead of the column specs, because MLflow 3.17 applies a typed signature before the contract sees
the records and gets them wrong both ways: it refuses records the contract reads (a nullable
``Int64`` or ``boolean`` column, a pandas ``Categorical`` or an integer-coded category), answers a
missing required column with an error that repeats the whole input frame, and in the scoring server
casts JSON values to the declared type, which turns the text ``"false"`` into ``True`` and answers a
non-number with an error that echoes the value. With optional any-typed columns every record
reaches the contract check, whose messages name column, rule and row count, never a value.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import json
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from toolkit.contracts import load_contracts
from toolkit.expected.policy import ExtrapolationWarning, UnseenLevelWarning

if TYPE_CHECKING:
    from mlflow.models.model import ModelInfo
    from mlflow.models.signature import ModelSignature

    from toolkit.expected import ExpectedModel

#: Tables whose fields a registered DES model's input may carry.
INPUT_TABLES = ("measure_records", "participants", "regions")
#: The models-from-code file every logged model runs.
PYFUNC_CODE = Path(__file__).with_name("pyfunc.py")
#: The package the scoring code is copied from.
TOOLKIT_DIR = Path(__file__).resolve().parent.parent
#: The toolkit modules the pyfunc imports when it loads and predicts (paths under ``toolkit/``); a
#: logged model carries a copy of these and nothing else of the package.
SCORING_MODULES = (
    "__init__.py",
    "errors.py",
    "paths.py",
    "config.py",
    "contracts/__init__.py",
    "contracts/checks.py",
    "contracts/keys.py",
    "contracts/schema.py",
    "contracts/validate.py",
    "expected/__init__.py",
    "expected/design.py",
    "expected/expr.py",
    "expected/formula.py",
    "expected/irls.py",
    "expected/model.py",
    "expected/penalised.py",
    "expected/policy.py",
    "expected/sparse.py",
    "expected/splines.py",
    "expected/summary.py",
    "expected/terms.py",
)
#: The distributions the scoring code and MLflow's loader need (pandas reads its string storage from
#: pyarrow when installed, so pyarrow is pinned with it).
REQUIREMENTS = ("numpy", "pandas", "pyarrow", "scipy", "pyyaml", "pydantic", "mlflow")
#: The output column of every model: the expected probability of the outcome per input row.
OUTPUT = "expected_p"
#: Rows of the synthetic input example.
EXAMPLE_ROWS = 3


def pinned_requirements() -> list[str]:
    """:data:`REQUIREMENTS` pinned to the versions installed here (``numpy==2.4.6``, ...)."""
    return [f"{name}=={importlib.metadata.version(name)}" for name in REQUIREMENTS]


def copy_scoring_code(dest: Path) -> Path:
    """Copy :data:`SCORING_MODULES` to ``dest/toolkit`` (the folder a model's ``code_paths`` names)."""
    root = Path(dest) / "toolkit"
    for rel in SCORING_MODULES:
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(TOOLKIT_DIR / rel, target)
    return root


def _fields(contract: dict[str, Any]) -> list[dict[str, Any]]:
    return list(contract["contract"]["fields"])


def model_signature(contract: dict[str, Any]) -> ModelSignature:
    """Every contract column as an optional column of any type, in contract order; output :data:`OUTPUT`.

    Optional and untyped so that MLflow passes every record to the contract check (module docstring).
    """
    import numpy as np
    from mlflow.models.signature import ModelSignature
    from mlflow.types.schema import AnyType, ColSpec, Schema, TensorSpec

    inputs = Schema([ColSpec(AnyType(), f["name"], required=False) for f in _fields(contract)])
    outputs = Schema([TensorSpec(np.dtype("float64"), (-1,), OUTPUT)])
    return ModelSignature(inputs=inputs, outputs=outputs)


def signature_types(contract: dict[str, Any]) -> dict[str, str]:
    """Each input column's contract type (``integer``, ``number``, ``category``, ...)."""
    return {f["name"]: f["type"] for f in _fields(contract)}


def _example_values(field: dict[str, Any], rows: int) -> list[Any]:
    """``rows`` synthetic values of one contract field: allowed categories in turn, numbers inside the
    range, alternating booleans, a made-up text. Nothing is read from data."""
    cons, kind = field.get("constraints", {}), field["type"]
    enum = cons.get("enum")
    if enum:
        vals = [enum[i % len(enum)] for i in range(rows)]
        return [int(v) if kind == "integer" else float(v) if kind == "number" else str(v) for v in vals]
    if kind in ("integer", "number"):
        lo, hi = cons.get("minimum"), cons.get("maximum")
        lo = float(lo) if lo is not None else min(0.0, float(hi)) if hi is not None else 0.0
        hi = float(hi) if hi is not None else lo + 10.0
        vals = [lo + (hi - lo) * (i + 1) / (rows + 1) for i in range(rows)]
        return [round(v) for v in vals] if kind == "integer" else vals
    if kind == "boolean":
        return [i % 2 == 1 for i in range(rows)]
    if kind == "date":
        return ["2019-07-01"] * rows
    return [f"example-{field['name']}-{i + 1}" for i in range(rows)]


def input_example(contract: dict[str, Any], rows: int = EXAMPLE_ROWS) -> pd.DataFrame:
    """A few synthetic records that satisfy ``contract`` (a :func:`input_contract`), built from its fields
    alone; a ``ValueError`` if the contract constrains a column in a way this cannot meet (a pattern)."""
    from toolkit.contracts.schema import parse_contract
    from toolkit.contracts.validate import check_table

    fields = _fields(contract)
    frame = pd.DataFrame({f["name"]: _example_values(f, rows) for f in fields})
    parsed = parse_contract(contract["contract"], source=f"input contract {contract['name']}")
    _typed, violations, _notes = check_table(frame, parsed)
    if violations:
        raise ValueError(
            f"{contract['name']}: no synthetic input example meets the contract: {'; '.join(map(str, violations))}"
        )
    return frame


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

    example = input_example(contract)
    with tempfile.TemporaryDirectory() as tmp:
        files = {
            "model": (Path(tmp) / "model.json", model.to_json()),
            "input_contract": (Path(tmp) / "input_contract.json", json.dumps(contract, indent=1, sort_keys=True)),
        }
        if site_effects is not None:
            files["site_effects"] = (Path(tmp) / "site_effects.json", json.dumps(site_effects, sort_keys=True))
        for path, text in files.values():
            path.write_text(text)
        code = copy_scoring_code(Path(tmp) / "code")
        # MLflow prints two lines per registration to stderr; the caller's progress line says the same
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.filterwarnings("ignore", message=".*type hints to the `predict` method.*")
            # MLflow scores the input example to check it; the example's numbers may lie outside the
            # training range (the policy clips them, and says so)
            warnings.filterwarnings("ignore", category=ExtrapolationWarning)
            warnings.filterwarnings("ignore", category=UnseenLevelWarning)
            return mlflow.pyfunc.log_model(
                name="model",
                python_model=str(PYFUNC_CODE),
                artifacts={k: str(p) for k, (p, _) in files.items()},
                code_paths=[str(code)],
                pip_requirements=pinned_requirements(),
                signature=model_signature(contract),
                input_example=example,
                metadata={"input_types": signature_types(contract), "output": OUTPUT},
                registered_model_name=name if register else None,
            )
