"""A DCP KPI assessment end to end: validate, check, assess, roll up, write, track.

:func:`compute_dcp` is pure (tables in, tables out). :func:`run_dcp_report` validates the input
folder against ``data_contracts/dcp/`` before anything is created (a bad input leaves no run
and no folder), then opens an MLflow parent run like a DES release (config and catalogue
hashes, SHA-256 of every input file, git state, package versions), writes its tables to a new
folder ``<output_root>/<name>-<UTC time>-<run id>`` and logs them as artifacts together with the
exact config and resolved catalogue, which is what reproduction needs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from toolkit.config import config_hash
from toolkit.contracts import validate_dir
from toolkit.html import render
from toolkit.html.frames import frame_table
from toolkit.schemes.config import output_root
from toolkit.schemes.dcp.assess import assess, expected_submissions
from toolkit.schemes.dcp.catalogue import Catalogue, load_catalogue
from toolkit.schemes.dcp.config import (
    DcpReportConfig,
    catalogue_path,
    load_report_config,
)
from toolkit.schemes.dcp.rollup import level3_runs, rollup
from toolkit.schemes.dcp.submissions import REASONS, check_submissions
from toolkit.tracking.lifecycle import RunSpec, job_spec, tracked_run
from toolkit.tracking.provenance import input_hashes, run_params

CONTRACTS = "dcp"  # data_contracts/dcp/ (a workspace may override files)
TABLES = ("providers", "provider_services", "kpi_submissions")
OUTPUT_FILES = (
    "kpi_results.csv",
    "rollup.csv",
    "level3_runs.csv",
    "exclusions.csv",
    "ledger.csv",
    "catalogue_readings.csv",
    "report.md",
    "report.html",
)


@dataclass
class DcpResult:
    results: pd.DataFrame
    rollup: pd.DataFrame
    runs: pd.DataFrame
    exclusions: pd.DataFrame
    ledger: pd.DataFrame
    readings: pd.DataFrame


def load_dcp_tables(data_dir: str | Path) -> dict[str, pd.DataFrame]:
    """Validated tables of a DCP data folder; a :class:`DataContractError` lists every violation."""
    typed, report = validate_dir(data_dir, tables=list(TABLES), contracts_sub=CONTRACTS)
    report.raise_if_invalid(f"DCP tables in {data_dir}")
    return typed


def readings_table(cat: Catalogue) -> pd.DataFrame:
    rows = [{"kpi_id": k.id, "stream": k.stream, "reading": r} for k in cat.kpis for r in k.readings]
    return pd.DataFrame(rows, columns=["kpi_id", "stream", "reading"])


def compute_dcp(tables: dict[str, pd.DataFrame], catalogue: Catalogue, config: DcpReportConfig) -> DcpResult:
    """Results, roll-up, level-3 runs, exclusions and the ledger from validated tables (no I/O)."""
    services = tables["provider_services"]
    checked = check_submissions(tables["kpi_submissions"], services, catalogue, config)
    expected = expected_submissions(services, catalogue, config)
    results = assess(expected, checked, catalogue)
    runs, running = level3_runs(results, config.escalation)
    results["consecutive_level_3"] = running.to_numpy()
    results["escalate"] = results["consecutive_level_3"] >= config.escalation.consecutive_level_3
    n_used = len(checked.used)
    counts = checked.exclusions["reason"].value_counts()
    ledger = pd.DataFrame(
        [{"item": "submissions read", "rows": checked.n_read}, {"item": "used", "rows": n_used}]
        + [{"item": f"excluded: {r}", "rows": int(counts.get(r, 0))} for r in REASONS]
    )
    if n_used + int(counts.sum()) != checked.n_read:  # every row used or listed: a bug otherwise
        raise AssertionError("DCP ledger does not balance")
    return DcpResult(
        results=results,
        rollup=rollup(results),
        runs=runs,
        exclusions=checked.exclusions,
        ledger=ledger,
        readings=readings_table(catalogue),
    )


def write_dcp_outputs(folder: Path, res: DcpResult, config: DcpReportConfig, catalogue: Catalogue) -> None:
    """Write the output tables and the summary (``report.md`` and ``report.html``) to ``folder``."""
    res.results.to_csv(folder / "kpi_results.csv", index=False)
    res.rollup.to_csv(folder / "rollup.csv", index=False)
    res.runs.to_csv(folder / "level3_runs.csv", index=False)
    res.exclusions.to_csv(folder / "exclusions.csv", index=False)
    res.ledger.to_csv(folder / "ledger.csv", index=False)
    res.readings.to_csv(folder / "catalogue_readings.csv", index=False)
    (folder / "report.md").write_text(summary_markdown(res, config, catalogue))
    (folder / "report.html").write_text(summary_html(res, config, catalogue), encoding="utf-8")


def summary_html(res: DcpResult, config: DcpReportConfig, catalogue: Catalogue) -> str:
    """The summary of ``report.md`` as a page (template ``dcp_report.html.j2``); deterministic (no run
    id), so a reproduction compares it byte for byte."""
    r = res.results
    t1 = r[r["tier"] == 1]
    statuses = ("assessed", "reported", "no_cases", "not_submitted", "invalid")
    status = pd.DataFrame(
        {
            "status": statuses,
            "Tier 1": [int((t1["status"] == st).sum()) for st in statuses],
            "Tier 2": [int(((r["tier"] == 2) & (r["status"] == st)).sum()) for st in statuses],
        }
    )
    levels = pd.DataFrame({"level": [1, 2, 3], "Tier 1 rows": [int((t1["level"] == lvl).sum()) for lvl in (1, 2, 3)]})
    esc = res.runs[res.runs["escalated"]]
    runs = pd.DataFrame(
        {
            "provider": esc["provider_id"].astype(str),
            "service type": esc["service_type"].astype(str),
            "KPI": esc["kpi_id"].astype(str),
            "first quarter": esc["first_quarter"].astype(str),
            "last quarter": esc["last_quarter"].astype(str),
            "quarters": esc["quarters"].astype(int),
            "ongoing": ["ongoing" if o else "" for o in esc["ongoing"]],
        }
    )
    ledger = res.ledger.loc[res.ledger["rows"].astype(bool), ["item", "rows"]]
    return render(
        "dcp_report.html.j2",
        title=f"DCP KPI assessment {config.name}",
        run_note=(
            f"Quarters {config.periods.first} to {config.periods.last}; catalogue {catalogue.catalogue} "
            f"version {catalogue.version}."
        ),
        status=frame_table(status),
        levels=frame_table(levels),
        escalation=(
            f"Runs of level 3: {len(res.runs)}; escalated (>= {config.escalation.consecutive_level_3} "
            f"consecutive quarters): {len(esc)}."
        ),
        runs=frame_table(runs),
        ledger=frame_table(ledger),
        readings=frame_table(res.readings.rename(columns={"kpi_id": "KPI", "stream": "stream", "reading": "reading"})),
    )


def summary_markdown(res: DcpResult, config: DcpReportConfig, catalogue: Catalogue) -> str:
    r = res.results
    t1 = r[r["tier"] == 1]
    lines = [
        f"# DCP KPI assessment {config.name}",
        "",
        f"Quarters {config.periods.first} to {config.periods.last}; catalogue {catalogue.catalogue} "
        f"version {catalogue.version}.",
        "",
        "| status | Tier 1 | Tier 2 |",
        "| --- | --- | --- |",
    ]
    for st in ("assessed", "reported", "no_cases", "not_submitted", "invalid"):
        lines.append(
            f"| {st} | {int((t1['status'] == st).sum())} | {int(((r['tier'] == 2) & (r['status'] == st)).sum())} |"
        )
    lines += ["", "| level | Tier 1 rows |", "| --- | --- |"]
    for lvl in (1, 2, 3):
        lines.append(f"| {lvl} | {int((t1['level'] == lvl).sum())} |")
    esc = res.runs[res.runs["escalated"]]
    lines += [
        "",
        f"Runs of level 3: {len(res.runs)}; escalated (>= {config.escalation.consecutive_level_3} "
        f"consecutive quarters): {len(esc)}.",
        "",
    ]
    for x in esc.itertuples(index=False):
        lines.append(
            f"- {x.provider_id} {x.service_type} KPI {x.kpi_id}: {x.first_quarter} to {x.last_quarter} "
            f"({x.quarters} quarters{', ongoing' if x.ongoing else ''})"
        )
    lines += ["", "Submissions:", ""] + [f"- {row.item}: {row.rows}" for row in res.ledger.itertuples() if row.rows]
    lines += ["", "Readings of the seed applied by the catalogue:", ""]
    lines += [f"- KPI {x.kpi_id} ({x.stream}): {x.reading}" for x in res.readings.itertuples(index=False)]
    return "\n".join(lines) + "\n"


@dataclass
class DcpRun:
    run_id: str
    folder: Path
    result: DcpResult
    tracking_uri: str


def _run_spec(
    cfg: DcpReportConfig,
    cpath: Path,
    cat: Catalogue,
    cat_path: Path,
    data_dir: Path,
    hashes: dict[str, str],
    out_root: str | Path | None,
) -> RunSpec:
    """The tracked run of an assessment: provenance params (with the catalogue's hash and version)."""
    params = run_params(
        cfg.model_dump(mode="json"),
        hashes,
        "none (deterministic)",
        {
            "scheme": "dcp",
            "name": cfg.name,
            "config_file": str(cpath),
            "catalogue_hash": config_hash(cat.model_dump(mode="json")),
            "catalogue_file": str(cat_path),
            "catalogue_version": cat.version,
            "data_dir": str(data_dir.resolve()),
        },
    )
    return job_spec(
        cfg,
        "dcp",
        params,
        out_root,
        artifact_path="outputs",
        config_artifact="inputs/config.json",
        tags={"scheme": "dcp"},
    )


def run_dcp_report(
    data_dir: str | Path,
    *,
    config: str | Path = "schemes/dcp/report.yaml",
    catalogue: str | Path | None = None,
    tracking_uri: str | None = None,
    out_root: str | Path | None = None,
    say: Callable[[str], None] = lambda msg: None,
) -> DcpRun:
    """Validate, assess and track one DCP KPI run; see the module docstring."""
    cfg, cpath = load_report_config(config)
    cat_path = Path(catalogue) if catalogue is not None else catalogue_path(cfg, cpath)
    cat = load_catalogue(cat_path)
    data_dir = Path(data_dir).absolute()
    out_root = output_root(cfg.output_root, out_root)
    say(f"reads: data {data_dir}, config {cpath.absolute()}, catalogue {cat_path.absolute()}")
    say(f"writes: a new folder under {out_root}")
    say(f"validating the tables in {data_dir}")
    tables = load_dcp_tables(data_dir)
    hashes = input_hashes(data_dir, "*.csv") | input_hashes(data_dir, "*.parquet")
    t0 = time.perf_counter()
    with tracked_run(_run_spec(cfg, cpath, cat, cat_path, data_dir, hashes, out_root), tracking_uri, say) as tr:
        tr.log_json(cat.model_dump(mode="json"), "catalogue.json", "inputs")
        tr.log_json(hashes, "input_sha256.json", "inputs")
        res = compute_dcp(tables, cat, cfg)
        write_dcp_outputs(tr.folder, res, cfg, cat)
        tr.write_record(
            {
                "run_id": tr.run_id,
                "tracking_uri": tr.tracking_uri,
                "config_hash": tr.params["config_hash"],
                "catalogue_hash": tr.params["catalogue_hash"],
                "input_sha256": hashes,
            },
            log=False,
        )
        tr.log_files([*OUTPUT_FILES, "run.json"])
        t1 = res.results[res.results["tier"] == 1]
        tr.log_metrics(
            {
                "rows": len(res.results),
                "level_3": (t1["level"] == 3).sum(),
                "escalated_runs": res.runs["escalated"].sum(),
                "excluded_submissions": len(res.exclusions),
                "seconds": time.perf_counter() - t0,
            }
        )
    say(f"done in {time.perf_counter() - t0:.1f}s: {tr.folder}")
    return DcpRun(run_id=tr.run_id, folder=tr.folder, result=res, tracking_uri=tr.tracking_uri)
