"""The sweep engine (toolkit.sweep): serial, a LocalCluster and a real `dask scheduler` with two `dask worker`
processes give byte-identical tables; a failing task is named; an unreachable scheduler is a clear error."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import ToolkitError
from toolkit.sweep import SweepError, TaskError, add_scheduler_argument, run_tasks

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# The scheduler and workers import toolkit and this module (its tasks and functions) from PYTHONPATH: this
# checkout and its tests folder (a LocalCluster's workers inherit this process's sys.path).


@dataclass(frozen=True)
class FitTask:
    """Fit a small spline logistic model on a synthetic frame drawn from ``seed`` (the task's own seed)."""

    seed: int
    n: int = 3000
    fail: bool = False


def fit_task(task: FitTask) -> pd.DataFrame:
    from toolkit.errors import InputError
    from toolkit.expected import fit_expected

    if task.fail:
        raise InputError(f"task with seed {task.seed} was told to fail")
    rng = np.random.default_rng(task.seed)
    df = pd.DataFrame({"age": rng.uniform(15, 65, task.n), "grp": rng.choice(["a", "b", "c"], task.n)})
    eta = -1 + 0.002 * (df["age"] - 40) ** 2 - 0.5 * (df["grp"] == "b")
    df["y"] = rng.random(task.n) < 1 / (1 + np.exp(-eta))
    m = fit_expected(df, "y ~ bs(age, df=5) + C(grp)")
    return pd.DataFrame({"seed": task.seed, "term": m.coef_.index, "coef": m.coef_.to_numpy()})


def buggy(task: FitTask) -> int:
    return 1 // (task.seed - 2)


def as_csv(results: list[pd.DataFrame]) -> str:
    return pd.concat(results, ignore_index=True).to_csv(index=False, float_format="%.17g")


TASKS = [FitTask(seed) for seed in range(1, 7)]


@pytest.fixture(scope="module")
def serial_csv() -> str:
    return as_csv(run_tasks(fit_task, TASKS))


def test_serial_order_callbacks_and_progress(serial_csv):
    seen, lines = [], []
    res = run_tasks(fit_task, TASKS, on_result=lambda i, r: seen.append((i, int(r["seed"].iloc[0]))), say=lines.append)
    assert [int(r["seed"].iloc[0]) for r in res] == [t.seed for t in TASKS]
    assert seen == [(i, t.seed) for i, t in enumerate(TASKS)]
    assert as_csv(res) == serial_csv
    assert len(lines) == len(TASKS) and lines[-1].startswith("tasks 6/6 done") and "ETA" in lines[-1]
    assert run_tasks(fit_task, []) == []


def test_task_error_is_named_and_a_toolkit_error():
    tasks = [FitTask(1), FitTask(5, fail=True), FitTask(3)]
    with pytest.raises(TaskError, match=r"sweep task 2/3 \(FitTask\(seed=5, n=3000, fail=True\)\).*told to fail") as e:
        run_tasks(fit_task, tasks)
    assert e.value.index == 1 and e.value.task == tasks[1]
    # a bug in a task keeps its type and traceback, with a note naming the task
    with pytest.raises(ZeroDivisionError) as z:
        run_tasks(buggy, [FitTask(1), FitTask(2)])
    assert any("sweep task 2/2 (FitTask(seed=2" in n for n in z.value.__notes__)


def test_bad_scheduler_names():
    with pytest.raises(SweepError, match="expected serial, local"):
        run_tasks(fit_task, TASKS, scheduler="cluster")
    with pytest.raises(SweepError, match="local:N needs"):
        run_tasks(fit_task, TASKS, scheduler="local:0")
    import argparse

    ap = argparse.ArgumentParser()
    add_scheduler_argument(ap)
    assert ap.parse_args(["--scheduler", "local:2"]).scheduler == "local:2"
    assert ap.parse_args([]).scheduler == "serial"
    with pytest.raises(SystemExit) as ex:
        ap.parse_args(["--scheduler", "nowhere"])
    assert ex.value.code == 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_is_a_clear_error():
    port = free_port()  # nothing listens there
    t0 = time.perf_counter()
    with pytest.raises(SweepError, match=f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}"):
        run_tasks(fit_task, TASKS, scheduler=f"tcp://127.0.0.1:{port}")
    assert time.perf_counter() - t0 < 60
    assert issubclass(SweepError, ToolkitError)


@pytest.mark.slow
def test_local_cluster_equals_serial(serial_csv):
    seen = []
    res = run_tasks(fit_task, TASKS, scheduler="local:2", on_result=lambda i, r: seen.append(i))
    assert as_csv(res) == serial_csv
    assert sorted(seen) == list(range(len(TASKS)))
    with pytest.raises(TaskError, match=r"sweep task 3/3 \(FitTask\(seed=9"):
        run_tasks(fit_task, [FitTask(1), FitTask(2), FitTask(9, fail=True)], scheduler="local:2")


def _start(args: list[str], log: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests")]))
    with open(log, "wb") as out:
        return subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop(procs: list[subprocess.Popen]) -> None:
    """Stop each process group we started (workers first), by PID: SIGTERM, then SIGKILL to whatever of the group
    (a nanny's worker process) is left after 15 s."""
    for p in reversed(procs):
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for p in reversed(procs):
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        while _group_alive(p.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _group_alive(p.pid):
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=10)
            while _group_alive(p.pid) and time.monotonic() < deadline + 10:
                time.sleep(0.2)


@pytest.mark.slow
def test_real_scheduler_and_two_workers(serial_csv, tmp_path):
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs: list[subprocess.Popen] = []
    try:
        procs.append(
            _start(
                [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                tmp_path / "scheduler.log",
            )
        )
        for k in range(2):
            procs.append(
                _start(
                    [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard"],
                    tmp_path / f"worker{k}.log",
                )
            )
        from distributed import Client

        deadline = time.monotonic() + 90
        while True:  # wait for the scheduler to listen and both workers to register
            try:
                with Client(address, timeout="5s") as c:
                    c.wait_for_workers(2, timeout=max(1.0, deadline - time.monotonic()))
                    workers = c.scheduler_info()["workers"]
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    logs = "\n".join(f.read_text()[-2000:] for f in tmp_path.glob("*.log"))
                    pytest.fail(f"the Dask cluster did not come up:\n{logs}")
                time.sleep(0.5)
        assert len(workers) == 2
        seen = []
        res = run_tasks(fit_task, TASKS, scheduler=address, on_result=lambda i, r: seen.append(i))
        assert as_csv(res) == serial_csv  # byte-identical to the serial run
        assert sorted(seen) == list(range(len(TASKS)))
        with pytest.raises(TaskError, match=r"sweep task 1/2 \(FitTask\(seed=4"):
            run_tasks(fit_task, [FitTask(4, fail=True), FitTask(2)], scheduler=address)
        # the cluster is not ours: run_tasks left it running
        assert all(p.poll() is None for p in procs)
        with Client(address, timeout="5s") as c:
            assert len(c.scheduler_info()["workers"]) == 2
    finally:
        _stop(procs)
    assert all(p.poll() is not None for p in procs)
    assert not any(_group_alive(p.pid) for p in procs)  # no orphans: every process of every group is gone
