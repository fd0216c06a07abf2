"""One tracked-run lifecycle for every job: releases, the schemes' reports, comparisons.

:func:`tracked_run` is the only way the toolkit opens a parent run. In order, it

1. connects to the store and creates the experiment if it is new;
2. sweeps, in every experiment, stale runs: RUNNING runs on this host whose process is gone
   (killed with SIGKILL, which runs no handler) are ended (:func:`sweep_stale_runs`): an alias
   move they left pending is rolled back, the run is marked KILLED and its folder's record says
   killed; a run that had already committed its verdict is ended with it. Abandoned alias moves of
   runs that are no longer RUNNING are rolled back too (:func:`toolkit.tracking.aliases.repair_moves`);
3. turns SIGTERM and SIGHUP into an exception for the duration (:func:`terminate_on_signals`),
   so that a job stopped by ``kill`` ends its runs as KILLED instead of leaving them running;
4. opens the parent run, tags it with its kind, ``toolkit.status = running`` and the process
   id and host, logs the provenance params (:func:`toolkit.tracking.provenance.run_params`)
   and the exact config;
5. creates the job's output folder, once: ``<output_root>/<name>-<UTC time>-<run id>``,
   never an existing one (:func:`new_folder`), tags the run with it (``toolkit.folder``) and
   writes the folder's record (``RunSpec.record_file``: ``run.json``, a release's
   ``release.json``) with ``status: running`` (:mod:`toolkit.tracking.record`);
6. hands the caller a :class:`TrackedRun` to write outputs into the folder and log them;
7. closes. When the job passed and asked for an alias (:meth:`TrackedRun.set_aliases`), the alias
   moves now, all or nothing (:func:`toolkit.tracking.aliases.move_aliases`), and
   ``toolkit.status = passed`` is written with the move's ``complete`` mark: the run's commit.
   Otherwise ``toolkit.status`` becomes ``passed`` or ``failed`` (the job's checks), or ``failed`` /
   ``killed`` with ``toolkit.error`` when the job raised, after an alias move under way has been
   rolled back. Then the folder's record and the status line of its pages
   (``RunSpec.status_pages``) are rewritten with the run's status and logged, and the run ends; a
   ``passed`` record reaches the folder only after the run has ended FINISHED (:func:`_finish`).

A store or disk fault (a full disk, a damaged database) anywhere in the lifecycle is a clear
:class:`~toolkit.errors.ToolkitError` (:func:`toolkit.tracking.store.store_fault`), never a traceback,
and nothing of the run says passed.

Callers never import MLflow: :class:`TrackedRun` logs files, tables, metrics, child runs and
models (:mod:`toolkit.tracking.models`) for them.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import pandas as pd

from toolkit.paths import workspace
from toolkit.tracking import runs
from toolkit.tracking.aliases import (
    COMPLETE,
    PENDING,
    VERDICT_TAG,
    Move,
    alias_lock,
    move_aliases,
    process_gone,
    repair_moves,
    rollback_move,
    search_all_runs,
)
from toolkit.tracking.record import (
    FOLDER_TAG,
    PAGES_TAG,
    RECORD_STATE_TAG,
    RECORD_TAG,
    close_record,
    closed_files,
    write_files,
    write_record,
)
from toolkit.tracking.signals import ReleaseInterrupted, deferred, shielded, terminate_on_signals

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.models.model import ModelInfo
    from mlflow.tracking import MlflowClient

__all__ = ["ReleaseInterrupted", "terminate_on_signals"]  # re-exported: the lifecycle's signals

#: The one tag that says how a tracked job ended: running, passed, failed or killed.
STATUS_TAG = VERDICT_TAG
#: Status tags written before there was one name for all jobs; the sweep still marks them.
LEGACY_STATUS_TAGS = ("release.status", "run.status", "dex.status", "evaluate.status")
#: The tag that says what a run is (release, dex, evaluate, dcp, clientlevel, comparison, ...).
KIND_TAG = "toolkit.kind"
#: What the sweep writes on a run it ended.
SWEPT_TAG = "toolkit.swept"
GONE = "the process was gone (SIGKILL or a crash): marked KILLED by a later run"


F = TypeVar("F", bound=Callable[..., Any])


def store_call(fn: F) -> F:
    """Run ``fn`` (a call into the store) with SIGTERM and SIGHUP deferred to its end
    (:func:`toolkit.tracking.signals.deferred`): MLflow and SQLAlchemy are never interrupted inside."""

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with deferred():
            return fn(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def process_tags() -> dict[str, str]:
    return {"toolkit.pid": str(os.getpid()), "toolkit.host": socket.gethostname()}


def _close_swept_record(run: Run, status: str, error: str | None, uri: str | None) -> None:
    """The folder record (and status pages) of a run the sweep ended, when its folder is still there."""
    tags = run.data.tags
    folder, name = tags.get(FOLDER_TAG), tags.get(RECORD_TAG)
    if not folder or not name or not Path(folder).is_dir():
        return
    path = Path(folder) / name
    try:
        base = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        base = {}
    base = {"run_id": run.info.run_id, "name": run.info.run_name, "tracking_uri": uri, **base}
    pages = [p for p in tags.get(PAGES_TAG, "").split(",") if p]
    with contextlib.suppress(OSError):
        close_record(Path(folder), name, status, error=error, pages=pages, base=base, keep_checks=True)


def _verdict(run: Run) -> tuple[str, str | None]:
    """The status and error an ended run's folder record must say."""
    tags = run.data.tags
    verdict = tags.get(STATUS_TAG, "running")
    if verdict == "running":  # ended without a verdict (a crash inside MLflow's own exit)
        verdict = {"FINISHED": "passed", "KILLED": "killed"}.get(run.info.status, "failed")
    return verdict, tags.get("toolkit.error")


