"""``toolkit evaluate`` end to end: read (or simulate) a cohort, evaluate, write, track.

Each run is an MLflow parent run in the config's experiment (``cohort-evaluation``) with the
config hash, the input file's SHA-256 (for a synthetic cohort: of the simulated table, which
is written to the output folder), git state, package versions and seed. Outputs go to a new
folder; only aggregate files are logged (the evaluation per domain, the statement, the
report), never participant rows.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.config import config_reference
from toolkit.contracts import Violation, check_table, load_contract, read_raw
from toolkit.errors import DataContractError, InputError
from toolkit.output import Progress, write_private_csv
from toolkit.schemes.cohort.config import CohortConfig
from toolkit.schemes.cohort.evaluate import _tag, evaluate_cohort
from toolkit.schemes.cohort.report import html_report, statement
from toolkit.schemes.config import output_root
from toolkit.tracking.lifecycle import RunSpec, TrackedRun, job_spec, tracked_run
from toolkit.tracking.provenance import git_label, run_params

LOGGED = ["evaluation.csv", "statement.md", "report.html", "exclusions_summary.csv", "run.json"]


def check_cohort(raw: pd.DataFrame, config: CohortConfig) -> pd.DataFrame:
    """Validate a cohort table against its contract and the config's domains; raise listing every violation."""
    contract = load_contract(config_reference(config.contract, "contract", f"cohort config {config.name}"))
    typed, violations, _notes = check_table(raw, contract)
    t = contract.table
    if not violations:
        known = typed["domain"].isin(list(config.domains)).to_numpy()
        if (~known).any():
            rows = tuple(int(i) + 1 for i in np.flatnonzero(~known)[:5])
            violations.append(
                Violation(
                    t,
                    "domain",
                    "known_domain",
                    int((~known).sum()),
                    rows,
                    f"domain not among the config's domains ({', '.join(config.domains)})",
                )
            )
        for col in ("pre", "post"):
            lo = typed["domain"].map({d: s.scale[0] for d, s in config.domains.items()})
            hi = typed["domain"].map({d: s.scale[1] for d, s in config.domains.items()})
            out = (typed[col].notna() & known & ((typed[col] < lo) | (typed[col] > hi))).to_numpy(dtype=bool)
            if out.any():
                rows = tuple(int(i) + 1 for i in np.flatnonzero(out)[:5])
                violations.append(
                    Violation(
                        t, col, "domain_scale", int(out.sum()), rows, "value outside its domain's scale in the config"
                    )
                )
    if violations:
        raise DataContractError(
            f"cohort table breaks its contract ({len(violations)} violation(s)):\n"
            + "\n".join(f"  - {v}" for v in violations),
            violations,
        )
    return typed


def read_cohort(path: str | Path, config: CohortConfig) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"cohort file {p} not found")
    if p.suffix not in (".csv", ".parquet"):
        raise InputError(f"cohort file {p}: expected .csv or .parquet")
    try:
        raw = read_raw(p)
    except DataContractError as exc:  # unreadable file: a user problem
        raise InputError(f"cohort file {exc}") from None
    return check_cohort(raw, config)


def add_truth(evaluation: pd.DataFrame, truth: pd.DataFrame, config: CohortConfig) -> pd.DataFrame:
    """Beside each estimate, the simulated truth and whether each interval covers it."""
    ev = evaluation.merge(truth, on="domain", how="left")
    for lv in config.levels:
        t = _tag(lv)
        ev[f"covered_mean_{t}"] = (ev[f"mean_lower_{t}"] <= ev["true_mean_improvement"]) & (
            ev["true_mean_improvement"] <= ev[f"mean_upper_{t}"]
        )
        ev[f"covered_share_{t}"] = (ev[f"share_lower_{t}"] <= ev["true_share_improved"]) & (
            ev["true_share_improved"] <= ev[f"share_upper_{t}"]
        )
    return ev


@dataclass
class CohortInput:
    """A validated cohort with what the run records about it."""

    cohort: pd.DataFrame
    inputs: dict[str, str]  # file name -> SHA-256 (synthetic: of the simulated table as CSV)
    source: str
    truth: pd.DataFrame | None = None  # synthetic cohorts only
    csv_text: str | None = None  # synthetic cohorts only: the simulated table (kept in the folder)


def load_cohort_input(
    config: CohortConfig, *, data: str | Path | None = None, synthetic: int | None = None, seed: int
) -> CohortInput:
    """Read and check a cohort file (``data``), or simulate ``synthetic`` participants with ``seed``."""
    from toolkit.schemes.cohort.simulate import population_truth, simulate_cohort
    from toolkit.tracking.provenance import input_hashes

    if synthetic is not None and data is None:
        cohort = check_cohort(simulate_cohort(synthetic, config, seed), config)
        csv_text = cohort.to_csv(index=False)
        return CohortInput(
            cohort=cohort,
            inputs={"synthetic_cohort.csv": hashlib.sha256(csv_text.encode()).hexdigest()},
            source=f"synthetic cohort of {synthetic} (seed {seed})",
            truth=population_truth(config, seed),
            csv_text=csv_text,
        )
    if data is not None and synthetic is None:
        cohort = read_cohort(data, config)
        p = Path(data)
        return CohortInput(cohort=cohort, inputs=dict(input_hashes(p.parent, p.name)), source=str(p.resolve()))
    raise InputError("give either a cohort file or --synthetic N, not both or neither")


@dataclass
class CohortEvaluation:
    evaluation: pd.DataFrame
    exclusions: pd.DataFrame  # participant ids: never tracked
    exclusions_summary: pd.DataFrame
    statement: str


