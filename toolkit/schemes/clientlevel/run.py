"""A client-level run end to end: load (pseudonymised), compute, publish, scan, track, register.

:func:`compute_clientlevel` is pure. :func:`run_clientlevel` validates the input folder before
anything is created (bad input: a clear error, no run, no folder), then opens an MLflow parent
run like a DES release (config hash, SHA-256 of every input file, git state, package versions,
seed; the exact config as ``inputs/config.json``), writes the published tables to a new folder
``<output_root>/<name>-<UTC time>-<run id>``, scans that folder (no secret, no pseudonym, no
unsuppressed small count) and only then logs it. A child run holds the expected model, logged and
registered as a pyfunc; the ``champion`` alias moves to it only when the model checks and the
privacy scan passed. ``restricted/`` (record level, consenting people only) stays in the folder.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from toolkit.output import private_folder, write_private_csv
from toolkit.privacy import PrivacyError, Secret, TableRule, scan_outputs
from toolkit.schemes.clientlevel.compare import (
    Comparison,
    check_comparison,
    check_model_spec,
    compare_services,
)
from toolkit.schemes.clientlevel.config import (
    ClientLevelConfig,
    load_clientlevel_config,
)
from toolkit.schemes.clientlevel.features import (
    enrolment_facts,
    model_frame,
    sessions_by_period,
)
from toolkit.schemes.clientlevel.load import (
    MODEL_CONTRACTS,
    ClientData,
    load_client_data,
)
from toolkit.schemes.clientlevel.publish import Publication, build_publication
from toolkit.schemes.clientlevel.scorecard import ALL, count_cells, service_counts
from toolkit.schemes.config import output_root
from toolkit.tracking.lifecycle import RunSpec, TrackedRun, job_spec, tracked_run
from toolkit.tracking.models import input_contract
from toolkit.tracking.provenance import input_hashes, run_params

#: Published files (relative to the run folder), logged under ``outputs/``; compared by reproduction.
PUBLISHED = (
    "scorecard.csv",
    "comparison.csv",
    "calibration.csv",
    "data_quality.csv",
    "model/coefficients.csv",
    "model/design_state.json",
    "model/summary.txt",
    "plots/funnel.png",
    "plots/funnel_providers.png",
    "plots/calibration.png",
    "report.md",
    "report.html",
    "manifest.json",
)


@dataclass
class ClientResults:
    comparison: Comparison
    publication: Publication
    failed_checks: list[str] = field(default_factory=list)


def compute_clientlevel(data: ClientData, config: ClientLevelConfig) -> ClientResults:
    """Scorecard cells, comparison and the protected publication from loaded data (no I/O)."""
    facts = enrolment_facts(data.enrolments, data.assessments, config)
    sessions = sessions_by_period(data.sessions, facts, config)
    counts = service_counts(facts, sessions, config)
    values, published, relations = count_cells(counts, data.services, config)
    comp = compare_services(model_frame(facts), data.services, config)
    pub = build_publication(values, published, relations, comp, data.services, data.ledger, data.exclusions, config)
    return ClientResults(comparison=comp, publication=pub, failed_checks=check_comparison(comp, config))


def write_clientlevel_outputs(folder: Path, res: ClientResults, config: ClientLevelConfig) -> None:
    """Write the published files (:data:`PUBLISHED`) and ``restricted/``."""
    from toolkit.expected import diagnostics as dx

    pub, comp = res.publication, res.comparison
    for d in ("model", "plots"):
        (folder / d).mkdir(parents=True, exist_ok=True)
    private_folder(folder / "restricted")  # record level: owner-only, never tracked
    for name, df in pub.tables.items():
        df.to_csv(folder / name, index=False)
    comp.model.summary().to_csv(folder / "model" / "coefficients.csv", index_label="term")
    (folder / "model" / "design_state.json").write_text(
        json.dumps(comp.model.design_state_.to_dict(), indent=1, sort_keys=True)
    )
    (folder / "model" / "summary.txt").write_text(comp.model.summary_text())
    fu = pub.funnel_units
    if len(fu):
        dx.funnel_plot(
            fu.assign(oe=fu["oe"].astype(float)),
            folder / "plots" / "funnel.png",
            config.funnel_levels,
            title="Better off: service O/E (services with published counts)",
        )
    fp = pub.funnel_providers
    if len(fp):
        dx.funnel_plot(
            fp.assign(oe=fp["oe"].astype(float)),
            folder / "plots" / "funnel_providers.png",
            config.funnel_levels,
            title="Better off: provider O/E",
        )
    cal = pub.tables["calibration.csv"]
    shown = cal[cal["observed_rate"] != ""]
    dx.calibration_plot(
        shown.astype({"observed_rate": float, "expected_rate": float}),
        folder / "plots" / "calibration.png",
        title="Better off: calibration by risk decile",
    )
    (folder / "report.md").write_text(_report(res, config))
    (folder / "report.html").write_text(_report_html(res, config), encoding="utf-8")
    manifest = {
        "threshold": config.privacy.threshold,
        "marker": config.privacy.marker,
        "suppress_zero": config.privacy.suppress_zero,
        "tables": {
            k: {"counts": list(r.counts), "rates": {a: list(b) for a, b in r.rates.items()}}
            for k, r in pub.rules.items()
        },
        "restricted": sorted(f"restricted/{n}" for n in pub.restricted),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    for name, df in pub.restricted.items():
        write_private_csv(df, folder / "restricted" / name)


def _report_parts(res: ClientResults, config: ClientLevelConfig) -> tuple[str, list[str]]:
    """The report's title and paragraphs (Markdown code spans in backticks)."""
    sc = res.publication.tables["scorecard.csv"]
    nat = sc[(sc["level"] == "national") & (sc["period"] == ALL)].iloc[0]
    table = res.publication.tables["comparison.csv"]
    comp = table[table["level"] == "service"]
    shown = comp[comp["oe"] != ""]
    prov = table[table["level"] == "provider"]
    pshown = prov[prov["oe"] != ""]
    p = res.publication.protection
    paragraphs = [
        f"Window {config.window.start} to {config.window.end}, financial years "
        f"{', '.join(x for x, _, _ in config.periods())}.",
        f"Nationally: {nat['clients']} client-services, {nat['starts']} starts, {nat['ended']} ended, "
        f"{nat['assessed_any']} assessed pre and post, {nat['improved_any']} better off.",
        f"Risk-adjusted comparison: {len(comp)} services, {len(shown)} with published O/E "
        f"({int((shown['funnel'] == 'above').sum())} above and {int((shown['funnel'] == 'below').sum())} below "
        f"the {max(config.funnel_levels):.1%} funnel limits); service-effect spread tau = "
        f"{res.comparison.tau:.3f} on the log-odds scale.",
        f"Per provider (its services together; expected counts summed over them): {len(prov)} providers, "
        f"{len(pshown)} with published O/E ({int((pshown['funnel'] == 'above').sum())} above and "
        f"{int((pshown['funnel'] == 'below').sum())} below the {max(config.funnel_levels):.1%} funnel limits); "
        f"provider-effect spread tau = {res.comparison.tau_provider:.3f}, shrunk at provider level like the "
        f"services (`comparison.csv` rows with level = provider, `plots/funnel_providers.png`).",
        f"Small-cell suppression: counts below {config.privacy.threshold} hidden; scorecard cells "
        f"{int(p.primary.sum())} primary, {int(p.complementary.sum())} complementary; every suppressed small "
        f"count leaves a reader at least {config.privacy.min_values} possible values "
        f"(checked by an integer-programming attacker).",
    ]
    return f"Client-level results {config.name}", paragraphs