def end_stale_run(client: MlflowClient, run: Run, uri: str | None) -> str:
    """End a RUNNING run whose process is gone; returns the status it ended with.

    A run that had committed (``toolkit.status`` passed, failed or killed, and no alias move pending)
    ends with that verdict: its outputs and aliases are what it decided. Any other run is KILLED,
    after the alias move it left pending, if any, is rolled back; its folder's record says killed."""
    from mlflow.entities import RunStatus

    tags, run_id = run.data.tags, run.info.run_id
    move = Move.of(run)
    verdict = tags.get(STATUS_TAG, "")
    if move is not None and move.unfinished:
        with alias_lock(uri):
            rollback_move(client, move, "process gone: rolled back by a later run's sweep")
    elif verdict in ("passed", "failed", "killed"):
        ended = {"passed": "FINISHED", "killed": "KILLED"}.get(
            verdict, "FAILED" if "toolkit.error" in tags else "FINISHED"
        )
        client.set_tag(run_id, SWEPT_TAG, f"process gone after the run closed as {verdict}: ended by a later run")
        client.set_terminated(run_id, ended)
        _close_swept_record(run, verdict, tags.get("toolkit.error"), uri)
        if RECORD_STATE_TAG in tags:
            client.set_tag(run_id, RECORD_STATE_TAG, "closed")
        return verdict
    marks = {t: "killed" for t in (STATUS_TAG, *LEGACY_STATUS_TAGS) if t in tags}
    for tag, value in {**marks, SWEPT_TAG: GONE, "toolkit.error": tags.get("toolkit.error", GONE)}.items():
        client.set_tag(run_id, tag, value)
    if STATUS_TAG in tags:
        _close_swept_record(run, "killed", tags.get("toolkit.error", GONE), uri)
    client.set_terminated(run_id, RunStatus.to_string(RunStatus.KILLED))
    if RECORD_STATE_TAG in tags:
        client.set_tag(run_id, RECORD_STATE_TAG, "closed")
    return "killed"


def close_open_records(client: MlflowClient, experiment_ids: list[str] | None, uri: str | None) -> list[str]:
    """Close the folder record of every ended run whose record is still open (its job ended the run, then
    died or failed before writing the folder); returns their ids."""
    from mlflow.entities import ViewType

    found = search_all_runs(
        client,
        f"tags.`{RECORD_STATE_TAG}` = 'open' and attributes.status != 'RUNNING'",
        experiment_ids,
        ViewType.ACTIVE_ONLY,
    )
    for run in found:
        status, error = _verdict(run)
        _close_swept_record(run, status, error, uri)
        client.set_tag(run.info.run_id, RECORD_STATE_TAG, "closed")
    return [r.info.run_id for r in found]


def sweep_stale_runs(
    client: MlflowClient,
    experiment_ids: list[str] | None = None,
    uri: str | None = None,
    say: Callable[[str], None] = lambda msg: None,
) -> list[str]:
    """End RUNNING runs whose process (on this host) is gone (:func:`end_stale_run`) and roll back the
    alias moves left pending by runs that are no longer RUNNING, in the given experiments (default:
    every experiment); return the ids of the runs ended."""
    from mlflow.entities import ViewType

    swept = []
    for run in search_all_runs(client, "attributes.status = 'RUNNING'", experiment_ids, ViewType.ACTIVE_ONLY):
        if process_gone(run):
            status = end_stale_run(client, run, uri)
            swept.append(run.info.run_id)
            how = "marked KILLED" if status == "killed" else f"ended with the verdict it had committed ({status})"
            say(f"run {run.info.run_id} belonged to a process that is gone: {how}")
    repair_moves(client, uri, say)
    for run_id in close_open_records(client, experiment_ids, uri):
        say(f"run {run_id} had ended without closing its folder's record: closed it")
    return swept


