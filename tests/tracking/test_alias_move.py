"""The champion alias moves all or nothing: a job killed at any step of the move leaves, once the next
job's sweep or ``toolkit doctor --repair`` has run, every alias on the previous complete set (or on the
new one, when the kill came after the move was marked complete), and readers never see a split set.

Each move runs in a child process (``alias_move_child.py``: the toolkit's own lifecycle, with a harness
that sends the signal at the chosen step) against a real sqlite store in a temporary folder holding
three small registered models (two versions each, no model files: the registry is what moves).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from toolkit.errors import TrackingError
from toolkit.tracking.aliases import MOVE_TAG, champion_versions, current_versions
from toolkit.tracking.doctor import diagnose
from toolkit.tracking.lifecycle import RunSpec, tracked_run
from toolkit.tracking.store import connect

CHILD = Path(__file__).with_name("alias_move_child.py")
MODELS = ["fault-a", "fault-b", "fault-c"]
#: The previous complete set: fault-c had no champion before the move.
PREVIOUS = {"fault-a": "1", "fault-b": "1", "fault-c": None}
NEW = dict.fromkeys(MODELS, "2")
pytestmark = pytest.mark.slow  # a child process per step (still run in CI)

STEPS = ["after_pending", "alias_1", "alias_2", "alias_3", "before_complete", "after_complete"]


def _spec(out: Path, name: str) -> RunSpec:
    return RunSpec(
        experiment="alias-moves", name=name, kind="alias-test", params={}, output_root=out, artifact_path="m"
    )


@pytest.fixture()
def store(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = connect(uri)
    for name in MODELS:
        client.create_registered_model(name)
        for _ in range(2):
            client.create_model_version(name, source=str(tmp_path / "model"))
    with tracked_run(_spec(tmp_path / "runs", "previous"), uri) as tr:  # the previous complete set, moved for real
        tr.set_aliases({"fault-a": "1", "fault-b": "1"}, "champion")
    assert current_versions(client, MODELS, "champion") == PREVIOUS
    return {"uri": uri, "client": client, "out": tmp_path / "runs"}


def _move_in_child(store: dict, step: str, sig: str) -> tuple[subprocess.CompletedProcess, str, Path]:
    res = subprocess.run(
        [sys.executable, str(CHILD), store["uri"], str(store["out"]), json.dumps(NEW), step, sig],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    line = next((ln for ln in res.stdout.splitlines() if ln.startswith("child: run ")), None)
    assert line is not None, res.stdout + res.stderr
    _, _, run_id, _, folder = line.split(" ", 4)
    return res, run_id, Path(folder)


def _record(folder: Path) -> dict:
    return json.loads((folder / "run.json").read_text())


@pytest.mark.parametrize("repair", ["next job's sweep", "doctor --repair"])
@pytest.mark.parametrize("step", STEPS)
def test_sigkill_at_every_step_of_the_move_leaves_one_complete_set(store, step, repair):
    client, uri = store["client"], store["uri"]
    res, run_id, folder = _move_in_child(store, step, "KILL")
    assert res.returncode == -9, res.stdout + res.stderr
    committed = step == "after_complete"
    assert client.get_run(run_id).info.status == "RUNNING"  # nobody could end it yet
    if committed:
        assert current_versions(client, MODELS, "champion") == NEW
        assert champion_versions(MODELS, tracking_uri=uri) == NEW
    else:
        with pytest.raises(
            TrackingError, match=r"left incomplete by a job that is gone: run `toolkit doctor --repair`"
        ):
            champion_versions(["fault-a", "fault-b"], tracking_uri=uri)
        assert not diagnose(client, uri).consistent

    if repair == "doctor --repair":
        found = diagnose(client, uri, repair=True)
        assert len(found.stale) == 1 and len(found.moves) == (0 if committed else 1), found.render(True)
    else:
        with tracked_run(_spec(store["out"], "next job"), uri):
            pass
    assert diagnose(client, uri).consistent, diagnose(client, uri).render(False)

    run = client.get_run(run_id)
    if committed:
        assert current_versions(client, MODELS, "champion") == NEW
        assert run.info.status == "FINISHED" and run.data.tags["toolkit.status"] == "passed"
        assert run.data.tags[MOVE_TAG] == "complete"
        assert _record(folder)["status"] == "passed"
    else:
        assert current_versions(client, MODELS, "champion") == PREVIOUS
        assert champion_versions(["fault-a", "fault-b"], tracking_uri=uri) == {"fault-a": "1", "fault-b": "1"}
        assert run.info.status == "KILLED" and run.data.tags["toolkit.status"] == "killed"
        assert run.data.tags[MOVE_TAG] == "rolled_back"
        rec = _record(folder)
        assert rec["status"] == "killed" and "process was gone" in rec["error"] and rec["versions"] == NEW


@pytest.mark.parametrize("step", STEPS)
def test_sigterm_at_every_step_of_the_move_rolls_back_before_the_run_ends(store, step):
    client, uri = store["client"], store["uri"]
    res, run_id, folder = _move_in_child(store, step, "TERM")
    assert res.returncode == 130, res.stdout + res.stderr
    # no sweep needed: the job rolled back its own move before ending its run
    assert current_versions(client, MODELS, "champion") == PREVIOUS
    run = client.get_run(run_id)
    assert run.info.status == "KILLED" and run.data.tags["toolkit.status"] == "killed"
    assert run.data.tags[MOVE_TAG] == "rolled_back"
    assert "ReleaseInterrupted: received SIGTERM" in run.data.tags["toolkit.error"]
    rec = _record(folder)
    assert rec["status"] == "killed" and rec["error"] == "ReleaseInterrupted: received SIGTERM"
    assert diagnose(client, uri).consistent, diagnose(client, uri).render(False)


def test_a_move_that_fails_midway_is_rolled_back_and_the_run_fails(store):
    client, uri = store["client"], store["uri"]
    with pytest.raises(Exception, match="99"), tracked_run(_spec(store["out"], "bad"), uri) as tr:
        tr.set_aliases({"fault-a": "2", "fault-b": "2", "fault-c": "99"}, "champion")  # fault-c has no version 99
    assert current_versions(client, MODELS, "champion") == PREVIOUS
    run = client.get_run(tr.run_id)
    assert run.info.status == "FAILED" and run.data.tags[MOVE_TAG] == "rolled_back"
    assert _record(tr.folder)["status"] == "failed"


def test_a_complete_move_is_read_as_one_set_and_a_failed_run_moves_nothing(store):
    client, uri = store["client"], store["uri"]
    with tracked_run(_spec(store["out"], "checks failed"), uri) as tr:
        tr.set_aliases(NEW, "champion")
        tr.fail_checks(["AUC below the gate"])
    assert current_versions(client, MODELS, "champion") == PREVIOUS
    assert _record(tr.folder) | {"run_id": ""} == {
        "failed_checks": ["AUC below the gate"],
        "kind": "alias-test",
        "name": "checks failed",
        "run_id": "",
        "status": "failed",
        "tracking_uri": uri,
    }
    res, _, _ = _move_in_child(store, "none", "KILL")
    assert res.returncode == 0, res.stdout + res.stderr
    assert champion_versions(MODELS, tracking_uri=uri) == NEW
    with pytest.raises(TrackingError, match="nobody"):
        champion_versions(["nobody"], tracking_uri=uri)
