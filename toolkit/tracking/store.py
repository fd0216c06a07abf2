"""The MLflow store: embedded sqlite by default, a tracking server when asked.

The default is ``sqlite:///<repo>/mlruns/mlflow.db`` with artifacts in
``<repo>/mlruns/artifacts`` (MLflow 3 refuses the plain file store).
``--tracking-uri`` or ``MLFLOW_TRACKING_URI`` points elsewhere.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from toolkit.errors import TrackingError
from toolkit.paths import default_tracking_uri

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mlflow.tracking import MlflowClient


def resolve_tracking_uri(uri: str | None = None) -> str:
    return uri or default_tracking_uri()


def sqlite_path(uri: str) -> Path | None:
    if not uri.startswith("sqlite:"):
        return None
    path = uri.split("sqlite:///", 1)[-1]
    return Path(path if path.startswith("/") else os.path.abspath(path))


def default_artifact_location(uri: str) -> str | None:
    """For a sqlite store, artifacts live beside the database; a server decides for itself."""
    db = sqlite_path(uri)
    if db is None:
        return None
    return (db.parent / "artifacts").resolve().as_uri()


def quiet_mlflow() -> None:
    """Keep MLflow's progress bars and info lines off the console (our own progress lines say what happens)."""
    import logging

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


@contextlib.contextmanager
def _store_lock(db: Path | None) -> Iterator[None]:
    if db is None:
        yield
        return
    import fcntl

    with open(db.with_name(db.name + ".lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def prepare_sqlite(db: Path) -> None:
    """Write-ahead logging on the store's database, so that concurrent releases (separate processes)
    read while another writes; the setting persists in the file."""
    import sqlite3

    con = sqlite3.connect(db, timeout=60)
    try:
        con.execute("PRAGMA journal_mode=WAL")
    finally:
        con.close()


def connect(uri: str | None = None) -> MlflowClient:
    """Point MLflow at the store (creating a sqlite database's folder) and return an ``MlflowClient``."""
    quiet_mlflow()
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = resolve_tracking_uri(uri)
    db = sqlite_path(uri)
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)
        with _store_lock(db):
            prepare_sqlite(db)
    elif urlparse(uri).scheme not in ("http", "https", "postgresql", "databricks", "file"):
        raise TrackingError(f"unsupported tracking URI {uri!r}")
    mlflow.set_tracking_uri(uri)
    try:
        # The first connection creates or migrates the schema; two processes doing it at once
        # collide ("table ... already exists"), so creation is serialised by a lock file.
        with _store_lock(db):
            client = MlflowClient(tracking_uri=uri)
            client.search_experiments(max_results=1)
    except Exception as exc:  # unreachable server, unreadable database
        raise TrackingError(f"cannot reach the MLflow store at {uri}: {type(exc).__name__}: {exc}") from None
    return client


def ensure_experiment(client: MlflowClient, name: str, uri: str | None = None) -> str:
    """Experiment id for ``name``, created with artifacts beside a sqlite store if new."""
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    loc = default_artifact_location(resolve_tracking_uri(uri))
    try:
        return client.create_experiment(name, artifact_location=loc)
    except Exception:
        exp = client.get_experiment_by_name(name)  # created concurrently by another process
        if exp is None:
            raise
        return exp.experiment_id
