"""Releases interrupted during the champion move, end to end: the aliases stay on the previous passed
release, and the folder of the interrupted release says how it ended (``release.json`` and the status
line of ``report.md``), never "passed".

Each faulted release runs the real CLI in a child process through ``tests/tracking/kill_harness.py``,
which sends the signal (or raises the store error) at a chosen step of the alias move; only
``MlflowClient`` is wrapped. One sqlite store in a temporary folder, the small synthetic world (the
tiny one is too small for the release's models to converge).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from toolkit.errors import TrackingError
from toolkit.tracking.aliases import champion_versions, current_versions

pytestmark = pytest.mark.slow

HARNESS = REPO / "tests" / "tracking" / "kill_harness.py"


def _release(world: Path, store: dict, step: str = "none", sig: str = "KILL") -> subprocess.CompletedProcess:
    args = ["release", "--data", str(world), "--tracking-uri", store["uri"], "--out", str(store["out"])]
    return subprocess.run(
        [sys.executable, str(HARNESS), step, sig, "--", *args], cwd=REPO, capture_output=True, text=True, timeout=900
    )


def _folder(res: subprocess.CompletedProcess) -> Path:
    line = next(ln for ln in res.stderr.splitlines() if "writing to " in ln)
    return Path(line.split("writing to ", 1)[1].strip())


def _status_line(folder: Path) -> str:
    return next(ln for ln in (folder / "report.md").read_text().splitlines() if ln.startswith("- status: "))


def _doctor(store: dict, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "toolkit", "doctor", "--tracking-uri", store["uri"], *extra],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory, small_world_dir):
    d = tmp_path_factory.mktemp("faults")
    s = {"uri": f"sqlite:///{d / 'mlflow.db'}", "dir": d, "out": d / "releases"}
    first = _release(small_world_dir, s)
    assert first.returncode == 0, first.stderr[-3000:]
    folder = _folder(first)
    s["champions"] = json.loads((folder / "release.json").read_text())["model_versions"]
    assert json.loads((folder / "release.json").read_text())["status"] == "passed"
    assert _status_line(folder) == "- status: **passed**"
    return s


def _client(store):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=store["uri"])


def _run(store, folder: Path):
    return _client(store).get_run(json.loads((folder / "release.json").read_text())["run_id"])


def test_a_release_sigtermed_during_the_alias_move_leaves_the_previous_champions(store, small_world_dir):
    res = _release(small_world_dir, store, "alias_5", "TERM")
    assert res.returncode == 130, res.stderr[-3000:]
    assert "toolkit release: interrupted" in res.stderr and "Traceback" not in res.stderr
    names = sorted(store["champions"])
    assert current_versions(_client(store), names, "champion") == store["champions"]
    assert champion_versions(names, tracking_uri=store["uri"]) == store["champions"]
    folder = _folder(res)
    record = json.loads((folder / "release.json").read_text())
    assert record["status"] == "killed" and record["error"] == "ReleaseInterrupted: received SIGTERM"
    assert _status_line(folder) == "- status: **KILLED** (ReleaseInterrupted: received SIGTERM)"
    run = _run(store, folder)
    assert run.info.status == "KILLED" and run.data.tags["toolkit.alias_move"] == "rolled_back"
    assert _doctor(store).returncode == 0


def test_a_release_sigkilled_during_the_alias_move_is_rolled_back_by_doctor(store, small_world_dir):
    res = _release(small_world_dir, store, "alias_7", "KILL")
    assert res.returncode == -9, res.stderr[-3000:]
    names = sorted(store["champions"])
    folder = _folder(res)
    assert json.loads((folder / "release.json").read_text())["status"] == "running"  # nothing claims passed
    assert _status_line(folder).startswith("- status: **running**")
    split = current_versions(_client(store), names, "champion")
    assert split != store["champions"]  # 7 of 13 moved: what a reader must not be given
    with pytest.raises(TrackingError, match="toolkit doctor --repair"):
        champion_versions(names, tracking_uri=store["uri"])

    found = _doctor(store)
    assert found.returncode == 1 and "verdict: INCONSISTENT" in found.stdout, found.stdout + found.stderr
    assert "7 of 13 already moved" in found.stdout
    fixed = _doctor(store, "--repair")
    assert fixed.returncode == 1 and "13 alias(es) restored" not in fixed.stdout, fixed.stdout
    assert "7 alias(es) restored to the previous set" in fixed.stdout and "ended as killed" in fixed.stdout
    assert _doctor(store).returncode == 0

    assert champion_versions(names, tracking_uri=store["uri"]) == store["champions"]
    record = json.loads((folder / "release.json").read_text())
    assert record["status"] == "killed" and "process was gone" in record["error"]
    assert _status_line(folder).startswith("- status: **KILLED** (the process was gone")
    assert _run(store, folder).info.status == "KILLED"


def test_a_store_failure_during_the_alias_move_fails_the_release_cleanly(store, small_world_dir):
    res = _release(small_world_dir, store, "alias_3", "RAISE")
    assert res.returncode == 2, res.stderr[-3000:]
    assert "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("toolkit release: error: the MLflow store at ")
    names = sorted(store["champions"])
    assert champion_versions(names, tracking_uri=store["uri"]) == store["champions"]
    folder = _folder(res)
    record = json.loads((folder / "release.json").read_text())
    assert record["status"] == "failed" and "disk I/O error" in record["error"]
    assert _status_line(folder).startswith("- status: **FAILED** (MlflowException: (sqlite3.OperationalError) disk")
    run = _run(store, folder)
    assert run.info.status == "FAILED" and run.data.tags["toolkit.status"] == "failed"