def compute_evaluation(inp: CohortInput, config: CohortConfig) -> CohortEvaluation:
    """The evaluation per domain (with the truth beside it for a synthetic cohort) and the statement (no I/O)."""
    evaluation, exclusions = evaluate_cohort(inp.cohort, config)
    if inp.truth is not None:
        evaluation = add_truth(evaluation, inp.truth, config)
    text = statement(evaluation, config, int(inp.cohort["participant_id"].nunique()))
    summary = (
        exclusions.groupby(["domain", "reason"]).size().rename("rows").reset_index()
        if not exclusions.empty
        else pd.DataFrame(columns=["domain", "reason", "rows"])
    )
    return CohortEvaluation(evaluation=evaluation, exclusions=exclusions, exclusions_summary=summary, statement=text)


def write_evaluation_tables(folder: Path, ev: CohortEvaluation) -> None:
    """``evaluation.csv``, ``statement.md``, ``exclusions_summary.csv`` and the untracked ``exclusions.csv``."""
    ev.evaluation.to_csv(folder / "evaluation.csv", index=False)
    (folder / "statement.md").write_text(ev.statement)
    write_private_csv(ev.exclusions, folder / "exclusions.csv")  # participant ids: owner-only, never tracked
    ev.exclusions_summary.to_csv(folder / "exclusions_summary.csv", index=False)


def key_order(config: CohortConfig) -> dict[str, list[str]]:
    """The order of the config's domains, which the tracked ``config.json`` (sorted keys) and the config
    hash do not keep: it decides the row order of the outputs and a synthetic cohort's random streams."""
    out = {"domains": list(config.domains)}
    if config.simulation is not None:
        out["simulation.domains"] = list(config.simulation.domains)
    return out


@dataclass
class EvaluationResult:
    run_id: str
    folder: Path
    tracking_uri: str
    evaluation: pd.DataFrame
    statement: str


def _run_spec(
    config: CohortConfig,
    inp: CohortInput,
    seed: int,
    synthetic: int | None,
    config_path: str | Path | None,
    out_root: str | Path | None,
) -> RunSpec:
    """The tracked run of an evaluation: provenance params (the input's SHA-256, or a synthetic cohort's size
    and seed), experiment, output root."""
    params = run_params(
        config.model_dump(mode="json"),
        inp.inputs,
        seed,
        {
            "data": inp.source,
            "config_file": str(config_path or ""),
            "synthetic_n": synthetic or "",
            "scheme": "cohort-evaluation",
        },
    )
    return job_spec(config, "evaluate", params, out_root, artifact_path="evaluate")


def _write_run(tr: TrackedRun, inp: CohortInput, ev: CohortEvaluation, config: CohortConfig, seed: int) -> None:
    """The evaluation's tables, its HTML report with a provenance note, ``run.json`` and, for a synthetic
    cohort, the simulated table (participant rows: written, never tracked)."""
    params = tr.params
    if inp.csv_text is not None:
        (tr.folder / "synthetic_cohort.csv").write_text(inp.csv_text)
    note = (
        f"{inp.source}; config {config.name} (hash {params['config_hash'][:12]}); MLflow run {tr.run_id}; "
        f"git {git_label(params)}."
    )
    write_evaluation_tables(tr.folder, ev)
    (tr.folder / "report.html").write_text(html_report(ev.evaluation, config, ev.statement, note))
    tr.write_record(
        {
            "run_id": tr.run_id,
            "tracking_uri": tr.tracking_uri,
            "config": config.name,
            "seed": seed,
            "config_hash": params["config_hash"],
            "input_sha256": inp.inputs,
            "git_commit": params["git_commit"],
            "git_dirty": params["git_dirty"],
            "key_order": key_order(config),
        },
        log=False,
    )


def run_evaluation(
    config: CohortConfig,
    *,
    data: str | Path | None = None,
    synthetic: int | None = None,
    seed: int | None = None,
    config_path: str | Path | None = None,
    tracking_uri: str | None = None,
    out_root: str | Path | None = None,
    progress: bool = True,
) -> EvaluationResult:
    """Evaluate a cohort file (``data``) or a simulated cohort of ``synthetic`` participants; track the run."""
    say = Progress(progress, "evaluate")
    seed = config.seed if seed is None else seed
    t0 = time.perf_counter()
    root = output_root(config.output_root, out_root)
    inp = load_cohort_input(config, data=data, synthetic=synthetic, seed=seed)
    say(f"reads: {Path(data).absolute() if data else 'a simulated cohort'}; writes: a new folder under {root}")
    say(f"evaluating {inp.source}")
    out_root = root
    with tracked_run(_run_spec(config, inp, seed, synthetic, config_path, out_root), tracking_uri) as tr:
        ev = compute_evaluation(inp, config)
        _write_run(tr, inp, ev, config, seed)
        tr.log_files(LOGGED)
        tr.log_metrics(_metrics(ev.evaluation) | {"seconds": time.perf_counter() - t0})
    say(f"done in {time.perf_counter() - t0:.1f}s: {tr.folder}")
    return EvaluationResult(
        run_id=tr.run_id,
        folder=tr.folder,
        tracking_uri=tr.tracking_uri,
        evaluation=ev.evaluation,
        statement=ev.statement,
    )


def _metrics(ev: pd.DataFrame) -> dict[str, float]:
    out = {}
    for _, r in ev.iterrows():
        for k in (
            "n",
            "mean_improvement",
            "share_improved",
            "mean_p_above_threshold",
            "share_p_above_reference",
            "mde_sd",
        ):
            if k in r and pd.notna(r[k]):
                out[f"{r['domain']}.{k}"] = float(r[k])
    return out
