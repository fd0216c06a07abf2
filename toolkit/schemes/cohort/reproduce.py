"""Re-run a tracked cohort evaluation (``toolkit evaluate``) and compare its outputs with the tracked ones.

The run carries the exact config (``evaluate/config.json``), the seed and the SHA-256 of its
input (``evaluate/run.json``), the cohort size of a synthetic run (param ``synthetic_n``) and the
outputs. A cohort file must still have its recorded SHA-256; a synthetic cohort is simulated
again from its size and seed, and the simulated table must hash as recorded. The order of the
config's domains, which the sorted ``config.json`` loses, is in ``run.json`` (``key_order``).
The evaluation draws no random numbers, so ``evaluation.csv``, ``statement.md`` and
``exclusions_summary.csv`` must be byte-identical (``report.html`` names the run and its git
commit and is not compared).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.errors import InputError
from toolkit.schemes.cohort.config import CohortConfig
from toolkit.schemes.cohort.pipeline import (
    compute_evaluation,
    load_cohort_input,
    write_evaluation_tables,
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

if TYPE_CHECKING:
    from toolkit.tracking.reproduce import FetchedRun

#: The tracked outputs compared, with the columns that identify a row of each table.
OUTPUTS: dict[str, tuple[str, ...]] = {
    "evaluation.csv": ("domain",),
    "statement.md": (),
    "exclusions_summary.csv": ("domain", "reason"),
}


def reproduce_evaluation(
    run_id: str, *, data: str | Path | None = None, tracking_uri: str | None = None, scratch: str | Path | None = None
) -> Reproduction:
    """Recompute ``run_id`` from its tracked config, seed and (hash-checked or re-simulated) cohort."""
    with fetch_run(
        run_id,
        scheme="cohort-evaluation",
        what="a cohort evaluation (toolkit evaluate)",
        tracking_uri=tracking_uri,
        artifact_path="evaluate",
    ) as run:
        meta = read_tracked_json(run, "run.json")
        config = tracked_config(CohortConfig, run, key_order=meta.get("key_order") or _order_of_outputs(run))
        seed, want = int(meta["seed"]), dict(meta["input_sha256"])
        n = run.params.get("synthetic_n", "")
        if n:
            if data is not None:
                raise InputError(
                    f"run {run_id} evaluated a synthetic cohort of {n} (seed {seed}); "
                    "it is simulated again, so --data does not apply"
                )
            inp = load_cohort_input(config, synthetic=int(n), seed=seed)
            if inp.inputs != want:
                raise InputError(
                    f"the simulated cohort of {n} (seed {seed}) differs from the run's (SHA-256): "
                    "synthetic_cohort.csv; the simulator or its config changed"
                )
        else:
            if len(want) != 1:
                raise InputError(f"run {run_id} records {len(want)} input files; a cohort evaluation reads one")
            path = Path(data or run.params["data"])
            check_inputs({path.name: next(iter(want.values()))}, path.parent, what="the cohort file")
            inp = load_cohort_input(config, data=path, seed=seed)
        out = scratch_folder(scratch, run)
        write_evaluation_tables(out, compute_evaluation(inp, config))
        return compare_outputs(run_id, run.artifacts, out, OUTPUTS)


def _order_of_outputs(run: FetchedRun) -> dict[str, list[str]]:
    """For a run tracked before ``run.json`` recorded ``key_order``: the domains in the order of its
    ``evaluation.csv`` rows (the config's order), and the simulation's in the same order."""
    import pandas as pd

    p = run.artifacts / "evaluation.csv"
    order = list(dict.fromkeys(pd.read_csv(p, usecols=["domain"], dtype=str)["domain"])) if p.is_file() else []
    return {"domains": order, "simulation.domains": order}
