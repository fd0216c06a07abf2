"""``toolkit evaluate`` and ``toolkit cohort reproduce``."""

from __future__ import annotations

import argparse


def run_evaluate(args: argparse.Namespace) -> int:
    from toolkit.schemes.cohort.config import load_cohort_config
    from toolkit.schemes.cohort.pipeline import run_evaluation

    config = load_cohort_config(args.config)
    res = run_evaluation(
        config,
        data=args.data,
        synthetic=args.synthetic,
        seed=args.seed,
        config_path=args.config,
        tracking_uri=args.tracking_uri,
        out_root=args.out,
    )
    print(res.statement)
    print(f"evaluation folder: {res.folder}")
    print(f"MLflow run:        {res.run_id} ({res.tracking_uri})")
    return 0


def run_cohort(args: argparse.Namespace) -> int:
    """Dispatch ``toolkit cohort ACTION``."""
    return {"reproduce": run_reproduce}[args.cohort_command](args)


def run_reproduce(args: argparse.Namespace) -> int:
    from toolkit.schemes.cohort.reproduce import reproduce_evaluation
    from toolkit.tracking.reproduce import print_reproduction

    return print_reproduction(
        reproduce_evaluation(args.run_id, data=args.data, tracking_uri=args.tracking_uri, scratch=args.scratch)
    )
