"""A synthetic client-level world and one tracked run of it, shared by the client-level tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SECRET = "s3cret-for-tests-only-5f1c9a2e"  # a test secret: the tests prove it leaks nowhere
SECRET_VAR = "TOOLKIT_TEST_CLIENT_SECRET"


def toolkit(*args, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "toolkit", *map(str, args)],
        cwd=REPO,
        env=e,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def run_toolkit():
    return toolkit


@pytest.fixture(scope="session")
def secret():
    return {"var": SECRET_VAR, "value": SECRET}


@pytest.fixture(scope="session")
def client_world(tmp_path_factory):
    from toolkit.schemes.clientlevel.synth import (
        generate_client_world,
        write_client_world,
    )

    world = generate_client_world(7)
    d = tmp_path_factory.mktemp("client_world")
    write_client_world(world, d)
    return world, d


@pytest.fixture(scope="session")
def client_run(client_world, tmp_path_factory):
    """``toolkit clients report`` on the world, against a real sqlite store in a temporary folder."""
    root = tmp_path_factory.mktemp("client_run")
    uri = f"sqlite:///{root / 'store' / 'mlflow.db'}"
    proc = toolkit(
        "clients",
        "report",
        "--data",
        client_world[1],
        "--secret-env",
        SECRET_VAR,
        "--tracking-uri",
        uri,
        "--out",
        root / "out",
        env={SECRET_VAR: SECRET},
    )
    assert proc.returncode == 0, proc.stderr
    folder = next((root / "out").iterdir())
    meta = json.loads((folder / "run.json").read_text())
    return {"root": root, "uri": uri, "proc": proc, "folder": folder, "run_id": meta["run_id"], "meta": meta}
