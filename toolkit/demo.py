"""``toolkit demo``: the embedded default job on synthetic data."""

from __future__ import annotations

import argparse
from pathlib import Path

from toolkit.contracts import validate_dir
from toolkit.paths import ROOT
from toolkit.synth import generate_world, write_world
from toolkit.synth.world import Progress


def run_demo(args: argparse.Namespace) -> int:
    say = Progress(True, "demo")
    out = Path(args.out) if args.out else ROOT / "worlds" / f"demo-{args.scale}-seed{args.seed}"
    say(f"generating a {args.scale} synthetic DES world (seed {args.seed}) into {out}")
    world = generate_world(args.scale, args.seed, progress=True)
    write_world(world, out, overwrite=True)
    say("validating it against the data contracts")
    _typed, report = validate_dir(out)
    print(report.summary())
    report.raise_if_invalid(f"demo world {out}")
    print(f"\nworld: {out}\ntruth: {out / 'truth'}")
    return 0
