"""Rating accuracy against the synthetic truth, over several seeds.

For each seed: generate a synthetic world (with its oracle ratings), run the release
computation (validate, fit the 13 models, predict, aggregate, score) and compare its
calculated ratings with the oracle's: Spearman correlation of performance scores,
share of entities with the oracle's stars, mean absolute star error and star
percentage RMSE, per level and by denominator size (n of full_13). As a reference
ceiling, the same comparison for the published method with the expected outcomes
known exactly (``exact_expected``). Each seed is a run of the MLflow experiment
``rating-accuracy``; the pooled table is printed and logged.

Seeds are independent tasks run through :func:`toolkit.sweep.run_tasks` (``--scheduler serial`` by default,
``local`` for a Dask cluster of one worker process per core, or ``tcp://host:port``): each task carries its
seed, and the printed tables are the same wherever the seeds ran. MLflow is written from this process only.

    python experiments/rating_accuracy.py --scale national --seeds 1 2 3 [--bayes] [--scheduler local]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.contracts import validate_tables
from toolkit.output import Progress
from toolkit.release.compute import compute_release
from toolkit.release.config import load_release_config
from toolkit.scoring import load_method, score_entities
from toolkit.sweep import add_scheduler_argument, run_tasks
from toolkit.synth import generate_world
from toolkit.synth.accuracy import SIZE_BANDS, accuracy_table
from toolkit.synth.oracle import oracle_entity_measures
from toolkit.synth.world import add_oracle


def bayes_point_ratings(comp, method, config) -> pd.DataFrame:
    """The Bayesian variant's point ratings (posterior median score and star percentage, stars of the
    median) in the published columns; see experiments/bayes_accuracy.py for what else it adds."""
    from toolkit.bayes.config import load_bayes_config
    from toolkit.bayes.ratings import bayes_ratings

    res = bayes_ratings(
        comp.frame,
        comp.entity_measures,
        comp.ratings,
        method,
        load_bayes_config(config.bayes),
        config.seed,
        risk_fits=comp.fits,
    )
    r = comp.ratings.merge(
        res.columns.astype({k: comp.ratings[k].dtype for k in ("program", "level", "entity_id")}),
        on=["program", "level", "entity_id"],
        how="left",
    )
    return r.assign(
        performance_score=r["bayes_performance_score"],
        calculated_star_percentage=r["bayes_star_percentage"].apply(np.trunc),
        calculated_stars=r["bayes_stars"],
    )


def run_seed(scale: str, seed: int, config, method, bayes: bool = False) -> pd.DataFrame:
    world = add_oracle(generate_world(scale, seed))
    typed, report = validate_tables(world.tables)
    report.raise_if_invalid()
    oracle = world.truth["oracle_ratings"]
    comp = compute_release(typed, config, method)
    exact = score_entities(
        oracle_entity_measures(
            world.tables,
            world.truth["record_truth"],
            world.info["window_start"],
            world.info["window_end"],
            actual="observed",
        ),
        method,
    )
    out = []
    variants = [("release", comp.ratings), ("exact_expected", exact)]
    if bayes:
        variants.append(("bayes", bayes_point_ratings(comp, method, config)))
    for name, ratings in variants:
        for by_band in (False, True):
            t = accuracy_table(ratings, oracle, by_band=by_band)
            if not by_band:
                t["band"] = "all"
            out.append(t.assign(method=name, seed=seed))
    return pd.concat(out, ignore_index=True)


@dataclass(frozen=True)
class SeedTask:
    """One seed of the experiment (a world, a release, the comparisons): everything a worker needs."""

    scale: str
    seed: int
    config: str
    bayes: bool = False


def seed_task(task: SeedTask) -> tuple[pd.DataFrame, float]:
    """The accuracy table of one seed and the seconds it took."""
    t0 = time.perf_counter()
    config, _ = load_release_config(task.config)
    method = load_method(config.method)
    return run_seed(task.scale, task.seed, config, method, task.bayes), time.perf_counter() - t0


def seed_line(seed: int, t: pd.DataFrame, seconds: float) -> str:
    allrow = t[(t["band"] == "all") & (t["method"] == "release")]
    return f"seed {seed} ({seconds:.0f}s): " + "; ".join(
        f"{r.level}: spearman {r.spearman:.3f}, same stars {r.same_stars:.1%}, MAE stars {r.mean_abs_star_error:.2f}"
        for r in allrow.itertuples()
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", choices=["tiny", "small", "national"], default="national")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--config", default="releases/des_march_2020_synthetic.yaml")
    ap.add_argument("--no-mlflow", action="store_true")
    ap.add_argument(
        "--bayes", action="store_true", help="add the Bayesian variant (configs/bayes/) beside the published method"
    )
    add_scheduler_argument(ap)
    args = ap.parse_args()
    load_release_config(args.config)  # a bad config fails here, before any task starts
    tasks = [SeedTask(args.scale, seed, args.config, args.bayes) for seed in args.seeds]
    results = run_tasks(
        seed_task,
        tasks,
        scheduler=args.scheduler,
        on_result=lambda i, r: print(seed_line(tasks[i].seed, *r), flush=True),
        say=Progress(True, "rating-accuracy"),
    )
    res = pd.concat([t for t, _ in results], ignore_index=True)
    cols = ["entities", "spearman", "same_stars", "mean_abs_star_error", "star_pct_rmse"]
    pooled = res.groupby(["method", "level", "band"], sort=True)[cols].mean().reset_index()
    pooled["entities"] = pooled["entities"].round().astype(int)
    order = {label: i for i, (_, _, label) in enumerate(SIZE_BANDS)} | {"all": len(SIZE_BANDS)}
    pooled = pooled.sort_values(["method", "level", "band"], key=lambda s: s.map(order) if s.name == "band" else s)
    with pd.option_context("display.width", 200, "display.max_rows", 200, "display.float_format", "{:.3f}".format):
        print(f"\nmean over seeds {args.seeds} ({args.scale}):")
        print(pooled.to_string(index=False))
    if not args.no_mlflow:
        import mlflow

        from toolkit.tracking.runs import log_table
        from toolkit.tracking.store import connect, ensure_experiment

        exp = ensure_experiment(connect(), "rating-accuracy")
        with mlflow.start_run(experiment_id=exp, run_name=f"{args.scale} seeds {args.seeds}"):
            mlflow.log_params({"scale": args.scale, "seeds": str(args.seeds), "config": args.config})
            for r in pooled[pooled["band"] == "all"].itertuples():
                for c in cols[1:]:
                    mlflow.log_metric(f"{r.method}.{r.level}.{c}", getattr(r, c))
            log_table(pooled, "accuracy_pooled.csv")
            log_table(res, "accuracy_by_seed.csv")


if __name__ == "__main__":
    main()
