"""``toolkit models evaluate``: one tracked evaluation of candidate expected-outcome models.

:func:`evaluate_models` reads and checks everything (config, model sets and formulas, method, output
root, scheduler) before a run or folder exists, then opens one parent run (kind ``evaluate-models``,
with the provenance params of every job) and a child run per candidate with its fold metrics; the
folder gets the aggregate tables (:data:`toolkit.evaluation.outputs.TABLES`), plots, ``report.md`` and
``run.json``. Nothing participant-level is written to the folder or to MLflow: the tasks carry records
without ids, and every table is per model, fold, subgroup level, site or entity.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from toolkit.config import config_hash, resolve_config
from toolkit.errors import ConfigError
from toolkit.evaluation.compute import (
    calibration_curves,
    candidate_ratings,
    collect,
    cv_differences,
    cv_metrics,
    prepare,
    rating_impact,
    run_fold_task,
    subgroup_calibration,
)
from toolkit.evaluation.config import EvaluationConfig
from toolkit.evaluation.outputs import EvaluationTables, report_text, write_plots, write_tables
from toolkit.expected.spec import ModelSpec, check_formulas, load_model_set
from toolkit.output import Progress, check_output_root
from toolkit.paths import workspace
from toolkit.release.inputs import load_release_inputs
from toolkit.scoring import load_method
from toolkit.scoring.config import MethodConfig
from toolkit.sweep import check_scheduler as sweep_check_scheduler
from toolkit.sweep import run_tasks
from toolkit.tracking.lifecycle import job_spec, tracked_run
from toolkit.tracking.provenance import git_label, input_hashes, run_params

KIND = "evaluate-models"
ORACLE = Path("truth") / "oracle_ratings.parquet"


def check_scheduler(scheduler: str) -> str:
    """The scheduler if :func:`toolkit.sweep.run_tasks` accepts it; a ConfigError (exit 2) otherwise."""
    try:
        return sweep_check_scheduler(scheduler)
    except ValueError as exc:
        raise ConfigError(f"--scheduler {scheduler!r}: {exc}") from None


def load_specs(config: EvaluationConfig) -> dict[str, dict[str, ModelSpec]]:
    """Every candidate's model set, formulas parsed (a ConfigError naming candidate and spec)."""
    out = {}
    for i, c in enumerate(config.candidates):
        specs = load_model_set(c.models)
        check_formulas(specs, f"candidates.{i}.models ({c.name})")
        missing = sorted(set(load_model_set(config.baseline.models)) - set(specs))
        if missing:
            raise ConfigError(f"candidates.{i}.models ({c.name}): no spec for {missing}")
        out[c.name] = specs
    return out


def compute_tables(
    tables: dict[str, pd.DataFrame],
    config: EvaluationConfig,
    method: MethodConfig,
    specs: Mapping[str, dict[str, ModelSpec]],
    oracle: pd.DataFrame | None,
    scheduler: str = "serial",
    say: Callable[[str], None] = lambda msg: None,
) -> EvaluationTables:
    """Everything an evaluation computes (no I/O, no tracking): the same inputs give the same tables."""
    prep = prepare(tables, config, method, specs)
    say(
        f"{len(prep.frame):,} records, {len(prep.keys)} models evaluated, {config.folds.k} folds, "
        f"{len(prep.tasks)} fits"
    )
    results = run_tasks(run_fold_task, prep.tasks, scheduler=scheduler, say=say)
    oof = collect(prep, results)
    base = specs[config.baseline.name]
    metrics = cv_metrics(prep, oof, config, base)
    ratings = {
        c.name: candidate_ratings(prep, oof, config, method, c.name) for c in config.candidates if c.role != "yardstick"
    }
    impact, transitions = rating_impact(ratings, config, oracle)
    return EvaluationTables(
        cv_metrics=metrics,
        cv_differences=cv_differences(metrics, config),
        oof_calibration=calibration_curves(prep, oof, config, base),
        subgroup_calibration=subgroup_calibration(prep, oof, config, base),
        rating_impact=impact,
        star_transitions=transitions,
        folds=prep.site_folds,
        fold_errors=pd.DataFrame({"task": [e.split(":")[0] for e in oof.errors], "error": oof.errors}),
    )


def read_oracle(data_dir: Path) -> pd.DataFrame | None:
    p = data_dir / ORACLE
    return pd.read_parquet(p) if p.is_file() else None


@dataclass
class EvaluationResult:
    run_id: str
    folder: Path
    tracking_uri: str
    status: str
    tables: EvaluationTables


