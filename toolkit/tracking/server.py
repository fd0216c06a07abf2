"""A shared tracking server for a team: PostgreSQL backend store + ``mlflow server`` with proxied artifacts.

``toolkit server --pgdata DIR --artifacts DIR`` initialises a PostgreSQL cluster in
``DIR`` (first time), starts it on loopback, creates the ``mlflow`` database, and runs
``mlflow server`` against it, serving artifacts from ``--artifacts`` (clients upload
and download through the server; they need no access to the folder). Point the
toolkit at it with ``--tracking-uri http://HOST:PORT`` or ``MLFLOW_TRACKING_URI``.

PostgreSQL binaries come from Debian's ``postgresql`` package
(``/usr/lib/postgresql/<version>/bin``). PostgreSQL refuses to run as root; as root,
the cluster is run as the ``postgres`` system user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.errors import TrackingError

if TYPE_CHECKING:
    import argparse


def postgres_bin() -> Path | None:
    """Folder of the PostgreSQL server binaries, or None when not installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_db_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@dataclass
class Postgres:
    datadir: Path
    port: int
    bin: Path

    @property
    def uri(self) -> str:
        return f"postgresql://mlflow@127.0.0.1:{self.port}/mlflow"

    def stop(self) -> None:
        subprocess.run(
            _as_db_user([str(self.bin / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "stop"]),
            capture_output=True,
            timeout=60,
        )


def start_postgres(datadir: str | Path, port: int = 5433) -> Postgres:
    """Initialise (if new) and start a PostgreSQL cluster on 127.0.0.1:``port`` with database ``mlflow``."""
    pg = postgres_bin()
    if pg is None:
        raise TrackingError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    d = Path(datadir).resolve()
    if not (d / "PG_VERSION").is_file():
        d.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(d, "postgres", "postgres")
            os.chmod(d, 0o700)
        r = subprocess.run(
            _as_db_user(
                [str(pg / "initdb"), "-D", str(d), "-U", "mlflow", "--auth=trust", "--encoding=UTF8", "--locale=C"]
            ),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if r.returncode != 0:
            hint = (
                " (as root the cluster runs as the postgres user: every folder above the data folder must be "
                "reachable by it)"
                if os.geteuid() == 0 and "Permission denied" in r.stderr
                else ""
            )
            raise TrackingError(f"initdb failed: {r.stderr.strip()[-500:]}{hint}")
    sock = d / "socket"
    sock.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(sock, "postgres", "postgres")
    handle = Postgres(d, port, pg)
    try:
        r = subprocess.run(
            _as_db_user(
                [
                    str(pg / "pg_ctl"),
                    "-D",
                    str(d),
                    "-l",
                    str(d / "server.log"),
                    "-w",
                    "-o",
                    f"-p {port} -h 127.0.0.1 -k {sock}",
                    "start",
                ]
            ),
            capture_output=True,
            text=True,
            timeout=120,
        )
    except BaseException:  # interrupted while it starts: it may be up already
        handle.stop()
        raise
    if r.returncode != 0:  # (another server on this folder is left alone)
        raise TrackingError(f"PostgreSQL did not start: {r.stderr.strip()[-500:]} (log: {d / 'server.log'})")
    try:
        _ensure_database(handle)
    except BaseException:  # interrupted or failed: leave no server behind
        handle.stop()
        raise
    return handle


def _ensure_database(handle: Postgres) -> None:
    """Create the ``mlflow`` database of a running cluster if it does not exist."""
    pg, port = handle.bin, handle.port
    exists = subprocess.run(
        [
            str(pg / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "mlflow",
            "-d",
            "postgres",
            "-tAc",
            "select 1 from pg_database where datname='mlflow'",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if exists.stdout.strip() != "1":
        r = subprocess.run(
            [str(pg / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "mlflow", "mlflow"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if r.returncode != 0:
            raise TrackingError(f"createdb failed: {r.stderr.strip()[-500:]}")


def wait_http(url: str, timeout: float = 120, proc: subprocess.Popen | None = None) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            raise TrackingError(f"the server process exited (code {proc.returncode}) before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return
        except Exception:
            time.sleep(0.5)
    raise TrackingError(f"{url} did not answer within {timeout:.0f}s")


def start_mlflow_server(
    backend_uri: str, artifacts: str | Path, port: int = 5000, host: str = "127.0.0.1", log: str | Path | None = None
) -> subprocess.Popen:
    """Start ``mlflow server`` with proxied artifacts; returns the process once it answers /health."""
    art = Path(artifacts).resolve()
    art.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        backend_uri,
        "--artifacts-destination",
        art.as_uri(),
        "--serve-artifacts",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    # the server writes to its own copy of the log's descriptor; this process closes its copy
    with open(log, "w") if log else contextlib.nullcontext(subprocess.DEVNULL) as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_http(f"http://{host}:{port}/health", timeout=180, proc=proc)
    except BaseException:  # no answer, or interrupted while waiting: leave no server behind
        stop_process(proc)
        raise
    return proc


def stop_process(proc: subprocess.Popen) -> None:
    import signal

    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def run_server(args: argparse.Namespace) -> int:
    """``toolkit server``: PostgreSQL + mlflow server until interrupted.

    Ctrl-C, SIGTERM and SIGHUP stop both (:func:`~toolkit.tracking.signals.terminate_on_signals`),
    also while they are starting; so does the mlflow server exiting on its own."""
    from toolkit.tracking.signals import shielded, terminate_on_signals

    with terminate_on_signals():
        try:
            pg = start_postgres(args.pgdata, args.pg_port)
        except KeyboardInterrupt:
            return 130
        print(f"PostgreSQL on 127.0.0.1:{args.pg_port} (data {pg.datadir}); backend store {pg.uri}", flush=True)
        proc: subprocess.Popen | None = None
        try:
            proc = start_mlflow_server(pg.uri, args.artifacts, args.port, args.host)
            print(f"MLflow tracking server: http://{args.host}:{args.port} (artifacts proxied from {args.artifacts})")
            print(
                f"use it with: --tracking-uri http://{args.host}:{args.port}   (Ctrl-C or SIGTERM stops both)",
                flush=True,
            )
            code = proc.wait()
            print(f"the mlflow server exited (code {code}); stopping PostgreSQL", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("stopping the mlflow server and PostgreSQL", file=sys.stderr, flush=True)
            return 0
        finally:
            with shielded():  # a second signal must not leave one of them running
                try:
                    if proc is not None:
                        stop_process(proc)
                finally:
                    pg.stop()
