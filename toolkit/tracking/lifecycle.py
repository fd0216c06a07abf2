"""One tracked-run lifecycle for every job: releases, the schemes' reports, comparisons.

:func:`tracked_run` is the only way the toolkit opens a parent run. In order, it

1. connects to the store and creates the experiment if it is new;
2. sweeps stale runs: RUNNING runs on this host whose process is gone (killed with SIGKILL,
   which runs no handler) are marked KILLED (:func:`sweep_stale_runs`);
3. turns SIGTERM and SIGHUP into an exception for the duration (:func:`terminate_on_signals`),
   so that a job stopped by ``kill`` ends its runs as KILLED instead of leaving them running;
4. opens the parent run, tags it with its kind, ``toolkit.status = running`` and the process
   id and host, logs the provenance params (:func:`toolkit.tracking.provenance.run_params`)
   and the exact config;
5. creates the job's output folder, once: ``<output_root>/<name>-<UTC time>-<run id>``,
   never an existing one (:func:`new_folder`);
6. hands the caller a :class:`TrackedRun` to write outputs into the folder and log them;
7. closes: ``toolkit.status`` becomes the run's status (``passed`` or ``failed``, as the job
   decided), or ``failed`` / ``killed`` with ``toolkit.error`` when the job raised.

Callers never import MLflow: :class:`TrackedRun` logs files, tables, metrics, child runs and
models (:mod:`toolkit.tracking.models`) for them.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from toolkit.paths import ROOT
from toolkit.tracking import runs

if TYPE_CHECKING:
    from mlflow.models.model import ModelInfo
    from mlflow.tracking import MlflowClient

#: The one tag that says how a tracked job ended: running, passed, failed or killed.
STATUS_TAG = "toolkit.status"
#: Status tags written before there was one name for all jobs; the sweep still marks them.
LEGACY_STATUS_TAGS = ("release.status", "run.status", "dex.status", "evaluate.status")
#: The tag that says what a run is (release, dex, evaluate, dcp, clientlevel, comparison, ...).
KIND_TAG = "toolkit.kind"


class ReleaseInterrupted(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM or SIGHUP."""


