"""``toolkit models evaluate`` and ``toolkit models reproduce``."""

from __future__ import annotations

import argparse


def run_models(args: argparse.Namespace) -> int:
    """Dispatch ``toolkit models ACTION``."""
    return {"evaluate": run_evaluate, "reproduce": run_reproduce}[args.models_command](args)


def run_evaluate(args: argparse.Namespace) -> int:
    from toolkit.evaluation.config import load_evaluation_config
    from toolkit.evaluation.pipeline import check_scheduler, evaluate_models

    check_scheduler(args.scheduler)
    config, path = load_evaluation_config(args.config)
    res = evaluate_models(
        config,
        args.data,
        config_path=path,
        tracking_uri=args.tracking_uri,
        out_root=args.out,
        scheduler=args.scheduler,
        progress=not args.quiet,
    )
    d = res.tables.cv_differences
    for _, r in d[(d["model"] == "all") & (d["metric"] == "log_loss")].iterrows():
        print(
            f"{r['candidate']:<24} out-of-fold log loss {r['candidate_mean']:.5f} vs {r['baseline_mean']:.5f}: "
            f"{r['difference']:+.5f} [{r['lower']:+.5f}, {r['upper']:+.5f}] {r['verdict']}"
        )
    print(f"evaluation folder: {res.folder}")
    print(f"MLflow run:        {res.run_id} ({res.tracking_uri}); status {res.status}")
    return 0 if res.status == "passed" else 1


def run_reproduce(args: argparse.Namespace) -> int:
    from toolkit.evaluation.reproduce import reproduce_evaluation
    from toolkit.tracking.reproduce import print_reproduction

    return print_reproduction(
        reproduce_evaluation(args.run_id, data=args.data, tracking_uri=args.tracking_uri, scratch=args.scratch)
    )
