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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from toolkit.errors import ToolkitError
from toolkit.expected.spec import ModelSpec
from toolkit.release.compute import compute_release_variant, model_metrics_table
from toolkit.release.config import ReleaseConfig
from toolkit.release.inputs import load_release_inputs
from toolkit.release.outputs import write_outputs
from toolkit.scoring.config import MethodConfig
from toolkit.tracking.reproduce import RunReader, table_differences

if TYPE_CHECKING:
    from toolkit.expected.fitting import FittedMeasure

Say = Callable[[str], None]

#: Tables compared byte for byte (their names in the release folder and under ``release/`` of the run).
EXACT_TABLES = (
    "ratings.csv",
    "entity_measures.csv",
    "entity_oe.csv",
    "standardisation.csv",
    "exclusions_summary.csv",
    "accounting.csv",
)
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
    recorded = {k[len("input_sha256.") :]: v for k, v in params.items() if k.startswith("input_sha256.")}
    if not data_dir.is_dir():
        d.data.append(f"data folder {data_dir} does not exist")
        return d
    for name, state, now in input_drift(recorded, data_dir):
        d.data.append(
            f"data file {name} is missing from {data_dir}"
            if state == "missing"
            else f"data file {name} differs: SHA-256 {now[:12]}... now, {recorded[name][:12]}... when tracked"
        )
    extra = sorted(p.name for p in data_dir.iterdir() if p.is_file() and p.name not in recorded)
    if extra:
        d.notes.append(f"files not in the tracked release are ignored: {', '.join(extra)}")
    return d


def _coefficient_differences(run: RunReader, fits: dict[str, FittedMeasure], tmp: Path) -> tuple[list[str], float, int]:
    """Each model's coefficients against its child run's ``coefficients.csv``: the differences beyond
    tolerance, the largest relative difference, and how many models were compared."""
    by_name = run.children()
    diffs, worst, compared = [], 0.0, 0
    for key, f in sorted(fits.items()):
        child = by_name.get(f.spec.name)
        if child is None:
            diffs.append(f"model {f.spec.name}: no tracked child run")
            continue
        path = run.download("coefficients.csv", tmp / key, run_id=child)
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
            diffs.append(
                f"model {f.spec.name}: {int(bad.sum())} coefficient(s) beyond tolerance, largest at "
                f"{tracked.index[i]}: {a[i]:.12g} tracked, {b[i]:.12g} now"
            )
        compared += 1
    return diffs, worst, compared


def regenerate_synthetic_world(params: dict[str, str], out: Path, say: Say = print) -> Path | None:
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


#: Columns that identify a row of each compared table (to name what differs).
TABLE_KEYS = {
    "ratings.csv": ["program", "level", "entity_id"],
    "entity_measures.csv": ["program", "level", "entity_id", "measure"],
    "entity_oe.csv": ["program", "level", "entity_id", "measure"],
    "standardisation.csv": ["program", "group"],
    "exclusions_summary.csv": ["reason", "program", "measure", "contract_id"],
    "accounting.csv": ["program", "stage", "level", "description"],
}


def _release_run(run_id: str, tracking_uri: str | None) -> RunReader:
    """The finished release parent run ``run_id`` (a :class:`ToolkitError` for anything else)."""
    run = RunReader(run_id, tracking_uri)
    kind = run.tags.get("toolkit.kind")
    if kind != "release":
        raise ToolkitError(f"run {run_id} is not a release parent run (tag toolkit.kind={kind!r})")
    if run.status != "FINISHED":
        raise ToolkitError(f"run {run_id} did not finish (status {run.status}); there is nothing to reproduce")
    return run


@dataclass
class TrackedRelease:
    """What a release run carries for reproduction: its exact config, method, model specs, previous
    ratings, and the downloaded output tables (None where not tracked)."""

    config: ReleaseConfig
    method: MethodConfig
    specs: dict[str, ModelSpec]
    previous: pd.DataFrame | None
    tables: dict[str, Path | None]


def _tracked_release(run: RunReader, dst: Path) -> TrackedRelease:
    run_id = run.run_id
    got = {
        n: run.download(f"release/{n}", dst)
        for n in ("config.json", "method.json", "model_specs.json", "previous_ratings.csv", *EXACT_TABLES)
    }
    read = {}
    for n in ("config.json", "method.json", "model_specs.json"):
        path = got[n]
        if path is None:
            raise ToolkitError(f"run {run_id} has no tracked release/{n}: it predates reproducible releases")
        read[n] = json.loads(path.read_text())
    prev_path = got["previous_ratings.csv"]
    return TrackedRelease(
        config=ReleaseConfig.model_validate(read["config.json"]),
        method=MethodConfig.model_validate(read["method.json"]),
        specs={k: ModelSpec.model_validate(v) for k, v in read["model_specs.json"].items()},
        previous=None if prev_path is None else pd.read_csv(prev_path, keep_default_na=False, na_values=[""]),
        tables={n: got[n] for n in EXACT_TABLES},
    )


