"""Benchmark: derive the national world's measure records from its raw events.

Target (issue 7): at most 60 s wall and 4 GB on a 2-core machine. The script

1. generates the synthetic world (``--scale``, default national, seed 1) with its events,
   unless ``--world`` names one already written;
2. runs ``toolkit derive`` in a fresh process ``--repeat`` times (reading the Parquet events,
   validating them against their contracts, deriving, checking the invariants, writing the
   outputs), measuring wall time and the child's peak resident memory;
3. times each step of one in-process derivation (from the progress messages);
4. checks that the derived records equal the world's ``measure_records.parquet``.

Other engineers share the machine, so wall times fluctuate: the minimum over repeats is the
figure to compare; the median is printed too. Figures are reported, not asserted.

Usage::

    .venv/bin/python experiments/benchmark_derive.py [--scale national] [--seed 1] [--world DIR] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from toolkit.records.derive import derive_records
from toolkit.synth import generate_world, write_world

KEY = ["program", "measure", "site_id", "participant_id", "period_of_service"]


def run_cli(world: Path, out: Path, release: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (GB) of one ``toolkit derive`` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "toolkit",
            "derive",
            "--events",
            str(world),
            "--release",
            release,
            "--out",
            str(out),
            "--overwrite",
        ],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"toolkit derive failed:\n{r.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # kB, maximum over all children so far
    if peak < before:
        peak = before
    return wall, peak / 1024**2


def stage_times(world: Path, release: str) -> tuple[list[tuple[float, str]], object]:
    marks: list[tuple[float, str]] = []
    t0 = time.perf_counter()
    res = derive_records(world / "events", release, progress=lambda m: marks.append((time.perf_counter() - t0, m)))
    marks.append((time.perf_counter() - t0, "done"))
    return marks, res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", default="national", choices=["tiny", "small", "national"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--world", default=None, help="an already written world (with events/)")
    ap.add_argument("--release", default="March 2020")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_derive_"))
    world = Path(args.world) if args.world else tmp / "world"
    if not args.world:
        t0 = time.perf_counter()
        write_world(generate_world(args.scale, seed=args.seed), world)
        print(
            f"generated {args.scale} world (seed {args.seed}) with events in {time.perf_counter() - t0:.1f}s: {world}"
        )
    sizes = {p.name: p.stat().st_size for p in sorted((world / "events").glob("*.parquet"))}
    rows = {Path(p).stem: len(pd.read_parquet(world / "events" / p)) for p in sizes}
    print("events: " + ", ".join(f"{k} {v:,}" for k, v in rows.items()))
    print(f"events on disk: {sum(sizes.values()) / 1e6:.1f} MB")

    walls, peaks = [], []
    for i in range(args.repeat):
        w, p = run_cli(world, tmp / "derived", args.release)
        walls.append(w)
        peaks.append(p)
        print(f"run {i + 1}: toolkit derive {w:.1f}s wall, peak RSS so far {p:.2f} GB")
    s = pd.Series(walls)
    print(
        f"\ntoolkit derive ({args.scale}, {args.release}): wall min {s.min():.1f}s, median {s.median():.1f}s "
        f"over {len(s)} runs; peak RSS {max(peaks):.2f} GB (budget: 60 s, 4 GB); {os.cpu_count()} cores"
    )

    marks, _ = stage_times(world, args.release)
    print("\nsteps of one in-process derivation (seconds since start):")
    prev = 0.0
    for t, m in marks:
        print(f"  {t:6.1f}s (+{t - prev:5.1f}s)  {m}")
        prev = t
    want = pd.read_parquet(world / "measure_records.parquet").sort_values(KEY, kind="stable").reset_index(drop=True)
    got = (
        pd.read_parquet(tmp / "derived" / "measure_records.parquet")
        .sort_values(KEY, kind="stable")
        .reset_index(drop=True)
    )
    try:
        pd.testing.assert_frame_equal(got, want, check_dtype=False)
        same = "yes"
    except AssertionError as e:
        same = f"NO ({str(e).splitlines()[0]})"
    print(f"\nderived records equal the world's measure_records.parquet: {same} ({len(got):,} records)")
    meta = json.loads((tmp / "derived" / "derivation.json").read_text())
    print(f"excluded events: {meta['excluded_events']:,}; by rule: {meta['excluded_by_rule']}")
    print(f"(outputs in {tmp})")


if __name__ == "__main__":
    main()
