"""The shared tracking server for real: PostgreSQL + mlflow server on loopback.

Skipped only when PostgreSQL cannot be found (``.ci/run`` installs Debian's package);
the skip is printed loudly.
"""

from __future__ import annotations

import shutil
import socket
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest

from toolkit.tracking.server import (
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


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if postgres_bin() is None:
        msg = (
            "\n" + "!" * 78 + "\nSKIPPED: PostgreSQL is not installed, so the tracking-server test did not run.\n"
            "Install Debian's postgresql package (.ci/run does) to run it.\n" + "!" * 78
        )
        print(msg, file=sys.stderr)
        warnings.warn(msg, stacklevel=2)
        pytest.skip("PostgreSQL not installed (see the message above)")
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