def process_tags() -> dict[str, str]:
    return {"toolkit.pid": str(os.getpid()), "toolkit.host": socket.gethostname()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_runs(client: MlflowClient, experiment_ids: list[str]) -> list[str]:
    """Mark RUNNING runs whose process (on this host) is gone as KILLED; return their ids."""
    from mlflow.entities import RunStatus

    host = socket.gethostname()
    swept = []
    for run in client.search_runs(experiment_ids, "attributes.status = 'RUNNING'", max_results=1000):
        tags = run.data.tags
        pid = tags.get("toolkit.pid")
        if tags.get("toolkit.host") != host or not pid or not pid.isdigit() or _alive(int(pid)):
            continue
        for tag in (STATUS_TAG, *LEGACY_STATUS_TAGS):
            if tag in tags:
                client.set_tag(run.info.run_id, tag, "killed")
        client.set_tag(run.info.run_id, "toolkit.swept", "process gone: marked KILLED by a later run")
        client.set_terminated(run.info.run_id, RunStatus.to_string(RunStatus.KILLED))
        swept.append(run.info.run_id)
    return swept


@contextlib.contextmanager
def terminate_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`ReleaseInterrupted` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, _frame: object) -> None:
        raise ReleaseInterrupted(f"received {signal.Signals(signum).name}")

    old = {s: signal.signal(s, _raise) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def utc_stamp() -> str:
    """The UTC time as ``20200331T235959Z`` (folder names)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def new_folder(root: str | Path, name: str, run_id: str) -> Path:
    """A new output folder ``<root>/<name>-<UTC time>-<run id[:8]>``; an existing one is never reused.

    A relative ``root`` is taken from the repository root (``releases``, ``out/dex``)."""
    r = Path(root)
    if not r.is_absolute():
        r = ROOT / r
    folder = r / f"{name}-{utc_stamp()}-{run_id[:8]}"
    folder.mkdir(parents=True, exist_ok=False)
    return folder


@dataclass(frozen=True)
class RunSpec:
    """What a tracked job is: where it is tracked, what it is called, what it logs first.

    ``artifact_path`` is where the job's outputs go in the run (``release``, ``dex``, ...);
    ``config_artifact`` is the path of the exact config (``<artifact_path>/config.json`` unless
    given). ``error_detail=False`` records only the exception's type in ``toolkit.error``, for
    jobs whose messages could name what must not be tracked.
    """

    experiment: str
    name: str
    kind: str
    params: Mapping[str, Any]
    output_root: str | Path
    artifact_path: str
    config: Mapping[str, Any] | None = None
    config_artifact: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    error_detail: bool = True
    folder_name: str | None = None  # the output folder's prefix, when not the run's name


class _Tracking(Protocol):
    @property
    def experiment(self) -> str: ...


class JobConfig(Protocol):
    """What every job's config has: a name, an output root and the experiment it is tracked in."""

    @property
    def name(self) -> str: ...
    @property
    def output_root(self) -> str: ...
    @property
    def tracking(self) -> _Tracking: ...


def job_spec(
    config: JobConfig, kind: str, params: Mapping[str, Any], out_root: str | Path | None = None, **options: Any
) -> RunSpec:
    """The :class:`RunSpec` of a job run from ``config``: its experiment, name and output root (``out_root``
    overrides the config's); ``options`` are the other :class:`RunSpec` fields."""
    return RunSpec(
        experiment=config.tracking.experiment,
        name=config.name,
        kind=kind,
        params=params,
        output_root=out_root or config.output_root,
        **options,
    )


class ChildRun:
    """A nested run of a :class:`TrackedRun` (one per model)."""

    def __init__(self, run_id: str):
        self.run_id = run_id

    def log_params(self, params: Mapping[str, Any]) -> None:
        runs.log_params(dict(params))

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        import mlflow

        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})

    def log_files(self, paths: Iterable[Path], artifact_path: str | None = None) -> None:
        import mlflow

        for p in paths:
            mlflow.log_artifact(str(p), artifact_path)

    def log_model(
        self,
        model: Any,
        name: str,
        *,
        register: bool,
        contract: dict[str, Any],
        site_effects: dict[str, Any] | None = None,
    ) -> str | None:
        """Log ``model`` as the toolkit's pyfunc in this run (:func:`toolkit.tracking.models.log_model`);
        the registered version, or None when not registered."""
        from toolkit.tracking.models import log_model

        info: ModelInfo = log_model(model, name, register=register, contract=contract, site_effects=site_effects)
        v = info.registered_model_version
        return None if v is None else str(v)


