"""Benchmark: score 1M records through ``toolkit predict`` with the champion model.

Target (issue 17): at most 15 s wall and 3 GB on a 2-core machine for 1,000,000 records. The script

1. registers a champion: a release of the small synthetic world (seed 2020, ``configs/releases/demo.yaml``)
   into a temporary sqlite store, unless ``--tracking-uri`` names a store that has one;
2. builds the input: the ``--measure`` x ``--program`` records of a national synthetic world (``--world``,
   or generated: about 90,000 ESS full_26 records) replicated with new participant ids (``<id>r<copy>``)
   until there are ``--records`` of them, each copy with its own copy of the participants (so every
   record joins one participant, as in a department's folder); the regions as they are. The records are
   real synthetic records of the measure, each one repeated about 11 times under a new id: the work per
   record (validation, join, design, predict) is the same as for distinct records;
3. runs ``toolkit predict`` in a fresh process ``--repeat`` times (imports, the registry, reading and
   validating the three tables, the join, the pyfunc's predict with its contract check, writing the
   output; ``--out`` Parquet, and once CSV), measuring wall time, CPU time (user + system) and the child's
   peak RSS;
4. in a fresh process, loads the same model version, prepares the frame (validated tables, the join) and
   times ``model.predict(frame)`` alone (the registered pyfunc: contract check, design, probabilities);
5. checks that the CLI's probabilities equal the in-process ones (1e-12).

Other engineers share the machine, so wall times fluctuate: the minimum over repeats is the figure to
compare, and the CPU time (user + system, all threads) is what the command costs when it has the two cores
to itself (the load average is printed). Figures are reported, not asserted.

Usage::

    .venv/bin/python experiments/benchmark_predict.py [--records 1000000] [--world DIR] [--repeat 3] [--profile]
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

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # this checkout's toolkit, whatever the environment has installed

from toolkit.paths import ROOT  # noqa: E402

#: Children run this checkout's toolkit too.
CHILD_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
RSS_UNIT = 1024**2  # ru_maxrss is in kB on Linux: kB -> GB


def register_champion(tmp: Path) -> str:
    """A release of the small world (seed 2020) into a new store in ``tmp``; its URI."""
    from toolkit.release.config import load_release_config
    from toolkit.release.pipeline import run_release
    from toolkit.synth import generate_world, write_world

    world = tmp / "small"
    write_world(generate_world("small", seed=2020), world, overwrite=True)
    uri = f"sqlite:///{tmp / 'store' / 'mlflow.db'}"
    config, path = load_release_config("releases/demo.yaml")
    res = run_release(config, world, config_path=path, tracking_uri=uri, out_root=tmp / "releases", progress=False)
    if res.status != "passed":
        raise SystemExit(f"the release that registers the champion failed: {res.failed_checks}")
    return uri


def build_input(world: Path, out: Path, measure: str, program: str, n: int) -> dict[str, int]:
    """``n`` records of ``measure`` x ``program`` from ``world``, replicated with new participant ids."""
    recs = pd.read_parquet(world / "measure_records.parquet")
    recs = recs[(recs["measure"].astype(str) == measure) & (recs["program"].astype(str) == program)]
    part = pd.read_parquet(world / "participants.parquet")
    part = part[part["participant_id"].isin(recs["participant_id"])]
    copies = -(-n // len(recs))
    rec_parts, part_parts = [], []
    for k in range(copies):
        suffix = f"r{k:02d}"
        rec_parts.append(recs.assign(participant_id=recs["participant_id"].astype(str) + suffix))
        part_parts.append(part.assign(participant_id=part["participant_id"].astype(str) + suffix))
    records = pd.concat(rec_parts, ignore_index=True).head(n)
    participants = pd.concat(part_parts, ignore_index=True)
    participants = participants[participants["participant_id"].isin(records["participant_id"])]
    out.mkdir(parents=True, exist_ok=True)
    records.to_parquet(out / "measure_records.parquet", index=False)
    participants.to_parquet(out / "participants.parquet", index=False)
    pd.read_parquet(world / "regions.parquet").to_parquet(out / "regions.parquet", index=False)
    return {"base_records": len(recs), "copies": copies, "records": len(records), "participants": len(participants)}


def run_cli(uri: str, model: str, data: Path, out: Path, profile: Path | None = None) -> dict[str, float | str]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (GB) of one ``toolkit predict`` process."""
    argv = [sys.executable]
    if profile is not None:
        argv += ["-m", "cProfile", "-o", str(profile), str(REPO / "toolkit" / "__main__.py")]
    else:
        argv += ["-m", "toolkit"]
    argv += ["predict", "--model", model, "--data", str(data), "--out", str(out), "--tracking-uri", uri]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=CHILD_ENV)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"toolkit predict failed:\n{r.stderr[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "peak_gb": after.ru_maxrss / RSS_UNIT, "stderr": r.stderr}


