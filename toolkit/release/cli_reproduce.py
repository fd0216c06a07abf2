"""``toolkit reproduce`` and ``toolkit compare``."""

from __future__ import annotations

import argparse
import sys

from toolkit.output import Progress


def run_reproduce(args: argparse.Namespace) -> int:
    from toolkit.release.reproduce import reproduce

    say = Progress(True, "reproduce")
    res = reproduce(args.run_id, tracking_uri=args.tracking_uri, data_dir=args.data,
                    allow_code_drift=args.allow_code_drift, scratch=args.scratch, say=say,
                    allow_data_drift=args.allow_data_drift)
    if res.differences:
        print("differences:", file=sys.stderr)
        for d in res.differences:
            print(f"  - {d}", file=sys.stderr)
    print(res.verdict)
    return 0 if res.reproduced else 1


def run_compare(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone
    from pathlib import Path

    import mlflow

    from toolkit.paths import ROOT
    from toolkit.release.compare import compare_runs, render, write_comparison
    from toolkit.tracking.store import connect, ensure_experiment

    c = compare_runs(args.run_a, args.run_b, args.tracking_uri)
    print(render(c))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    root = Path(args.out) if args.out else ROOT / "comparisons"
    out = write_comparison(c, root / f"compare-{args.run_a[:8]}-{args.run_b[:8]}-{stamp}")
    client = connect(args.tracking_uri)
    exp = ensure_experiment(client, "release-comparisons", args.tracking_uri)
    with mlflow.start_run(experiment_id=exp, run_name=f"{args.run_a[:8]} vs {args.run_b[:8]}"):
        mlflow.set_tags({"toolkit.kind": "comparison", "compare.run_a": args.run_a, "compare.run_b": args.run_b})
        mlflow.log_metrics({"entities_changed_stars": float(len(c.changed)), "inputs_differing": float(len(c.inputs))})
        mlflow.log_artifacts(str(out), "comparison")
    print(f"\ncomparison files: {out}")
    return 0
