"""A released champion model outside this repository (issue 17): in a fresh virtual environment built from
the model's own requirements only, and behind ``mlflow models serve``.

One release of the tiny world into a temporary sqlite store serves both tests.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

MODEL = "des-ess-full_26"


@pytest.fixture(scope="module")
def released(tiny_world_dir, tmp_path_factory):
    """The release's store and records the champion model can score (synthetic world, the model's columns)."""
    import mlflow

    from toolkit.contracts import load_tables
    from toolkit.records.frame import build_frame
    from toolkit.release.config import load_release_config
    from toolkit.release.pipeline import run_release

    d = tmp_path_factory.mktemp("released")
    uri = f"sqlite:///{d / 'mlflow.db'}"
    config, path = load_release_config("releases/demo.yaml")
    res = run_release(config, tiny_world_dir, config_path=path, tracking_uri=uri, out_root=d / "out", progress=False)
    assert res.status == "passed", res.failed_checks
    mlflow.set_tracking_uri(uri)
    model = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion")
    frame = build_frame(load_tables(tiny_world_dir), config.window.start, config.window.end).frame
    cols = model.metadata.get_input_schema().input_names()
    records = frame.loc[(frame["program"] == "ESS") & (frame["measure"] == "full_26"), cols].reset_index(drop=True)
    return {"uri": uri, "dir": d, "model": model, "records": records.head(300)}


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TOOLKIT_ROOT", "VIRTUAL_ENV")}
    return env | {"PYTHONNOUSERSITE": "1"} | extra


SCORE = """
import sys, time
import mlflow, numpy as np, pandas as pd
t = time.perf_counter()
model = mlflow.pyfunc.load_model(sys.argv[1])
p = np.asarray(model.predict(pd.read_parquet(sys.argv[2])), dtype=float)
seconds = time.perf_counter() - t
pd.DataFrame({"expected_p": p}).to_parquet(sys.argv[3])
print(f"load+predict {seconds:.2f} s")
"""


@pytest.mark.slow
def test_champion_loads_and_predicts_in_a_fresh_venv_from_its_own_requirements(released, tmp_path):
    import mlflow

    reqs = Path(mlflow.pyfunc.get_model_dependencies(f"models:/{MODEL}@champion"))
    lines = [r for r in reqs.read_text().split() if r]
    assert lines and all("==" in r for r in lines), lines  # pinned: the environment is reproducible
    venv, work = tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, cwd=work, env=_clean_env())
    py = str(venv / "bin" / "python")
    pip = subprocess.run(
        [py, "-m", "pip", "install", "--quiet", "--no-input", "-r", str(reqs)],
        cwd=work,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    build = time.perf_counter() - t
    # the repository is out of sight: nothing of it on this interpreter's path
    probe = subprocess.run([py, "-c", "import toolkit"], cwd=work, env=_clean_env(), capture_output=True, text=True)
    assert probe.returncode != 0 and "No module named 'toolkit'" in probe.stderr, probe.stderr
    released["records"].to_parquet(work / "records.parquet")
    (work / "score.py").write_text(SCORE)
    res = subprocess.run(
        [py, "score.py", f"models:/{MODEL}@champion", "records.parquet", "p.parquet"],
        cwd=work,
        env=_clean_env(MLFLOW_TRACKING_URI=released["uri"]),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    p = pd.read_parquet(work / "p.parquet")["expected_p"].to_numpy()
    local = np.asarray(released["model"].predict(released["records"]))
    assert p.shape == (len(released["records"]),)
    np.testing.assert_allclose(p, local, rtol=0, atol=1e-12)
    print(f"venv build {build:.1f} s; {res.stdout.strip()}; max |diff| {np.abs(p - local).max():.1e}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(url: str, payload: dict) -> tuple[int, str]:
    req = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _split(frame: pd.DataFrame) -> dict:
    """``dataframe_split`` JSON with every value as Python gives it (floats round-trip exactly)."""
    rows = [[None if pd.isna(v) else v.item() if hasattr(v, "item") else v for v in row] for row in frame.to_numpy()]
    return {"dataframe_split": {"columns": list(frame.columns), "data": rows}}


def _stop(proc: subprocess.Popen) -> None:
    """End the server's whole process group (the CLI and its uvicorn workers) and check none is left."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
    try:
        os.killpg(proc.pid, 0)
    except ProcessLookupError:
        return
    raise AssertionError(f"processes of the server's group {proc.pid} outlived SIGKILL")


def test_mlflow_models_serve_scores_records_and_answers_bad_ones_with_400(released, tmp_path):
    records = released["records"].head(120)
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", f"models:/{MODEL}@champion"]
        + ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
        cwd=tmp_path,
        # the CLI execs uvicorn from PATH: this interpreter's environment first
        env=_clean_env(
            MLFLOW_TRACKING_URI=released["uri"],
            PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        ),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{base}/ping", timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            assert time.monotonic() < deadline, "the scoring server did not answer /ping in 180 s"
            time.sleep(0.5)
        status, body = _post(f"{base}/invocations", _split(records))
        assert status == 200, body
        served = np.asarray(json.loads(body)["predictions"], dtype=float)
        np.testing.assert_allclose(served, np.asarray(released["model"].predict(records)), rtol=0, atol=1e-12)
        # bad records: HTTP 400 with the contract's message, which never repeats the bad value
        head = records.head(5).astype(object)
        bad = {
            "lack 1 column(s) the model needs: jsci_score": head.drop(columns=["jsci_score"]),
            "education: rule 'enum' broken by 1 row": head.assign(education=["doctorate-zz9", *head["education"][1:]]),
            "jsci_score: rule 'type' broken by 1 row": head.assign(jsci_score=["lots-zz9", *head["jsci_score"][1:]]),
        }
        for message, frame in bad.items():
            status, body = _post(f"{base}/invocations", _split(frame))
            assert status == 400, (message, status, body)
            err = json.loads(body)
            assert err["error_code"] == "INVALID_PARAMETER_VALUE" and message in err["message"], err
            assert "zz9" not in body and "Failed to predict data" not in body, body
        print(f"serve test {time.perf_counter() - t:.1f} s")
    finally:
        _stop(proc)
        log.close()