def in_process(uri: str, model: str, data: Path, result: Path) -> None:
    """(child mode) Load the model, prepare the frame, time ``model.predict`` alone; write JSON to ``result``."""
    from toolkit.records.join import join_model_input
    from toolkit.release.predict import measure_and_program, read_inputs
    from toolkit.tracking.registry import load_registered_model

    t0 = time.perf_counter()
    reg = load_registered_model(model, uri)
    t_load = time.perf_counter() - t0
    measure, program = measure_and_program(reg, None, None)
    t0 = time.perf_counter()
    frame = join_model_input(read_inputs(data), measure, program).frame
    t_prep = time.perf_counter() - t0
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / RSS_UNIT
    t0, c0 = time.perf_counter(), time.process_time()
    p = np.asarray(reg.pyfunc.predict(frame), dtype=float)
    t_pred, c_pred = time.perf_counter() - t0, time.process_time() - c0
    np.save(result.with_suffix(".npy"), p)
    result.write_text(
        json.dumps(
            {
                "version": reg.version,
                "records": len(frame),
                "load": t_load,
                "prepare": t_prep,
                "predict": t_pred,
                "predict_cpu": c_pred,
                "peak_gb_before_predict": rss_before,
                "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / RSS_UNIT,
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--measure", default="full_26")
    ap.add_argument("--program", default="ESS")
    ap.add_argument("--world", default=None, help="a national world already written (default: generate seed 1)")
    ap.add_argument("--input", default=None, help="an input folder this script built before (skips step 2)")
    ap.add_argument("--tracking-uri", default=None, help="a store with the champion (default: register one)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="also run one predict under cProfile and print the top")
    ap.add_argument("--child", nargs=4, metavar=("URI", "MODEL", "DATA", "RESULT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        uri, model, data, result = args.child
        in_process(uri, model, Path(data), Path(result))
        return
    tmp = Path(tempfile.mkdtemp(prefix="bench_predict_"))
    model = f"des-{args.program.lower()}-{args.measure}@champion"
    t0 = time.perf_counter()
    uri = args.tracking_uri or register_champion(tmp)
    print(f"champion store: {uri} ({time.perf_counter() - t0:.1f}s)")
    if args.input:
        data = Path(args.input)
        n = len(pd.read_parquet(data / "measure_records.parquet", columns=["measure"]))
        print(f"input: {n:,} records in {data}")
    else:
        world = Path(args.world) if args.world else tmp / "national"
        if not args.world:
            from toolkit.synth import generate_world, write_world

            t0 = time.perf_counter()
            write_world(generate_world("national", seed=1), world, overwrite=True)
            print(f"generated the national world (seed 1) in {time.perf_counter() - t0:.1f}s")
        data = tmp / "input"
        t0 = time.perf_counter()
        sizes = build_input(world, data, args.measure, args.program, args.records)
        n = sizes["records"]
        print(
            f"input: {n:,} {args.program} {args.measure} records ({sizes['base_records']:,} of the world x "
            f"{sizes['copies']} copies with new ids), {sizes['participants']:,} participants; "
            f"built in {time.perf_counter() - t0:.1f}s"
        )

    runs = []
    for i in range(args.repeat):
        r = run_cli(uri, model, data, tmp / "scores.parquet")
        runs.append(r)
        print(
            f"run {i + 1}: toolkit predict --out .parquet {r['wall']:.1f}s wall, {r['cpu']:.1f}s CPU, "
            f"peak RSS so far {r['peak_gb']:.2f} GB"
        )
    csv = run_cli(uri, model, data, tmp / "scores.csv")
    print(f"once:  toolkit predict --out .csv {csv['wall']:.1f}s wall, {csv['cpu']:.1f}s CPU")
    print("steps of the last parquet run:\n  " + "\n  ".join(str(runs[-1]["stderr"]).strip().splitlines()[2:]))

    result = tmp / "inprocess.json"
    child = [sys.executable, __file__, "--child", uri, model, str(data), str(result)]
    subprocess.run(child, check=True, cwd=ROOT, env=CHILD_ENV, stderr=subprocess.DEVNULL)
    ip = json.loads(result.read_text())
    scores = pd.read_parquet(tmp / "scores.parquet")
    same = np.allclose(scores["probability"].to_numpy(), np.load(result.with_suffix(".npy")), rtol=1e-12, atol=0)

    best = min(runs, key=lambda r: float(r["wall"]))
    wall, cpu = float(best["wall"]), float(best["cpu"])
    peak = max(float(r["peak_gb"]) for r in runs)
    load = os.getloadavg()[0]
    print(
        f"\n{n:,} records, {os.cpu_count()} cores (load average {load:.1f} at the end), model version {ip['version']}"
    )
    print(f"{'':44} {'wall s':>8} {'CPU s':>8} {'records/s':>12} {'peak RSS GB':>12}")
    print(f"{'toolkit predict (fresh process, end to end)':44} {wall:8.2f} {cpu:8.2f} {n / wall:12,.0f} {peak:12.2f}")
    print(
        f"{'in-process model.predict(frame)':44} {ip['predict']:8.2f} {ip['predict_cpu']:8.2f} "
        f"{n / ip['predict']:12,.0f} {ip['peak_gb']:12.2f}"
    )
    print(f"ratio of wall times (toolkit predict / model.predict): {wall / ip['predict']:.1f}x")
    print(f"in-process: load model {ip['load']:.1f}s, read + validate + join {ip['prepare']:.1f}s (wall)")
    print(
        f"budget 15 s and 3 GB: {'met' if wall <= 15 and peak <= 3 else 'NOT met'} (wall {wall:.1f}s, CPU {cpu:.1f}s)"
    )
    print(f"CLI probabilities equal in-process model.predict (rtol 1e-12): {'yes' if same else 'NO'}")
    if args.profile:
        import pstats

        prof = tmp / "predict.prof"
        run_cli(uri, model, data, tmp / "profiled.parquet", profile=prof)
        pstats.Stats(str(prof)).sort_stats("tottime").print_stats(25)
    print(f"(files in {tmp})")


if __name__ == "__main__":
    main()
