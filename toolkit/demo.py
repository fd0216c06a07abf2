"""``toolkit demo``: the demo release on a freshly generated synthetic world.

Generates the world named by the demo release config (small scale by default),
validates it, runs the release end to end (MLflow store in ``mlruns/`` unless
told otherwise) and prints where the ratings, plots and MLflow UI are.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from toolkit.output import Progress
from toolkit.paths import workspace
from toolkit.release.config import load_release_config
from toolkit.release.pipeline import run_release
from toolkit.synth import generate_world, write_world
from toolkit.synth.world import add_oracle
from toolkit.tracking.store import resolve_tracking_uri


def run_demo(args: argparse.Namespace) -> int:
    say = Progress(True, "demo")
    config, path = load_release_config(args.config)
    syn = config.data.synthetic
    scale = args.scale or (syn.scale if syn else "small")
    seed = args.seed if args.seed is not None else (syn.seed if syn else config.seed)
    world = Path(args.world) if args.world else workspace() / "worlds" / f"{config.name}-{scale}-seed{seed}"
    say(f"generating a {scale} synthetic DES world (seed {seed}) into {world}")
    write_world(add_oracle(generate_world(scale, seed, progress=True)), world, overwrite=True)
    res = run_release(config, world, config_path=path, tracking_uri=args.tracking_uri)
    uri = resolve_tracking_uri(args.tracking_uri)
    print()
    print(f"status:        {res.status}" + (f" ({len(res.failed_checks)} failed checks)" if res.failed_checks else ""))
    print(f"ratings:       {res.folder / 'ratings.csv'}")
    print(f"dossier:       {res.folder / 'report.html'}   (open in a browser; a page per entity in entities/)")
    print(f"report:        {res.folder / 'report.md'}")
    print(f"plots:         {res.folder / 'plots'}")
    print(f"MLflow run:    {res.run_id}")
    print(f"MLflow UI:     mlflow ui --backend-store-uri {uri}   (then open http://127.0.0.1:5000)")
    print(f"world + truth: {world}")
    return 0 if res.status == "passed" else 1
