"""One release end to end: validate, fit, predict, aggregate, score, write, track.

A release is one MLflow parent run with a child run per measure x program. Its
outputs are written to a new folder ``<output_root>/<name>-<UTC time>-<run id>``
(never an existing one) and logged as artifacts of the parent run, except the
record-level exclusion list, which holds pseudonymous participant ids and stays
in the folder (its aggregate summary is logged instead). The ``champion`` alias
moves to the new model versions only after the release completed and its checks
passed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.config import config_hash, file_sha256
from toolkit.release.inputs import load_release_inputs
from toolkit.errors import ToolkitError
from toolkit.expected.spec import load_model_set
from toolkit.paths import ROOT
from toolkit.records.aggregate import entity_measure_table
from toolkit.release.config import ReleaseConfig
from toolkit.release.fitting import FittedMeasure, fit_measures
from toolkit.records.frame import build_frame
from toolkit.release.report import write_report
from toolkit.scoring import load_method, score_entities_with_parameters
from toolkit.output import Progress


@dataclass
class ReleaseResult:
    run_id: str
    folder: Path
    status: str                      # "passed" or "failed"
    ratings: pd.DataFrame
    entity_measures: pd.DataFrame
    exclusions: pd.DataFrame
    model_metrics: pd.DataFrame
    failed_checks: list[str] = field(default_factory=list)
    model_versions: dict[str, str] = field(default_factory=dict)
    tracking_uri: str = ""


def check_release(fits: dict[str, FittedMeasure], ratings: pd.DataFrame, config: ReleaseConfig) -> list[str]:
    """The release's checks; an empty list means passed."""
    failed = []
    for key, f in sorted(fits.items()):
        m = f.metrics
        if not f.model.converged_:
            failed.append(f"{f.spec.name}: IRLS did not converge in {int(m['iterations'])} iterations")
        if m["calibration_in_the_large"] > config.checks.max_calibration_in_the_large:
            failed.append(f"{f.spec.name}: |O - E| / O = {m['calibration_in_the_large']:.4f} exceeds "
                          f"{config.checks.max_calibration_in_the_large}")
        if m["auc"] < config.checks.min_auc:
            failed.append(f"{f.spec.name}: AUC {m['auc']:.3f} below {config.checks.min_auc}")
    rated = ratings[(ratings["level"] == "contract") & ratings["calculated"]]
    for prog in sorted(ratings["program"].unique()):
        if not (rated["program"] == prog).any():
            failed.append(f"{prog}: no contract has a calculated rating")
    return failed


def _folder(config: ReleaseConfig, run_id: str, out_root: str | Path | None) -> Path:
    root = Path(out_root or config.output_root)
    if not root.is_absolute():
        root = ROOT / root
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    folder = root / f"{config.name}-{stamp}-{run_id[:8]}"
    folder.mkdir(parents=True, exist_ok=False)  # a release never reuses a folder
    return folder


def _write_table(df: pd.DataFrame, folder: Path, name: str) -> None:
    df.to_csv(folder / f"{name}.csv", index=False)


def _exclusion_summary(exclusions: pd.DataFrame) -> pd.DataFrame:
    cols = ["reason", "program", "measure", "contract_id"]
    if exclusions.empty:
        return pd.DataFrame(columns=cols + ["records"])
    return (exclusions.groupby(cols, sort=True, observed=True).size().rename("records").reset_index())


@dataclass
class ComputedRelease:
    """What a release computes, before anything is written or tracked."""

    model_frame: object
    fits: dict[str, FittedMeasure]
    frame: pd.DataFrame          # records used, with ``expected_p``
    exclusions: pd.DataFrame
    entity_measures: pd.DataFrame
    ratings: pd.DataFrame
    standardisation: pd.DataFrame  # mu, sd per program and group; national averages
    bayes: object = None           # toolkit.release.bayes_variant.BayesAugment when variant == "bayes"


def compute_release(tables: dict[str, pd.DataFrame], config: ReleaseConfig, method=None, specs=None,
                    previous: pd.DataFrame | None = None, say=lambda msg: None) -> ComputedRelease:
    """Frame, fits, predictions, entity-measure table and ratings from validated tables (no I/O, no tracking)."""
    method = method or load_method(config.method)
    specs = specs or load_model_set(config.models)
    mf = build_frame(tables, config.window.start, config.window.end)
    say(f"frame: {len(mf.frame):,} records kept, {len(mf.exclusions):,} excluded")
    fits, p_all = fit_measures(mf.frame, specs, say)
    no_model = np.isnan(p_all)
    frame = mf.frame.assign(expected_p=p_all)
    exclusions = mf.exclusions
    if no_model.any():
        extra = frame.loc[no_model, ["participant_id", "period_of_service", "program", "measure", "site_id",
                                     "contract_id"]].assign(reason="no model spec for this program and measure")
        exclusions = pd.concat([exclusions, extra], ignore_index=True)
        frame = frame.loc[~no_model]
    em = entity_measure_table(frame, mf.entities, config.window.end)
    say(f"entity-measure table: {em[['program', 'level', 'entity_id']].drop_duplicates().shape[0]:,} entities")
    ratings, standardisation = score_entities_with_parameters(em, method, previous)
    return ComputedRelease(model_frame=mf, fits=fits, frame=frame, exclusions=exclusions, entity_measures=em,
                           ratings=ratings, standardisation=standardisation)


