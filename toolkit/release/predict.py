"""``toolkit predict``: score a department's records with a registered model.

``toolkit predict --model NAME[@ALIAS|/VERSION] --data DIR --out FILE [--tracking-uri URI]
[--measure M --program P]``:

1. resolves the model in the registry (``NAME`` is ``NAME@champion``; an alias is resolved to the
   version it points at, which is the version loaded and written) and reads its measure and program
   from its own run's tags (``model.measure``, ``model.program``; ``--measure``/``--program`` only for
   a model without them, and they must agree with them otherwise);
2. reads and validates ``measure_records``, ``participants`` and ``regions`` in ``DIR`` against the
   data contracts (every violation by table, column, rule and count; no value echoed);
3. joins the measure x program's records to participants and regions with
   :func:`toolkit.records.join.join_model_input`, the join a release's frame uses;
4. predicts (the registered pyfunc checks its input against the model's input contract) and writes
   one row per record: its key (``participant_id``, ``period_of_service``, ``program``, ``measure``,
   ``site_id``), ``probability``, ``model`` and ``model_version``, as CSV or Parquet by the suffix of
   ``FILE``, readable by its owner only. A record that could not be joined is listed with its reason
   in ``<FILE stem>.excluded.csv`` beside it (owner-only too).

The output is record level, so it stays local: nothing of it is logged to MLflow (scoring opens no run).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from toolkit.contracts import load_contracts
from toolkit.contracts.validate import validate_dir
from toolkit.errors import DataContractError, InputError
from toolkit.output import Progress, write_private_csv, write_private_table
from toolkit.records.join import INPUT_TABLES, RECORD_KEY, JoinedRecords, join_model_input
from toolkit.scoring.cli import check_output_file
from toolkit.tracking.registry import RegisteredModel, load_registered_model, parse_model_ref

if TYPE_CHECKING:
    from collections.abc import Callable

SUFFIXES = (".csv", ".parquet")
OUTPUT_COLUMNS = [*RECORD_KEY, "probability", "model", "model_version"]


@dataclass
class Prediction:
    """What ``toolkit predict`` wrote: the scored rows, the records it could not join, and the model used."""

    scores: pd.DataFrame  # OUTPUT_COLUMNS
    excluded: pd.DataFrame  # records of the measure x program that could not be joined, with the reason
    model: RegisteredModel
    measure: str
    program: str
    out: Path
    excluded_file: Path | None
    seconds: dict[str, float]


def excluded_path(out: Path) -> Path:
    """Where the records that could not be joined are listed: ``<out stem>.excluded.csv`` beside ``out``."""
    return out.with_name(f"{out.stem}.excluded.csv")


def check_out(out: str | Path) -> Path:
    """The output file, refused before any work when its suffix is neither .csv nor .parquet, it is a
    folder, or its folder cannot be written."""
    p = Path(out)
    if p.is_dir():
        raise InputError(f"--out {p} is a folder, not a file")
    if p.suffix.lower() not in SUFFIXES:
        raise InputError(f"--out {p}: unknown extension {p.suffix!r}; use .csv or .parquet")
    return check_output_file(p)


def measure_and_program(model: RegisteredModel, measure: str | None, program: str | None) -> tuple[str, str]:
    """The model's measure and program, from its run's tags; ``measure``/``program`` given on the command
    line fill in for a model without tags, and must agree with them otherwise."""
    tagged = {"measure": model.tags.get("model.measure"), "program": model.tags.get("model.program")}
    given = {"measure": measure, "program": program}
    for what in ("measure", "program"):
        if tagged[what] and given[what] and given[what] != tagged[what]:
            raise InputError(
                f"--{what} {given[what]} disagrees with model {model.name} version {model.version}, a model of "
                f"{what} {tagged[what]} (tag model.{what} of its run)"
            )
    out = {k: tagged[k] or given[k] for k in tagged}
    lacking = [k for k, v in out.items() if not v]
    if lacking:
        raise InputError(
            f"model {model.name} version {model.version} does not say its {' and '.join(lacking)} (no model.* tags "
            f"on its run): give {' and '.join('--' + k for k in lacking)}"
        )
    contract = load_contracts()["measure_records"]
    for what in ("measure", "program"):
        allowed = contract.field(what).enum or ()
        if allowed and out[what] not in allowed:
            raise InputError(
                f"{what} {out[what]} of model {model.name} is not a {what} of the measure_records contract "
                f"({', '.join(allowed)})"
            )
    return str(out["measure"]), str(out["program"])


def read_inputs(data: str | Path) -> dict[str, pd.DataFrame]:
    """The model-input tables of ``data``, validated against their contracts (raising with every violation)."""
    d = Path(data)
    if not d.exists():
        raise DataContractError(f"data folder {d} does not exist")
    if not d.is_dir():
        raise DataContractError(f"data folder {d} is not a folder")
    typed, report = validate_dir(d, tables=list(INPUT_TABLES))
    report.raise_if_invalid(f"tables in {d}")
    return typed


def score(model: RegisteredModel, joined: JoinedRecords) -> pd.DataFrame:
    """One row per joined record: its key, the model's probability, the model's name and version."""
    frame = joined.frame
    schema = model.pyfunc.metadata.get_input_schema()
    if schema is not None and schema.has_input_names():  # only the columns the model reads (no MLflow warning
        frame = frame[[c for c in schema.input_names() if c in frame.columns]]  # listing the others)
    p = np.asarray(model.pyfunc.predict(frame), dtype=float)
    if p.shape != (len(joined.frame),):
        raise AssertionError(f"model returned {p.shape} probabilities for {len(joined.frame)} records")  # a bug
    out = joined.frame[RECORD_KEY].copy()
    out["probability"] = p
    out["model"] = model.name
    out["model_version"] = model.version
    return out


def write_scores(scores: pd.DataFrame, out: Path) -> None:
    """CSV or Parquet by suffix, owner-only (record level: pseudonymous ids)."""
    if out.suffix.lower() == ".csv":
        write_private_csv(scores, out)
    else:
        write_private_table(scores, out)


def predict(
    model: str,
    data: str | Path,
    out: str | Path,
    *,
    tracking_uri: str | None = None,
    measure: str | None = None,
    program: str | None = None,
    say: Callable[[str], None] = lambda msg: None,
) -> Prediction:
    """``toolkit predict`` as a function (see the module docstring)."""
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    ref = parse_model_ref(model)
    out_path = check_out(out)
    if not Path(data).is_dir():
        raise DataContractError(f"data folder {data} {'is not a folder' if Path(data).exists() else 'does not exist'}")
    say(f"loading model {ref} from the registry")
    reg = load_registered_model(ref, tracking_uri)
    measure, program = measure_and_program(reg, measure, program)
    seconds["load_model"] = time.perf_counter() - t
    say(
        f"model {reg.name} version {reg.version}"
        + (f" (alias {reg.alias})" if reg.alias else "")
        + f": {program} {measure}"
    )
    t = time.perf_counter()
    say(f"validating {', '.join(INPUT_TABLES)} in {data}")
    tables = read_inputs(data)
    seconds["read_validate"] = time.perf_counter() - t
    say(f"validated: {', '.join(f'{k} {len(v):,} rows' for k, v in tables.items())}")
    t = time.perf_counter()
    joined = join_model_input(tables, measure, program)
    seconds["join"] = time.perf_counter() - t
    if joined.frame.empty:
        n = len(joined.excluded)
        raise InputError(
            f"measure_records: no record of program {program} and measure {measure} in {data}"
            + (f" that can be joined ({n} cannot: participant or ESA absent)" if n else "")
            + f"; model {reg.name} scores only those"
        )
    say(f"joined {len(joined.frame):,} records of {program} {measure}; predicting")
    t = time.perf_counter()
    scores = score(reg, joined)
    seconds["predict"] = time.perf_counter() - t
    t = time.perf_counter()
    write_scores(scores, out_path)
    excluded_file = None
    if not joined.excluded.empty:
        excluded_file = excluded_path(out_path)
        write_private_csv(joined.excluded, excluded_file)
        say(f"{len(joined.excluded):,} record(s) could not be joined: listed with the reason in {excluded_file}")
    seconds["write"] = time.perf_counter() - t
    return Prediction(scores, joined.excluded, reg, measure, program, out_path, excluded_file, seconds)


def run_predict(args: argparse.Namespace) -> int:
    """Handler of ``toolkit predict``; a ToolkitError becomes exit code 2 in :mod:`toolkit.cli`."""
    say = Progress(True, "predict")
    res = predict(
        args.model,
        args.data,
        args.out,
        tracking_uri=args.tracking_uri,
        measure=args.measure,
        program=args.program,
        say=say,
    )
    alias = f" (alias {res.model.alias})" if res.model.alias else ""
    print(
        f"scored {len(res.scores):,} records of {res.program} {res.measure} with {res.model.name} "
        f"version {res.model.version}{alias}: {res.out}"
        + (f"; {len(res.excluded):,} not joined, listed in {res.excluded_file}" if res.excluded_file else "")
    )
    sys.stdout.flush()
    return 0