def _report(res: ClientResults, config: ClientLevelConfig) -> str:
    title, paragraphs = _report_parts(res, config)
    lines = [f"# {title}", ""]
    for para in paragraphs:
        lines += [para, ""]
    if res.failed_checks:
        lines += ["Model checks FAILED:", ""] + [f"- {f}" for f in res.failed_checks] + [""]
    return "\n".join(lines)


def _report_html(res: ClientResults, config: ClientLevelConfig) -> str:
    """``report.html`` (template ``clientlevel_report.html.j2``): the summary of ``report.md``, the
    published comparison (services, providers) and national scorecard, the funnel and calibration plots
    as inline SVG. Only published (privacy-protected) tables are shown."""
    from toolkit.expected import diagnostics as dx
    from toolkit.html import render, svg
    from toolkit.html.frames import frame_table

    pub = res.publication
    title, paragraphs = _report_parts(res, config)
    table = pub.tables["comparison.csv"]
    sc = pub.tables["scorecard.csv"]
    figures = []
    for units, what in ((pub.funnel_units, "service"), (pub.funnel_providers, "provider")):
        if len(units):
            fig = dx.funnel_figure(
                units.assign(oe=units["oe"].astype(float)), config.funnel_levels, title=f"Better off: {what} O/E"
            )
            figures.append(
                svg(fig, title=f"Funnel plot of {what} observed/expected better-off counts against expected counts")
            )
    cal = pub.tables["calibration.csv"]
    shown = cal[cal["observed_rate"] != ""]
    fig = dx.calibration_figure(
        shown.astype({"observed_rate": float, "expected_rate": float}), title="Better off: calibration by risk decile"
    )
    figures.append(svg(fig, title="Calibration: observed against expected better-off rate by risk decile"))
    return render(
        "clientlevel_report.html.j2",
        title=title,
        run_note=f"Window {config.window.start} to {config.window.end}",
        paragraphs=[x.replace("`", "") for x in paragraphs],
        failed=res.failed_checks,
        national=frame_table(sc[sc["level"] == "national"]),
        services=frame_table(table[table["level"] == "service"]),
        providers=frame_table(table[table["level"] == "provider"]),
        figures=figures,
    )


