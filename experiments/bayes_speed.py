"""Times and approximation errors of the Bayesian variants on the largest measure (national world).

1. The full hierarchical model (``toolkit.bayes.fit_hierarchical``: the measure's spec formula plus
   random intercepts) on the largest measure x program, with the given tune/draws (its per-draw cost
   is extrapolated to the release settings), beside the two-stage model on the same records;
   how far the two are apart: correlation of the site effects' posterior means and their mean
   absolute difference in units of the two-stage posterior SD.
2. The two-stage model's offset compression: ``nodes_per_cell`` 1 (the binomial approximation),
   2 and 4 against 0 (every record, exact): time and the largest difference of a site's posterior
   mean, in units of its posterior SD.

    python experiments/bayes_speed.py --seed 1 --full-tune 200 --full-draws 200
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from toolkit.bayes import fit_hierarchical, load_bayes_config
from toolkit.bayes.ratings import fit_program
from toolkit.contracts import validate_tables
from toolkit.output import Progress
from toolkit.release.compute import compute_release
from toolkit.release.config import load_release_config
from toolkit.synth import generate_world


def with_k(cfg, k):
    return cfg.model_copy(update={"two_stage": cfg.two_stage.model_copy(update={"nodes_per_cell": k})})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="national")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--full-tune", type=int, default=200)
    ap.add_argument("--full-draws", type=int, default=200)
    ap.add_argument("--full-groups", default="site_id", help="comma-separated, outer to inner")
    ap.add_argument("--skip-full", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    say = Progress(True, "bayes-speed")
    config, _ = load_release_config("releases/des_march_2020_synthetic.yaml")
    typed, rep = validate_tables(generate_world(args.scale, args.seed, events=False).tables)
    rep.raise_if_invalid()
    comp = compute_release(typed, config)
    key = max(comp.fits, key=lambda k: len(comp.fits[k].rows))
    fitm = comp.fits[key]
    prog, measure = fitm.spec.program, fitm.spec.measure
    say(f"largest measure: {key} ({len(fitm.rows):,} records, {len(fitm.model.coef_)} design columns)")
    cfg = load_bayes_config()
    results: dict = {"measure": key, "records": len(fitm.rows), "columns": len(fitm.model.coef_)}

    # two-stage: compression error against the exact likelihood
    fits = {}
    for k in (0, 1, 2, 4):
        t0 = time.perf_counter()
        fits[k] = fit_program(comp.frame, prog, [measure], with_k(cfg, k), 11, "independent")
        d = fits[k].measure_diagnostics[0]
        results[f"two_stage_k{k}"] = {
            "seconds": time.perf_counter() - t0,
            "sample_seconds": d.sample_seconds,
            "nodes": len(fits[k].cells.node_offset),
            "max_rhat": d.max_rhat,
            "min_ess_bulk": d.min_ess_bulk,
            "passed": d.passed,
        }
        say(f"two-stage nodes_per_cell={k}: {results[f'two_stage_k{k}']}")
    exact = fits[0].site_effects(measure)
    for k in (1, 2, 4):
        e = fits[k].site_effects(measure).reindex(exact.index)
        z = (e["mean"] - exact["mean"]).abs() / exact["sd"]
        results[f"two_stage_k{k}"].update(
            {
                "max_abs_mean_diff_in_sd": float(z.max()),
                "mean_abs_mean_diff_in_sd": float(z.mean()),
                "sd_ratio_median": float((e["sd"] / exact["sd"]).median()),
            }
        )
        say(f"nodes_per_cell={k} vs exact: {results[f'two_stage_k{k}']}")
    sig = {k: float(fits[k].idata.posterior["sigma_site"].mean()) for k in fits}
    results["sigma_site_mean"] = sig

    if not args.skip_full:
        groups = args.full_groups.split(",")
        sub = comp.frame.iloc[fitm.rows]
        sampler = cfg.sampler.model_copy(
            update={"tune": args.full_tune, "draws": args.full_draws, "low_rank_mass_matrix": True}
        )
        t0 = time.perf_counter()
        full = fit_hierarchical(
            sub, fitm.formula, fitm.spec.outcome, group=groups, random_seed=11, config=cfg, sampler=sampler
        )
        total = time.perf_counter() - t0
        d = full.diagnostics_
        per_iter = d.sample_seconds / (args.full_tune + args.full_draws)
        release_iters = cfg.sampler.tune + cfg.sampler.draws
        results["full"] = {
            "groups": groups,
            "tune": args.full_tune,
            "draws": args.full_draws,
            "seconds": total,
            "compile_seconds": d.compile_seconds,
            "sample_seconds": d.sample_seconds,
            "seconds_per_iteration": per_iter,
            "extrapolated_sample_seconds_at_release_settings": per_iter * release_iters,
            "max_rhat": d.max_rhat,
            "min_ess_bulk": d.min_ess_bulk,
            "min_ess_tail": d.min_ess_tail,
            "divergences": d.divergences,
            "group_sd": full.group_sd_["median"].to_dict(),
        }
        ts = fits[0].site_effects(measure)
        shift = float(fits[0].idata.posterior["shift"].mean())
        fe = full.group_effects_.reindex(ts.index.astype(str))
        ok = fe["mean"].notna()
        results["full_vs_two_stage"] = {
            "sites": int(ok.sum()),
            "corr_site_effects": float(np.corrcoef(fe["mean"][ok], ts["mean"][ok] - shift)[0, 1]),
            "mean_abs_diff_in_sd": float(((fe["mean"][ok] - (ts["mean"][ok] - shift)).abs() / ts["sd"][ok]).mean()),
            "sd_ratio_median": float((fe["sd"][ok] / ts["sd"][ok]).median()),
        }
        say(f"full model: {results['full']}")
        say(f"full vs two-stage: {results['full_vs_two_stage']}")
    print(json.dumps(results, indent=1, default=float))
    if args.out:
        from pathlib import Path

        Path(args.out).write_text(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
