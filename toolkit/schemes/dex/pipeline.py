"""A partnership-approach report end to end: validate, SLK step, SCORE, measures, intervals, report, track.

:func:`compute_dex_report` is pure (tables in, tables out). :func:`run_dex_report` reads a
folder, runs it as an MLflow parent run in the config's experiment (``dex-partnership``)
with the config hash, input SHA-256, git state, package versions and seed, writes the
outputs to a new folder and logs the aggregate ones. ``exclusions.csv`` lists excluded
records by their pseudonymous ids; it stays in the folder and only its summary is logged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from toolkit.output import Progress, write_private_csv
from toolkit.schemes.config import output_root
from toolkit.schemes.dex import score
from toolkit.schemes.dex.config import DexConfig
from toolkit.schemes.dex.measures import (
    compliance_table,
    provider_periods,
    reporting_periods,
    slk_summary,
)
from toolkit.schemes.dex.report import overview, write_report
from toolkit.schemes.dex.tables import DexData, contracts_dir, load_dex_data
from toolkit.tracking.lifecycle import RunSpec, TrackedRun, job_spec, tracked_run
from toolkit.tracking.provenance import git_label, input_hashes, run_params

#: Files of a report folder logged to MLflow (under ``dex/``); all aggregate.
LOGGED = [
    "compliance.csv",
    "overview.csv",
    "priors.csv",
    "provider_periods.csv",
    "score_domains.csv",
    "slk_summary.csv",
    "accounting.csv",
    "exclusions_summary.csv",
    "report.html",
    "report.md",
    "providers",
    "run.json",
]


@dataclass
class DexReport:
    """What a partnership-approach report computes, before anything is written or tracked."""

    compliance: pd.DataFrame
    priors: pd.DataFrame
    overview: pd.DataFrame
    activity: pd.DataFrame
    domains: pd.DataFrame
    slk: pd.DataFrame
    accounting: pd.DataFrame
    exclusions: pd.DataFrame


def compute_dex_report(data: DexData, config: DexConfig) -> DexReport:
    """All the report's tables from a validated, name-free extract (no I/O, no randomness)."""
    compliance, priors = compliance_table(data, config)
    domains = [
        score.domain_summary(data.assessments, p, config.score.order_by).assign(period=p.label)
        for p in reporting_periods(data, config)
    ]
    dom = pd.concat(domains, ignore_index=True) if domains else pd.DataFrame(columns=["period"])
    dom = dom[["period"] + [c for c in dom.columns if c != "period"]]
    return DexReport(
        compliance=compliance,
        priors=priors,
        overview=overview(compliance),
        activity=provider_periods(data, config),
        domains=dom,
        slk=slk_summary(data),
        accounting=data.accounting,
        exclusions=data.exclusions,
    )


def exclusion_summary(exclusions: pd.DataFrame) -> pd.DataFrame:
    if exclusions.empty:
        return pd.DataFrame(columns=["table", "reason", "records"])
    return exclusions.groupby(["table", "reason"], sort=True).size().rename("records").reset_index()


def write_tables(folder: Path, rep: DexReport) -> None:
    rep.compliance.to_csv(folder / "compliance.csv", index=False)
    rep.overview.to_csv(folder / "overview.csv", index=False)
    rep.priors.to_csv(folder / "priors.csv", index=False)
    rep.activity.to_csv(folder / "provider_periods.csv", index=False)
    rep.domains.to_csv(folder / "score_domains.csv", index=False)
    rep.slk.to_csv(folder / "slk_summary.csv", index=False)
    rep.accounting.to_csv(folder / "accounting.csv", index=False)
    write_private_csv(rep.exclusions, folder / "exclusions.csv")  # record level: owner-only, never tracked
    exclusion_summary(rep.exclusions).to_csv(folder / "exclusions_summary.csv", index=False)


@dataclass
class DexRunResult:
    run_id: str
    folder: Path
    tracking_uri: str
    report: DexReport


def _run_spec(
    config: DexConfig, data_dir: Path, config_path: str | Path | None, out_root: str | Path | None
) -> RunSpec:
    """The tracked run of a report: provenance params, experiment, output root."""
    params = run_params(
        config.model_dump(mode="json"),
        input_hashes(data_dir),
        config.seed,
        {"data_dir": str(data_dir.resolve()), "config_file": str(config_path or ""), "scheme": "dex-partnership"},
    )
    return job_spec(
        config,
        "dex",
        params,
        out_root,
        artifact_path="dex",
    )


def _write_reports(tr: TrackedRun, rep: DexReport, data: DexData, config: DexConfig) -> None:
    """The HTML and Markdown reports, with a provenance note, and ``run.json``."""
    params = tr.params
    note = (
        f"Config {config.name} (hash {params['config_hash'][:12]}), MLflow run {tr.run_id}, "
        f"git {git_label(params)}; {int(config.bayes.interval * 100)}% credible intervals, prior: "
        f"{config.bayes.method}; change rule: {config.score.change_rule}."
    )
    write_report(
        tr.folder,
        config,
        rep.compliance,
        rep.priors,
        rep.activity,
        rep.slk,
        rep.accounting,
        data.tables["organisations"],
        data.tables["program_activities"],
        note,
    )
    tr.write_record(
        {
            "run_id": tr.run_id,
            "tracking_uri": tr.tracking_uri,
            "config": config.name,
            "config_hash": params["config_hash"],
            "input_sha256": params["input_sha256"],
            "git_commit": params["git_commit"],
            "git_dirty": params["git_dirty"],
        },
        log=False,
    )


def run_dex_report(
    config: DexConfig,
    data_dir: str | Path,
    *,
    config_path: str | Path | None = None,
    tracking_uri: str | None = None,
    out_root: str | Path | None = None,
    progress: bool = True,
) -> DexRunResult:
    """Run the partnership-approach report on the DEX tables in ``data_dir``; see the module docstring."""
    say = Progress(progress, "dex")
    data_dir = Path(data_dir).absolute()
    root = output_root(config.output_root, out_root)
    say(f"reads: data {data_dir}, contracts data_contracts/{contracts_dir(config)}; writes: a new folder under {root}")
    t0 = time.perf_counter()
    say(f"validating the DEX tables in {data_dir}")
    data = load_dex_data(data_dir, config)  # raises, naming table, column, rule and count
    out_root = root
    with tracked_run(_run_spec(config, data_dir, config_path, out_root), tracking_uri, say) as tr:
        rep = compute_dex_report(data, config)
        write_tables(tr.folder, rep)
        _write_reports(tr, rep, data, config)
        tr.log_files(LOGGED)
        tr.log_metrics(run_metrics(rep) | {"seconds": time.perf_counter() - t0})
    say(f"done in {time.perf_counter() - t0:.1f}s: {tr.folder}")
    return DexRunResult(run_id=tr.run_id, folder=tr.folder, tracking_uri=tr.tracking_uri, report=rep)


def run_metrics(rep: DexReport) -> dict[str, float]:
    """Headline figures: providers, records, and per measure the share of assessed providers meeting it."""
    c = rep.compliance
    out = {
        "provider_periods": float(len(c[["period", "organisation_id", "activity_id"]].drop_duplicates())),
        "records_read": float(rep.accounting["read"].sum()),
        "records_excluded": float(rep.accounting["excluded"].sum()),
    }
    assessed = c.loc[c["status"].isin(["met", "not met"])]
    for m, g in assessed.groupby("measure"):
        out[f"share_met.{m}"] = float((g["status"] == "met").mean())
        out[f"clearly_short.{m}"] = float((g["verdict"] == "clearly short").sum())
    return out