def compute_release_variant(tables: dict[str, pd.DataFrame], config: ReleaseConfig, method=None, specs=None,
                            previous: pd.DataFrame | None = None, say=lambda msg: None) -> ComputedRelease:
    """:func:`compute_release` plus what the config's variant adds. Both :func:`run_release` and
    reproduction call this, so a variant's columns are reproduced like the published method's."""
    comp = compute_release(tables, config, method, specs, previous, say)
    if config.variant == "bayes":  # posterior columns beside the published ones (toolkit/release/bayes_variant.py)
        from toolkit.release.bayes_variant import bayes_augment, merge_columns

        comp.bayes = bayes_augment(comp, config, method or load_method(config.method), say)
        comp.ratings = merge_columns(comp.ratings, comp.bayes)
    return comp


def synthetic_world_origin(data_dir: Path) -> dict:
    """How to regenerate ``data_dir`` when it is a world written by ``toolkit synth`` / ``toolkit demo``
    (its ``world.json``): generator, scale, seed, site-effect SD and whether it holds events. Empty
    for any other folder. Reproduction uses it when the folder is gone (the input hashes still decide)."""
    info_path = data_dir / "world.json"
    if not info_path.is_file():
        return {}
    try:
        info = json.loads(info_path.read_text())
        return {"generator": str(info["generator"]), "scale": str(info["scale"]), "seed": int(info["seed"]),
                "site_effect_sd": float(info["site_effect_sd"]), "events": (data_dir / "events").is_dir()}
    except (ValueError, KeyError, TypeError):
        return {}


