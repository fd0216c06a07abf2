"""SIGTERM is raised in a job at a point where it breaks nothing, and an interrupted job always exits.

A signal that arrives during a call into the store (MLflow, SQLAlchemy) waits for the call to end: an
exception inside SQLAlchemy can close a transaction under it (the job then failed with "This
transaction is closed" instead of ending killed) and one inside a thread pool can leave a worker the
interpreter waits for forever at exit. The toolkit also ends an interrupted process whose exit hangs
on such a thread. Child processes of ``toolkit evaluate`` faulted by ``kill_harness.py``, against a
real sqlite store in a temporary folder.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO

HARNESS = Path(__file__).with_name("kill_harness.py")


def _evaluate(tmp_path: Path, step: str, sig: str) -> tuple[subprocess.Popen, float]:
    args = ["evaluate", "--synthetic", "60", "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"]
    args += ["--out", str(tmp_path / "out")]
    proc = subprocess.Popen(
        [sys.executable, str(HARNESS), step, sig, "--", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, time.perf_counter()


def _record(tmp_path: Path) -> dict:
    (folder,) = (tmp_path / "out").iterdir()
    return json.loads((folder / "run.json").read_text())


def test_a_sigterm_during_a_store_call_waits_for_the_call_then_ends_the_job_killed(tmp_path):
    from mlflow.tracking import MlflowClient

    proc, _ = _evaluate(tmp_path, "metrics_1", "TERM")  # SIGTERM as the job's metrics are being written
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 130, out
    record = _record(tmp_path)
    assert record["status"] == "killed" and record["error"] == "ReleaseInterrupted: received SIGTERM"
    run = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}").get_run(record["run_id"])
    assert run.info.status == "KILLED"
    assert "seconds" in run.data.metrics  # the call under way when the signal came was completed


def test_an_interrupted_job_exits_even_when_a_worker_thread_would_keep_it_alive(tmp_path):
    proc, t0 = _evaluate(tmp_path, "metrics_1", "TERM_ORPHAN")
    try:
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, out
    assert "toolkit evaluate: interrupted" in out
    assert time.perf_counter() - t0 < 90
    assert _record(tmp_path)["status"] == "killed"
