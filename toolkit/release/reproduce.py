"""``toolkit reproduce RUN_ID``: re-run a tracked release and compare every output with the tracked one.

Before running, the inputs are checked against what the parent run recorded: every
data file's SHA-256 (a missing or changed file is named), the git commit and whether
either tree was dirty, and package versions. Data drift stops reproduction unless
``--allow-data-drift`` (the outputs are then compared all the same, to show what the changed
data moved); code drift stops it unless ``--allow-code-drift``. When the release read a synthetic
world (``toolkit synth`` / ``toolkit demo``, recorded as ``synthetic_world.*``) and its folder is
gone, the world is regenerated from its generator, scale and seed in the scratch folder, and its
files must still match the tracked SHA-256s: a reviewer needs only a clone and the tracking store.
The release is then
recomputed in a scratch folder from the tracked config, method and model specs, with
nothing tracked or registered, and compared: output tables byte for byte, fitted
coefficients within :data:`COEF_RTOL` (relative) / :data:`COEF_ATOL` (absolute).
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.errors import ToolkitError, TrackingError
from toolkit.tracking.reproduce import table_differences

#: Tables compared byte for byte (their names in the release folder and under ``release/`` of the run).
EXACT_TABLES = ("ratings.csv", "entity_measures.csv", "entity_oe.csv", "standardisation.csv", "exclusions_summary.csv")
COEF_RTOL = 1e-9
COEF_ATOL = 1e-12


@dataclass
class Drift:
    data: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ReproduceResult:
    run_id: str
    reproduced: bool
    verdict: str
    differences: list[str]
    drift: Drift
    seconds: float
    scratch: Path | None = None


def check_inputs(params: dict[str, str], data_dir: Path) -> Drift:
    """Name every difference between the recorded inputs and environment and the present ones."""
    from toolkit.tracking.provenance import code_drift, input_drift

    d = Drift(code=code_drift(params))
    recorded = {k[len("input_sha256."):]: v for k, v in params.items() if k.startswith("input_sha256.")}
    if not data_dir.is_dir():
        d.data.append(f"data folder {data_dir} does not exist")
        return d
    for name, state, now in input_drift(recorded, data_dir):
        d.data.append(f"data file {name} is missing from {data_dir}" if state == "missing" else
                      f"data file {name} differs: SHA-256 {now[:12]}... now, {recorded[name][:12]}... when tracked")
    extra = sorted(p.name for p in data_dir.iterdir() if p.is_file() and p.name not in recorded)
    if extra:
        d.notes.append(f"files not in the tracked release are ignored: {', '.join(extra)}")
    return d


def _download(client, run_id: str, path: str, dst: Path) -> Path | None:
    try:
        return Path(client.download_artifacts(run_id, path, str(dst)))
    except Exception:
        return None


def _coefficient_differences(client, parent_id: str, experiment_id: str, fits, tmp: Path) -> tuple[list[str], float, int]:
    children = client.search_runs([experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'", max_results=500)
    by_name = {c.data.tags.get("mlflow.runName"): c for c in children}
    diffs, worst, compared = [], 0.0, 0
    for key, f in sorted(fits.items()):
        child = by_name.get(f.spec.name)
        if child is None:
            diffs.append(f"model {f.spec.name}: no tracked child run")
            continue
        path = _download(client, child.info.run_id, "coefficients.csv", tmp / key)
        if path is None:
            diffs.append(f"model {f.spec.name}: tracked coefficients.csv not found")
            continue
        tracked = pd.read_csv(path).set_index("term")["coef"]
        new = f.model.coef_
        if list(tracked.index) != list(new.index):
            diffs.append(f"model {f.spec.name}: design columns differ ({len(tracked)} tracked, {len(new)} now)")
            continue
        a, b = tracked.to_numpy(float), new.to_numpy(float)
        rel = np.abs(a - b) / np.maximum(np.abs(a), COEF_ATOL / COEF_RTOL)
        worst = max(worst, float(rel.max()))
        bad = ~np.isclose(b, a, rtol=COEF_RTOL, atol=COEF_ATOL)
        if bad.any():
            i = int(np.argmax(np.abs(a - b)))
            diffs.append(f"model {f.spec.name}: {int(bad.sum())} coefficient(s) beyond tolerance, largest at "
                         f"{tracked.index[i]}: {a[i]:.12g} tracked, {b[i]:.12g} now")
        compared += 1
    return diffs, worst, compared


def regenerate_synthetic_world(params: dict[str, str], out: Path, say=print) -> Path | None:
    """Regenerate the synthetic world a release read, from its ``synthetic_world.*`` params (None if the
    release did not read a synthetic world)."""
    from toolkit.synth import generate_world, write_world

    scale, seed = params.get("synthetic_world.scale"), params.get("synthetic_world.seed")
    if not scale or not seed:
        return None
    sd = params.get("synthetic_world.site_effect_sd")
    events = params.get("synthetic_world.events", "True") == "True"
    say(f"the tracked data folder is gone: regenerating the {scale} synthetic world (seed {seed}) into {out}")
    world = generate_world(scale, int(seed), site_effect_sd=float(sd) if sd else None, events=events)
    return write_world(world, out, overwrite=True)


def reproduce(run_id: str, tracking_uri: str | None = None, data_dir: str | Path | None = None,
              allow_code_drift: bool = False, scratch: str | Path | None = None, say=print,
              allow_data_drift: bool = False) -> ReproduceResult:
    """Reproduce a tracked release; see the module docstring."""
    from toolkit.expected.spec import ModelSpec
    from toolkit.release.compute import compute_release_variant, model_metrics_table
    from toolkit.release.config import ReleaseConfig
    from toolkit.release.inputs import load_release_inputs
    from toolkit.release.outputs import write_outputs
    from toolkit.scoring.config import MethodConfig
    from toolkit.tracking.store import connect, resolve_tracking_uri

    t0 = time.perf_counter()
    uri = resolve_tracking_uri(tracking_uri)
    client = connect(uri)
    try:
        run = client.get_run(run_id)
    except Exception:
        raise TrackingError(f"run {run_id} not found in {uri}") from None
    tags, params = run.data.tags, run.data.params
    if tags.get("toolkit.kind") != "release":
        raise ToolkitError(f"run {run_id} is not a release parent run (tag toolkit.kind={tags.get('toolkit.kind')!r})")
    if run.info.status != "FINISHED":
        raise ToolkitError(f"run {run_id} did not finish (status {run.info.status}); there is nothing to reproduce")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        data = Path(data_dir or params.get("data_dir", ""))
        if data_dir is None and not data.is_dir():
            data = regenerate_synthetic_world(params, tmp / "world", say) or data
        drift = check_inputs(params, data)
        for line in drift.data + drift.code + drift.notes:
            say(f"input check: {line}")
        if drift.data and (not allow_data_drift or not data.is_dir()):
            hint = "" if not data.is_dir() else "; rerun with --allow-data-drift to compare the outputs anyway"
            return ReproduceResult(run_id, False, f"NOT REPRODUCIBLE: {len(drift.data)} data input(s) differ from the "
                                   f"tracked release (see above){hint}", drift.data, drift, time.perf_counter() - t0)
        if drift.code and not allow_code_drift:
            return ReproduceResult(run_id, False, f"NOT RUN: {len(drift.code)} code or environment difference(s); "
                                   "rerun with --allow-code-drift to go on", drift.code, drift, time.perf_counter() - t0)
        got = {n: _download(client, run_id, f"release/{n}", tmp / "tracked") for n in
               ("config.json", "method.json", "model_specs.json", "previous_ratings.csv") + EXACT_TABLES}
        for n in ("config.json", "method.json", "model_specs.json"):
            if got[n] is None:
                raise ToolkitError(f"run {run_id} has no tracked release/{n}: it predates reproducible releases")
        config = ReleaseConfig.model_validate(json.loads(got["config.json"].read_text()))
        method = MethodConfig.model_validate(json.loads(got["method.json"].read_text()))
        specs = {k: ModelSpec.model_validate(v) for k, v in json.loads(got["model_specs.json"].read_text()).items()}
        prev = pd.read_csv(got["previous_ratings.csv"], keep_default_na=False, na_values=[""]) \
            if got["previous_ratings.csv"] is not None else None
        say(f"recomputing release {config.name} (variant {config.variant}) from {data}")
        tables = load_release_inputs(data, config.window.start, config.window.end,
                                     params.get("records_source", "table"), say).tables
        comp = compute_release_variant(tables, config, method, specs, prev, say)
        out = Path(scratch) if scratch else tmp / "new"
        out.mkdir(parents=True, exist_ok=True)
        write_outputs(out, comp, model_metrics_table(comp.fits))
        differences: list[str] = []
        keys = {"ratings.csv": ["program", "level", "entity_id"],
                "entity_measures.csv": ["program", "level", "entity_id", "measure"],
                "entity_oe.csv": ["program", "level", "entity_id", "measure"],
                "standardisation.csv": ["program", "group"],
                "exclusions_summary.csv": ["reason", "program", "measure", "contract_id"]}
        for name in EXACT_TABLES:
            if got[name] is None:
                differences.append(f"{name}: not tracked by the run")
                continue
            if got[name].read_bytes() != (out / name).read_bytes():
                differences += table_differences(name, got[name], out / name, keys[name], limit=8)
        coef_diffs, worst, n_models = _coefficient_differences(client, run_id, run.info.experiment_id, comp.fits, tmp)
        differences += coef_diffs
        n_rows = len(comp.ratings)
    secs = time.perf_counter() - t0
    if drift.data:  # allowed: the outputs were compared to show what the changed data moved
        differences = [f"input: {d}" for d in drift.data] + differences
    if differences:
        verdict = f"NOT REPRODUCED: release {config.name} (run {run_id}): {len(differences)} difference(s)" + (
            f", {len(drift.data)} of them in the inputs" if drift.data else "") + f"; {secs:.1f}s"
    else:
        verdict = (f"REPRODUCED: release {config.name} (run {run_id}): {', '.join(EXACT_TABLES)} byte-identical "
                   f"({n_rows:,} ratings rows); {n_models} models' coefficients within rtol {COEF_RTOL:g} "
                   f"(largest relative difference {worst:.1e}); {secs:.1f}s")
    return ReproduceResult(run_id, not differences, verdict, differences, drift, secs,
                           Path(scratch) if scratch else None)
