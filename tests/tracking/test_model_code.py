"""What a registered model carries (issue 17): its scoring code, pinned requirements, a signature that lets
every record reach the contract check, and a synthetic input example; and that it loads and predicts with
this repository out of sight, importing no modelling library beyond numpy, pandas, scipy, pyyaml, pydantic.

Three models are logged directly through ``tracking.models.log_model`` (an expected-performance model, the
same with site effects as the Bayesian two-stage models are, and one on the client-level model-input
contract), so these checks cost seconds; the release-built model in a fresh virtual environment and behind
``mlflow models serve`` is in ``test_model_environment.py``.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.contracts.schema import parse_contract
from toolkit.contracts.validate import check_table
from toolkit.errors import DataContractError
from toolkit.expected import fit_expected
from toolkit.tracking import models as tm

#: Libraries the scoring code must not need when a model loads and predicts.
FORBIDDEN = {"statsmodels", "patsy", "pymc", "pytensor", "arviz", "nutpie", "numba", "matplotlib", "sklearn", "xarray"}


def _records(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(15, 65, n)
    edu = rng.choice(["below_year10", "year10", "year11_12", "certificate", "diploma", "degree"], n)
    jsci = rng.integers(0, 60, n)
    eta = -1.0 + 0.02 * (age - 40) - 0.03 * (jsci - 30) + (edu == "degree") * 0.5
    return pd.DataFrame(
        {
            "age": age,
            "education": edu,
            "jsci_score": jsci,
            "y": (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int),
        }
    )


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """Three models logged and registered into a sqlite store: ``{kind: (name, in-process model, records)}``."""
    import mlflow

    from toolkit.schemes.clientlevel.load import MODEL_CONTRACTS

    d = tmp_path_factory.mktemp("model_code")
    uri = f"sqlite:///{d / 'mlflow.db'}"
    train = _records(3000, 1)
    model = fit_expected(train, "y ~ bs(age, df=3) + C(education, Treatment('year10')) + jsci_score")
    cols = model.design_state_.source_columns
    sites = pd.DataFrame({"mean": [0.4, -0.3], "sd": [0.1, 0.2]}, index=["site-a", "site-b"])
    ci_train = pd.DataFrame(
        {
            "age": np.resize([10, 30, 50, 70], 400),
            "gender": np.resize(["female", "male", "another", "male"], 400),
            "y": np.resize([0, 1, 1, 0, 1], 400),
        }
    )
    ci_model = fit_expected(ci_train, "y ~ age + C(gender, Treatment('female'))")
    mlflow.set_tracking_uri(uri)
    exp = mlflow.create_experiment("model-code", artifact_location=(d / "artifacts").as_uri())
    out = {}
    with mlflow.start_run(experiment_id=exp):
        tm.log_model(model, "t-expected", register=True, contract=tm.input_contract(cols, "t-expected"))
        out["expected"] = ("t-expected", model, _records(200, 2)[cols])
        tm.log_model(
            model,
            "t-bayes",
            register=True,
            contract=tm.input_contract([*cols, "site_id"], "t-bayes"),
            site_effects=tm.site_effects_payload(sites, (0.0, 0.5), "ESS", "full_26"),
        )
        rec = _records(200, 3)[cols].assign(site_id=np.resize(["site-a", "site-b", "site-new"], 200))
        out["bayes"] = ("t-bayes", model, rec)
        contract = tm.input_contract(
            ["age", "gender"], "t-client", tables=("model_input",), contracts_dir=MODEL_CONTRACTS
        )
        tm.log_model(ci_model, "t-client", register=True, contract=contract)
        out["client"] = ("t-client", ci_model, ci_train[["age", "gender"]].head(50))
    return {"uri": uri, "dir": d, "models": out}


def _local(logged, name: str) -> Path:
    import mlflow

    mlflow.set_tracking_uri(logged["uri"])
    return Path(mlflow.artifacts.download_artifacts(f"models:/{name}/1"))


@pytest.mark.parametrize("kind", ["expected", "bayes", "client"])
def test_a_logged_model_carries_its_code_pinned_requirements_signature_and_example(logged, kind):
    import mlflow

    name, _model, records = logged["models"][kind]
    path = _local(logged, name)
    code = sorted(p.relative_to(path / "code" / "toolkit").as_posix() for p in (path / "code").rglob("*.py"))
    assert code == sorted(tm.SCORING_MODULES)
    reqs = (path / "requirements.txt").read_text().split()
    assert reqs == [f"{r}=={importlib.metadata.version(r)}" for r in tm.REQUIREMENTS]
    assert any(r.startswith("mlflow==3.") for r in reqs)
    info = mlflow.models.get_model_info(f"models:/{name}/1")
    contract = json.loads((path / "artifacts" / "input_contract.json").read_text())
    fields = contract["contract"]["fields"]
    assert info.signature.inputs.input_names() == [f["name"] for f in fields] == list(records.columns)
    assert info.signature.inputs.required_input_names() == []
    assert info.signature.outputs.input_names() == [tm.OUTPUT]
    assert info.metadata["input_types"] == {f["name"]: f["type"] for f in fields}
    # the example is synthetic: it meets the contract, and every value comes from the contract
    example = pd.read_json(path / "input_example.json", orient="split")
    assert len(example) == tm.EXAMPLE_ROWS
    _typed, violations, _ = check_table(example, parse_contract(contract["contract"]))
    assert not violations
    for f in fields:
        enum = f["constraints"].get("enum")
        if enum:
            assert set(example[f["name"]].astype(str)) <= {str(v) for v in enum}
    if kind == "bayes":
        assert set(example["site_id"]) == {f"example-site_id-{i}" for i in (1, 2, 3)}
        assert not set(example["site_id"]) & set(records["site_id"])


def test_the_signature_lets_every_valid_record_through_and_the_contract_judges_the_rest(logged):
    """Nullable integers and booleans, pandas categoricals, integer-coded values, text for categories,
    extra columns: MLflow passes them all to the model, which scores them as the in-process model does;
    what breaks the contract is a ``DataContractError`` naming the column and rule, never the value."""
    import mlflow

    name, _model, records = logged["models"]["bayes"]
    mlflow.set_tracking_uri(logged["uri"])
    loaded = mlflow.pyfunc.load_model(f"models:/{name}/1")
    plain = np.asarray(loaded.predict(records))
    variants = {
        "nullable": records.astype({"age": "Int64", "jsci_score": "Int64"}),
        "categorical": records.astype({"education": "category", "site_id": "category"}),
        "float ints": records.astype({"age": "float64"}),
        "object": records.astype(object),
        "extra column": records.assign(participant_note="x", contract_id="C1"),
        "reordered": records[list(reversed(records.columns))],
    }
    for label, frame in variants.items():
        np.testing.assert_allclose(np.asarray(loaded.predict(frame)), plain, rtol=0, atol=1e-15, err_msg=label)
    bad = {
        "lack 1 column(s) the model needs: jsci_score": records.drop(columns=["jsci_score"]),
        "education: rule 'enum' broken by 1 row": records.assign(
            education=["doctorate-zz9"] + list(records["education"][1:])
        ),
        "jsci_score: rule 'type' broken by 1 row": records.astype({"jsci_score": object}).assign(
            jsci_score=["many-zz9"] + list(records["jsci_score"][1:])
        ),
        "age: rule 'required' broken by 1 row": records.astype({"age": "Int64"}).assign(
            age=pd.array([None] + list(records["age"][1:]), dtype="Int64")
        ),
    }
    for message, frame in bad.items():
        with pytest.raises(DataContractError, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
            loaded.predict(frame)
        assert "zz9" not in str(e.value)


def _hidden_repo_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TOOLKIT_ROOT")}
    return env | {"PYTHONNOUSERSITE": "1"}


#: Loads every model from the store with the repository out of sight: the toolkit package of this checkout
#: (on sys.path from the current folder, or through the editable install's import hook) is unreachable.
LOAD_SCRIPT = r"""
import json, sys, time
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
# the checkout's folders go, its virtual environment (.venv inside the checkout, in CI too) stays
sys.path[:] = [p for p in sys.path if p and not (p.startswith({repo!r}) and "site-packages" not in p)]
try:
    import toolkit
    sys.exit("toolkit is importable before a model is loaded: " + toolkit.__file__)
