"""Coverage of the cohort evaluation's credible intervals on simulated cohorts with a known truth.

For each cohort size, draws many cohorts from the simulation model of the evaluation config
(the instruments' rounding and scale included), computes the same posteriors
``toolkit evaluate`` reports, and counts how often the 90% and 95% intervals of the mean
improvement and of the share improved cover the population truth. Also the t interval on
exactly normal data (where it is exact) as a control. Prints one table; logs it to the MLflow
experiment ``cohort-coverage`` unless ``--no-mlflow``.

    python experiments/cohort_coverage.py --sizes 20 30 48 60 --reps 100000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from toolkit.schemes.cohort.config import load_cohort_config
from toolkit.schemes.cohort.coverage import interval_coverage
from toolkit.schemes.cohort.simulate import population_truth


def normal_control(config, n: int, reps: int, seed: int) -> pd.DataFrame:
    """The wellbeing model without rounding or clipping: the t interval is exact there."""
    sim = config.simulation.model_copy(
        update={"domains": {"wellbeing": config.simulation.domains["wellbeing"].model_copy(update={"rounding": 0.0})}}
    )
    dom = config.domains["wellbeing"].model_copy(update={"scale": (-1e9, 1e9)})
    cfg = config.model_copy(update={"simulation": sim, "domains": {"wellbeing": dom}})
    truth = pd.DataFrame(
        {
            "domain": ["wellbeing"],
            "true_mean_improvement": [sim.domains["wellbeing"].change_mean],
            "true_share_improved": [np.nan],
        }
    )
    cov = interval_coverage(cfg, n=n, reps=reps, seed=seed, truth=truth)
    return cov.loc[cov["quantity"] == "mean_improvement"].assign(domain="normal control")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="schemes/cohort/default.yaml")
    ap.add_argument("--sizes", type=int, nargs="+", default=[20, 30, 48, 60])
    ap.add_argument("--reps", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=2017)
    ap.add_argument("--no-mlflow", action="store_true")
    ap.add_argument("--tracking-uri", default=None)
    args = ap.parse_args()
    config = load_cohort_config(args.config)
    t0 = time.perf_counter()
    truth = population_truth(config, args.seed)
    parts = []
    for n in args.sizes:
        parts.append(interval_coverage(config, n=n, reps=args.reps, seed=args.seed, truth=truth))
        parts.append(normal_control(config, n, args.reps, args.seed))
    table = pd.concat(parts, ignore_index=True)
    table["off_by_se"] = (table["coverage"] - table["level"]) / table["mc_se"]
    seconds = time.perf_counter() - t0
    pd.set_option("display.width", 160)
    print(truth.to_string(index=False))
    print()
    wide = table.pivot_table(index=["domain", "quantity", "level"], columns="n", values="coverage").round(4)
    print(
        f"coverage ({args.reps:,} cohorts per size and domain; Monte Carlo SE "
        f"{np.sqrt(0.9 * 0.1 / args.reps):.4f} at 90%, {np.sqrt(0.95 * 0.05 / args.reps):.4f} at 95%):"
    )
    print(wide.to_string())
    print(f"\n{seconds:.1f}s")
    if not args.no_mlflow:
        import mlflow

        from toolkit.config import config_hash
        from toolkit.tracking import runs
        from toolkit.tracking.provenance import run_params
        from toolkit.tracking.store import connect, ensure_experiment

        client = connect(args.tracking_uri)
        exp = ensure_experiment(client, "cohort-coverage", args.tracking_uri)
        with mlflow.start_run(experiment_id=exp, run_name=f"coverage-{args.reps}"):
            runs.log_params(
                run_params(
                    config.model_dump(mode="json"),
                    {},
                    args.seed,
                    {"sizes": args.sizes, "reps": args.reps, "config_hash": config_hash(config)},
                )
            )
            runs.log_table(table, "coverage.csv")
            runs.log_table(truth, "truth.csv")
            mlflow.log_metrics(
                {"seconds": seconds, "max_abs_off": float((table["coverage"] - table["level"]).abs().max())}
            )


if __name__ == "__main__":
    main()