def run_release(config: ReleaseConfig, data_dir: str | Path, *, config_path: str | Path | None = None,
                tracking_uri: str | None = None, out_root: str | Path | None = None,
                previous: str | Path | None = None, progress: bool = True) -> ReleaseResult:
    """Run a release on the tables in ``data_dir``; see the module docstring."""
    import mlflow

    from toolkit.tracking import provenance, runs
    from toolkit.tracking.lifecycle import process_tags, sweep_stale_runs, terminate_on_signals
    from toolkit.tracking.registry import log_expected_model, set_alias
    from toolkit.tracking.store import connect, ensure_experiment, resolve_tracking_uri

    say = Progress(progress, "release")
    data_dir = Path(data_dir)
    method = load_method(config.method)
    specs = load_model_set(config.models)
    prev_path = previous or config.previous
    prev = _read_previous(prev_path) if prev_path else None
    say(f"validating the tables in {data_dir}")
    inputs = load_release_inputs(data_dir, config.window.start, config.window.end, config.data.records, say)
    tables = inputs.tables

    uri = resolve_tracking_uri(tracking_uri)
    client = connect(uri)
    exp_id = ensure_experiment(client, config.tracking.experiment, uri)
    for stale in sweep_stale_runs(client, [exp_id]):
        say(f"run {stale} belonged to a process that is gone: marked KILLED")
    cfg_dict = config.model_dump(mode="json")
    hashes = provenance.input_hashes(data_dir, subdirs=("events",) if inputs.source == "events" else ())
    params = {
        "release": config.name, "variant": config.variant, "seed": config.seed,
        "config": cfg_dict, "config_hash": config_hash(cfg_dict),
        "config_file": str(config_path or ""),
        "method_hash": config_hash(method.model_dump(mode="json")) if hasattr(method, "model_dump") else "",
        "models_hash": config_hash({k: s.model_dump(mode="json") for k, s in specs.items()}),
        "data_dir": str(data_dir.resolve()),
        "input_sha256": hashes,
        "records_source": inputs.source,
        "synthetic_world": synthetic_world_origin(data_dir),
        "previous_sha256": file_sha256(prev_path) if prev_path else "",
        **provenance.git_state(),
        "versions": provenance.package_versions(),
    }
    t_start = time.perf_counter()
    with terminate_on_signals(), mlflow.start_run(experiment_id=exp_id, run_name=config.name) as parent:
        run_id = parent.info.run_id
        mlflow.set_tags({"release.name": config.name, "release.variant": config.variant, "release.status": "running",
                         "toolkit.kind": "release", **process_tags()})
        runs.log_params(params)
        # what reproduction needs besides the data: the exact config, method and model specs, previous ratings
        runs.log_json(cfg_dict, "config.json", "release")
        runs.log_json(method.model_dump(mode="json"), "method.json", "release")
        runs.log_json({k: v.model_dump(mode="json") for k, v in specs.items()}, "model_specs.json", "release")
        if prev is not None:
            runs.log_table(prev, "previous_ratings.csv", "release")
        folder = _folder(config, run_id, out_root)
        say(f"release {config.name}: MLflow run {run_id} in {uri}; writing to {folder}")
        try:
            comp = compute_release_variant(tables, config, method, specs, prev, say)
            mf, fits, frame, exclusions, em, ratings = (comp.model_frame, comp.fits, comp.frame, comp.exclusions,
                                                        comp.entity_measures, comp.ratings)
            metrics = model_metrics_table(fits)
            versions = _log_models(fits, frame, folder, exp_id, config, say, log_expected_model, runs,
                                   {k: v for k, v in params.items() if k in CHILD_PROVENANCE})
            failed = check_release(fits, ratings, config)
            write_outputs(folder, comp, metrics)
            if comp.bayes is not None:  # failed gates fail the release; diagnostics, plots, posterior-mean models
                from toolkit.release.bayes_variant import log_bayes_models, write_bayes_outputs

                failed += comp.bayes.failed
                for path in write_bayes_outputs(folder, comp.bayes, ratings):
                    if path.suffix == ".csv":  # the plots go with the release's plots folder below
                        mlflow.log_artifact(str(path), "release")
                versions.update(log_bayes_models(comp.bayes, fits, config.tracking.register_models, say))
            if inputs.derivation is not None:  # the per-rule counts are aggregate; the excluded events stay local
                inputs.derivation.log.to_csv(folder / "derivation_log.csv", index=False)
                inputs.derivation.excluded.to_csv(folder / "excluded_events.csv", index=False)
                mlflow.log_artifact(str(folder / "derivation_log.csv"), "release")
            write_report(folder, config, ratings, metrics, exclusions, failed, run_id, uri)
            status = "failed" if failed else "passed"
            (folder / "release.json").write_text(json.dumps({
                "run_id": run_id, "tracking_uri": uri, "name": config.name, "status": status,
                "failed_checks": failed, "config_hash": params["config_hash"], "input_sha256": hashes,
                "model_versions": versions}, indent=2, sort_keys=True) + "\n")
            for name in OUTPUT_FILES + ("report.md", "release.json"):
                mlflow.log_artifact(str(folder / name), "release")
            mlflow.log_artifacts(str(folder / "plots"), "release/plots")
            _log_release_metrics(ratings, mf, exclusions, time.perf_counter() - t_start)
            if failed:
                mlflow.set_tag("release.status", "failed")
                say("release checks FAILED; champion aliases not moved:\n  - " + "\n  - ".join(failed))
            else:
                if config.tracking.register_models and versions:
                    set_alias(client, versions, config.tracking.alias)
                mlflow.set_tag("release.status", "passed")
                say(f"checks passed; alias '{config.tracking.alias}' set on {len(versions)} registered models")
        except BaseException as exc:
            mlflow.set_tag("release.status", "failed")
            mlflow.set_tag("release.error", f"{type(exc).__name__}: {exc}"[:5000])
            end = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
            mlflow.end_run(status=end)
            raise
    say(f"done in {time.perf_counter() - t_start:.1f}s: {folder}")
    return ReleaseResult(run_id=run_id, folder=folder, status=status, ratings=ratings, entity_measures=em,
                         exclusions=exclusions, model_metrics=metrics, failed_checks=failed,
                         model_versions=versions, tracking_uri=uri)


def _read_previous(path: str | Path) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise ToolkitError(f"previous ratings table {p} not found")
    return pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p, keep_default_na=False, na_values=[""])


#: Parent-run params each model's child run repeats, so a model run alone says what made it.
CHILD_PROVENANCE = ("config_hash", "method_hash", "models_hash", "input_sha256", "records_source", "git_commit",
                    "git_dirty", "versions")


