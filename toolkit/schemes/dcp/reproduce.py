"""Re-run a tracked DCP assessment from what its run carries and compare every output file.

The run carries the exact config (``inputs/config.json``), the resolved, validated catalogue
(``inputs/catalogue.json``), the SHA-256 of every input file and the outputs (``outputs/``). The
assessment draws no random numbers, so the outputs must be byte-identical. The steps shared
with the other schemes' reproduction are in :mod:`toolkit.tracking.reproduce`.
"""

from __future__ import annotations

from pathlib import Path

from toolkit.errors import ConfigError
from toolkit.schemes.dcp.catalogue import Catalogue, catalogue_problems
from toolkit.schemes.dcp.config import DcpReportConfig
from toolkit.schemes.dcp.report import (
    OUTPUT_FILES,
    compute_dcp,
    load_dcp_tables,
    write_dcp_outputs,
)
from toolkit.tracking.reproduce import (
    Reproduction,
    check_inputs,
    compare_outputs,
    fetch_run,
    read_tracked_json,
    scratch_folder,
    tracked_config,
)


def reproduce_dcp(
    run_id: str,
    *,
    data_dir: str | Path | None = None,
    tracking_uri: str | None = None,
    scratch: str | Path | None = None,
) -> Reproduction:
    """Recompute ``run_id`` from its tracked config and catalogue and the (hash-checked) inputs."""
    with fetch_run(run_id, scheme="dcp", what="a DCP assessment", tracking_uri=tracking_uri) as run:
        cfg = tracked_config(DcpReportConfig, run, "inputs/config.json")
        cat = tracked_config(Catalogue, run, "inputs/catalogue.json")
        problems = catalogue_problems(cat)
        if problems:
            raise ConfigError(f"the run's catalogue is invalid: {problems[0]}")
        data = Path(data_dir or run.params["data_dir"])
        check_inputs(read_tracked_json(run, "inputs/input_sha256.json"), data)
        out = scratch_folder(scratch, run)
        write_dcp_outputs(out, compute_dcp(load_dcp_tables(data), cat, cfg), cfg, cat)
        return compare_outputs(run_id, run.artifacts / "outputs", out, OUTPUT_FILES)