def utc_stamp() -> str:
    """The UTC time as ``20200331T235959Z`` (folder names)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def new_folder(root: str | Path, name: str, run_id: str) -> Path:
    """A new output folder ``<root>/<name>-<UTC time>-<run id[:8]>``; an existing one is never reused.

    A relative ``root`` is taken from the workspace (``releases``, ``out/dex``)."""
    r = Path(root)
    if not r.is_absolute():
        r = workspace() / r
    folder = r / f"{name}-{utc_stamp()}-{run_id[:8]}"
    folder.mkdir(parents=True, exist_ok=False)
    return folder


@dataclass(frozen=True)
class RunSpec:
    """What a tracked job is: where it is tracked, what it is called, what it logs first.

    ``artifact_path`` is where the job's outputs go in the run (``release``, ``dex``, ...);
    ``config_artifact`` is the path of the exact config (``<artifact_path>/config.json`` unless
    given). ``error_detail=False`` records only the exception's type in ``toolkit.error`` (and in the
    folder's record), for jobs whose messages could name what must not be tracked. ``record_file`` is
    the folder's record of the run, ``status_pages`` the pages whose status line says how it ended
    (:mod:`toolkit.tracking.record`).
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
    record_file: str = "run.json"
    status_pages: tuple[str, ...] = ()


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

    @store_call
    def log_params(self, params: Mapping[str, Any]) -> None:
        runs.log_params(dict(params))

    @store_call
    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        import mlflow

        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})

    @store_call
    def log_files(self, paths: Iterable[Path], artifact_path: str | None = None) -> None:
        import mlflow

        for p in paths:
            mlflow.log_artifact(str(p), artifact_path)

    @store_call
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

    ``status`` is what the run ends with when the block exits normally: ``"failed"`` when the job's
    checks failed (:meth:`fail_checks`; the run still finishes, aliases do not move). ``record`` is
    the folder's record of the run (:meth:`write_record`); the lifecycle adds the status at close.
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
        record_file: str = "run.json",
    ):
        self.run_id = run_id
        self.folder = folder
        self.tracking_uri = tracking_uri
        self.experiment_id = experiment_id
        self.artifact_path = artifact_path
        self.client = client
        self.params = params  # the provenance params the run was opened with
        self.status = "passed"
        self.failed_checks: list[str] = []
        self.record_file = record_file
        self.record: dict[str, Any] = {}
        self.alias: str | None = None  # the alias to move when the run closes passed, and where
        self.alias_versions: dict[str, str] = {}
        self.committed = False  # the run's verdict is in the store (and its alias moved)

    def _path(self, artifact_path: str | None, name: str = "") -> str:
        base = self.artifact_path if artifact_path is None else artifact_path
        return str(Path(base, name).parent) if name else base

    @store_call
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
        """Write ``record`` as ``<folder>/<name>`` (sorted keys, indented, one trailing newline) and log it
        unless ``log`` is False; returns the path. The folder's record of the run is :meth:`write_record`."""
        path = write_record(self.folder / name, record)
        if log:
            self.log_files([name])
        return path

    def write_record(self, fields: Mapping[str, Any], log: bool = True) -> Path:
        """Add ``fields`` to the folder's record of the run (``run.json``, a release's ``release.json``)
        and write it, still ``status: running``: the lifecycle writes the status, last, when the run
        closes (:mod:`toolkit.tracking.record`). Logged unless ``log`` is False; returns the path."""
        owned = {"status", "failed_checks", "error"}
        self.record.update({k: v for k, v in fields.items() if k not in owned})
        return self.write_json(self.record_file, {**self.record, "status": "running", "failed_checks": []}, log)

    def fail_checks(self, failed: Sequence[str]) -> None:
        """The job's checks: when any failed, the run ends ``failed`` (its folder's record lists them)
        and no alias moves."""
        self.failed_checks = list(failed)
        self.status = "failed" if self.failed_checks else "passed"

    @store_call
    def log_table(self, df: pd.DataFrame, name: str, artifact_path: str | None = None) -> None:
        """Log an aggregate table as CSV (never participant-level rows)."""
        runs.log_table(df, name, self._path(artifact_path))

    @store_call
    def log_json(self, obj: Any, name: str, artifact_path: str | None = None) -> None:
        runs.log_json(obj, name, self._path(artifact_path))

    @store_call
    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        import mlflow

        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})

    @store_call
    def set_tags(self, tags: Mapping[str, str]) -> None:
        import mlflow

        mlflow.set_tags(dict(tags))

    @contextlib.contextmanager
    def child(self, name: str, kind: str, tags: Mapping[str, str] | None = None) -> Iterator[ChildRun]:
        """A nested run named ``name`` (tagged with its kind and the process)."""
        import mlflow

        with deferred():
            tags = {KIND_TAG: kind, **process_tags(), **(tags or {})}
            run_id = mlflow.start_run(
                experiment_id=self.experiment_id, run_name=name, nested=True, tags=tags
            ).info.run_id
        try:
            yield ChildRun(run_id)
        except BaseException as exc:
            with shielded():
                mlflow.end_run(status="KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")
            raise
        with deferred():
            mlflow.end_run(status="FINISHED")

    def set_aliases(self, versions: Mapping[str, str], alias: str) -> None:
        """Have ``alias`` point at each registered model's version when the run closes passed.

        The move is the run's commit: all or nothing, written with ``toolkit.status = passed``
        (:func:`toolkit.tracking.aliases.move_aliases`); a run that fails or is killed moves nothing.
        One alias per run; calls for it add up."""
        if self.alias is not None and alias != self.alias:
            raise ValueError(f"run {self.run_id} already moves alias '{self.alias}'; one alias per run")
        self.alias = alias
        self.alias_versions.update({str(k): str(v) for k, v in versions.items()})


