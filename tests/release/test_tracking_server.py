"""The shared tracking server for real: PostgreSQL + mlflow server on loopback.

Skipped only when PostgreSQL cannot be found (``.ci/run`` installs Debian's package);
the skip is printed loudly.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO
from toolkit.tracking.server import (
    Postgres,
    postgres_bin,
    start_mlflow_server,
    start_postgres,
    stop_process,
)

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _require_postgres() -> None:
    """Skip, loudly, when PostgreSQL cannot be found."""
    if postgres_bin() is None:
        msg = (
            "\n" + "!" * 78 + "\nSKIPPED: PostgreSQL is not installed, so the tracking-server test did not run.\n"
            "Install Debian's postgresql package (.ci/run does) to run it.\n" + "!" * 78
        )
        print(msg, file=sys.stderr)
        warnings.warn(msg, stacklevel=3)
        pytest.skip("PostgreSQL not installed (see the message above)")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _require_postgres()
    d = tmp_path_factory.mktemp("server")
    # PostgreSQL runs as the postgres user when the tests run as root: its folder must be reachable by it
    pg_root = Path(tempfile.mkdtemp(prefix="toolkit-pg-"))
    pg_root.chmod(0o755)
    pg = start_postgres(pg_root / "pgdata", _free_port())
    try:
        port = _free_port()
        proc = start_mlflow_server(pg.uri, d / "artifacts", port, log=d / "mlflow-server.log")
    except Exception:
        pg.stop()
        raise
    yield {"uri": f"http://127.0.0.1:{port}", "dir": d}
    stop_process(proc)
    pg.stop()
    shutil.rmtree(pg_root, ignore_errors=True)


def test_release_register_load_reproduce_on_the_server(server, small_world_dir, run_cli):
    import mlflow

    uri = server["uri"]
    rel = run_cli("release", "--data", small_world_dir, "--tracking-uri", uri, "--out", server["dir"] / "releases")
    assert rel.returncode == 0, rel.stderr[-3000:]
    run_id = next(ln.split()[2] for ln in rel.stdout.splitlines() if ln.startswith("MLflow run:"))

    mlflow.set_tracking_uri(uri)
    client = mlflow.tracking.MlflowClient(uri)
    assert len(client.search_registered_models()) == 13
    model = mlflow.pyfunc.load_model("models:/des-ess-full_26@champion")
    from toolkit.contracts import load_tables
    from toolkit.records.frame import build_frame

    frame = build_frame(load_tables(small_world_dir), "2018-07-01", "2020-03-31").frame
    sub = frame[(frame["program"] == "ESS") & (frame["measure"] == "full_26")].head(50)
    p = np.asarray(model.predict(sub))
    assert p.shape == (50,) and np.all((p > 0) & (p < 1))
    # artifacts are proxied: they live in the server's folder, not the client's
    assert any((server["dir"] / "artifacts").rglob("ratings.csv"))

    rep = run_cli("reproduce", run_id, "--tracking-uri", uri, "--allow-code-drift")
    assert rep.returncode == 0, rep.stderr[-3000:]
    assert rep.stdout.strip().startswith("REPRODUCED")


def _pids_using(path: Path) -> list[int]:
    """Processes whose command line names ``path`` (the server's own, unique temporary folders)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if str(path).encode() in (proc / "cmdline").read_bytes():
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def _wait_gone(path: Path, timeout: float = 60) -> list[int]:
    t0 = time.time()
    while (left := _pids_using(path)) and time.time() - t0 < timeout:
        time.sleep(0.2)
    return left


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_server_command_stops_postgres_and_mlflow_on_a_signal(sig, tmp_path):
    """``toolkit server`` killed with SIGTERM (a service manager) or SIGHUP (a closed terminal) stops the
    PostgreSQL cluster and the mlflow server it started, as Ctrl-C does."""
    _require_postgres()
    pg_root = Path(tempfile.mkdtemp(prefix="toolkit-pg-sig-"))
    pg_root.chmod(0o755)
    pgdata, artifacts, port = pg_root / "pgdata", tmp_path / "artifacts", _free_port()
    cmd = [sys.executable, "-m", "toolkit", "server", "--pgdata", str(pgdata), "--artifacts", str(artifacts)]
    cmd += ["--port", str(port), "--pg-port", str(_free_port())]
    log = tmp_path / "server.txt"
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=fh, stderr=subprocess.STDOUT)
    try:
        t0 = time.time()
        while "MLflow tracking server:" not in log.read_text():
            assert proc.poll() is None and time.time() - t0 < 240, log.read_text()
            time.sleep(0.2)
        assert _pids_using(artifacts) and (pgdata / "postmaster.pid").is_file()
        proc.send_signal(sig)
        assert proc.wait(timeout=120) == 0, log.read_text()
        assert _wait_gone(artifacts) == [], f"mlflow server still running:\n{log.read_text()}"
        assert _wait_gone(pgdata) == [] and not (pgdata / "postmaster.pid").exists(), "PostgreSQL still running"
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5)
    finally:  # whatever the outcome, nothing of this test keeps running
        if proc.poll() is None:
            proc.kill()
        pg = postgres_bin()
        if (pgdata / "postmaster.pid").exists() and pg is not None:
            Postgres(pgdata, 0, pg).stop()
        for pid in _pids_using(artifacts):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(pg_root, ignore_errors=True)
