"""Re-run a tracked client-level run and compare every published file with the tracked one.

What reproduction needs is on the run: the exact config (``inputs/config.json``), the SHA-256 of
every input file (params ``input_sha256.*``), the seed, the git state and package versions, and
the published outputs (``outputs/``). The secret is not: it is supplied again through an
environment variable, and the published outputs do not depend on it (they hold no pseudonym),
so a run reproduces with any valid secret. The steps shared with the other schemes are in
:mod:`toolkit.tracking.reproduce`.
"""

from __future__ import annotations

from pathlib import Path

from toolkit.privacy import Secret
from toolkit.schemes.clientlevel.config import ClientLevelConfig
from toolkit.schemes.clientlevel.load import load_client_data
from toolkit.schemes.clientlevel.run import (
    PUBLISHED,
    compute_clientlevel,
    write_clientlevel_outputs,
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


def reproduce_clientlevel(
    run_id: str,
    secret_env: str,
    *,
    data_dir: str | Path | None = None,
    tracking_uri: str | None = None,
    scratch: str | Path | None = None,
) -> Reproduction:
    """Recompute ``run_id`` from its tracked config and the (hash-checked) input files; compare outputs.

    Code drift (git state, package versions) does not stop reproduction: it is listed in ``notes``.
    """
    from toolkit.tracking import provenance

    Secret.from_env(secret_env, min_length=1)  # named and set, before the store is touched (length: below)
    with fetch_run(run_id, scheme="clientlevel", what="a client-level run", tracking_uri=tracking_uri) as run:
        config = tracked_config(ClientLevelConfig, run, "inputs/config.json")
        data = Path(data_dir or run.params["data_dir"])
        check_inputs(read_tracked_json(run, "inputs/input_sha256.json"), data)
        drift = [k for k, v in provenance.git_state().items() if run.params.get(k) != v]
        drift += [
            f"versions.{k}" for k, v in provenance.package_versions().items() if run.params.get(f"versions.{k}") != v
        ]
        secret = Secret.from_env(secret_env, config.privacy.secret_min_length)
        res = compute_clientlevel(load_client_data(data, secret, config), config)
        out = scratch_folder(scratch, run)
        write_clientlevel_outputs(out, res, config)
        tracked = run.artifacts / "outputs"
        published = [n for n in PUBLISHED if (tracked / n).exists() or (out / n).exists()]  # optional outputs
        r = compare_outputs(run_id, tracked, out, published)
    r.count_missing = True
    if drift:
        r.notes.append(f"code or environment differs from the run's: {', '.join(drift)}")
    return r
