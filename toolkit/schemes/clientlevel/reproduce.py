"""Re-run a tracked client-level run and compare every published file with the tracked one.

What reproduction needs is on the run: the exact config (``inputs/config.json``), the SHA-256 of
every input file (params ``input_sha256.*``), the seed, the git state and package versions, and
the published outputs (``outputs/``). The secret is not: it is supplied again through an
environment variable, and the published outputs do not depend on it (they hold no pseudonym),
so a run reproduces with any valid secret.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from toolkit.config import file_sha256
from toolkit.errors import InputError, TrackingError
from toolkit.privacy import Secret
from toolkit.schemes.clientlevel.config import ClientLevelConfig
from toolkit.schemes.clientlevel.load import load_client_data
from toolkit.schemes.clientlevel.run import PUBLISHED, compute_clientlevel, write_clientlevel_outputs


@dataclass
class Reproduction:
    run_id: str
    identical: list[str]
    different: list[str]
    missing: list[str]
    code_drift: list[str]

    @property
    def ok(self) -> bool:
        return not self.different and not self.missing


def reproduce_clientlevel(run_id: str, secret_env: str, *, data_dir: str | Path | None = None,
                          tracking_uri: str | None = None, scratch: str | Path | None = None) -> Reproduction:
    """Recompute ``run_id`` from its tracked config and the (hash-checked) input files; compare outputs."""
    from mlflow.tracking import MlflowClient

    from toolkit.tracking import provenance
    from toolkit.tracking.store import connect, resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    connect(uri)
    client = MlflowClient(tracking_uri=uri)
    try:
        run = client.get_run(run_id)
    except Exception:
        raise TrackingError(f"no run {run_id} in {uri}") from None
    params = run.data.params
    if params.get("scheme") != "clientlevel":
        raise TrackingError(f"run {run_id} is not a client-level run")
    with tempfile.TemporaryDirectory() as tmp:
        tracked = Path(client.download_artifacts(run_id, "", tmp))
        config = ClientLevelConfig.model_validate(json.loads((tracked / "inputs" / "config.json").read_text()))
        data = Path(data_dir or params["data_dir"])
        want = json.loads((tracked / "inputs" / "input_sha256.json").read_text())
        have = {n: file_sha256(data / n) for n in want if (data / n).is_file()}
        changed = sorted(n for n in want if have.get(n) != want[n])
        if changed:
            raise InputError(f"input files differ from the run's (SHA-256): {', '.join(changed)}")
        drift = [k for k, v in provenance.git_state().items() if params.get(k) != v]
        drift += [f"versions.{k}" for k, v in provenance.package_versions().items() if params.get(f"versions.{k}") != v]
        secret = Secret.from_env(secret_env, config.privacy.secret_min_length)
        res = compute_clientlevel(load_client_data(data, secret, config), config)
        out = Path(scratch) if scratch else Path(tmp) / "recomputed"
        out.mkdir(parents=True, exist_ok=True)
        write_clientlevel_outputs(out, res, config)
        same, diff, missing = [], [], []
        for name in PUBLISHED:
            a, b = tracked / "outputs" / name, out / name
            if not a.exists() and not b.exists():
                continue
            if not a.exists() or not b.exists():
                missing.append(name)
            elif a.read_bytes() == b.read_bytes():
                same.append(name)
            else:
                diff.append(name)
    return Reproduction(run_id=run_id, identical=same, different=diff, missing=missing, code_drift=drift)