def _log_models(fits, frame, folder, exp_id, config, say, log_expected_model, runs,
                provenance: dict | None = None) -> dict[str, str]:
    import mlflow

    from toolkit.expected import diagnostics as dx
    from toolkit.tracking.lifecycle import process_tags

    versions: dict[str, str] = {}
    plots = folder / "plots"
    plots.mkdir(exist_ok=True)
    for key, f in sorted(fits.items()):
        mdir = folder / "models" / key
        mdir.mkdir(parents=True, exist_ok=True)
        with mlflow.start_run(experiment_id=exp_id, run_name=f.spec.name, nested=True):
            mlflow.set_tags({"toolkit.kind": "expected_model", **process_tags(), "model.program": f.spec.program,
                             "model.measure": f.spec.measure, "model.formula_variant": f.formula_variant})
            runs.log_params({"spec": f.spec.model_dump(mode="json"), "seed": config.seed, "formula_used": f.formula,
                             "formula_variant": f.formula_variant,
                             "n": int(f.metrics["n"]), "events": int(f.metrics["events"]), **(provenance or {})})
            mlflow.log_metrics({k: float(v) for k, v in f.metrics.items()} | {"fit_seconds": f.seconds})
            summary = f.model.summary()
            summary.to_csv(mdir / "coefficients.csv", index_label="term")
            state = f.model.design_state_.to_dict()
            (mdir / "design_state.json").write_text(json.dumps(state, indent=1, sort_keys=True))
            (mdir / "summary.txt").write_text(f.model.summary_text())
            f.calibration.to_csv(mdir / "calibration.csv", index=False)
            dx.calibration_plot(f.calibration, plots / f"calibration_{key}.png",
                                title=f"{f.spec.name}: calibration by risk decile")
            site_rows = frame.loc[(frame["program"] == f.spec.program) & (frame["measure"] == f.spec.measure)]
            oe = dx.observed_expected(site_rows, "site_id", f.spec.outcome, site_rows["expected_p"].to_numpy())
            oe = oe[oe["expected"] > 0]
            dx.funnel_plot(oe, plots / f"funnel_{key}.png", title=f"{f.spec.name}: site O/E")
            for name in ("coefficients.csv", "design_state.json", "summary.txt", "calibration.csv"):
                mlflow.log_artifact(str(mdir / name))
            mlflow.log_artifact(str(plots / f"calibration_{key}.png"))
            mlflow.log_artifact(str(plots / f"funnel_{key}.png"))
            info = log_expected_model(f.model, f.spec.name, register=config.tracking.register_models)
            if info.registered_model_version is not None:
                versions[f.spec.name] = str(info.registered_model_version)
        say(f"tracked {f.spec.name}" + (f" (registered version {versions[f.spec.name]})" if f.spec.name in versions else ""))
    return versions


#: Output tables of a release, written to its folder and logged under ``release/`` of its parent run.
OUTPUT_FILES = ("ratings.csv", "ratings.parquet", "entity_measures.csv", "entity_oe.csv", "standardisation.csv",
                "exclusions_summary.csv", "model_metrics.csv")


def write_outputs(folder: Path, comp: ComputedRelease, metrics: pd.DataFrame) -> None:
    """Write a release's tables; the same function serves :func:`run_release` and reproduction."""
    _write_table(comp.ratings, folder, "ratings")
    comp.ratings.to_parquet(folder / "ratings.parquet", index=False)
    _write_table(comp.entity_measures, folder, "entity_measures")
    _write_table(entity_oe(comp.entity_measures), folder, "entity_oe")
    _write_table(comp.standardisation, folder, "standardisation")
    _write_table(comp.exclusions, folder, "exclusions")  # record level: stays in the folder, never tracked
    _write_table(_exclusion_summary(comp.exclusions), folder, "exclusions_summary")
    _write_table(metrics, folder, "model_metrics")


def entity_oe(em: pd.DataFrame) -> pd.DataFrame:
    """Per entity and measure: observed, expected and their ratio (the funnel plots' points)."""
    out = em[["program", "level", "entity_id", "measure", "n", "actual", "expected"]].rename(columns={"actual": "observed"})
    out = out[out["n"] > 0].copy()
    out["oe"] = out["observed"] / out["expected"]
    return out.reset_index(drop=True)


def model_metrics_table(fits: dict[str, FittedMeasure]) -> pd.DataFrame:
    return pd.DataFrame([{"model": f.spec.name, "program": f.spec.program, "measure": f.spec.measure,
                          "terms": f.formula_variant, "seconds": f.seconds, **f.metrics} for f in fits.values()])


def _log_release_metrics(ratings: pd.DataFrame, mf, exclusions: pd.DataFrame, seconds: float) -> None:
    import mlflow

    out = {"records_used": float(len(mf.frame)), "records_excluded": float(len(exclusions)), "seconds": seconds}
    for (prog, level), g in ratings.groupby(["program", "level"]):
        out[f"{prog}.{level}.entities"] = float(len(g))
        out[f"{prog}.{level}.rated"] = float(g["calculated"].sum())
        stars = g["stars"].dropna()
        for s in range(1, 6):
            out[f"{prog}.{level}.stars_{s}"] = float((stars == s).sum())
        if level == "contract" and g["national_average"].notna().any():
            out[f"{prog}.national_average"] = float(g["national_average"].dropna().iloc[0])
    mlflow.log_metrics(out)
