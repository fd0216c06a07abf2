"""Writing a release's folder: tables, per-model files and plots, the report.

Nothing here computes a rating or talks to MLflow; :func:`write_outputs` also serves
reproduction, which writes the same tables to a scratch folder and compares them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.expected import diagnostics as dx
from toolkit.expected.fitting import FittedMeasure
from toolkit.output import write_private_csv
from toolkit.release.compute import ComputedRelease, entity_oe, exclusion_summary, sparse_level_table
from toolkit.release.config import ReleaseConfig
from toolkit.release.inputs import ReleaseInputs
from toolkit.release.report import write_report
from toolkit.scoring.config import MethodConfig

#: Output tables of a release, written to its folder and logged under ``release/`` of its parent run.
OUTPUT_FILES = (
    "ratings.csv",
    "ratings.parquet",
    "entity_measures.csv",
    "entity_oe.csv",
    "standardisation.csv",
    "exclusions_summary.csv",
    "accounting.csv",
    "model_metrics.csv",
)
#: Per-model files under ``models/<program>_<measure>/``, logged to the model's child run.
MODEL_FILES = ("coefficients.csv", "design_state.json", "summary.txt", "calibration.csv")


def write_outputs(folder: Path, comp: ComputedRelease, metrics: pd.DataFrame) -> None:
    """Write a release's tables (:data:`OUTPUT_FILES` and the record-level ``exclusions.csv``)."""
    comp.ratings.to_csv(folder / "ratings.csv", index=False)
    comp.ratings.to_parquet(folder / "ratings.parquet", index=False)
    comp.entity_measures.to_csv(folder / "entity_measures.csv", index=False)
    entity_oe(comp.entity_measures).to_csv(folder / "entity_oe.csv", index=False)
    comp.standardisation.to_csv(folder / "standardisation.csv", index=False)
    write_private_csv(comp.exclusions, folder / "exclusions.csv")  # record level: owner-only, never tracked
    exclusion_summary(comp.exclusions).to_csv(folder / "exclusions_summary.csv", index=False)
    comp.accounting.to_csv(folder / "accounting.csv", index=False)
    metrics.to_csv(folder / "model_metrics.csv", index=False)


def write_model_files(folder: Path, key: str, f: FittedMeasure, frame: pd.DataFrame) -> list[Path]:
    """One model's coefficients, design state, summary and calibration (``models/<key>/``), and its
    calibration and site funnel plots (``plots/``); returns the paths, model files first."""
    mdir = folder / "models" / key
    mdir.mkdir(parents=True, exist_ok=True)
    plots = folder / "plots"
    plots.mkdir(exist_ok=True)
    f.model.summary().to_csv(mdir / "coefficients.csv", index_label="term")
    (mdir / "design_state.json").write_text(json.dumps(f.model.design_state_.to_dict(), indent=1, sort_keys=True))
    (mdir / "summary.txt").write_text(f.model.summary_text())
    f.calibration.to_csv(mdir / "calibration.csv", index=False)
    dx.calibration_plot(
        f.calibration, plots / f"calibration_{key}.png", title=f"{f.spec.name}: calibration by risk decile"
    )
    site_rows = frame.loc[(frame["program"] == f.spec.program) & (frame["measure"] == f.spec.measure)]
    oe = dx.observed_expected(site_rows, "site_id", f.spec.outcome, site_rows["expected_p"].to_numpy())
    dx.funnel_plot(oe[oe["expected"] > 0], plots / f"funnel_{key}.png", title=f"{f.spec.name}: site O/E")
    return [mdir / n for n in MODEL_FILES] + [plots / f"calibration_{key}.png", plots / f"funnel_{key}.png"]


@dataclass
class WrittenRelease:
    """What :func:`write_release` put in the folder: files to log under ``release/``, per-model files."""

    logged: list[str]
    model_files: dict[str, list[Path]] = field(default_factory=dict)


def write_release(
    folder: Path, comp: ComputedRelease, metrics: pd.DataFrame, inputs: ReleaseInputs, method: MethodConfig
) -> WrittenRelease:
    """Write every output of a computed release except the report and ``release.json`` (which need the
    checks' verdict and the registered versions): tables, model files and plots, the Bayesian variant's
    tables and plots, and the derivation log. Returns the files to log."""
    write_outputs(folder, comp, metrics)
    model_files = {key: write_model_files(folder, key, f, comp.frame) for key, f in sorted(comp.fits.items())}
    logged = list(OUTPUT_FILES)
    if comp.bayes is not None:
        from toolkit.release.bayes_variant import write_bayes_outputs

        logged += [
            p.name for p in write_bayes_outputs(folder, comp.bayes, comp.ratings, method=method) if p.suffix == ".csv"
        ]
    if inputs.derivation is not None:  # the per-rule counts are aggregate; the excluded events stay local
        inputs.derivation.log.to_csv(folder / "derivation_log.csv", index=False)
        write_private_csv(inputs.derivation.excluded, folder / "excluded_events.csv")  # record level: owner-only
        logged.append("derivation_log.csv")
    return WrittenRelease(logged=logged, model_files=model_files)


def write_verdict(
    folder: Path,
    config: ReleaseConfig,
    comp: ComputedRelease,
    metrics: pd.DataFrame,
    failed: list[str],
    run: dict[str, Any],
) -> list[str]:
    """The report, whose status line says ``running`` until the run closes (the lifecycle rewrites it, and
    ``release.json``, with the status the run ends with: :mod:`toolkit.tracking.record`); returns its name."""
    gates = comp.bayes.config.gates if comp.bayes is not None else None
    write_report(
        folder,
        config,
        comp.ratings,
        metrics,
        comp.exclusions,
        failed,
        run["run_id"],
        run["tracking_uri"],
        gates,
        sparse_level_table(comp.fits),
        {f.spec.name: list(f.model.aliased_) for f in comp.fits.values()},
        comp.standardisation,
    )
    return ["report.md"]


def write_release_dossier(
    folder: Path,
    config: ReleaseConfig,
    comp: ComputedRelease,
    metrics: pd.DataFrame,
    method: MethodConfig,
    params: dict[str, Any],
    run: dict[str, Any],
    failed: list[str],
    previous: pd.DataFrame | None,
) -> list[str]:
    """``report.html`` and ``entities/`` (:mod:`toolkit.release.dossier`) from the release's tables; returns
    the names to log."""
    from toolkit.release.dossier import flatten, read_dossier_inputs, write_dossier

    d = read_dossier_inputs(
        folder,
        method=method,
        params=flatten(params),
        run_id=run["run_id"],
        tracking_uri=run["tracking_uri"],
        calibration={f.spec.name: f.calibration for f in comp.fits.values()},
        previous=previous,
    )
    d.name, d.failed_checks = config.name, failed
    write_dossier(folder, d)
    return ["report.html", "entities"]
