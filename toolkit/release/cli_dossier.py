"""``toolkit report`` (a tracked release's dossier, rebuilt from the tracking store alone) and ``toolkit
whatif`` (an entity's score with more or fewer outcomes on one measure, national parameters fixed)."""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from toolkit.errors import ToolkitError
from toolkit.scoring.config import MethodConfig
from toolkit.tracking.reproduce import RunReader

#: What the dossier reads of a release run (under ``release/``); the first four are required.
DOSSIER_ARTIFACTS = (
    "ratings.csv",
    "entity_measures.csv",
    "standardisation.csv",
    "model_metrics.csv",
    "accounting.csv",
    "exclusions_summary.csv",
    "release.json",
    "method.json",
    "previous_ratings.csv",
    "bayes_diagnostics.csv",
)


def _release_run(run_id: str, tracking_uri: str | None) -> RunReader:
    run = RunReader(run_id, tracking_uri)
    kind = run.tags.get("toolkit.kind", "")
    if kind != "release":
        raise ToolkitError(f"run {run_id} is a {kind or 'untagged'} run, not a release")
    return run


def _download(run: RunReader, dst: Path, names: tuple[str, ...]) -> dict[str, Path | None]:
    got = {n: run.download(f"release/{n}", dst) for n in names}
    for n in ("ratings.csv", "entity_measures.csv", "standardisation.csv", "method.json"):
        if n in names and got[n] is None:
            raise ToolkitError(f"run {run.run_id} has no tracked release/{n}: it cannot be rebuilt from the store")
    return got


def _method(path: Path | None) -> MethodConfig:
    assert path is not None
    return MethodConfig.model_validate(json.loads(path.read_text()))


def run_report(args: argparse.Namespace) -> int:
    from toolkit.release.dossier import read_dossier_inputs, write_dossier

    run = _release_run(args.run_id, args.tracking_uri)
    out = Path(args.out).absolute() if args.out else Path.cwd() / f"dossier-{args.run_id}"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="toolkit-report-") as tmp:
        src = Path(tmp) / "release"
        src.mkdir()
        got = _download(run, src, DOSSIER_ARTIFACTS)
        for n in ("accounting.csv", "exclusions_summary.csv", "model_metrics.csv"):
            if got[n] is None:  # older releases: shown empty
                pd.DataFrame().to_csv(src / n, index=False)
        calibration = {}
        for name, child in sorted(run.children().items()):
            p = run.download("calibration.csv", Path(tmp) / "children" / child, run_id=child)
            if p is not None:
                calibration[name] = pd.read_csv(p)
        prev = got["previous_ratings.csv"]
        d = read_dossier_inputs(
            src,
            method=_method(got["method.json"]),
            params=run.params,
            run_id=run.run_id,
            tracking_uri=run.tracking_uri,
            calibration=calibration,
            previous=None if prev is None else pd.read_csv(prev, keep_default_na=False, na_values=[""]),
            status=run.tags.get("toolkit.status", ""),
        )
        if (out / "entities").is_dir():
            shutil.rmtree(out / "entities")
        stats = write_dossier(out, d)
    print(f"dossier: {stats.path} ({stats.pages:,} pages, {stats.bytes / 1e6:.1f} MB, {stats.seconds:.1f}s)")
    if args.screenshots:
        from toolkit.release.screenshots import screenshots

        shots = screenshots(out)
        run.log_artifacts(shots, "release/screenshots")
        print(f"screenshots: {shots} (logged under release/screenshots of run {run.run_id})")
    return 0


def _pick(em: pd.DataFrame, entity: str, measure: str, level: str | None, program: str | None) -> tuple[str, str]:
    """The (program, level) of ``entity`` that scores ``measure``, narrowed by ``level`` and ``program``."""
    rows = em[(em["entity_id"] == entity) & (em["measure"] == measure)]
    if level:
        rows = rows[rows["level"] == level]
    if program:
        rows = rows[rows["program"] == program]
    keys = sorted(set(zip(rows["program"], rows["level"], strict=True)))
    if not keys:
        known = em[em["entity_id"] == entity]
        if known.empty:
            raise ToolkitError(f"no entity {entity!r} in this release")
        raise ToolkitError(
            f"entity {entity!r} has no {measure} record"
            + (f" at level {level}" if level else "")
            + (f" in program {program}" if program else "")
            + f" (its measures: {', '.join(sorted(set(known['measure'])))})"
        )
    if len(keys) > 1:
        raise ToolkitError(
            f"entity {entity!r} is rated as "
            + ", ".join(f"{p} {lv}" for p, lv in keys)
            + ": give --program and --level"
        )
    return keys[0]


def run_whatif(args: argparse.Namespace) -> int:
    from toolkit.scoring.whatif import program_states, whatif

    run = _release_run(args.run_id, args.tracking_uri)
    with tempfile.TemporaryDirectory(prefix="toolkit-whatif-") as tmp:
        got = _download(run, Path(tmp), ("entity_measures.csv", "standardisation.csv", "method.json"))
        em = pd.read_csv(got["entity_measures.csv"], keep_default_na=False, na_values=[""], dtype={"entity_id": str})
        std = pd.read_csv(got["standardisation.csv"])
        method = _method(got["method.json"])
    program, level = _pick(em, args.entity, args.measure, args.level, args.program)
    states = program_states(em, method, std)
    if program not in states:
        raise ToolkitError(f"program {program} has no national scale in this release: nothing to recompute")
    r = whatif(states[program], level, args.entity, args.measure, args.add)

    def stars(k: int) -> str:
        return f"{k} stars" if k else "no stars"

    print(f"{r.program} {r.level} {r.entity_id}: {r.measure} {r.actual_before:g} -> {r.actual:g} of n = {r.n:g}")
    print(f"performance score: {r.performance_score_before:.6f} -> {r.performance_score:.6f}")
    print(f"star percentage: {r.star_percentage_before:g} -> {r.star_percentage:g}")
    print(f"stars (calculated): {stars(r.stars_before)} -> {stars(r.stars)}")
    print("national parameters held fixed (standardisation and national average of run " + run.run_id + ")")
    return 0
