"""One release end to end: validate, compute, write, track.

A release is one MLflow parent run (:func:`toolkit.tracking.lifecycle.tracked_run`) with a child
run per measure x program. :func:`run_release` reads the inputs, then runs three steps, each in
its own module:

1. compute (:mod:`toolkit.release.compute`, no I/O): frame, fits, expected outcomes, ratings, checks;
2. write (:mod:`toolkit.release.outputs`): tables, model files, plots, report, ``release.json`` to a
   new folder ``<output_root>/<name>-<UTC time>-<run id>`` (never an existing one); the report's
   status line and ``release.json`` say ``running`` until the run closes, when the lifecycle writes
   the status the run ended with (passed, failed with the failed checks, killed or failed with the error);
3. track (:mod:`toolkit.release.track`): child runs, registered models, the output files as
   artifacts of the parent run, except the record-level exclusion list, which holds pseudonymous
   participant ids and stays in the folder (its aggregate summary is logged instead).

The ``champion`` alias moves to the new model versions only after the release completed and its
checks passed, all or nothing, as the run's commit (:mod:`toolkit.tracking.aliases`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.config import config_hash, file_sha256
from toolkit.errors import ToolkitError
from toolkit.expected.spec import ModelSpec, load_model_set
from toolkit.output import Progress
from toolkit.release.compute import check_release, compute_release_variant, model_metrics_table, synthetic_world_origin
from toolkit.release.config import ReleaseConfig
from toolkit.release.inputs import ReleaseInputs, load_release_inputs
from toolkit.release.outputs import write_release, write_verdict
from toolkit.release.track import finish_release, log_reproduction_inputs, track_models
from toolkit.scoring import load_method
from toolkit.scoring.config import MethodConfig
from toolkit.tracking.lifecycle import job_spec, tracked_run
from toolkit.tracking.provenance import input_hashes, run_params


@dataclass
class ReleaseResult:
    run_id: str
    folder: Path
    status: str  # "passed" or "failed"
    ratings: pd.DataFrame
    entity_measures: pd.DataFrame
    exclusions: pd.DataFrame
    model_metrics: pd.DataFrame
    failed_checks: list[str] = field(default_factory=list)
    model_versions: dict[str, str] = field(default_factory=dict)
    tracking_uri: str = ""


def read_previous(path: str | Path) -> pd.DataFrame:
    """A previous release's ratings table (CSV or Parquet) for the publishing rules."""
    p = Path(path)
    if not p.is_file():
        raise ToolkitError(f"previous ratings table {p} not found")
    return pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p, keep_default_na=False, na_values=[""])


def release_params(
    config: ReleaseConfig,
    config_path: str | Path | None,
    data_dir: Path,
    inputs: ReleaseInputs,
    method: MethodConfig,
    specs: dict[str, ModelSpec],
    previous: str | Path | None,
) -> dict[str, Any]:
    """The parent run's params: provenance (config, input SHA-256s, git, versions, seed) and what the
    release read (method and model-set hashes, records source, synthetic world, previous ratings)."""
    hashes = input_hashes(data_dir, subdirs=("events",) if inputs.source == "events" else ())
    return run_params(
        config.model_dump(mode="json"),
        hashes,
        config.seed,
        {
            "release": config.name,
            "variant": config.variant,
            "config_file": str(config_path or ""),
            "method_hash": config_hash(method.model_dump(mode="json")),
            "models_hash": config_hash({k: s.model_dump(mode="json") for k, s in specs.items()}),
            "data_dir": str(data_dir.resolve()),
            "records_source": inputs.source,
            "synthetic_world": synthetic_world_origin(data_dir),
            "previous_sha256": file_sha256(previous) if previous else "",
        },
    )


def run_release(
    config: ReleaseConfig,
    data_dir: str | Path,
    *,
    config_path: str | Path | None = None,
    tracking_uri: str | None = None,
    out_root: str | Path | None = None,
    previous: str | Path | None = None,
    progress: bool = True,
) -> ReleaseResult:
    """Run a release on the tables in ``data_dir``; see the module docstring."""
    say = Progress(progress, "release")
    data_dir = Path(data_dir)
    method, specs = load_method(config.method), load_model_set(config.models)
    prev_path = previous or config.previous
    prev = read_previous(prev_path) if prev_path else None
    say(f"validating the tables in {data_dir}")
    inputs = load_release_inputs(data_dir, config.window.start, config.window.end, config.data.records, say)
    params = release_params(config, config_path, data_dir, inputs, method, specs, prev_path)
    tags = {"release.name": config.name, "release.variant": config.variant}
    spec = job_spec(config, "release", params, out_root, artifact_path="release", tags=tags)
    t_start = time.perf_counter()
    with tracked_run(replace(spec, record_file="release.json", status_pages=("report.md",)), tracking_uri, say) as tr:
        log_reproduction_inputs(tr, method, specs, prev)
        comp = compute_release_variant(inputs.tables, config, method, specs, prev, say)
        metrics = model_metrics_table(comp.fits)
        failed = check_release(comp.fits, comp.ratings, config) + (comp.bayes.failed if comp.bayes else [])
        written = write_release(tr.folder, comp, metrics, inputs, method)
        versions = track_models(tr, comp, written.model_files, config, params, say)
        record = {
            "run_id": tr.run_id,
            "tracking_uri": tr.tracking_uri,
            "config_hash": params["config_hash"],
            "input_sha256": params["input_sha256"],
            "model_versions": versions,
        }
        written.logged += write_verdict(tr.folder, config, comp, metrics, failed, record)
        tr.write_record(record, log=False)
        written.logged.append("release.json")
        finish_release(tr, written.logged, comp, method, config, failed, versions, time.perf_counter() - t_start, say)
    say(f"done in {time.perf_counter() - t_start:.1f}s: {tr.folder}")
    return ReleaseResult(
        run_id=tr.run_id,
        folder=tr.folder,
        status=tr.status,
        ratings=comp.ratings,
        entity_measures=comp.entity_measures,
        exclusions=comp.exclusions,
        model_metrics=metrics,
        failed_checks=failed,
        model_versions=versions,
        tracking_uri=tr.tracking_uri,
    )
