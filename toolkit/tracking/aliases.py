"""Moving a registry alias (``champion``) over several registered models, all or nothing.

MLflow moves an alias on one model at a time. A job that is killed between two of those calls
would leave the alias split between two releases, so every move goes through one protocol, and
every reader can tell a move in progress from a finished one:

1. under the store's alias lock (sqlite: ``<db>.aliases.lock``; moves and repairs take it, readers
   share it), repair any move a dead process left incomplete on the same models;
2. record on the moving run the alias, the previous set (each model's current version, or none)
   and the intended set, then ``toolkit.alias_move = pending`` (:data:`MOVE_TAG`);
3. point the alias at each intended version;
4. mark the move ``complete``, in the same write as the tags that commit the run
   (``toolkit.status = passed``; see :func:`toolkit.tracking.lifecycle.tracked_run`).

A move that raises, or is interrupted (SIGTERM, Ctrl-C), is rolled back before the exception goes
on: each alias is pointed back at its previous version, or deleted if it did not exist, and the
move is marked ``rolled_back``. A move that a SIGKILL (or a power cut) left ``pending`` is rolled
back the same way by the next job's sweep or by ``toolkit doctor --repair`` (:func:`repair_moves`),
once its process is gone or its run no longer RUNNING. Readers use :func:`champion_versions`,
which refuses to answer while a move is pending.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.errors import TrackingError
from toolkit.tracking.signals import deferred, shielded

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient

#: ``pending`` while a move is under way, then ``complete`` or ``rolled_back``.
MOVE_TAG = "toolkit.alias_move"
ALIAS_TAG = "toolkit.alias_move.alias"
#: JSON ``{model: version or null}``: where the alias pointed before the move (null: nowhere).
PREVIOUS_TAG = "toolkit.alias_move.previous"
#: JSON ``{model: version}``: where the move points the alias.
INTENDED_TAG = "toolkit.alias_move.intended"
#: Why and by whom a move was rolled back.
ROLLBACK_TAG = "toolkit.alias_move.rolled_back"
PENDING, COMPLETE, ROLLED_BACK = "pending", "complete", "rolled_back"
#: The run's verdict (:data:`toolkit.tracking.lifecycle.STATUS_TAG`): a move is only final on a passed run.
VERDICT_TAG = "toolkit.status"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs: it exists and has not exited (a zombie, exited but not yet reaped by
    its parent, has released its locks and will write nothing more)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone since, or no /proc (not Linux: then a zombie counts as alive)
        return not Path("/proc/self/stat").is_file()
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def process_gone(run: Run) -> bool:
    """True when ``run`` was opened by a process on this host that no longer exists."""
    tags = run.data.tags
    pid = tags.get("toolkit.pid", "")
    return tags.get("toolkit.host") == socket.gethostname() and pid.isdigit() and not _alive(int(pid))


@contextlib.contextmanager
def alias_lock(uri: str | None, shared: bool = False, timeout: float | None = None) -> Iterator[None]:
    """Serialise alias moves and repairs on a sqlite store (``<db>.aliases.lock``); readers take it shared.

    With ``timeout`` (seconds), a lock still held by another process then is a :class:`TrackingError`.
    A server store has no lock file: moves on it rely on the pending mark alone."""
    from toolkit.tracking.store import resolve_tracking_uri, sqlite_path

    db = sqlite_path(resolve_tracking_uri(uri))
    if db is None:
        yield
        return
    import fcntl

    db.parent.mkdir(parents=True, exist_ok=True)
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    with open(db.with_name(db.name + ".aliases.lock"), "a") as fh:
        if timeout is None:
            fcntl.flock(fh, mode)
        else:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fh, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TrackingError(
                            f"an alias move on {db} has been in progress for over {timeout:g}s; try again later"
                        ) from None
                    time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def current_versions(client: MlflowClient, names: Sequence[str], alias: str) -> dict[str, str | None]:
    """Where ``alias`` points on each registered model now (None: the model has no such alias)."""
    out: dict[str, str | None] = {}
    for name in names:
        aliases = client.get_registered_model(name).aliases or {}
        v = aliases.get(alias)
        out[name] = None if v is None else str(v)
    return out


@dataclass(frozen=True)
class Move:
    """An alias move as a run records it."""

    run_id: str
    state: str  # pending, complete or rolled_back
    alias: str
    previous: dict[str, str | None]
    intended: dict[str, str]
    run_status: str  # the run's MLflow status (RUNNING, FINISHED, KILLED, FAILED)
    gone: bool  # its process is gone (this host only)
    verdict: str = ""  # the run's toolkit.status

    @property
    def unfinished(self) -> bool:
        """Not a final move: pending, or complete on a run whose verdict is not passed."""
        return self.state == PENDING or (self.state == COMPLETE and self.verdict != "passed")

    @property
    def abandoned(self) -> bool:
        """An unfinished move nobody will finish: its process is gone or its run has ended."""
        return self.unfinished and (self.gone or self.run_status != "RUNNING")

    @classmethod
    def of(cls, run: Run) -> Move | None:
        tags = run.data.tags
        if MOVE_TAG not in tags:
            return None
        try:
            previous = json.loads(tags.get(PREVIOUS_TAG, "{}"))
            intended = json.loads(tags.get(INTENDED_TAG, "{}"))
        except json.JSONDecodeError as exc:
            raise TrackingError(f"run {run.info.run_id}: unreadable alias move record ({exc})") from None
        return cls(
            run.info.run_id,
            tags[MOVE_TAG],
            tags.get(ALIAS_TAG, ""),
            {str(k): None if v is None else str(v) for k, v in previous.items()},
            {str(k): str(v) for k, v in intended.items()},
            run.info.status,
            process_gone(run),
            tags.get(VERDICT_TAG, ""),
        )


def all_experiment_ids(client: MlflowClient) -> list[str]:
    from mlflow.entities import ViewType

    ids: list[str] = []
    token = None
    while True:
        page = client.search_experiments(view_type=ViewType.ALL, max_results=1000, page_token=token)
        ids += [e.experiment_id for e in page]
        token = page.token
        if not token:
            return ids


def search_all_runs(
    client: MlflowClient, filter_string: str, experiment_ids: Sequence[str] | None = None, view: int | None = None
) -> list[Run]:
    """Every run matching ``filter_string`` in the given experiments (default: all), active or deleted
    unless ``view`` (an MLflow ``ViewType``) says otherwise."""
    from mlflow.entities import ViewType

    view = ViewType.ALL if view is None else view
    ids = list(experiment_ids) if experiment_ids is not None else all_experiment_ids(client)
    found: list[Run] = []
    for i in range(0, len(ids), 100):
        token = None
        while True:
            page = client.search_runs(
                ids[i : i + 100], filter_string, run_view_type=view, max_results=1000, page_token=token
            )
            found += list(page)
            token = page.token
            if not token:
                break
    return found


def pending_moves(client: MlflowClient) -> list[Move]:
    """Every unfinished alias move (:attr:`Move.unfinished`), in every experiment."""
    runs = search_all_runs(client, f"tags.`{MOVE_TAG}` = '{PENDING}'")
    runs += search_all_runs(client, f"tags.`{MOVE_TAG}` = '{COMPLETE}' and tags.`{VERDICT_TAG}` != 'passed'")
    return [m for m in (Move.of(r) for r in runs) if m is not None and m.unfinished]


@dataclass
class Rollback:
    """What rolling back one move did."""

    run_id: str
    alias: str
    restored: dict[str, str | None] = field(default_factory=dict)  # model -> version it points at again
    left: dict[str, str] = field(default_factory=dict)  # model -> why it was left alone


def rollback_move(client: MlflowClient, move: Move, reason: str) -> Rollback:
    """Restore the previous set of ``move`` (re-point each alias, or delete one that did not exist) and
    mark the move rolled back. An alias that points somewhere neither set names was moved since by
    someone else and is left alone (reported). Idempotent: a repeat finds nothing to restore."""
    from mlflow.exceptions import MlflowException

    done = Rollback(move.run_id, move.alias)
    now = current_versions(client, sorted(move.previous), move.alias)
    for name, before in sorted(move.previous.items()):
        cur = now[name]
        if cur == before:
            continue
        if cur is not None and cur != move.intended.get(name):
            done.left[name] = f"points at version {cur}, which this move never set"
            continue
        if before is None:
            with contextlib.suppress(MlflowException):  # already gone
                client.delete_registered_model_alias(name, move.alias)
        else:
            client.set_registered_model_alias(name, move.alias, before)
        done.restored[name] = before
    note = f"{reason}; restored {len(done.restored)} alias(es)" + (f", left {len(done.left)}" if done.left else "")
    _tag_rolled_back(client, move.run_id, note)
    return done


def _tag_rolled_back(client: MlflowClient, run_id: str, note: str) -> None:
    """Mark the move rolled back; a deleted run is restored for the write and deleted again, so that no
    pending mark outlives its aliases."""
    from mlflow.entities import LifecycleStage, RunTag

    tags = [RunTag(ROLLBACK_TAG, note[:5000]), RunTag(MOVE_TAG, ROLLED_BACK)]
    deleted = client.get_run(run_id).info.lifecycle_stage == LifecycleStage.DELETED
    if deleted:
        client.restore_run(run_id)
    try:
        client.log_batch(run_id, tags=tags)
    finally:
        if deleted:
            client.delete_run(run_id)


def _sweep_names(client: MlflowClient, names: set[str], alias: str, say: Callable[[str], None]) -> None:
    """Under the lock, before a move: roll back abandoned moves of the same alias on any of ``names``;
    refuse while another live process is moving them."""
    for m in pending_moves(client):
        if m.alias != alias or not (set(m.previous) | set(m.intended)) & names:
            continue
        if m.abandoned:
            rollback_move(client, m, "incomplete move of a process that is gone, rolled back before a new move")
            say(f"rolled back the incomplete '{alias}' move of run {m.run_id}")
        else:
            raise TrackingError(
                f"run {m.run_id} is moving alias '{alias}' on the same models right now; try again when it ends"
            )


def move_aliases(
    client: MlflowClient,
    uri: str | None,
    run_id: str,
    versions: Mapping[str, str],
    alias: str,
    commit_tags: Mapping[str, str] | None = None,
    say: Callable[[str], None] = lambda msg: None,
) -> None:
    """Point ``alias`` at each model's version in ``versions``, recorded on run ``run_id``, all or nothing
    (see the module docstring). ``commit_tags`` are written with the ``complete`` mark, in one write."""
    from mlflow.entities import RunTag

    intended = {str(k): str(v) for k, v in sorted(versions.items())}
    with alias_lock(uri):
        with deferred():  # each store call whole: a signal is raised between two of them
            _sweep_names(client, set(intended), alias, say)
            previous = current_versions(client, list(intended), alias)
        with deferred():
            client.log_batch(
                run_id,
                tags=[
                    RunTag(ALIAS_TAG, alias),
                    RunTag(PREVIOUS_TAG, json.dumps(previous, sort_keys=True)),
                    RunTag(INTENDED_TAG, json.dumps(intended, sort_keys=True)),
                    RunTag(MOVE_TAG, PENDING),
                ],
            )
        try:
            for name, version in intended.items():
                with deferred():
                    client.set_registered_model_alias(name, alias, version)
            commit = [RunTag(k, v) for k, v in (commit_tags or {}).items()]
            with deferred():
                client.log_batch(run_id, tags=[*commit, RunTag(MOVE_TAG, COMPLETE)])
        except BaseException as exc:
            move = Move(run_id, PENDING, alias, previous, intended, "RUNNING", False)
            with shielded():  # a second signal must not cut the rollback in half
                rollback_move(client, move, f"rolled back by its own job: {type(exc).__name__}")
            raise


def repair_moves(
    client: MlflowClient, uri: str | None, say: Callable[[str], None] = lambda msg: None, repair: bool = True
) -> tuple[list[Move], list[Rollback]]:
    """Find abandoned moves (pending; process gone or run ended) in every experiment and, when
    ``repair``, roll each back. Returns the abandoned moves and what the rollbacks did."""
    found = [m for m in pending_moves(client) if m.abandoned]
    done: list[Rollback] = []
    if not (found and repair):
        return found, done
    with alias_lock(uri):
        for m in pending_moves(client):  # again, under the lock: another job may have repaired some
            if m.abandoned:
                why = "process gone" if m.gone else f"run {m.run_status}"
                done.append(rollback_move(client, m, f"incomplete move ({why}) rolled back by a later sweep"))
                say(f"rolled back the incomplete '{m.alias}' move of run {m.run_id} ({why})")
    return found, done


#: How long a reader waits for a move in progress on a sqlite store (seconds).
READ_TIMEOUT = 60.0


def champion_versions(names: Sequence[str], alias: str = "champion", tracking_uri: str | None = None) -> dict[str, str]:
    """The version ``alias`` points at on each named registered model, read as one consistent set.

    Raises :class:`~toolkit.errors.TrackingError` while a move of ``alias`` on any of them is pending
    (left incomplete by a killed job: ``toolkit doctor --repair`` restores it; or in progress on a
    server), or when a model or its alias does not exist. On a sqlite store the read holds the alias
    lock (shared): it waits for a move in progress (up to :data:`READ_TIMEOUT`), and no move can start
    meanwhile; on a server the pending marks are checked before and after the read."""
    from toolkit.tracking.store import connect, resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    client = connect(uri)
    wanted = set(names)

    def check() -> None:
        for m in pending_moves(client):
            if m.alias == alias and (set(m.intended) | set(m.previous)) & wanted:
                state = (
                    "was left incomplete by a job that is gone: run `toolkit doctor --repair`"
                    if m.abandoned
                    else "is in progress: read again when it ends"
                )
                raise TrackingError(
                    f"alias '{alias}' is being moved by run {m.run_id} (on {len(m.intended)} models) and {state}"
                )

    from mlflow.exceptions import MlflowException

    with alias_lock(uri, shared=True, timeout=READ_TIMEOUT):
        check()
        try:
            found = current_versions(client, list(names), alias)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            raise TrackingError(f"alias '{alias}': {exc.message}") from None
        check()
    missing = sorted(n for n, v in found.items() if v is None)
    if missing:
        raise TrackingError(f"alias '{alias}' points at no version of {', '.join(missing)}")
    return {n: str(v) for n, v in found.items()}
