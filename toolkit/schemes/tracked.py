"""A scheme run tracked like a release: one MLflow parent run, a new output folder, aggregate artifacts.

The parent run records the config and its hash, the SHA-256 of every input file, the git
commit and dirty flag, package versions and the seed; the outputs go to a new folder
``<root>/<name>-<UTC time>-<run id>`` (never an existing one); only the files the caller
names are logged as artifacts (aggregate tables and reports, never client rows).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from toolkit.paths import ROOT


@dataclass
class TrackedRun:
    run_id: str
    folder: Path
    tracking_uri: str
    experiment_id: str


def new_folder(root: str | Path, name: str, run_id: str) -> Path:
    """A new output folder; an existing one is never reused."""
    r = Path(root)
    if not r.is_absolute():
        r = ROOT / r
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    folder = r / f"{name}-{stamp}-{run_id[:8]}"
    folder.mkdir(parents=True, exist_ok=False)
    return folder


def provenance_params(config: Any, inputs: dict[str, str], seed: int, extra: dict | None = None) -> dict:
    """What every tracked scheme run records besides its outputs."""
    from toolkit.config import config_hash
    from toolkit.tracking import provenance

    cfg = config.model_dump(mode="json") if hasattr(config, "model_dump") else dict(config)
    return {"config": cfg, "config_hash": config_hash(cfg), "input_sha256": inputs, "seed": seed,
            **provenance.git_state(), "versions": provenance.package_versions(), **(extra or {})}


@contextlib.contextmanager
def tracked_run(*, experiment: str, run_name: str, kind: str, params: dict, output_root: str | Path,
                tracking_uri: str | None = None) -> Iterator[TrackedRun]:
    """Open the parent run and its output folder; on error tag the run failed and end it FAILED (or KILLED)."""
    import mlflow

    from toolkit.tracking import runs
    from toolkit.tracking.lifecycle import process_tags, sweep_stale_runs, terminate_on_signals
    from toolkit.tracking.store import connect, ensure_experiment, resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    client = connect(uri)
    exp_id = ensure_experiment(client, experiment, uri)
    sweep_stale_runs(client, [exp_id])
    with terminate_on_signals(), mlflow.start_run(experiment_id=exp_id, run_name=run_name) as run:
        run_id = run.info.run_id
        mlflow.set_tags({"toolkit.kind": kind, f"{kind}.status": "running", **process_tags()})
        runs.log_params(params)
        runs.log_json(params["config"], "config.json", kind)
        try:
            folder = new_folder(output_root, run_name, run_id)
            yield TrackedRun(run_id=run_id, folder=folder, tracking_uri=uri, experiment_id=exp_id)
        except BaseException as exc:
            mlflow.set_tag(f"{kind}.status", "failed")
            mlflow.set_tag(f"{kind}.error", f"{type(exc).__name__}: {exc}"[:5000])
            mlflow.end_run(status="KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")
            raise
        mlflow.set_tag(f"{kind}.status", "finished")


def log_outputs(folder: Path, names: list[str], artifact_path: str) -> None:
    """Log the named files of ``folder`` (relative paths; folders are logged whole)."""
    import mlflow

    for name in names:
        p = folder / name
        if p.is_dir():
            mlflow.log_artifacts(str(p), f"{artifact_path}/{name}")
        elif p.is_file():
            mlflow.log_artifact(str(p), str(Path(artifact_path, name).parent))