def scan_folder(
    folder: Path, res: ClientResults, data: ClientData, secret: Secret, config: ClientLevelConfig
) -> list[str]:
    """Published part: no secret, no pseudonym, no small count; restricted part: no secret, no
    pseudonym of a person without consent."""
    pv = config.privacy
    found = scan_outputs(
        folder,
        res.publication.rules,
        secret=secret,
        forbidden_tokens=data.keys,
        threshold=pv.threshold,
        marker=pv.marker,
        suppress_zero=pv.suppress_zero,
        skip=["restricted", "run.json"],
    )
    found += [
        f"restricted/{f}"
        for f in scan_outputs(
            folder / "restricted",
            {n: TableRule((), {}) for n in res.publication.restricted},
            secret=secret,
            forbidden_tokens=data.nonconsenting_keys,
        )
    ]
    return found


@dataclass
class ClientRun:
    run_id: str
    folder: Path
    status: str
    results: ClientResults
    model_version: str | None
    tracking_uri: str
    scan_findings: list[str]


def _run_spec(
    cfg: ClientLevelConfig,
    cpath: Path,
    data_dir: Path,
    hashes: dict[str, str],
    secret: Secret,
    out_root: str | Path | None,
) -> RunSpec:
    """The tracked run of a client-level report: provenance params; errors recorded by type only, because
    their messages may name files or findings of the privacy scan."""
    params = run_params(
        cfg.model_dump(mode="json"),
        hashes,
        cfg.seed,
        {
            "scheme": "clientlevel",
            "name": cfg.name,
            "config_file": str(cpath),
            "data_dir": str(data_dir.resolve()),
            "secret_source": secret.source,
        },
    )
    return job_spec(
        cfg,
        "clientlevel",
        params,
        out_root,
        artifact_path="outputs",
        config_artifact="inputs/config.json",
        tags={"scheme": "clientlevel"},
        error_detail=False,
    )


def _publish(
    tr: TrackedRun,
    res: ClientResults,
    data: ClientData,
    secret: Secret,
    cfg: ClientLevelConfig,
    say: Callable[[str], None],
) -> str | None:
    """Write the published files, scan them (nothing is logged when the scan finds anything), track the model
    and log the files; returns the registered model version."""
    write_clientlevel_outputs(tr.folder, res, cfg)
    findings = scan_folder(tr.folder, res, data, secret, cfg)
    if findings:
        raise PrivacyError("the outputs would disclose (nothing was logged):\n  - " + "\n  - ".join(findings))
    say(f"privacy scan of {tr.folder.name}: clean")
    version = _track_model(tr, res, cfg)
    tr.log_files(PUBLISHED)
    return version