class TrackedRun:
    """The open parent run of a job and its output folder (see :func:`tracked_run`).

    ``status`` is what the run ends with when the block exits normally: set it to ``"failed"``
    when the job's checks failed (the run still finishes; aliases must not move).
    """

    def __init__(
        self,
        run_id: str,
        folder: Path,
        tracking_uri: str,
        experiment_id: str,
        artifact_path: str,
        client: MlflowClient,
        params: Mapping[str, Any],
    ):
        self.run_id = run_id
        self.folder = folder
        self.tracking_uri = tracking_uri
        self.experiment_id = experiment_id
        self.artifact_path = artifact_path
        self.client = client
        self.params = params  # the provenance params the run was opened with
        self.status = "passed"

    def _path(self, artifact_path: str | None, name: str = "") -> str:
        base = self.artifact_path if artifact_path is None else artifact_path
        return str(Path(base, name).parent) if name else base

    def log_files(self, names: Iterable[str], artifact_path: str | None = None) -> None:
        """Log the named files of the output folder (relative paths, kept under ``artifact_path``;
        a folder is logged whole; a name that does not exist is skipped)."""
        import mlflow

        for name in names:
            p = self.folder / name
            if p.is_dir():
                mlflow.log_artifacts(str(p), str(Path(self._path(artifact_path), name)))
            elif p.is_file():
                mlflow.log_artifact(str(p), str(Path(self._path(artifact_path), name).parent))

    def write_json(self, name: str, record: Mapping[str, Any], log: bool = True) -> Path:
        """Write ``record`` as ``<folder>/<name>`` (sorted keys, indented, one trailing newline: the job's
        record of itself, e.g. ``run.json``) and log it unless ``log`` is False; returns the path."""
        path = self.folder / name
        path.write_text(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
        if log:
            self.log_files([name])
        return path

    def log_table(self, df: pd.DataFrame, name: str, artifact_path: str | None = None) -> None:
        """Log an aggregate table as CSV (never participant-level rows)."""
        runs.log_table(df, name, self._path(artifact_path))

    def log_json(self, obj: Any, name: str, artifact_path: str | None = None) -> None:
        runs.log_json(obj, name, self._path(artifact_path))

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        import mlflow

        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})

    def set_tags(self, tags: Mapping[str, str]) -> None:
        import mlflow

        mlflow.set_tags(dict(tags))

    @contextlib.contextmanager
    def child(self, name: str, kind: str, tags: Mapping[str, str] | None = None) -> Iterator[ChildRun]:
        """A nested run named ``name`` (tagged with its kind and the process)."""
        import mlflow

        with mlflow.start_run(experiment_id=self.experiment_id, run_name=name, nested=True) as run:
            mlflow.set_tags({KIND_TAG: kind, **process_tags(), **(tags or {})})
            yield ChildRun(run.info.run_id)

    def set_aliases(self, versions: Mapping[str, str], alias: str) -> None:
        """Point ``alias`` at each registered model's version (call only when the job passed)."""
        from toolkit.tracking.models import set_aliases

        set_aliases(self.client, versions, alias)


@contextlib.contextmanager
def tracked_run(spec: RunSpec, tracking_uri: str | None = None, say: Any = lambda msg: None) -> Iterator[TrackedRun]:
    """Open the parent run of a job and its output folder; see the module docstring."""
    import mlflow

    from toolkit.tracking.store import connect, ensure_experiment, resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    client = connect(uri)
    exp_id = ensure_experiment(client, spec.experiment, uri)
    for stale in sweep_stale_runs(client, [exp_id]):
        say(f"run {stale} belonged to a process that is gone: marked KILLED")
    with terminate_on_signals(), mlflow.start_run(experiment_id=exp_id, run_name=spec.name) as run:
        run_id = run.info.run_id
        mlflow.set_tags({KIND_TAG: spec.kind, STATUS_TAG: "running", **process_tags(), **spec.tags})
        runs.log_params(dict(spec.params))
        config = spec.config if spec.config is not None else spec.params.get("config")
        if config is not None:
            runs.log_json(
                config,
                Path(spec.config_artifact or f"{spec.artifact_path}/config.json").name,
                str(Path(spec.config_artifact or f"{spec.artifact_path}/config.json").parent),
            )
        try:
            folder = new_folder(spec.output_root, spec.folder_name or spec.name, run_id)
            tr = TrackedRun(run_id, folder, uri, exp_id, spec.artifact_path, client, spec.params)
            say(f"{spec.kind} {spec.name}: MLflow run {run_id} in {uri}; writing to {folder}")
            yield tr
        except BaseException as exc:
            killed = isinstance(exc, KeyboardInterrupt)
            detail = f"{type(exc).__name__}: {exc}" if spec.error_detail else type(exc).__name__
            mlflow.set_tags({STATUS_TAG: "killed" if killed else "failed", "toolkit.error": detail[:5000]})
            mlflow.end_run(status="KILLED" if killed else "FAILED")
            raise
        mlflow.set_tag(STATUS_TAG, tr.status)
