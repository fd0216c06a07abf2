"""Re-run a tracked DCP assessment from what its run carries and compare every output file.

The run carries the exact config (``inputs/config.json``), the resolved, validated catalogue
(``inputs/catalogue.json``), the SHA-256 of every input file and the outputs (``outputs/``). The
assessment draws no random numbers, so the outputs must be byte-identical.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from toolkit.config import file_sha256
from toolkit.errors import ConfigError, InputError, TrackingError
from toolkit.schemes.dcp.catalogue import Catalogue, catalogue_problems
from toolkit.schemes.dcp.config import DcpReportConfig
from toolkit.schemes.dcp.report import OUTPUT_FILES, compute_dcp, load_dcp_tables, write_dcp_outputs


@dataclass
class DcpReproduction:
    run_id: str
    identical: list[str]
    different: list[str]

    @property
    def ok(self) -> bool:
        return not self.different


def reproduce_dcp(run_id: str, *, data_dir: str | Path | None = None, tracking_uri: str | None = None,
                  scratch: str | Path | None = None) -> DcpReproduction:
    """Recompute ``run_id`` from its tracked config and catalogue and the (hash-checked) inputs."""
    from mlflow.tracking import MlflowClient

    from toolkit.tracking.store import connect, resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    connect(uri)
    client = MlflowClient(tracking_uri=uri)
    try:
        run = client.get_run(run_id)
    except Exception:
        raise TrackingError(f"no run {run_id} in {uri}") from None
    if run.data.params.get("scheme") != "dcp":
        raise TrackingError(f"run {run_id} is not a DCP assessment")
    with tempfile.TemporaryDirectory() as tmp:
        tracked = Path(client.download_artifacts(run_id, "", tmp))
        cfg = DcpReportConfig.model_validate(json.loads((tracked / "inputs" / "config.json").read_text()))
        cat = Catalogue.model_validate(json.loads((tracked / "inputs" / "catalogue.json").read_text()))
        problems = catalogue_problems(cat)
        if problems:
            raise ConfigError(f"the run's catalogue is invalid: {problems[0]}")
        data = Path(data_dir or run.data.params["data_dir"])
        want = json.loads((tracked / "inputs" / "input_sha256.json").read_text())
        changed = sorted(n for n in want if not (data / n).is_file() or file_sha256(data / n) != want[n])
        if changed:
            raise InputError(f"input files differ from the run's (SHA-256): {', '.join(changed)}")
        out = Path(scratch) if scratch else Path(tmp) / "recomputed"
        out.mkdir(parents=True, exist_ok=True)
        write_dcp_outputs(out, compute_dcp(load_dcp_tables(data), cat, cfg), cfg, cat)
        same = [n for n in OUTPUT_FILES if (tracked / "outputs" / n).read_bytes() == (out / n).read_bytes()]
    return DcpReproduction(run_id=run_id, identical=same, different=[n for n in OUTPUT_FILES if n not in same])
