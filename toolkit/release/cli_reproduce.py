"""``toolkit reproduce`` and ``toolkit compare``."""

from __future__ import annotations

import argparse
import sys

from toolkit.output import Progress


def run_reproduce(args: argparse.Namespace) -> int:
    from toolkit.release.reproduce import reproduce

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
    from pathlib import Path

    from toolkit.release.compare import run_comparison

    root = Path(args.out).resolve() if args.out else None  # --out is taken from the current folder
    out = run_comparison(args.run_a, args.run_b, tracking_uri=args.tracking_uri, out_root=root, show=print)
    print(f"\ncomparison files: {out}")
    return 0
