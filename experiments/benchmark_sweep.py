"""The sweep engine (toolkit.sweep) on a realistic sweep: serial, Dask LocalCluster 1 worker, 2 workers.

The sweep: ``--tasks`` bootstrap replicates (default 10) of a synthetic world's model frame (``--scale small``,
world seed 7): each task draws its records with replacement from its own seed and fits the 13 models of a model
set (``--models des_2018``) on them, returning every coefficient. Each task builds the world's frame once per
process (cached), so a worker pays that once, as a real sweep's worker would.

Each mode runs in a fresh subprocess (``--mode``), so that its peak memory is its own: the peak RSS is that of
the subprocess and all its descendants (Dask nannies and workers) together, sampled every 0.2 s. Modes:
``serial``; ``local:1`` and ``local:2`` (:func:`toolkit.sweep.run_tasks`' LocalCluster: worker processes, one
thread each); ``threads:2`` (one worker process with two threads, the alternative ``local`` did not take).
Every mode's coefficient table must be byte-identical to the serial one.

    python experiments/benchmark_sweep.py [--scale small] [--tasks 10] [--models des_2018]

Measured on a quiet machine (load average 0.8 at start, 1.3 at the end; 10 tasks, small world, des_2018):

    mode       wall_s  peak_rss_mb  vs serial  vs local:1  same as serial
    serial      10.43       305.59       1.00        1.64  True
    local:1     17.09       490.68       0.61        1.00  True
    local:2     10.15       844.15       1.03        1.68  True
    threads:2   15.30       459.26       0.68        1.12  True

Two workers are 1.68x faster than one. Against serial, a cluster pays its start-up (about 5 s) and each
worker building the world's frame once (about 2 s), so Dask gains only on sweeps longer than about 20 s (the
national model evaluation's fits take minutes: 3 min 37 s for 234 fits on local:2). Under load (load
average 7-9, the cores busy with other work) the same run gave 1.10x: a second worker then gets little CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

MODES = ["serial", "local:1", "local:2", "threads:2"]


@dataclass(frozen=True)
class BootTask:
    scale: str
    world_seed: int
    boot_seed: int
    models: str


@functools.lru_cache(maxsize=2)
def model_frame(scale: str, world_seed: int) -> pd.DataFrame:
    from toolkit.contracts import validate_tables
    from toolkit.records.frame import build_frame
    from toolkit.synth import generate_world

    world = generate_world(scale, seed=world_seed, events=False)
    typed, report = validate_tables(world.tables)
    report.raise_if_invalid()
    return build_frame(typed, world.info["window_start"], world.info["window_end"]).frame


def boot_fit(task: BootTask) -> pd.DataFrame:
    """One bootstrap replicate: records drawn with replacement (the task's seed), the model set fitted."""
    import warnings

    from toolkit.expected.fitting import fit_measures
    from toolkit.expected.spec import load_model_set

    frame = model_frame(task.scale, task.world_seed)
    rng = np.random.default_rng(np.random.SeedSequence([task.world_seed, task.boot_seed]))
    sample = frame.iloc[np.sort(rng.integers(0, len(frame), len(frame)))].reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits, _ = fit_measures(sample, load_model_set(task.models), say=lambda s: None)
    return pd.concat(
        [
            pd.DataFrame({"boot": task.boot_seed, "model": key, "term": f.model.coef_.index, "coef": f.model.coef_})
            for key, f in sorted(fits.items())
        ],
        ignore_index=True,
    )


def run_mode(mode: str, tasks: list[BootTask], out: Path) -> dict:
    from toolkit.sweep import run_tasks

    t0 = time.perf_counter()
    if mode.startswith("threads:"):
        from distributed import LocalCluster

        with LocalCluster(
            n_workers=1, threads_per_worker=int(mode.split(":")[1]), processes=False, dashboard_address=None
        ) as cluster:
            res = run_tasks(boot_fit, tasks, scheduler=cluster.scheduler_address)
    else:
        res = run_tasks(boot_fit, tasks, scheduler=mode)
    wall = time.perf_counter() - t0
    text = pd.concat(res, ignore_index=True).to_csv(index=False, float_format="%.17g")
    out.write_text(text)
    return {"mode": mode, "wall_s": wall, "sha256": hashlib.sha256(text.encode()).hexdigest()}


def tree_rss(pid: int) -> int:
    import psutil

    try:
        p = psutil.Process(pid)
        procs = [p, *p.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for q in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += q.memory_info().rss
    return total


def measure(mode: str, args: argparse.Namespace, tmp: Path) -> dict:
    """Run one mode in a subprocess; its result and the peak RSS of its process tree."""
    out = tmp / f"{mode.replace(':', '_')}.json"
    cmd = [sys.executable, __file__, "--mode", mode, "--result", str(out)]
    cmd += [
        "--scale",
        args.scale,
        "--tasks",
        str(args.tasks),
        "--models",
        args.models,
        "--world-seed",
        str(args.world_seed),
    ]
    proc = subprocess.Popen(cmd, env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1])))
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.2)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    rc = proc.wait()
    done.set()
    t.join()
    if rc != 0:
        raise SystemExit(f"mode {mode} failed (exit {rc})")
    return json.loads(out.read_text()) | {"peak_rss_mb": peak / 2**20}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", choices=["tiny", "small", "national"], default="small")
    ap.add_argument("--world-seed", type=int, default=7)
    ap.add_argument("--tasks", type=int, default=10)
    ap.add_argument("--models", default="des_2018")
    ap.add_argument("--modes", nargs="+", default=MODES)
    ap.add_argument("--mode", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args()
    tasks = [BootTask(args.scale, args.world_seed, b, args.models) for b in range(1, args.tasks + 1)]
    if args.mode:  # one mode, in this subprocess
        r = run_mode(args.mode, tasks, Path(args.result).with_suffix(".csv"))
        Path(args.result).write_text(json.dumps(r))
        return
    print(f"{args.tasks} bootstrap fits of {args.models} on the {args.scale} world (seed {args.world_seed}), "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start", flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory() as d:
        rows = []
        for mode in args.modes:
            rows.append(measure(mode, args, Path(d)))
            print(f"  {mode}: {rows[-1]['wall_s']:.1f}s", flush=True)
    t = pd.DataFrame(rows)
    base = t.set_index("mode")["wall_s"]
    t["speedup_vs_serial"] = base["serial"] / t["wall_s"] if "serial" in base else np.nan
    t["speedup_vs_local_1"] = base["local:1"] / t["wall_s"] if "local:1" in base else np.nan
    t["same_as_serial"] = t["sha256"] == t["sha256"].iloc[0]
    with pd.option_context("display.width", 200, "display.float_format", "{:.2f}".format):
        print(t.drop(columns="sha256").to_string(index=False))
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    if not t["same_as_serial"].all():
        raise SystemExit("a mode's coefficients differ from the serial run")


if __name__ == "__main__":
    main()