def _table_differences(tracked: dict[str, Path | None], out: Path) -> list[str]:
    """Each tracked output table against the recomputed one, byte for byte (what differs, named)."""
    differences: list[str] = []
    for name in EXACT_TABLES:
        path = tracked[name]
        if path is None:
            differences.append(f"{name}: not tracked by the run")
        elif path.read_bytes() != (out / name).read_bytes():
            differences += table_differences(name, path, out / name, TABLE_KEYS[name], limit=8)
    return differences


def _refusal(
    run_id: str, drift: Drift, data: Path, allow_code_drift: bool, allow_data_drift: bool, t0: float
) -> ReproduceResult | None:
    """The result when the inputs or the code differ from the run's and that is not allowed, else None."""
    if drift.data and (not allow_data_drift or not data.is_dir()):
        hint = "" if not data.is_dir() else "; rerun with --allow-data-drift to compare the outputs anyway"
        return ReproduceResult(
            run_id,
            False,
            f"NOT REPRODUCIBLE: {len(drift.data)} data input(s) differ from the tracked release (see above){hint}",
            drift.data,
            drift,
            time.perf_counter() - t0,
        )
    if drift.code and not allow_code_drift:
        return ReproduceResult(
            run_id,
            False,
            f"NOT RUN: {len(drift.code)} code or environment difference(s); rerun with --allow-code-drift to go on",
            drift.code,
            drift,
            time.perf_counter() - t0,
        )
    return None


def reproduce(
    run_id: str,
    tracking_uri: str | None = None,
    data_dir: str | Path | None = None,
    allow_code_drift: bool = False,
    scratch: str | Path | None = None,
    say: Say = print,
    allow_data_drift: bool = False,
) -> ReproduceResult:
    """Reproduce a tracked release; see the module docstring."""
    t0 = time.perf_counter()
    run = _release_run(run_id, tracking_uri)
    params = run.params
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        data = Path(data_dir or params.get("data_dir", ""))
        if data_dir is None and not data.is_dir():
            data = regenerate_synthetic_world(params, tmp / "world", say) or data
        drift = check_inputs(params, data)
        for line in drift.data + drift.code + drift.notes:
            say(f"input check: {line}")
        refused = _refusal(run_id, drift, data, allow_code_drift, allow_data_drift, t0)
        if refused is not None:
            return refused
        tr = _tracked_release(run, tmp / "tracked")
        say(f"recomputing release {tr.config.name} (variant {tr.config.variant}) from {data}")
        tables = load_release_inputs(
            data, tr.config.window.start, tr.config.window.end, params.get("records_source", "table"), say
        ).tables
        comp = compute_release_variant(tables, tr.config, tr.method, tr.specs, tr.previous, say)
        out = Path(scratch) if scratch else tmp / "new"
        out.mkdir(parents=True, exist_ok=True)
        write_outputs(out, comp, model_metrics_table(comp.fits))
        differences = _table_differences(tr.tables, out)
        coef_diffs, worst, n_models = _coefficient_differences(run, comp.fits, tmp)
    differences += coef_diffs
    secs = time.perf_counter() - t0
    if drift.data:  # allowed: the outputs were compared to show what the changed data moved
        differences = [f"input: {d}" for d in drift.data] + differences
    if differences:
        verdict = (
            f"NOT REPRODUCED: release {tr.config.name} (run {run_id}): {len(differences)} difference(s)"
            + (f", {len(drift.data)} of them in the inputs" if drift.data else "")
            + f"; {secs:.1f}s"
        )
    else:
        verdict = (
            f"REPRODUCED: release {tr.config.name} (run {run_id}): {', '.join(EXACT_TABLES)} byte-identical "
            f"({len(comp.ratings):,} ratings rows); {n_models} models' coefficients within rtol "
            f"{COEF_RTOL:g} (largest relative difference {worst:.1e}); {secs:.1f}s"
        )
    return ReproduceResult(
        run_id, not differences, verdict, differences, drift, secs, Path(scratch) if scratch else None
    )
