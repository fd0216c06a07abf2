"""Store faults are clear errors, never tracebacks, and never leave anything that claims success:
a store file that is not a sqlite database, a truncated one, an empty (0-byte) one, and a disk that
fills up while a job runs (a file-size limit, ``ulimit -f``, in the job's process).

Each case runs the real CLI (``toolkit evaluate --synthetic``: a small tracked job through the same
lifecycle as a release) against a real sqlite store in a temporary folder.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from toolkit.tracking.doctor import diagnose
from toolkit.tracking.store import connect

JOB = ["evaluate", "--synthetic", "50"]


def _job(store: Path, out: Path, fsize: int | None = None) -> subprocess.CompletedProcess:
    def limit() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run(
        [sys.executable, "-m", "toolkit", *JOB, "--tracking-uri", f"sqlite:///{store}", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=limit,
    )


@pytest.fixture(scope="module")
def good_store(tmp_path_factory) -> Path:
    """A store holding one finished run."""
    d = tmp_path_factory.mktemp("good")
    res = _job(d / "mlflow.db", d / "out")
    assert res.returncode == 0, res.stderr
    return d / "mlflow.db"


def _clear_error(res: subprocess.CompletedProcess, *words: str) -> None:
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr and "ERROR" not in res.stderr, res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("toolkit evaluate: error: "), res.stderr
    for w in words:
        assert w in last, last


def test_a_file_that_is_not_a_store_is_a_clear_error(tmp_path):
    db = tmp_path / "mlflow.db"
    db.write_text("these are not the runs you are looking for\n" * 100)
    before = db.read_bytes()
    _clear_error(_job(db, tmp_path / "out"), f"the MLflow store {db} is not a usable sqlite database", "backup")
    assert db.read_bytes() == before and not (tmp_path / "out").exists()


@pytest.mark.parametrize("keep", [0.4, 0.002])
def test_a_truncated_store_is_a_clear_error(good_store, tmp_path, keep):
    db = tmp_path / "mlflow.db"
    shutil.copy(good_store, db)
    with open(db, "r+b") as fh:
        fh.truncate(int(good_store.stat().st_size * keep))
    _clear_error(_job(db, tmp_path / "out"), "not a usable sqlite database", "malformed")
    assert not (tmp_path / "out").exists()


def test_an_empty_store_file_is_refused_not_recreated(tmp_path):
    """A 0-byte file where the store should be is corruption or a failed copy: MLflow would create a new
    store in it, losing every run and model version (the next release would register version 1)."""
    db = tmp_path / "mlflow.db"
    db.touch()
    _clear_error(_job(db, tmp_path / "out"), "is an empty file (0 bytes)", "restore it from a backup")
    assert db.stat().st_size == 0 and not (tmp_path / "out").exists()
    # where there was no file at all, a new store is made
    res = _job(tmp_path / "new" / "mlflow.db", tmp_path / "out")
    assert res.returncode == 0, res.stderr


def test_a_disk_that_fills_up_mid_job_is_a_clear_error_and_nothing_says_passed(good_store, tmp_path):
    """A file-size limit (``ulimit -f``) in the job's process: writes to the store's journal fail with
    ``disk I/O error`` at some point of the job, which depends on the limit; every limit must give exit 0
    (passed, everything written) or exit 2 with one clear line, and never a folder or run that says passed
    without having finished."""
    mid_job = 0
    for kb in range(64, 161, 16):
        d = tmp_path / f"limit{kb}"
        d.mkdir()
        shutil.copy(good_store, d / "mlflow.db")
        res = _job(d / "mlflow.db", d / "out", fsize=kb * 1024)
        records = [json.loads(p.read_text()) for p in (d / "out").glob("*/run.json")]
        if res.returncode == 0:
            assert [r["status"] for r in records] == ["passed"], res.stderr
            continue
        _clear_error(res, "failed", "disk I/O error")
        assert all(r["status"] != "passed" for r in records), records  # the folder never says passed
        new_runs = [r for i, r in _runs(d / "mlflow.db").items() if i not in _runs(good_store)]  # no limit now
        assert all(r.info.status != "FINISHED" for r in new_runs)  # nor does the store: no run finished
        committed = [r for r in new_runs if r.data.tags.get("toolkit.status") == "passed"]
        if committed:  # the store failed after the run's commit (its verdict tag), while ending it
            assert "committed as passed, but ending it failed" in res.stderr, res.stderr
            uri = f"sqlite:///{d / 'mlflow.db'}"
            assert not diagnose(connect(uri), uri).consistent
            diagnose(connect(uri), uri, repair=True)
            for run in committed:  # as the next job's sweep does: ended with its verdict, folder closed
                after = _runs(d / "mlflow.db")[run.info.run_id]
                assert after.info.status == "FINISHED", after.info
                folder = Path(after.data.tags["toolkit.folder"])
                assert json.loads((folder / "run.json").read_text())["status"] == "passed"
        else:
            assert "nothing of this run is marked passed" in res.stderr, res.stderr
        mid_job += bool(records)
    assert mid_job >= 1, "no limit made the store fail after the job had started; widen the range"


def _runs(store: Path) -> dict:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{store}")
    return {r.info.run_id: r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])}


def test_doctor_on_bad_input_is_exit_2(tmp_path):
    empty = tmp_path / "mlflow.db"
    empty.touch()
    for uri, words in [
        (f"sqlite:///{empty}", "is an empty file (0 bytes)"),
        ("ftp://example.org/store", "unsupported tracking URI"),
    ]:
        res = subprocess.run(
            [sys.executable, "-m", "toolkit", "doctor", "--tracking-uri", uri],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
        lines = res.stderr.splitlines()  # the workspace-and-store line every command prints, then the error
        assert lines[0].startswith("[toolkit doctor] workspace "), res.stderr
        assert lines[1].startswith("toolkit doctor: error: ") and words in res.stderr, res.stderr
    fresh = subprocess.run(
        [sys.executable, "-m", "toolkit", "doctor", "--tracking-uri", f"sqlite:///{tmp_path / 'new' / 'mlflow.db'}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert fresh.returncode == 0 and "verdict: consistent" in fresh.stdout, fresh.stdout + fresh.stderr