@store_call
def _open(tr: TrackedRun, spec: RunSpec) -> None:
    """Tag the run with its folder and record, then write the record (``status: running``)."""
    tags = {FOLDER_TAG: str(tr.folder), RECORD_TAG: spec.record_file, RECORD_STATE_TAG: "open"}
    if spec.status_pages:
        tags[PAGES_TAG] = ",".join(spec.status_pages)
    tr.client.log_batch(tr.run_id, tags=[_tag(k, v) for k, v in tags.items()])
    tr.write_record(
        {"name": spec.name, "kind": spec.kind, "run_id": tr.run_id, "tracking_uri": tr.tracking_uri}, log=False
    )


def _tag(key: str, value: str) -> Any:
    from mlflow.entities import RunTag

    return RunTag(key, value)


def _finish(tr: TrackedRun, spec: RunSpec, status: str, error: str | None, say: Callable[[str], None]) -> None:
    """After the verdict is in the store: the folder's record and status pages, logged; the run ends.

    A failure is written to the folder at once; ``passed`` only once the run has ended FINISHED (the
    artifacts are logged from a staging copy first), so that a store failing at the very end leaves a
    folder that says ``running``, never one that says passed beside a run that did not finish. The
    run's ``toolkit.record_state`` becomes ``closed`` last (an open one is closed by the next sweep)."""
    import mlflow

    files = closed_files(
        tr.folder,
        spec.record_file,
        status,
        failed_checks=tr.failed_checks,
        error=error,
        pages=spec.status_pages,
        base=tr.record,
    )
    if status != "passed":
        write_files(tr.folder, files)
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in files.items():
            staged = Path(tmp, name)
            staged.parent.mkdir(parents=True, exist_ok=True)
            staged.write_text(text)
            mlflow.log_artifact(str(staged), str(Path(tr._path(None), name).parent))
    ended = {"passed": "FINISHED", "killed": "KILLED"}.get(status, "FAILED" if error else "FINISHED")
    mlflow.end_run(status=ended)
    if status == "passed":
        write_files(tr.folder, files)
    tr.client.set_tag(tr.run_id, RECORD_STATE_TAG, "closed")


def _close(tr: TrackedRun, spec: RunSpec, uri: str, say: Callable[[str], None]) -> None:
    """The job's block ended: commit its verdict (moving its alias when it passed), then finish."""
    if tr.status == "passed" and tr.alias and tr.alias_versions:
        move_aliases(tr.client, uri, tr.run_id, tr.alias_versions, tr.alias, {STATUS_TAG: "passed"}, say)
        say(f"alias '{tr.alias}' now points at this run's versions of {len(tr.alias_versions)} registered models")
    else:
        with deferred():
            tr.client.set_tag(tr.run_id, STATUS_TAG, tr.status)
    tr.committed = True
    with shielded():  # the verdict is in: a signal now would only leave the record to the next sweep
        _finish(tr, spec, tr.status, None, say)


