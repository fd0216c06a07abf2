"""``toolkit dex report``, ``toolkit dex synth`` and ``toolkit dex reproduce``."""

from __future__ import annotations

import argparse
from pathlib import Path


def run_dex(args: argparse.Namespace) -> int:
    """Dispatch ``toolkit dex ACTION``."""
    return {"report": run_report, "synth": run_synth, "reproduce": run_reproduce}[args.dex_command](args)


def run_report(args: argparse.Namespace) -> int:
    from toolkit.schemes.dex.config import load_dex_config
    from toolkit.schemes.dex.pipeline import run_dex_report

    config = load_dex_config(args.config)
    res = run_dex_report(
        config, Path(args.data), config_path=args.config, tracking_uri=args.tracking_uri, out_root=args.out
    )
    print(f"report folder:    {res.folder}")
    print(f"compliance table: {res.folder / 'compliance.csv'}")
    print(f"report:           {res.folder / 'report.html'} (one page per organisation in providers/)")
    print(f"MLflow run:       {res.run_id} ({res.tracking_uri})")
    return 0


def run_synth(args: argparse.Namespace) -> int:
    from toolkit.schemes.dex.synth import (
        generate_dex_world,
        load_dex_synth_params,
        write_dex_world,
    )

    world = generate_dex_world(args.seed, load_dex_synth_params(args.params))
    out = write_dex_world(world, args.out, overwrite=args.overwrite)
    rows = ", ".join(f"{t} {n:,}" for t, n in world.info["rows"].items())
    print(f"synthetic DEX world (seed {args.seed}) in {out}: {rows}")
    return 0


def run_reproduce(args: argparse.Namespace) -> int:
    from toolkit.schemes.dex.reproduce import reproduce_dex
    from toolkit.tracking.reproduce import print_reproduction

    return print_reproduction(
        reproduce_dex(args.run_id, data_dir=args.data, tracking_uri=args.tracking_uri, scratch=args.scratch)
    )