except ModuleNotFoundError:
    pass
import mlflow
import pandas as pd
mlflow.set_tracking_uri({uri!r})
before = set(sys.modules)
out = {{}}
for name, records in {jobs!r}.items():
    t = time.perf_counter()
    model = mlflow.pyfunc.load_model(f"models:/{{name}}/1")
    p = model.predict(pd.read_json(records, orient="split"))
    out[name] = {{"p": [float(v) for v in p], "seconds": time.perf_counter() - t}}
new = set(sys.modules) - before
out["toolkit_files"] = sorted(m.__file__ for k, m in sys.modules.items() if k.split(".")[0] == "toolkit")
out["new_top_level"] = sorted({{k.split(".")[0] for k in new}})
out["all_top_level"] = sorted({{k.split(".")[0] for k in sys.modules}})
print(json.dumps(out))
"""


def test_models_load_and_predict_with_the_repository_out_of_sight(logged, tmp_path):
    import mlflow

    repo = str(Path(__file__).resolve().parents[2])
    jobs = {}
    for kind, (name, _m, records) in logged["models"].items():
        p = tmp_path / f"{kind}.json"
        records.to_json(p, orient="split", index=False, double_precision=15)
        jobs[name] = str(p)
    script = LOAD_SCRIPT.format(repo=repo, uri=logged["uri"], jobs=jobs)
    res = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=_hidden_repo_env(), capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    # the scoring code came from the models, and only the modules they carry were imported
    code_dirs = {Path(f).parents[0] for f in out["toolkit_files"]}
    assert all(str(d).startswith(str(logged["dir"])) and "/code/toolkit" in str(d) for d in code_dirs), code_dirs
    imported = {f.split("/code/toolkit/")[1] for f in out["toolkit_files"]}
    assert imported <= set(tm.SCORING_MODULES)
    assert not FORBIDDEN & set(out["all_top_level"]), FORBIDDEN & set(out["all_top_level"])
    mlflow.set_tracking_uri(logged["uri"])
    for name, model, _records in logged["models"].values():
        local = np.asarray(
            mlflow.pyfunc.load_model(f"models:/{name}/1").predict(pd.read_json(jobs[name], orient="split"))
        )
        np.testing.assert_allclose(out[name]["p"], local, rtol=0, atol=1e-12)
        if name != "t-bayes":
            np.testing.assert_allclose(local, model.predict(pd.read_json(jobs[name], orient="split")), rtol=1e-12)


def test_the_scoring_modules_import_no_modelling_library(tmp_path):
    """The import closure of the scoring code itself, measured in a fresh interpreter on the filtered copy."""
    code = tm.copy_scoring_code(tmp_path / "code")
    script = (
        "import sys\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]\n"
        f"sys.path.insert(0, {str(code.parent)!r})\n"
        "before = set(sys.modules)\n"
        "from toolkit.contracts.schema import parse_contract\n"
        "from toolkit.contracts.validate import check_table\n"
        "from toolkit.errors import DataContractError\n"
        "from toolkit.expected import ExpectedModel\n"
        "print(' '.join(sorted({m.split('.')[0] for m in set(sys.modules) - before})))\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('toolkit'))))\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=_hidden_repo_env(), capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr[-3000:]
    tops, toolkit_modules = (set(line.split()) for line in res.stdout.strip().splitlines())
    assert {"numpy", "pandas", "scipy", "yaml", "pydantic", "toolkit"} <= tops
    assert not FORBIDDEN & tops and "mlflow" not in tops
    carried = {
        f"toolkit/{m}".removesuffix(".py").removesuffix("/__init__").replace("/", ".") for m in tm.SCORING_MODULES
    }
    assert toolkit_modules == carried
