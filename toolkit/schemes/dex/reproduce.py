"""Re-run a tracked partnership-approach report and compare its tables with the tracked ones.

The run carries the exact config (``dex/config.json``), the SHA-256 of every input file and
the seed (``dex/run.json``) and the aggregate tables (``dex/*.csv``). The report draws no
random numbers (the salted linkage hash changes per process but only ever counts), so every
tracked table must be recomputed byte for byte. The HTML and Markdown reports name the run
and its git commit and are not compared; ``exclusions.csv`` (record level) is never tracked.
"""

from __future__ import annotations

from pathlib import Path

from toolkit.schemes.dex.config import DexConfig
from toolkit.schemes.dex.pipeline import compute_dex_report, write_tables
from toolkit.schemes.dex.tables import load_dex_data
from toolkit.tracking.reproduce import (
    Reproduction,
    check_inputs,
    compare_outputs,
    fetch_run,
    read_tracked_json,
    scratch_folder,
    tracked_config,
)

#: The tracked tables compared, with the columns that identify a row (for naming differences).
TABLES: dict[str, tuple[str, ...]] = {
    "compliance.csv": ("period", "organisation_id", "activity_id", "measure"),
    "overview.csv": ("period", "measure"),
    "priors.csv": ("period", "measure"),
    "provider_periods.csv": ("period", "organisation_id", "activity_id"),
    "score_domains.csv": ("period", "organisation_id", "activity_id", "score_type", "domain"),
    "slk_summary.csv": ("organisation_id",),
    "accounting.csv": ("table",),
    "exclusions_summary.csv": ("table", "reason"),
}


def reproduce_dex(
    run_id: str,
    *,
    data_dir: str | Path | None = None,
    tracking_uri: str | None = None,
    scratch: str | Path | None = None,
) -> Reproduction:
    """Recompute ``run_id`` from its tracked config and the (hash-checked) DEX tables; compare the tables."""
    with fetch_run(
        run_id,
        scheme="dex-partnership",
        what="a DEX partnership-approach report",
        tracking_uri=tracking_uri,
        artifact_path="dex",
    ) as run:
        config = tracked_config(DexConfig, run)
        data = Path(data_dir or run.params["data_dir"])
        check_inputs(read_tracked_json(run, "run.json")["input_sha256"], data)
        out = scratch_folder(scratch, run)
        write_tables(out, compute_dex_report(load_dex_data(data, config), config))
        return compare_outputs(run_id, run.artifacts, out, TABLES)
