"""Sweeps: one function over many small tasks, serially or on Dask, with the same results either way.

:func:`run_tasks` runs ``fn(task)`` for every task and returns the results in task order:

- ``scheduler="serial"``: in this process, one task after another;
- ``scheduler="local"`` (or ``"local:N"``): on a :class:`distributed.LocalCluster` that ``run_tasks``
  starts and closes: ``N`` worker *processes* (default ``os.cpu_count()``), one thread each. Processes
  rather than threads because much of a task here is pandas work that holds the GIL (design building,
  aggregation, scoring) and a worker process that runs out of memory or crashes takes only its own task
  down. The measurement did not settle it: on this 2-core machine, loaded by other jobs (load average 7-9),
  ``experiments/benchmark_sweep.py`` took 42.9 s on two single-thread processes and 40.6 s on one process
  with two threads (serial 33.7 s, one worker process 47.0 s). Rerun it on a quiet machine before relying
  on either;
- ``scheduler="tcp://host:port"``: a :class:`distributed.Client` connected to a scheduler someone else
  started (``dask scheduler``, ``dask worker tcp://host:port``); the cluster is never closed here.

A task is a small picklable value (a frozen dataclass) that carries its own seed: seeds belong to tasks,
never to workers, so which worker runs a task cannot change its result. Every task runs with one BLAS
thread wherever it runs (the client's serial loop included), so its floating-point sums are done in one
order and a Dask run gives byte-identical tables to a serial one. ``fn`` must be a top-level function
(a worker imports it, or receives it pickled by value when it lives in a script's ``__main__``); workers
import ``toolkit`` from their own ``sys.path`` (start them with ``PYTHONPATH`` at this checkout).

``on_result(i, result)`` is called in the client process as each result arrives (in completion order,
``i`` the task's position), so the caller can log to MLflow there: workers never write to the tracking
store. Progress lines ``tasks done/total, elapsed, ETA`` go through ``say``.

A task that raises stops the sweep: the other tasks are cancelled and the error is raised in the
client naming the task (:class:`TaskError`, a :class:`~toolkit.errors.ToolkitError`, when the task's
error was one; otherwise the task's own exception with a note naming the task, traceback kept, as a
bug). A scheduler that cannot be reached, one with no workers, and a worker that dies under a task are
:class:`SweepError` (exit code 2 from the command line).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from toolkit.errors import ToolkitError

if TYPE_CHECKING:
    import argparse

#: How long to wait for a scheduler to answer, and for an external scheduler to have a worker (seconds).
CONNECT_TIMEOUT = 10.0
WORKER_TIMEOUT = 60.0


class SweepError(ToolkitError, RuntimeError):
    """The sweep could not run: no scheduler at the address, no worker, a worker died under a task."""


class TaskError(ToolkitError):
    """A task raised a :class:`~toolkit.errors.ToolkitError`; ``index`` and ``task`` say which, ``__cause__``
    is the task's error."""

    def __init__(self, message: str, index: int, task: Any):
        super().__init__(message)
        self.index = index
        self.task = task


