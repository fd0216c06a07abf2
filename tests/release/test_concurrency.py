"""Two releases at once into one sqlite store; releases killed mid-fit and mid-registration."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def _start(world: Path, uri: str, out: Path, log: Path) -> subprocess.Popen:
    with open(log, "w") as fh:  # the release writes to its own copy of the descriptor
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "toolkit",
                "release",
                "--data",
                str(world),
                "--tracking-uri",
                uri,
                "--out",
                str(out),
            ],
            cwd=REPO,
            stdout=fh,
            stderr=subprocess.STDOUT,
            text=True,
        )


def _wait_for(log: Path, text: str, proc: subprocess.Popen, timeout: float = 300) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if text in log.read_text():
            return
        if proc.poll() is not None:
            raise AssertionError(f"release ended before {text!r}:\n{log.read_text()}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {text!r}")


def _client(uri):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _release_runs(uri):
    c = _client(uri)
    exp = c.get_experiment_by_name("des-star-ratings")
    return c.search_runs([exp.experiment_id], "tags.`toolkit.kind` = 'release'", order_by=["start_time ASC"])


def test_two_releases_at_once_both_complete_and_reproduce(small_world_dir, tmp_path):
    from toolkit.release.reproduce import reproduce

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    procs = [_start(small_world_dir, uri, tmp_path / "rel", tmp_path / f"log{i}.txt") for i in (1, 2)]
    codes = [p.wait(timeout=600) for p in procs]
    assert codes == [0, 0], [(tmp_path / f"log{i}.txt").read_text()[-3000:] for i in (1, 2)]
    runs = _release_runs(uri)
    assert len(runs) == 2 and all(r.info.status == "FINISHED" for r in runs)
    folders = list((tmp_path / "rel").iterdir())
    assert len(folders) == 2  # separate folders, nothing overwritten
    versions = _client(uri).search_model_versions("name = 'des-ess-full_13'")
    assert sorted(int(v.version) for v in versions) == [1, 2]
    for r in runs:
        res = reproduce(r.info.run_id, tracking_uri=uri, allow_code_drift=True, say=lambda m: None)
        assert res.reproduced, res.differences


def test_killed_releases_never_look_finished_and_keep_champions(small_world_dir, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    out = tmp_path / "rel"
    first = _start(small_world_dir, uri, out, tmp_path / "first.txt")
    assert first.wait(timeout=600) == 0, (tmp_path / "first.txt").read_text()[-3000:]
    champions = {
        m.name: str(_client(uri).get_model_version_by_alias(m.name, "champion").version)
        for m in _client(uri).search_registered_models()
    }
    assert len(champions) == 13

    # SIGTERM mid-fit: the handler ends the run as KILLED
    p = _start(small_world_dir, uri, out, tmp_path / "term.txt")
    _wait_for(tmp_path / "term.txt", "model 3/13", p)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=120) != 0
    term_run = _release_runs(uri)[-1]
    assert term_run.info.status == "KILLED" and term_run.data.tags["toolkit.status"] == "killed"

    # SIGKILL mid-registration: no handler runs; the next release marks the orphan KILLED
    p = _start(small_world_dir, uri, out, tmp_path / "kill.txt")
    _wait_for(tmp_path / "kill.txt", "tracked des-dms-full_13", p)
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=60)
    killed_run = _release_runs(uri)[-1]
    assert killed_run.info.status == "RUNNING"  # nobody could mark it yet, but it is not FINISHED
    for name, version in champions.items():
        assert str(_client(uri).get_model_version_by_alias(name, "champion").version) == version

    again = _start(small_world_dir, uri, out, tmp_path / "again.txt")
    assert again.wait(timeout=600) == 0, (tmp_path / "again.txt").read_text()[-3000:]
    assert "marked KILLED" in (tmp_path / "again.txt").read_text()
    c = _client(uri)
    assert c.get_run(killed_run.info.run_id).info.status == "KILLED"
    statuses = [r.info.status for r in _release_runs(uri)]
    assert statuses == ["FINISHED", "KILLED", "KILLED", "FINISHED"]
    latest = _release_runs(uri)[-1]
    assert latest.data.tags["toolkit.status"] == "passed"
    # champions moved to the versions of the last good release only
    for name in champions:
        v = c.get_model_version_by_alias(name, "champion")
        assert v.run_id in {
            r.info.run_id
            for r in c.search_runs([latest.info.experiment_id], f"tags.mlflow.parentRunId = '{latest.info.run_id}'")
        }
