"""``toolkit evaluate``."""

from __future__ import annotations

import argparse


def run_evaluate(args: argparse.Namespace) -> int:
    from toolkit.schemes.cohort.config import load_cohort_config
    from toolkit.schemes.cohort.pipeline import run_evaluation

    config = load_cohort_config(args.config)
    res = run_evaluation(config, data=args.data, synthetic=args.synthetic, seed=args.seed, config_path=args.config,
                         tracking_uri=args.tracking_uri, out_root=args.out)
    print(res.statement)
    print(f"evaluation folder: {res.folder}")
    print(f"MLflow run:        {res.run_id} ({res.tracking_uri})")
    return 0
