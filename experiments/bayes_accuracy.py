"""What the Bayesian variant adds, measured against the synthetic truth, beside the published method.

For each seed (national world by default):

1. the release computation (frequentist fits, published ratings) and the Bayesian two-stage
   variant (``configs/bayes/des_2018.yaml``) on the same records;
2. accuracy against the oracle ratings (``toolkit.synth.accuracy``): the published method and the
   Bayesian point ratings (posterior median performance score and star percentage, stars of the
   median), by level and denominator band;
3. calibration of the star-band probabilities against the oracle's stars: a reliability table by
   decile of predicted probability (all entity x band pairs), the share of deciles whose observed
   frequency lies within p +/- 0.05, and the multi-class Brier score beside that of the published
   stars taken as certain (ratio; the issue asks for at most 0.8);
4. a second, overlapping release: the oldest quarter of each measure's records (by commencement)
   dropped, and as many new records added, copies of randomly chosen records of the same sites
   (new participant ids, same characteristics, hence the same true probability) with fresh outcomes
   drawn from their true probability with a separate seed. The true site effects do not change, so
   any change of stars between the two releases is spurious: its share is reported for the
   published stars and the Bayesian stars, for small entities (n(full_13) < 50) and all;
5. optionally (``--factor``) the joint factor model per program, which borrows strength across a
   site's measures, beside the independent one.

Each seed is a run of the MLflow experiment ``bayes-accuracy``; the pooled tables are printed. Seeds are
independent tasks run through :func:`toolkit.sweep.run_tasks` (``--scheduler serial`` by default, ``local`` or
``tcp://host:port``); the tables are the same wherever they ran, and MLflow is written from this process only.

    python experiments/bayes_accuracy.py --scale national --seeds 1 2 3 [--scheduler local]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.bayes.config import load_bayes_config
from toolkit.bayes.ratings import bayes_ratings
from toolkit.contracts import validate_tables
from toolkit.output import Progress
from toolkit.release.bayes_variant import BayesAugment, merge_columns
from toolkit.release.compute import compute_release
from toolkit.release.config import load_release_config
from toolkit.scoring import load_method
from toolkit.sweep import add_scheduler_argument, run_tasks
from toolkit.synth import generate_world
from toolkit.synth.accuracy import KEY, accuracy_table, paired
from toolkit.synth.world import add_oracle

SMALL = 50


def bayes_as_ratings(r: pd.DataFrame, modal: bool = False) -> pd.DataFrame:
    """The Bayesian point ratings in the published columns (for :func:`toolkit.synth.accuracy.accuracy_table`):
    posterior median score and star percentage; stars of the median, or (``modal``) the most probable band."""
    out = r.copy()
    out["performance_score"] = r["bayes_performance_score"]
    out["calculated_star_percentage"] = np.trunc(r["bayes_star_percentage"])
    out["calculated_stars"] = r["bayes_stars"]
    if modal:
        p = r[[f"p_star_{k}" for k in range(1, 6)]].to_numpy()
        out["calculated_stars"] = np.where(np.isnan(p).any(axis=1), np.nan, np.nanargmax(np.nan_to_num(p), axis=1) + 1)
    return out


def score_errors(r: pd.DataFrame, oracle: pd.DataFrame) -> pd.DataFrame:
    """RMSE of the performance score against the oracle's, per level and denominator band (and all)."""
    both = paired(r, oracle)
    rows = []
    for level, g in both.groupby("level"):
        for band, h in [("all", g)] + list(g.groupby("band")):
            d = h["performance_score_r"] - h["performance_score_o"]
            rows.append({"level": level, "band": band, "score_rmse": float(np.sqrt(np.mean(d**2)))})
    return pd.DataFrame(rows)


