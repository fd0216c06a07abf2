"""Run independent tasks of a top-level function: ``run_tasks(fn, tasks, scheduler=...)``.

Minimal serial version (a plain loop with a progress line); the Dask engine ("local", "tcp://host:port")
replaces this module. ``fn`` is a picklable top-level function of one task (a small frozen dataclass or
tuple carrying everything it needs, its seed too); workers never touch MLflow. Results come back in task
order; ``on_result(index, result)`` is called as each one arrives.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from toolkit.errors import ConfigError


def run_tasks(
    fn: Callable[[Any], Any],
    tasks: Sequence[Any],
    *,
    scheduler: str = "serial",
    on_result: Callable[[int, Any], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> list[Any]:
    """``[fn(t) for t in tasks]``, in task order, saying "tasks done/total, ETA" as it goes."""
    if scheduler != "serial":
        raise ConfigError(f"scheduler {scheduler!r} is not available in this build (only 'serial')")
    out: list[Any] = []
    t0, n = time.perf_counter(), len(tasks)
    for i, task in enumerate(tasks):
        out.append(fn(task))
        if on_result is not None:
            on_result(i, out[-1])
        if say is not None:
            spent = time.perf_counter() - t0
            say(f"tasks {i + 1}/{n} done, ETA {spent / (i + 1) * (n - i - 1):.0f}s")
    return out