def add_scheduler_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--scheduler`` (serial, local, local:N or tcp://host:port) to a command's parser."""
    parser.add_argument(
        "--scheduler",
        default="serial",
        type=check_scheduler,
        metavar="{serial,local,local:N,tcp://HOST:PORT}",
        help="where the sweep's tasks run: in this process (serial, the default), on a Dask cluster of N worker "
        "processes started for the run (local: one per core), or on an existing Dask scheduler (tcp://host:port); "
        "results are identical in every case",
    )


def check_scheduler(value: str) -> str:
    """``value`` if it names a scheduler :func:`run_tasks` accepts; ValueError (argparse: exit 2) otherwise."""
    _parse_scheduler(value)
    return value


def _parse_scheduler(value: str) -> tuple[str, int | None]:
    """``("serial", None)``, ``("local", n_workers)`` or ``(address, None)``."""
    if value == "serial":
        return "serial", None
    if value == "local":
        return "local", max(os.cpu_count() or 1, 1)
    if value.startswith("local:"):
        n = value.split(":", 1)[1]
        if not n.isdigit() or int(n) < 1:
            raise ValueError(f"scheduler {value!r}: local:N needs a whole number of workers N >= 1")
        return "local", int(n)
    if value.startswith(("tcp://", "tls://", "ws://", "wss://", "inproc://")) and len(value.split("://", 1)[1]) > 0:
        return value, None
    raise ValueError(f"scheduler {value!r}: expected serial, local, local:N or tcp://host:port")


def run_tasks(
    fn: Callable[[Any], Any],
    tasks: Sequence[Any],
    *,
    scheduler: str = "serial",
    on_result: Callable[[int, Any], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> list:
    """``[fn(t) for t in tasks]``, run where ``scheduler`` says (module docstring); results in task order."""
    try:
        where, n_workers = _parse_scheduler(scheduler)
    except ValueError as exc:
        raise SweepError(str(exc)) from None
    tasks = list(tasks)
    progress = _Progress(len(tasks), say)
    if not tasks:
        return []
    if where == "serial":
        results = []
        for i, task in enumerate(tasks):
            try:
                result = run_one(fn, task)
            except Exception as exc:
                err = _task_error(exc, i, len(tasks), task)
                if err is exc:
                    raise
                raise err from exc
            results.append(result)
            if on_result is not None:
                on_result(i, result)
            progress.done()
        return results
    return _run_dask(fn, tasks, where, n_workers, on_result, progress)


def run_one(fn: Callable[[Any], Any], task: Any) -> Any:
    """``fn(task)`` with one BLAS/OpenMP thread (the same summation order in the client and on any worker)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return fn(task)


class _Progress:
    def __init__(self, total: int, say: Callable[[str], None] | None):
        self.total, self.say, self.n = total, say, 0
        self.t0 = time.perf_counter()

    def done(self) -> None:
        self.n += 1
        if self.say is None:
            return
        elapsed = time.perf_counter() - self.t0
        eta = elapsed / self.n * (self.total - self.n)
        self.say(f"tasks {self.n}/{self.total} done, {elapsed:.1f}s elapsed, ETA {eta:.0f}s")


def _task_error(exc: BaseException, i: int, total: int, task: Any) -> BaseException:
    """The error to raise in the client for task ``i``'s exception ``exc``."""
    where = f"sweep task {i + 1}/{total} ({task!r})"
    if isinstance(exc, ToolkitError):
        return TaskError(f"{where}: {exc}", i, task)
    exc.add_note(f"raised by {where}")
    return exc


def _run_dask(
    fn: Callable[[Any], Any],
    tasks: list,
    where: str,
    n_workers: int | None,
    on_result: Callable[[int, Any], None] | None,
    progress: _Progress,
) -> list:
    import logging

    from distributed import Client, LocalCluster, as_completed
    from distributed.client import FutureCancelledError

    cluster = None
    client = None
    try:
        if where == "local":
            cluster = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            client = Client(cluster)
        else:
            try:
                client = Client(where, timeout=f"{CONNECT_TIMEOUT}s")
            except (OSError, TimeoutError) as exc:
                raise SweepError(
                    f"cannot reach the Dask scheduler at {where} ({type(exc).__name__}: {exc}); start one with "
                    "`dask scheduler` and workers with `dask worker <address>`, or use --scheduler serial or local"
                ) from None
            try:
                client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
            except (OSError, TimeoutError):
                raise SweepError(
                    f"the Dask scheduler at {where} has no workers after {WORKER_TIMEOUT:.0f}s "
                    "(start some with `dask worker <address>`)"
                ) from None
        info = client.scheduler_info()
        if progress.say is not None:
            progress.say(f"Dask scheduler {info.get('address', where)}: {len(info.get('workers', {}))} worker(s) ready")
        progress.t0 = time.perf_counter()
        tag = uuid.uuid4().hex[:8]
        name = getattr(fn, "__name__", "task")
        # A window of tasks in flight (two per worker), the next one submitted as each ends: a task's payload
        # (often a frame of records) is pickled and shipped only when a worker is about to need it, so the
        # client, scheduler and workers never hold every task at once.
        window = 2 * max(len(info.get("workers", {})), 1)
        queue = iter(enumerate(tasks))
        index: dict[Any, int] = {}
        pending: set = set()

        def submit_next() -> Any:
            nxt = next(queue, None)
            if nxt is None:
                return None
            i, task = nxt
            future = client.submit(run_one, fn, task, key=f"{name}-{tag}-{i}", pure=False, retries=0)
            index[future.key] = i
            pending.add(future)
            return future

        first = [f for f in (submit_next() for _ in range(window)) if f is not None]
        results: list = [None] * len(tasks)
        try:
            running = as_completed(first)
            for future in running:
                pending.discard(future)
                i = index[future.key]
                if future.status == "error":
                    failure = future.exception()
                    client.cancel(list(pending))
                    err = _dask_error(failure, i, len(tasks), tasks[i], where)
                    if err is failure:
                        raise failure.with_traceback(future.traceback())
                    raise err from failure
                results[i] = future.result()
                future.release()
                following = submit_next()
                if following is not None:
                    running.add(following)
                if on_result is not None:
                    on_result(i, results[i])
                progress.done()
        except (OSError, FutureCancelledError) as exc:
            client.cancel(list(pending))
            raise SweepError(
                f"lost the Dask scheduler at {where} during the sweep ({type(exc).__name__}: {exc})"
            ) from None
        return results
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


def _dask_error(exc: BaseException, i: int, total: int, task: Any, where: str) -> BaseException:
    from distributed.scheduler import KilledWorker

    if isinstance(exc, KilledWorker):
        return SweepError(
            f"sweep task {i + 1}/{total} ({task!r}): the Dask worker(s) running it died ({where}; out of "
            "memory or killed); the other tasks are cancelled"
        )
    return _task_error(exc, i, total, task)