def calibration(r: pd.DataFrame, oracle: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reliability table by decile of p (entity x band pairs) and Brier scores, per level."""
    cols = KEY + ["calculated"] + [f"p_star_{k}" for k in range(1, 6)] + ["calculated_stars", "n_full_13"]
    both = r[cols].merge(oracle[KEY + ["calculated", "calculated_stars"]], on=KEY, suffixes=("", "_o"))
    both = both[both["calculated"] & both["calculated_o"] & both["p_star_1"].notna()]
    rel, briers = [], []
    for level, g in both.groupby("level"):
        p = g[[f"p_star_{k}" for k in range(1, 6)]].to_numpy()
        o = np.eye(5)[g["calculated_stars_o"].astype(int).to_numpy() - 1]
        pub = np.eye(5)[g["calculated_stars"].astype(int).to_numpy() - 1]
        small = g["n_full_13"].to_numpy() < SMALL
        for band, sel in (("all", np.ones(len(g), bool)), (f"n13 < {SMALL}", small)):
            if sel.sum() == 0:
                continue
            b_bayes = float(np.mean(np.sum((p[sel] - o[sel]) ** 2, axis=1)))
            b_pub = float(np.mean(np.sum((pub[sel] - o[sel]) ** 2, axis=1)))
            briers.append(
                {
                    "level": level,
                    "band": band,
                    "entities": int(sel.sum()),
                    "brier_bayes": b_bayes,
                    "brier_published": b_pub,
                    "ratio": b_bayes / b_pub if b_pub > 0 else np.nan,
                }
            )
        pf, of = p.ravel(), o.ravel()
        dec = np.minimum((pf * 10).astype(int), 9)
        chance = calibrated_within(p, dec)
        for d in range(10):
            s = dec == d
            if s.any():
                rel.append(
                    {
                        "level": level,
                        "decile": f"{d / 10:.1f}-{(d + 1) / 10:.1f}",
                        "pairs": int(s.sum()),
                        "mean_p": float(pf[s].mean()),
                        "observed": float(of[s].mean()),
                        "p_within_if_calibrated": chance[d],
                    }
                )
    rel = pd.DataFrame(rel)
    rel["within_0.05"] = (rel["observed"] - rel["mean_p"]).abs() <= 0.05
    return rel, pd.DataFrame(briers)


def calibrated_within(p: np.ndarray, dec: np.ndarray, reps: int = 2000, seed: int = 0) -> np.ndarray:
    """Per decile, the chance that the observed share lands within +/-0.05 of the mean probability when the
    band probabilities are exactly right: each entity's band drawn from its own ``p`` (entities x 5), ``reps``
    times. With 30-40 entity-band pairs in a decile (organisations), sampling noise alone puts the observed
    share outside +/-0.05 about half the time, so a level's count of deciles within must be read against the
    sum of these chances."""
    rng = np.random.default_rng(seed)
    cum = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    pf = p.ravel()
    groups = [np.flatnonzero(dec == d) for d in range(10)]
    hits = np.zeros(10)
    for i in range(0, reps, 200):
        k = min(200, reps - i)
        drawn = (rng.random((k, len(p)))[:, :, None] > cum[None]).sum(axis=2)  # one band per entity and rep
        won = (drawn[:, :, None] == np.arange(p.shape[1])).reshape(k, -1)  # (reps, entity-band pairs)
        for d, pairs in enumerate(groups):
            if len(pairs):
                hits[d] += np.sum(np.abs(won[:, pairs].mean(axis=1) - pf[pairs].mean()) <= 0.05)
    out = hits / reps
    out[[not len(g) for g in groups]] = np.nan
    return out


def second_release_tables(world, seed: int) -> dict[str, pd.DataFrame]:
    """The overlapping second release (module docstring, point 4)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 20]))
    t = world.tables
    rec = t["measure_records"]
    truth = world.truth["record_truth"]
    start = pd.Timestamp(world.info["window_start"])
    q = rec.groupby(["program", "measure"])["commencement_date"].transform(lambda s: s.quantile(0.25))
    keep = rec[rec["commencement_date"] > q]
    eligible = np.flatnonzero((rec["exit_date"].isna() | (rec["exit_date"] >= start)).to_numpy())
    n_new = len(rec) - len(keep)
    pick = np.sort(rng.choice(eligible, n_new, replace=False))
    new = rec.iloc[pick].copy()
    p_true = (
        rec[["participant_id", "period_of_service", "site_id", "measure"]]
        .iloc[pick]
        .merge(truth, on=["participant_id", "period_of_service", "site_id", "measure"], how="left")["p_true"]
        .to_numpy()
    )
    new["numerator"] = rng.random(n_new) < p_true
    end = pd.Timestamp(world.info["window_end"])
    lodged = new["outcome_lodged_date"].where(new["outcome_lodged_date"].notna(), end)
    new["outcome_lodged_date"] = lodged.where(new["numerator"], pd.NaT)
    new_ids = np.array([f"R2{i:08d}" for i in range(n_new)])
    part = t["participants"].set_index("participant_id").loc[new["participant_id"].to_numpy()].reset_index()
    part["participant_id"] = new_ids
    new["participant_id"] = new_ids
    return {
        **t,
        "measure_records": pd.concat([keep, new], ignore_index=True),
        "participants": pd.concat([t["participants"], part], ignore_index=True),
    }


