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

from toolkit.bayes.config import BayesConfig, load_bayes_config
from toolkit.config import config_hash, file_sha256, resolve_config
from toolkit.errors import ToolkitError
from toolkit.expected.spec import ModelSpec, check_formulas, load_model_set
from toolkit.output import Progress, check_output_root
from toolkit.paths import workspace
from toolkit.release.compute import check_release, compute_release_variant, model_metrics_table, synthetic_world_origin
from toolkit.release.config import ReleaseConfig, model_set_dir
from toolkit.release.inputs import ReleaseInputs, load_release_inputs
from toolkit.release.outputs import write_release, write_release_dossier, write_verdict
from toolkit.release.track import finish_release, log_reproduction_inputs, track_models
from toolkit.scoring import load_method
from toolkit.scoring.config import MethodConfig
from toolkit.scoring.validate import validate_previous
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
    """A previous release's ratings table (CSV or Parquet) for the publishing rules, read and checked
    up front: a missing file, a folder, an unreadable file or one that is not a ratings table (columns,
    levels, statuses, stars) is a :class:`ToolkitError` naming the file and what is wrong."""
    p = Path(path)
    if not p.exists():
        raise ToolkitError(f"previous ratings table {p} not found")
    if not p.is_file():
        raise ToolkitError(f"previous ratings table {p} is not a file")
    if p.suffix.lower() not in (".csv", ".parquet"):
        raise ToolkitError(f"previous ratings table {p}: unknown extension {p.suffix!r}; use .csv or .parquet")
    try:
        if p.suffix.lower() == ".parquet":
            df = pd.read_parquet(p)
        else:
            df = pd.read_csv(p, keep_default_na=False, na_values=[""])
    except Exception as exc:  # truncated, empty, binary: a problem of the file
        raise ToolkitError(
            f"previous ratings table {p} cannot be read as {p.suffix.lstrip('.').upper()} ({type(exc).__name__})"
        ) from None
    validate_previous(df, table=f"previous ratings table {p}")
    return df


@dataclass(frozen=True)
class ReleaseSetup:
    """Everything a release reads besides the data, read and validated before a run or folder exists."""

    method: MethodConfig
    specs: dict[str, ModelSpec]
    bayes: BayesConfig
    previous: pd.DataFrame | None
    previous_path: Path | None
    output_root: Path
    reads: dict[str, Path]


def prepare_release(
    config: ReleaseConfig,
    config_path: str | Path | None = None,
    previous: str | Path | None = None,
    out_root: str | Path | None = None,
) -> ReleaseSetup:
    """Read and validate every config a release needs (method, model set and formulas, Bayesian config,
    previous ratings table, output root) before anything is created.

    ``previous`` and ``out_root`` are the caller's own choice (the command line) and may be anywhere; a
    config's relative ``previous`` and ``output_root`` are taken from the workspace. (A release config
    *file* naming paths outside the workspace is refused when it is read: :func:`load_release_config`.)
    """
    reads = {
        "method": resolve_config(config.method, "methods").absolute(),
        "models": model_set_dir(config.models),
        "bayes": resolve_config(config.bayes, "bayes").absolute(),
    }
    method = load_method(reads["method"])
    specs = load_model_set(reads["models"])
    check_formulas(specs, f"model set {reads['models']}")
    bayes = load_bayes_config(reads["bayes"])
    prev_path: Path | None = None
    if previous:
        prev_path = Path(previous).absolute()
    elif config.previous:
        prev_path = workspace() / config.previous
    prev = read_previous(prev_path) if prev_path else None
    if prev_path:
        reads["previous"] = prev_path
    root = check_output_root(out_root or workspace() / config.output_root, "release output root")
    return ReleaseSetup(method, specs, bayes, prev, prev_path, root, reads)


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
    data_dir = Path(data_dir).absolute()
    setup = prepare_release(config, config_path, previous, out_root)
    method, specs, prev, prev_path = setup.method, setup.specs, setup.previous, setup.previous_path
    say(
        "reads: data "
        + str(data_dir)
        + "".join(f", {k} {v}" for k, v in setup.reads.items())
        + (f", config {Path(config_path).absolute()}" if config_path else "")
    )
    say(f"writes: a new release folder under {setup.output_root}")
    say(f"validating the tables in {data_dir}")
    inputs = load_release_inputs(data_dir, config.window.start, config.window.end, config.data.records, say)
    params = release_params(config, config_path, data_dir, inputs, method, specs, prev_path)
    tags = {"release.name": config.name, "release.variant": config.variant}
    spec = job_spec(config, "release", params, setup.output_root, artifact_path="release", tags=tags)
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
        say("writing the dossier: report.html and a page per entity")
        written.logged += write_release_dossier(tr.folder, config, comp, metrics, method, params, record, failed, prev)
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
