"""The tracking step of a release: a child run per model, the registered pyfuncs, the aliases.

It runs inside the release's :func:`toolkit.tracking.lifecycle.tracked_run` and logs only what
the write step put in the folder; it never imports MLflow itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.expected.fitting import FittedMeasure
from toolkit.expected.spec import ModelSpec
from toolkit.release.compute import ComputedRelease, release_metrics
from toolkit.release.config import ReleaseConfig
from toolkit.scoring.config import MethodConfig
from toolkit.tracking.lifecycle import TrackedRun
from toolkit.tracking.models import input_contract

#: Parent-run params each model's child run repeats, so a model run alone says what made it.
CHILD_PROVENANCE = (
    "config_hash",
    "method_hash",
    "models_hash",
    "input_sha256",
    "records_source",
    "git_commit",
    "git_dirty",
    "versions",
)


def track_model(
    tr: TrackedRun, f: FittedMeasure, files: list[Path], config: ReleaseConfig, provenance: Mapping[str, Any]
) -> str | None:
    """A child run for one expected-performance model: spec, metrics, its files, the pyfunc (registered
    as ``des-<program>-<measure>`` when the config says so). Returns the registered version."""
    tags = {
        "model.program": f.spec.program,
        "model.measure": f.spec.measure,
        "model.formula_variant": f.formula_variant,
    }
    with tr.child(f.spec.name, "expected_model", tags) as child:
        child.log_params(
            {
                "spec": f.spec.model_dump(mode="json"),
                "seed": config.seed,
                "formula_used": f.formula,
                "formula_variant": f.formula_variant,
                "n": int(f.metrics["n"]),
                "events": int(f.metrics["events"]),
                # the rule is spec.sparse_levels.*; what it pooled (count: metric pooled_levels; details:
                # design_state.json)
                "sparse_levels.pooled": "; ".join(p.describe() for p in f.model.design_state_.pooled) or "none",
                "aliased_columns": ", ".join(f.model.aliased_) or "none",
                **{k: v for k, v in provenance.items() if k in CHILD_PROVENANCE},
            }
        )
        child.log_metrics({k: float(v) for k, v in f.metrics.items()} | {"fit_seconds": f.seconds})
        child.log_files(files)
        contract = input_contract(f.model.design_state_.source_columns, f.spec.name)
        return child.log_model(f.model, f.spec.name, register=config.tracking.register_models, contract=contract)


def track_models(
    tr: TrackedRun,
    comp: ComputedRelease,
    model_files: Mapping[str, list[Path]],
    config: ReleaseConfig,
    provenance: Mapping[str, Any],
    say: Callable[[str], None],
) -> dict[str, str]:
    """Every model of the release (and the Bayesian variant's) in its child run; the registered versions."""
    versions: dict[str, str] = {}
    for key, f in sorted(comp.fits.items()):
        v = track_model(tr, f, model_files[key], config, provenance)
        if v is not None:
            versions[f.spec.name] = v
        say(f"tracked {f.spec.name}" + (f" (registered version {v})" if v is not None else ""))
    if comp.bayes is not None:
        from toolkit.release.bayes_variant import track_bayes_models

        versions.update(track_bayes_models(tr, comp.bayes, comp.fits, config.tracking.register_models, say))
    return versions


def log_reproduction_inputs(
    tr: TrackedRun, method: MethodConfig, specs: Mapping[str, ModelSpec], previous: pd.DataFrame | None
) -> None:
    """What reproduction needs besides the data and the config: the exact method and model specs, and the
    previous release's ratings when the publishing rules used them."""
    tr.log_json(method.model_dump(mode="json"), "method.json")
    tr.log_json({k: v.model_dump(mode="json") for k, v in specs.items()}, "model_specs.json")
    if previous is not None:
        tr.log_table(previous, "previous_ratings.csv")


def finish_release(
    tr: TrackedRun,
    logged: list[str],
    comp: ComputedRelease,
    method: MethodConfig,
    config: ReleaseConfig,
    failed: list[str],
    versions: Mapping[str, str],
    seconds: float,
    say: Callable[[str], None],
) -> None:
    """Log the folder's aggregate files and the headline metrics; record the checks (a failed one fails the
    run) and, when every check passed, ask for the alias, which moves as the run closes."""
    tr.log_files([*logged, "plots"])
    bands = sorted(b.stars for b in method.bands)
    records = len(comp.model_frame.frame)
    tr.log_metrics(release_metrics(comp.ratings, bands, records, len(comp.exclusions)) | {"seconds": seconds})
    tr.fail_checks(failed)
    if failed:
        say("release checks FAILED; champion aliases not moved:\n  - " + "\n  - ".join(failed))
        return
    if config.tracking.register_models and versions:
        tr.set_aliases(versions, config.tracking.alias)
        say(f"checks passed; alias '{config.tracking.alias}' moves to {len(versions)} models as the run closes")
    else:
        say("checks passed")