def star_changes(r1: pd.DataFrame, r2: pd.DataFrame) -> pd.DataFrame:
    """Share of entities (calculated in both releases) whose stars changed: published and Bayesian."""
    cols = KEY + ["calculated", "calculated_stars", "bayes_stars", "n_full_13"]
    both = r1[cols].merge(r2[cols], on=KEY, suffixes=("_1", "_2"))
    both = both[both["calculated_1"] & both["calculated_2"]]
    rows = []
    for level, g in both.groupby("level"):
        small = g["n_full_13_1"].to_numpy() < SMALL
        for band, sel in (("all", np.ones(len(g), bool)), (f"n13 < {SMALL}", small)):
            h = g[sel]
            if len(h):
                rows.append(
                    {
                        "level": level,
                        "band": band,
                        "entities": len(h),
                        "changed_published": float((h["calculated_stars_1"] != h["calculated_stars_2"]).mean()),
                        "changed_bayes": float((h["bayes_stars_1"] != h["bayes_stars_2"]).mean()),
                    }
                )
    return pd.DataFrame(rows)


def run_seed(
    scale: str, seed: int, config, method, bc, factor: bool, say, second: bool = True, keep_dir: str | None = None
) -> dict[str, pd.DataFrame]:
    world = add_oracle(generate_world(scale, seed, events=False))
    typed, report = validate_tables(world.tables)
    report.raise_if_invalid()
    oracle = world.truth["oracle_ratings"]
    say(f"seed {seed}: world ready")
    out: dict[str, list] = {"accuracy": [], "reliability": [], "brier": [], "changes": []}
    releases = {}
    variants = [("bayes", "independent")] + ([("bayes_factor", "factor")] if factor else [])
    for rel_no, tables in ((1, typed), (2, None))[: 2 if second else 1]:
        if rel_no == 2:
            t2, rep2 = validate_tables(second_release_tables(world, seed))
            rep2.raise_if_invalid()
            tables = t2
        comp = compute_release(tables, config, method)
        say(f"seed {seed} release {rel_no}: published ratings computed")
        for name, cross in variants if rel_no == 1 else variants[:1]:
            t0 = time.perf_counter()
            res = bayes_ratings(
                comp.frame, comp.entity_measures, comp.ratings, method, bc, seed, say, cross, risk_fits=comp.fits
            )
            aug = BayesAugment(
                columns=res.columns, diagnostics=res.diagnostics, failed=res.failed, config=bc, result=res
            )
            r = merge_columns(comp.ratings, aug)
            say(
                f"seed {seed} release {rel_no} {name}: {time.perf_counter() - t0:.0f}s, "
                f"gates {'passed' if not res.failed else 'FAILED: ' + '; '.join(res.failed)}"
            )
            releases[(rel_no, name)] = r
            if keep_dir:
                cols = (
                    KEY
                    + ["calculated", "n_full_13", "performance_score", "calculated_star_percentage", "calculated_stars"]
                    + aug.column_names
                )
                r[cols].to_parquet(Path(keep_dir) / f"ratings_seed{seed}_release{rel_no}_{name}.parquet")
                if rel_no == 1 and name == "bayes":
                    oracle.to_parquet(Path(keep_dir) / f"oracle_seed{seed}.parquet")
            if rel_no == 1:
                for by_band in (False, True):
                    for label, rr in (
                        ("published", comp.ratings),
                        (name, bayes_as_ratings(r)),
                        (f"{name}_modal", bayes_as_ratings(r, modal=True)),
                    ):
                        if label == "published" and name != "bayes":
                            continue
                        t = accuracy_table(rr, oracle, by_band=by_band)
                        if not by_band:
                            t["band"] = "all"
                        t = t.merge(score_errors(rr, oracle), on=["level", "band"], how="left")
                        out["accuracy"].append(t.assign(method=label, seed=seed))
                rel, brier = calibration(r, oracle)
                out["reliability"].append(rel.assign(method=name, seed=seed))
                out["brier"].append(brier.assign(method=name, seed=seed))
    if second:
        out["changes"].append(star_changes(releases[(1, "bayes")], releases[(2, "bayes")]).assign(seed=seed))
    return {k: pd.concat(v, ignore_index=True) for k, v in out.items() if v}


