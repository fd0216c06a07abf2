"""Re-run a tracked model evaluation (``toolkit models evaluate``) and compare every output table.

The run carries the exact config (``evaluation/config.json``), the rendered specs of every candidate
(``model_specs.json``), the method (``method.json``) and the SHA-256 of every input (``run.json``). The
data folder (``--data``, default the one the run read) must still hash as recorded; the evaluation is
recomputed serially in a scratch folder and every table (:data:`toolkit.evaluation.outputs.TABLES`) must
be byte-identical. Plots and ``report.md`` (which names the run) are not compared.
"""

from __future__ import annotations

from pathlib import Path

from toolkit.evaluation.config import EvaluationConfig
from toolkit.evaluation.outputs import TABLES, write_tables
from toolkit.evaluation.pipeline import KIND, compute_tables, read_oracle
from toolkit.expected.spec import ModelSpec
from toolkit.release.inputs import load_release_inputs
from toolkit.scoring.config import MethodConfig
from toolkit.tracking.provenance import code_drift
from toolkit.tracking.reproduce import (
    Reproduction,
    check_inputs,
    compare_outputs,
    fetch_run,
    read_tracked_json,
    scratch_folder,
    tracked_config,
)


def reproduce_evaluation(
    run_id: str, *, data: str | Path | None = None, tracking_uri: str | None = None, scratch: str | Path | None = None
) -> Reproduction:
    """Recompute ``run_id`` from what it tracked and compare its tables."""
    with fetch_run(
        run_id,
        scheme=KIND,
        what="a model evaluation (toolkit models evaluate)",
        tracking_uri=tracking_uri,
        artifact_path="evaluation",
    ) as run:
        meta = read_tracked_json(run, "run.json")
        config = tracked_config(EvaluationConfig, run)
        specs = {
            c: {k: ModelSpec.model_validate(s) for k, s in v.items()}
            for c, v in read_tracked_json(run, "model_specs.json").items()
        }
        method = MethodConfig.model_validate(read_tracked_json(run, "method.json"))
        d = Path(data or run.params["data_dir"])
        check_inputs(dict(meta["input_sha256"]), d, what="the input tables")
        inputs = load_release_inputs(d, config.window.start, config.window.end, "auto")
        tables = compute_tables(inputs.tables, config, method, specs, read_oracle(d))
        out = scratch_folder(scratch, run)
        write_tables(out, tables)
        rep = compare_outputs(run_id, run.artifacts, out, TABLES)
        rep.notes += code_drift(run.params)
        return rep