def _close_raised(
    client: MlflowClient,
    run_id: str,
    tr: TrackedRun | None,
    spec: RunSpec,
    exc: BaseException,
    uri: str,
    say: Callable[[str], None],
) -> None:
    """The job raised: roll back an alias move it left pending, mark the run failed or killed with the
    error, close the folder's record. Each step is tried on its own: the store may be what failed."""
    import mlflow

    killed = isinstance(exc, KeyboardInterrupt)
    status = "killed" if killed else "failed"
    detail = (f"{type(exc).__name__}: {exc}" if spec.error_detail else type(exc).__name__)[:5000]
    steps: list[tuple[str, Callable[[], Any]]] = []
    if tr is not None and tr.alias:

        def rollback() -> None:
            move = Move.of(client.get_run(run_id))
            if move is not None and move.state in (PENDING, COMPLETE):
                with alias_lock(uri):
                    rollback_move(client, move, f"rolled back: the job ended {status} ({type(exc).__name__})")

        steps.append(("roll back the alias move", rollback))
    steps.append(
        (
            "mark the run",
            lambda: client.log_batch(run_id, tags=[_tag(STATUS_TAG, status), _tag("toolkit.error", detail)]),
        )
    )
    if tr is not None:
        steps.append(("close the folder's record", lambda: _finish(tr, spec, status, detail, say)))
    else:
        steps.append(("end the run", lambda: mlflow.end_run(status="KILLED" if killed else "FAILED")))
    for what, step in steps:
        try:
            step()
        except Exception as err:  # each step on its own
            say(f"could not {what} of run {run_id}: {type(err).__name__}: {err}")
    active = mlflow.active_run()
    if active is not None and active.info.run_id == run_id:  # a step above failed before ending it
        with contextlib.suppress(Exception):
            mlflow.end_run(status="KILLED" if killed else "FAILED")


@contextlib.contextmanager
def tracked_run(
    spec: RunSpec, tracking_uri: str | None = None, say: Callable[[str], None] = lambda msg: None
) -> Iterator[TrackedRun]:
    """Open the parent run of a job and its output folder; see the module docstring."""
    import mlflow

    from toolkit.tracking.store import (
        connect,
        ensure_experiment,
        resolve_tracking_uri,
        store_fault,
        store_faults_as_errors,
    )

    uri = resolve_tracking_uri(tracking_uri)
    with store_faults_as_errors(uri):
        client = connect(uri)
        exp_id = ensure_experiment(client, spec.experiment, uri)
        sweep_stale_runs(client, None, uri, say)
    with terminate_on_signals():
        # the process tags come with the run itself: a run the sweep cannot attribute never exists
        tags = {KIND_TAG: spec.kind, STATUS_TAG: "running", **process_tags(), **spec.tags}
        with store_faults_as_errors(uri), deferred():
            run_id = mlflow.start_run(experiment_id=exp_id, run_name=spec.name, tags=tags).info.run_id
        tr: TrackedRun | None = None
        try:
            with deferred():
                runs.log_params(dict(spec.params))
                config = spec.config if spec.config is not None else spec.params.get("config")
                if config is not None:
                    cpath = Path(spec.config_artifact or f"{spec.artifact_path}/config.json")
                    runs.log_json(config, cpath.name, str(cpath.parent))
            folder = new_folder(spec.output_root, spec.folder_name or spec.name, run_id)
            tr = TrackedRun(run_id, folder, uri, exp_id, spec.artifact_path, client, spec.params, spec.record_file)
            _open(tr, spec)
            say(f"{spec.kind} {spec.name}: MLflow run {run_id} in {uri}; writing to {folder}")
            yield tr
            _close(tr, spec, uri, say)
        except BaseException as exc:
            with shielded():
                if tr is not None and tr.committed:  # only the bookkeeping after the commit failed
                    with contextlib.suppress(Exception):
                        mlflow.end_run(status="FINISHED")
                else:
                    _close_raised(client, run_id, tr, spec, exc, uri, say)
            err = store_fault(exc, uri) if isinstance(exc, Exception) else None
            if err is not None and err is not exc:
                if tr is not None and tr.committed:
                    raise type(err)(
                        f"run {run_id} committed as {tr.status}, but ending it failed: {err}; its folder says "
                        "running until the next job's sweep (or `toolkit doctor --repair`) ends it"
                    ) from None
                raise type(err)(f"{err}; nothing of this run is marked passed") from None
            raise
