"""A job folder's record says what its tracked run says, written last, in every outcome: passed, killed
with SIGTERM (the job's handler closes it), killed with SIGKILL (the next job's sweep closes it), and
failed with the error. Shown on a scheme run (``toolkit evaluate``, whose ``run.json`` goes through
the same lifecycle as every scheme's and a release's ``release.json``) in child processes faulted by
``kill_harness.py``, against a real sqlite store in a temporary folder.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

HARNESS = Path(__file__).with_name("kill_harness.py")


@pytest.fixture()
def store(tmp_path):
    return {"uri": f"sqlite:///{tmp_path / 'mlflow.db'}", "out": tmp_path / "out"}


def _evaluate(store: dict, step: str = "none", sig: str = "KILL") -> tuple[subprocess.CompletedProcess, dict]:
    args = ["evaluate", "--synthetic", "60", "--tracking-uri", store["uri"], "--out", str(store["out"])]
    before = set(store["out"].iterdir()) if store["out"].is_dir() else set()
    res = subprocess.run(
        [sys.executable, str(HARNESS), step, sig, "--", *args], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    (folder,) = set(store["out"].iterdir()) - before
    return res, json.loads((folder / "run.json").read_text())


def _run(store: dict, run_id: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=store["uri"]).get_run(run_id)


def test_a_passed_run_says_passed(store):
    res, record = _evaluate(store)
    assert res.returncode == 0, res.stderr
    assert record["status"] == "passed" and record["failed_checks"] == [] and "key_order" in record
    assert _run(store, record["run_id"]).data.tags["toolkit.status"] == "passed"


def test_a_run_killed_with_sigterm_says_killed(store):
    res, record = _evaluate(store, "metrics_1", "TERM")  # the job's own metrics, after run.json was written
    assert res.returncode == 130, res.stderr
    assert record["status"] == "killed" and record["error"] == "ReleaseInterrupted: received SIGTERM"
    assert _run(store, record["run_id"]).info.status == "KILLED"


def test_a_run_killed_with_sigkill_says_killed_once_the_next_job_swept_it(store):
    res, record = _evaluate(store, "metrics_1", "KILL")
    assert res.returncode == -9, res.stderr
    assert record["status"] == "running"  # nobody could close it: it does not claim anything
    nxt, _ = _evaluate(store)  # its start sweeps the store
    assert nxt.returncode == 0, nxt.stderr
    killed = json.loads((Path(_run(store, record["run_id"]).data.tags["toolkit.folder"]) / "run.json").read_text())
    assert killed["status"] == "killed" and "process was gone" in killed["error"]
    assert killed["key_order"] == record["key_order"]  # the rest of the record is kept
    assert _run(store, record["run_id"]).info.status == "KILLED"


def test_a_run_that_raised_says_failed_and_why(store):
    res, record = _evaluate(store, "metrics_1", "RAISE")
    assert res.returncode == 2, res.stderr
    assert record["status"] == "failed" and "disk I/O error" in record["error"]
    run = _run(store, record["run_id"])
    assert run.info.status == "FAILED" and run.data.tags["toolkit.status"] == "failed"
