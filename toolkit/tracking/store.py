"""The MLflow store: embedded sqlite by default, a tracking server when asked.

The default is ``sqlite:///<repo>/mlruns/mlflow.db`` with artifacts in
``<repo>/mlruns/artifacts`` (MLflow 3 refuses the plain file store).
``--tracking-uri`` or ``MLFLOW_TRACKING_URI`` points elsewhere.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from toolkit.errors import ToolkitError, TrackingError
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
    # MLflow logs a store's database errors with their traceback before raising them; the toolkit turns
    # them into one clear message (store_fault), so the log would only be the traceback it must not print
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)


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


def check_sqlite_file(db: Path) -> None:
    """Refuse a store file that exists but is empty: an empty file where a store should be is
    corruption or a failed copy, and MLflow would silently create a new store in it, losing every run
    and model version (and the next release would register version 1). A missing file is a new store."""
    try:
        size = db.stat().st_size
    except FileNotFoundError:
        return
    if size == 0:
        raise TrackingError(
            f"the MLflow store {db} is an empty file (0 bytes): a store is never empty, so this is corruption or a "
            "failed copy; restore it from a backup, or remove the file to start a new, empty store on purpose"
        )


def prepare_sqlite(db: Path) -> None:
    """Write-ahead logging on the store's database, so that concurrent releases (separate processes)
    read while another writes; the setting persists in the file. A file that is not a sqlite database
    (truncated, overwritten) is a :class:`TrackingError`."""
    import sqlite3

    check_sqlite_file(db)
    try:
        con = sqlite3.connect(db, timeout=60)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA schema_version").fetchone()  # reads the schema: a damaged header fails here
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise TrackingError(
            f"the MLflow store {db} is not a usable sqlite database ({type(exc).__name__}: {exc}); it is damaged "
            "(truncated or overwritten) or not a store: restore it from a backup"
        ) from None


#: Words of a failing store or disk in the errors MLflow, SQLAlchemy and sqlite raise.
STORE_FAULTS = (
    "disk i/o error",
    "database or disk is full",
    "database disk image is malformed",
    "file is not a database",
    "unable to open database",
    "attempt to write a readonly database",
    "no space left on device",
    "file too large",
    "disk quota exceeded",
)
#: errno values of a full disk, a file-size limit, a quota, a read-only or failing device.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EIO})


def store_fault(exc: BaseException, uri: str | None = None) -> ToolkitError | None:
    """The clear error for ``exc`` when it is a store or disk fault (a full disk, a file-size limit, a
    damaged database), or None when it is not one (then it is a bug and keeps its traceback).

    The store's faults are :class:`TrackingError`; a full disk under the output folder is a
    :class:`ToolkitError` naming the file."""
    if isinstance(exc, ToolkitError):
        return exc
    where = f" at {uri}" if uri else ""
    if isinstance(exc, OSError) and exc.errno in DISK_ERRNOS:
        name = f" {exc.filename}" if exc.filename else ""
        return ToolkitError(
            f"cannot write{name}: {exc.strerror or exc} (disk full, a file-size limit or a read-only disk)"
        )
    text = str(exc).lower()
    module = type(exc).__module__.split(".")[0]
    if module in ("mlflow", "sqlalchemy", "sqlite3") and any(w in text for w in STORE_FAULTS):
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        return TrackingError(
            f"the MLflow store{where} failed: {first} (disk full, a file-size limit or a damaged database?)"
        )
    return None


@contextlib.contextmanager
def store_faults_as_errors(uri: str | None = None) -> Iterator[None]:
    """Within the block, a store or disk fault (:func:`store_fault`) is raised as a clear
    :class:`~toolkit.errors.ToolkitError` instead of a traceback."""
    try:
        yield
    except Exception as exc:
        err = store_fault(exc, uri)
        if err is None or err is exc:
            raise
        raise err from None


def connect(uri: str | None = None) -> MlflowClient:
    """Point MLflow at the store (creating a sqlite database's folder) and return an ``MlflowClient``."""
    quiet_mlflow()
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = resolve_tracking_uri(uri)
    db = sqlite_path(uri)
    if db is not None:
        try:
            db.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            blocker = next((p for p in [db.parent, *db.parent.parents] if p.exists() and not p.is_dir()), db.parent)
            raise TrackingError(f"cannot create the MLflow store {db}: {blocker} is a file, not a folder") from None
        except PermissionError:
            raise TrackingError(f"cannot create the MLflow store {db}: no permission to create {db.parent}") from None
    elif urlparse(uri).scheme not in ("http", "https", "postgresql", "databricks", "file"):
        raise TrackingError(f"unsupported tracking URI {uri!r}")
    mlflow.set_tracking_uri(uri)
    # The first connection creates or migrates the schema; two processes doing it at once collide
    # ("table ... already exists"), and a second process must not take the first one's new, still
    # empty file for a damaged store: checking the file, creating the schema and the first read are
    # one step under a lock file.
    with _store_lock(db):
        if db is not None:
            prepare_sqlite(db)
        try:
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
