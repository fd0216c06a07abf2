"""``toolkit reproduce`` and ``toolkit compare``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from toolkit.errors import ToolkitError
from toolkit.output import Progress


def run_reproduce(args: argparse.Namespace) -> int:
    from toolkit.release.reproduce import reproduce

    if args.data is not None:
        data = Path(args.data)
        if not data.exists():
            raise ToolkitError(f"--data {data} does not exist")
        if not data.is_dir():
            raise ToolkitError(f"--data {data} is not a folder (give the folder of the release's input tables)")
    say = Progress(True, "reproduce")
    res = reproduce(
        args.run_id,
        tracking_uri=args.tracking_uri,
        data_dir=args.data,
        allow_code_drift=args.allow_code_drift,
        scratch=args.scratch,
        say=say,
        allow_data_drift=args.allow_data_drift,
    )
    if res.differences:
        print("differences:", file=sys.stderr)
        for d in res.differences:
            print(f"  - {d}", file=sys.stderr)
    print(res.verdict)
    return 0 if res.reproduced else 1


def run_compare(args: argparse.Namespace) -> int:

    from toolkit.release.compare import run_comparison

    root = Path(args.out).resolve() if args.out else None  # --out is taken from the current folder
    out = run_comparison(args.run_a, args.run_b, tracking_uri=args.tracking_uri, out_root=root, show=print)
    print(f"\ncomparison files: {out}")
    return 0