@dataclass(frozen=True)
class SeedTask:
    """One seed of the experiment: everything a worker needs (configs by name, read where the task runs)."""

    scale: str
    seed: int
    config: str
    bayes: str
    factor: bool = False
    second: bool = True
    keep_dir: str | None = None


def seed_task(task: SeedTask) -> dict[str, pd.DataFrame]:
    config, _ = load_release_config(task.config)
    method = load_method(config.method)
    bc = load_bayes_config(task.bayes)
    say = Progress(True, f"bayes-accuracy seed {task.seed}")
    return run_seed(task.scale, task.seed, config, method, bc, task.factor, say, task.second, task.keep_dir)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", choices=["tiny", "small", "national"], default="national")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--config", default="releases/des_march_2020_synthetic.yaml")
    ap.add_argument("--bayes", default="des_2018")
    ap.add_argument("--factor", action="store_true", help="also the joint factor model (borrowing across measures)")
    ap.add_argument("--no-second-release", action="store_true", help="skip the overlapping second release")
    ap.add_argument("--out", default=None, help="folder for the pooled CSV tables")
    ap.add_argument("--no-mlflow", action="store_true")
    add_scheduler_argument(ap)
    args = ap.parse_args()
    load_release_config(args.config)  # bad configs fail here, before any task starts
    load_bayes_config(args.bayes)
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
    tasks = [
        SeedTask(args.scale, seed, args.config, args.bayes, args.factor, not args.no_second_release, args.out)
        for seed in args.seeds
    ]
    results = run_tasks(seed_task, tasks, scheduler=args.scheduler, say=Progress(True, "bayes-accuracy"))
    parts: dict[str, list] = {}
    for result in results:
        for k, v in result.items():
            parts.setdefault(k, []).append(v)
    res = {k: pd.concat(v, ignore_index=True) for k, v in parts.items()}
    num = lambda df: [c for c in df.columns if df[c].dtype.kind in "fiub" and c not in ("seed",)]  # noqa: E731
    pooled = {
        "accuracy": res["accuracy"].groupby(["level", "band", "method"], sort=True)[num(res["accuracy"])].mean(),
        "brier": res["brier"].groupby(["method", "level", "band"], sort=True)[num(res["brier"])].mean(),
        "reliability": res["reliability"]
        .groupby(["method", "level", "decile"], sort=True)[["pairs", "mean_p", "observed"]]
        .mean()
        .assign(within_005=lambda d: (d["observed"] - d["mean_p"]).abs() <= 0.05),
        # deciles within +/-0.05 per world, beside how many a perfectly calibrated forecaster would get there
        "reliability_count": res["reliability"]
        .groupby(["method", "level", "seed"])
        .agg(
            within=("within_0.05", "sum"),
            within_if_calibrated=("p_within_if_calibrated", "sum"),
            deciles=("decile", "count"),
        )
        .groupby(["method", "level"])
        .mean(),
    }
    if "changes" in res:
        pooled["changes"] = res["changes"].groupby(["level", "band"], sort=True)[num(res["changes"])].mean()
    with pd.option_context("display.width", 200, "display.max_rows", 300, "display.float_format", "{:.3f}".format):
        for k, v in pooled.items():
            print(f"\n== {k} (mean over seeds {args.seeds}, {args.scale}) ==")
            print(v.reset_index().to_string(index=False))
    if args.out:
        for k, v in res.items():
            v.to_csv(Path(args.out) / f"{k}_by_seed.csv", index=False)
        for k, v in pooled.items():
            v.reset_index().to_csv(Path(args.out) / f"{k}_pooled.csv", index=False)
    if not args.no_mlflow:
        import mlflow

        from toolkit.tracking.runs import log_table
        from toolkit.tracking.store import connect, ensure_experiment

        exp = ensure_experiment(connect(), "bayes-accuracy")
        with mlflow.start_run(experiment_id=exp, run_name=f"{args.scale} seeds {args.seeds}"):
            mlflow.log_params(
                {
                    "scale": args.scale,
                    "seeds": str(args.seeds),
                    "config": args.config,
                    "bayes": args.bayes,
                    "factor": args.factor,
                }
            )
            for k, v in pooled.items():
                log_table(v.reset_index(), f"{k}_pooled.csv")


if __name__ == "__main__":
    main()
