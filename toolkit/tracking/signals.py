"""SIGTERM and SIGHUP as an exception, and short stretches that must not be cut in half.

:func:`terminate_on_signals` turns the two signals into :class:`ReleaseInterrupted` (a
``KeyboardInterrupt``), so that a job stopped with ``kill`` unwinds like one stopped with Ctrl-C:
its run is ended as KILLED and an alias move under way is rolled back. The exception is raised
wherever the main thread is, except in two kinds of stretch:

- :func:`deferred`: a call into the store (MLflow, SQLAlchemy, their thread pools). An exception
  raised inside one can break the library's own state (a transaction closed under it, a worker
  thread started but never registered, which the interpreter then waits for forever at exit), so
  the signal is raised as soon as the call returns;
- :func:`shielded`: rolling back, ending a run. The job is already on its way out, and an
  exception there would leave the half it interrupts to the next sweep; the signal is dropped.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import ClassVar

SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class ReleaseInterrupted(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM or SIGHUP."""


class _State:
    depth: ClassVar[int] = 0  # how many shielded() blocks are open
    received: ClassVar[list[int]] = []  # signals that arrived while shielded


def _raise(signum: int, _frame: object) -> None:
    if _State.depth:
        _State.received.append(signum)
        return
    raise ReleaseInterrupted(f"received {signal.Signals(signum).name}")


@contextlib.contextmanager
def terminate_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`ReleaseInterrupted` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, _raise) for s in SIGNALS}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP wait; the first that arrived is raised as
    :class:`ReleaseInterrupted` when the block ends (unless an exception already ends it, or an
    enclosing :func:`shielded` or :func:`deferred` block takes it)."""
    with shielded() as got:
        yield
    if got and not _State.depth:
        raise ReleaseInterrupted(f"received {signal.Signals(got[0]).name}")


@contextlib.contextmanager
def shielded() -> Iterator[list[int]]:
    """Within the block, SIGTERM and SIGHUP do not raise; yields the list of those that arrived."""
    _State.depth += 1
    start = len(_State.received)
    got: list[int] = []
    try:
        yield got
    finally:
        _State.depth -= 1
        got += _State.received[start:]
        if not _State.depth:
            _State.received.clear()