def _child_metrics(t: EvaluationTables, name: str) -> dict[str, float]:
    m = t.cv_metrics[t.cv_metrics["candidate"] == name]
    out = {}
    for _, r in m.iterrows():
        for k in ("log_loss", "brier", "auc", "calibration_slope", "calibration_intercept", "oe"):
            v = r[k]
            if pd.notna(v):
                out[f"{r['model']}.{'fold' + r['fold'] if r['fold'] != 'pooled' else 'pooled'}.{k}"] = float(v)
    return out


def evaluate_models(
    config: EvaluationConfig,
    data_dir: str | Path,
    *,
    config_path: str | Path | None = None,
    tracking_uri: str | None = None,
    out_root: str | Path | None = None,
    scheduler: str = "serial",
    progress: bool = True,
) -> EvaluationResult:
    """Evaluate the config's candidates on the tables in ``data_dir``; track the run (see the module docstring)."""
    say = Progress(progress, "evaluate-models")
    t0 = time.perf_counter()
    data_dir = Path(data_dir).absolute()
    check_scheduler(scheduler)
    method_path = resolve_config(config.method, "methods").absolute()
    method = load_method(method_path)
    specs = load_specs(config)
    root = check_output_root(out_root or workspace() / config.output_root, "evaluation output root")
    say(f"reads: data {data_dir}, method {method_path}, model sets {', '.join(c.models for c in config.candidates)}")
    say(f"writes: a new evaluation folder under {root}")
    inputs = load_release_inputs(data_dir, config.window.start, config.window.end, "auto", say)
    oracle = read_oracle(data_dir)
    subdirs = (("events",) if inputs.source == "events" else ()) + (("truth",) if oracle is not None else ())
    params = run_params(
        config.model_dump(mode="json"),
        input_hashes(data_dir, subdirs=subdirs),
        config.folds.seed,
        {
            "scheme": KIND,
            "config_file": str(config_path or ""),
            "data_dir": str(data_dir),
            "records_source": inputs.source,
            "scheduler": scheduler,
            "method_hash": config_hash(method.model_dump(mode="json")),
            "models_hash": {
                c: config_hash({k: s.model_dump(mode="json") for k, s in v.items()}) for c, v in specs.items()
            },
        },
    )
    spec = job_spec(config, KIND, params, root, artifact_path="evaluation")
    with tracked_run(spec, tracking_uri, say) as tr:
        tr.log_json(
            {c: {k: s.model_dump(mode="json") for k, s in v.items()} for c, v in specs.items()}, "model_specs.json"
        )
        tr.log_json(method.model_dump(mode="json"), "method.json")
        tables = compute_tables(inputs.tables, config, method, specs, oracle, scheduler, say)
        files = write_tables(tr.folder, tables)
        files += write_plots(tr.folder, tables, config)
        note = (
            f"Data {data_dir}; config {config.name} (hash {params['config_hash'][:12]}); MLflow run {tr.run_id}; "
            f"git {git_label(params)}."
        )
        (tr.folder / "report.md").write_text(report_text(tables, config, note))
        files.append("report.md")
        for c in config.candidates:
            with tr.child(c.name, "evaluate-models-candidate", {"candidate.role": c.role}) as child:
                child.log_params({"family": c.family, "models": c.models, "role": c.role})
                child.log_metrics(_child_metrics(tables, c.name))
        d = tables.cv_differences
        head: dict[str, float] = {"seconds": time.perf_counter() - t0, "fits_failed": float(len(tables.fold_errors))}
        for _, r in d[d["model"] == "all"].iterrows():
            head[f"{r['candidate']}.all.{r['metric']}.difference"] = float(r["difference"])
        s = tables.subgroup_calibration
        for c in config.candidates:
            head[f"{c.name}.subgroups_flagged"] = float(s[s["candidate"] == c.name]["flagged"].sum()) if len(s) else 0.0
        tr.log_metrics(head)
        tr.write_record(
            {
                "config": config.name,
                "seed": config.folds.seed,
                "config_hash": params["config_hash"],
                "input_sha256": params["input_sha256"],
                "git_commit": params["git_commit"],
                "git_dirty": params["git_dirty"],
                "scheduler": scheduler,
            },
            log=False,
        )
        tr.log_files([*files, "run.json"])
        tr.fail_checks([f"fit failed: {e}" for e in tables.fold_errors["error"]])
    say(f"done in {time.perf_counter() - t0:.1f}s: {tr.folder}")
    return EvaluationResult(tr.run_id, tr.folder, tr.tracking_uri, tr.status, tables)