def run_clientlevel(
    data_dir: str | Path,
    secret_env: str,
    *,
    config: str | Path = "schemes/clientlevel/report.yaml",
    tracking_uri: str | None = None,
    out_root: str | Path | None = None,
    say: Callable[[str], None] = lambda msg: None,
) -> ClientRun:
    """Run and track one client-level report; see the module docstring."""
    cfg, cpath = load_clientlevel_config(config)
    check_model_spec(cfg)
    secret = Secret.from_env(secret_env, cfg.privacy.secret_min_length)
    data_dir = Path(data_dir).absolute()
    out_root = output_root(cfg.output_root, out_root)
    say(f"reads: data {data_dir}, config {cpath.absolute()}; writes: a new folder under {out_root}")
    say(f"validating and pseudonymising the tables in {data_dir}")
    data = load_client_data(data_dir, secret, cfg)
    hashes = input_hashes(data_dir, "*.csv") | input_hashes(data_dir, "*.parquet")
    spec = _run_spec(cfg, cpath, data_dir, hashes, secret, out_root)
    t0 = time.perf_counter()
    with tracked_run(spec, tracking_uri, say) as tr:
        tr.log_json(hashes, "input_sha256.json", "inputs")
        res = compute_clientlevel(data, cfg)
        version = _publish(tr, res, data, secret, cfg, say)
        tr.fail_checks(res.failed_checks)
        tr.write_record(
            {
                "run_id": tr.run_id,
                "tracking_uri": tr.tracking_uri,
                "config_hash": spec.params["config_hash"],
                "input_sha256": hashes,
                "model_version": version,
                "privacy_scan": "clean",
            },
        )
        tr.log_metrics(
            {
                "seconds": time.perf_counter() - t0,
                "tau": res.comparison.tau,
                "suppressed_cells": res.publication.protection.suppressed.sum(),
            }
        )
        if tr.status == "passed" and version is not None and cfg.tracking.register_model:
            tr.set_aliases({cfg.tracking.model_name: version}, cfg.tracking.alias)
            say(
                f"checks and privacy scan passed; alias '{cfg.tracking.alias}' on {cfg.tracking.model_name} "
                f"version {version}"
            )
    say(f"done in {time.perf_counter() - t0:.1f}s: {tr.folder}")
    return ClientRun(
        run_id=tr.run_id,
        folder=tr.folder,
        status=tr.status,
        results=res,
        model_version=version,
        tracking_uri=tr.tracking_uri,
        scan_findings=[],
    )


def _track_model(tr: TrackedRun, res: ClientResults, cfg: ClientLevelConfig) -> str | None:
    """The expected model's child run: formula, metrics (n and events only when their national counts are
    published), its files, and the pyfunc with the derived model-input contract."""
    comp, pub = res.comparison, res.publication
    with tr.child(cfg.tracking.model_name, "expected_model", {"scheme": "clientlevel"}) as child:
        child.log_params(
            {
                "formula": cfg.model.formula,
                "outcome": cfg.model.outcome,
                "seed": cfg.seed,
                "shrinkage": cfg.shrinkage.model_dump(mode="json"),
            }
        )
        metrics = {k: float(v) for k, v in comp.metrics.items() if k not in ("n", "events")}
        nat = pub.protection.suppressed
        if not nat[("assessed_any", "national", ALL, ALL)] and not nat[("improved_any", "national", ALL, ALL)]:
            metrics |= {"n": comp.metrics["n"], "events": comp.metrics["events"]}  # published national counts
        child.log_metrics(metrics)
        child.log_files(
            tr.folder / name
            for name in (
                "model/coefficients.csv",
                "model/design_state.json",
                "model/summary.txt",
                "plots/calibration.png",
                "calibration.csv",
            )
        )
        # the model reads derived columns (data_contracts/clientlevel/derived/model_input.yaml), not DES tables
        contract = input_contract(
            comp.model.design_state_.source_columns,
            cfg.tracking.model_name,
            tables=("model_input",),
            contracts_dir=MODEL_CONTRACTS,
        )
        return child.log_model(
            comp.model, cfg.tracking.model_name, register=cfg.tracking.register_model, contract=contract
        )


def read_published(folder: Path) -> dict[str, pd.DataFrame]:
    """The published CSV tables of a run folder."""
    return {n: pd.read_csv(folder / n, dtype=str, keep_default_na=False) for n in PUBLISHED if n.endswith(".csv")}
