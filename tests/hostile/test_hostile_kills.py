"""A release killed with SIGKILL at each of its steps, and one whose disk fills up: the hostile suite's
process faults (the alias move itself is killed step by step in ``tests/tracking/test_alias_move.py``).

Each case runs the real CLI in a child process on the tiny world against one sqlite store that already
holds a passed release, watches its progress lines on stderr and kills it when the step's line appears.
After the kill, ``toolkit doctor --repair`` (what the next job's sweep does) must leave: no second run
FINISHED, every alias where the passed release put it, and the killed release's folder not claiming
success. The disk-full case limits the child's file size (``ulimit -f``) and expects exit 2, no traceback.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

#: A line of each release step, in order (the step is under way when its line is printed).
STEPS = {
    "validated": r"release \S+: MLflow run",
    "frame": r"frame: .* records kept",
    "fitting": r"model 7/13 ",
    "scored": r"entity-measure table: ",
    "logging-models": r"tracked des-dms-full_26 ",
    "alias-move": r"checks passed; alias 'champion' moves",
}


def _toolkit(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "toolkit", *args], cwd=REPO, capture_output=True, text=True, timeout=600, **kw
    )


def _state(uri: str) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    from mlflow.tracking import MlflowClient

    c = MlflowClient(tracking_uri=uri)
    exps = [e.experiment_id for e in c.search_experiments()]
    runs = {
        r.info.run_id: r.info.status
        for r in c.search_runs(exps, max_results=5000)
        if "mlflow.parentRunId" not in r.data.tags  # releases, not their model runs
    }
    aliases = {m.name: dict(m.aliases) for m in c.search_registered_models(max_results=1000)}
    return runs, aliases


@pytest.fixture(scope="module")
def passed(tmp_path_factory, tiny_world_dir) -> dict:
    d = tmp_path_factory.mktemp("hostile_kills")
    uri = f"sqlite:///{d / 'mlflow.db'}"
    res = _toolkit("release", "--data", str(tiny_world_dir), "--tracking-uri", uri, "--out", str(d / "first"))
    assert res.returncode == 0, res.stderr[-3000:]
    runs, aliases = _state(uri)
    assert list(runs.values()) == ["FINISHED"] and len(aliases) == 13
    return {"uri": uri, "dir": d, "world": tiny_world_dir, "aliases": aliases}


def _kill_at(pattern: str, argv: list[str]) -> tuple[int, str]:
    """Run the CLI, SIGKILL it as soon as a stderr line matches ``pattern``; (return code, stderr)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "toolkit", *argv], cwd=REPO, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    seen = []
    assert proc.stderr is not None
    for line in proc.stderr:
        seen.append(line)
        if re.search(pattern, line):
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=120)
    return proc.returncode, "".join(seen)


@pytest.mark.parametrize("step", list(STEPS))
def test_a_release_killed_at_each_step_leaves_the_passed_release_in_charge(passed, step, tmp_path):
    out = tmp_path / "releases"
    argv = ["release", "--data", str(passed["world"]), "--tracking-uri", passed["uri"], "--out", str(out)]
    code, err = _kill_at(STEPS[step], argv)
    assert code == -signal.SIGKILL, f"the release ended before step {step!r} was reached:\n{err[-2000:]}"

    doctor = _toolkit("doctor", "--repair", "--tracking-uri", passed["uri"])
    assert doctor.returncode in (0, 1), doctor.stderr[-2000:]
    assert "Traceback" not in doctor.stderr + doctor.stdout
    assert _toolkit("doctor", "--tracking-uri", passed["uri"]).returncode == 0, (
        "doctor still finds faults after --repair"
    )

    runs, aliases = _state(passed["uri"])
    assert aliases == passed["aliases"], f"killed at {step}: aliases moved"
    assert list(runs.values()).count("FINISHED") == 1, f"killed at {step}: a second release FINISHED"
    killed = [rid for rid, s in runs.items() if s not in ("FINISHED", "KILLED", "FAILED")]
    assert not killed, f"runs left RUNNING after doctor --repair: {killed}"
    for record in out.rglob("release.json"):
        assert json.loads(record.read_text())["status"] != "passed", f"{record} claims success after a kill"


def test_a_disk_that_fills_up_during_a_release_is_exit_2_and_nothing_claims_success(passed, tmp_path):
    """``ulimit -f`` in the child: the first write past the limit fails (SIGXFSZ ignored, as a shell with
    ``trap '' XFSZ`` would); the release must end with exit 2, a message, no traceback, aliases unmoved."""
    limit = 3 * 1024 * 1024  # bytes: the tables fit, the models' artifacts do not

    def _limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    out = tmp_path / "releases"
    res = subprocess.run(
        [sys.executable, "-m", "toolkit", "release", "--data", str(passed["world"]), "--tracking-uri", passed["uri"]]
        + ["--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=_limit,
        env={**os.environ, "PYTHONFAULTHANDLER": ""},
    )
    assert res.returncode == 2, f"exit {res.returncode}\n{res.stderr[-3000:]}"
    assert "Traceback" not in res.stderr + res.stdout
    assert re.search(r"disk|space|too large|File too large|I/O", res.stderr, re.I), res.stderr[-2000:]
    _toolkit("doctor", "--repair", "--tracking-uri", passed["uri"])
    _, aliases = _state(passed["uri"])
    assert aliases == passed["aliases"]
    for record in Path(out).rglob("release.json"):
        assert json.loads(record.read_text())["status"] != "passed"
