"""Runs that end badly: killed, interrupted, or abandoned by a dead process.

- :func:`terminate_on_signals` turns SIGTERM (and SIGHUP) into an exception, so a
  release stopped by ``kill`` ends its MLflow runs as KILLED instead of leaving them
  running.
- A process killed with SIGKILL runs no handler. Every release tags its runs with the
  process id and host; :func:`sweep_stale_runs` marks RUNNING runs of dead processes on
  this host as KILLED. Releases call it when they start, so such a run is never left
  looking finished or alive.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading


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


def sweep_stale_runs(client, experiment_ids: list[str]) -> list[str]:
    """Mark RUNNING runs whose process (on this host) is gone as KILLED; return their ids."""
    from mlflow.entities import RunStatus

    host = socket.gethostname()
    swept = []
    runs = client.search_runs(experiment_ids, "attributes.status = 'RUNNING'", max_results=1000)
    for run in runs:
        tags = run.data.tags
        pid = tags.get("toolkit.pid")
        if tags.get("toolkit.host") != host or not pid or not pid.isdigit() or _alive(int(pid)):
            continue
        if "release.status" in tags:
            client.set_tag(run.info.run_id, "release.status", "killed")
        client.set_tag(run.info.run_id, "toolkit.swept", "process gone: marked KILLED by a later run")
        client.set_terminated(run.info.run_id, RunStatus.to_string(RunStatus.KILLED))
        swept.append(run.info.run_id)
    return swept


@contextlib.contextmanager
def terminate_on_signals():
    """Within the block, SIGTERM and SIGHUP raise :class:`ReleaseInterrupted` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum, _frame):
        raise ReleaseInterrupted(f"received {signal.Signals(signum).name}")

    old = {s: signal.signal(s, _raise) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
