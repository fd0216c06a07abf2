"""The hostile-input suite's machinery: a :class:`Case` is data (an argv builder, a damage function, the
expected exit code, the words the message must hold, a marker that must never be printed), and
:func:`run_case` runs it in-process through ``toolkit.cli.main`` and checks every rule of bad input:

- the exit code (2 for bad input; success cases say 0);
- no traceback: no uncaught exception, no "Traceback" in stdout or stderr;
- the message names what is wrong (each expected substring is printed);
- no value echoed: the case's marker, planted in the bad data, appears neither in stdout/stderr nor
  in any tag or param of a run the case left in the store;
- no run left FINISHED: a bad input leaves no run at all (found before the run), or one ended FAILED;
- no alias moved: the registered models' aliases are what they were;
- no folder claiming success: no ``release.json`` / ``run.json`` saying anything but failed, and no
  output folder created at all (nothing is created before the inputs are validated);
- nothing written into the repository (``releases/``, ``comparisons/``, ``out/``, ``worlds/``, ``mlruns/``).

Damage helpers below build bad inputs from the session's synthetic worlds (copied per case).
"""

from __future__ import annotations

import json
import os
import shutil
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from toolkit.paths import ROOT

MARKER = "ZQX_MARKER_41"
#: Folders of the repository a command writes into by default; a case must never touch them.
REPO_OUTPUTS = ("releases", "comparisons", "out", "worlds", "mlruns")
#: MLflow statuses a bad input may leave its run in (found after the run started).
ENDED_BADLY = {"FAILED", "KILLED"}


@dataclass
class Ctx:
    """What a case builds its inputs and arguments from."""

    tmp: Path  # the case's own folder
    worlds: Mapping[str, Path]  # session worlds: des, dex, dcp, clients, cohort (a file), publication (a file)
    store: str  # the module's tracking URI (also in MLFLOW_TRACKING_URI)
    runs: Mapping[str, Any] = field(default_factory=dict)  # tracked runs made once: ids, folders

    @property
    def data(self) -> Path:
        """The case's copy of its world (made before damage)."""
        return self.tmp / "data"

    @property
    def out(self) -> Path:
        """The output root every case passes (``--out``): must stay empty on bad input."""
        return self.tmp / "out"


Builder = Callable[[Ctx], list[str]]
Damage = Callable[[Ctx], None]


@dataclass(frozen=True)
class Case:
    """One hostile input. ``world`` is copied to ``ctx.data`` before ``damage`` runs; ``argv`` gives the command
    line (``--out ctx.out`` is the case's to pass). ``expect`` are substrings of stdout + stderr; ``marker`` must
    appear nowhere. ``xfail`` is a reason: the case shows a known defect of code another branch rewrites."""

    id: str
    argv: Builder
    damage: Damage | None = None
    world: str | None = None
    exit: int = 2
    expect: tuple[str, ...] = ()
    marker: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    xfail: str | None = None
    kind: str = ""  # what sort of hostility, for the report (file, dtype, value, key, date, code, id, config, ...)
    check: Callable[[Ctx, Outcome], None] | None = None  # more checks of a case's outcome (e.g. what a success wrote)

    @property
    def command(self) -> str:
        return self.id.split(":", 1)[0]


# --------------------------------------------------------------------------- store snapshots


def _client(uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def store_state(uri: str) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """Every run of the store (id -> run) and every registered model's aliases."""
    c = _client(uri)
    exps = [e.experiment_id for e in c.search_experiments()]
    runs = {r.info.run_id: r for r in c.search_runs(exps, max_results=5000)} if exps else {}
    aliases = {m.name: dict(m.aliases) for m in c.search_registered_models(max_results=1000)}
    return runs, aliases


def repo_outputs() -> dict[str, list[str]]:
    return {d: sorted(p.name for p in (ROOT / d).iterdir()) if (ROOT / d).is_dir() else [] for d in REPO_OUTPUTS}


def claims_of_success(root: Path) -> list[str]:
    """Job records under ``root`` that do not say failed (``release.json``, ``run.json``)."""
    found = []
    for p in [*root.rglob("release.json"), *root.rglob("run.json")]:
        try:
            status = json.loads(p.read_text()).get("status", "none")
        except (ValueError, OSError, AttributeError):
            status = "unreadable"
        if status != "failed":
            found.append(f"{p.relative_to(root)} (status {status})")
    return found


# --------------------------------------------------------------------------- running a case


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    error: str | None  # the traceback of an uncaught exception

    @property
    def text(self) -> str:
        return self.out + self.err


def call_main(argv: list[str], capsys: Any) -> Outcome:
    """``toolkit.cli.main(argv)`` in-process; argparse's SystemExit is an exit code, any other exception is
    an uncaught exception (a traceback the user would have seen)."""
    from toolkit.cli import main

    error = None
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except BaseException:
        code, error = -1, traceback.format_exc()
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err, error)


def prepare(case: Case, ctx: Ctx) -> list[str]:
    ctx.tmp.mkdir(parents=True, exist_ok=True)
    if case.world:
        src = ctx.worlds[case.world]
        shutil.copytree(src, ctx.data, ignore=shutil.ignore_patterns("truth", "restricted"))
    if case.damage is not None:
        case.damage(ctx)
    return [str(a) for a in case.argv(ctx)]


def run_case(case: Case, ctx: Ctx, capsys: Any, monkeypatch: Any) -> Outcome:
    """Prepare, run and check one case (see the module docstring)."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", ctx.store)
    for k, v in case.env.items():
        monkeypatch.setenv(k, v)
    argv = prepare(case, ctx)
    before_runs, before_aliases = store_state(ctx.store)
    before_repo = repo_outputs()
    capsys.readouterr()
    res = call_main(argv, capsys)
    leaked = mlflow.active_run()
    if leaked is not None:  # keep the next case clean, then report
        mlflow.end_run("FAILED")
    after_runs, after_aliases = store_state(ctx.store)
    if os.environ.get("HOSTILE_LOG"):  # to read every message when writing or tightening cases
        with open(os.environ["HOSTILE_LOG"], "a") as fh:
            fh.write(f"=== {case.id} exit {res.code}\n{res.out[-3000:]}{res.err[-3000:]}\n")

    problems: list[str] = []
    if res.error is not None:
        problems.append(f"uncaught exception (a traceback):\n{res.error}")
    if res.code != case.exit:
        problems.append(f"exit code {res.code}, expected {case.exit}")
    if "Traceback" in res.text:
        problems.append("'Traceback' printed")
    missing = [w for w in case.expect if w not in res.text]
    if missing:
        problems.append(f"message lacks {missing}")
    new = {k: r for k, r in after_runs.items() if k not in before_runs}
    if case.marker:
        if case.marker in res.text:
            problems.append(f"the planted value {case.marker!r} was echoed")
        for r in new.values():
            if case.marker in json.dumps([r.data.tags, r.data.params]):
                problems.append(f"the planted value {case.marker!r} is in run {r.info.run_id}'s tags or params")
    if leaked is not None:
        problems.append(f"an MLflow run was left active in the process ({leaked.info.run_id})")
    changed = [k for k, r in before_runs.items() if k in after_runs and after_runs[k].info.status != r.info.status]
    if changed:
        problems.append(f"existing runs changed status: {changed}")
    if repo_outputs() != before_repo:
        problems.append("something was written into the repository's output folders")
    if case.exit != 0:
        finished = [f"{k} {r.info.status} {r.data.tags.get('toolkit.kind')}" for k, r in new.items()]
        finished = [f for f, r in zip(finished, new.values(), strict=True) if r.info.status not in ENDED_BADLY]
        if finished:
            problems.append(f"bad input left runs not ended FAILED: {finished}")
        if after_aliases != before_aliases:
            problems.append(f"aliases moved: {before_aliases} -> {after_aliases}")
        claims = claims_of_success(ctx.tmp)
        if claims:
            problems.append(f"folders claim success: {claims}")
        if ctx.out.exists() and any(ctx.out.iterdir()):
            problems.append(f"output created before the input was refused: {sorted(os.listdir(ctx.out))}")
    if not problems and case.check is not None:
        try:
            case.check(ctx, res)
        except AssertionError as exc:
            problems.append(f"check failed: {exc}")
    if problems:
        raise AssertionError(
            f"case {case.id}: "
            + "\n".join(problems)
            + f"\n--- argv: {argv}\n--- stdout:\n{res.out}\n--- stderr:\n{res.err}"
        )
    return res


# --------------------------------------------------------------------------- damage helpers


def table_path(d: Path, table: str) -> Path:
    for suffix in (".parquet", ".csv"):
        if (d / f"{table}{suffix}").is_file():
            return d / f"{table}{suffix}"
    raise FileNotFoundError(f"{table} in {d}")


def read(d: Path, table: str) -> pd.DataFrame:
    p = table_path(d, table)
    if p.suffix == ".csv":
        return pd.read_csv(p, dtype=str, keep_default_na=False)
    return pd.read_parquet(p)


def write(d: Path, table: str, df: pd.DataFrame, suffix: str | None = None) -> Path:
    """Write ``table`` back in its format (or as ``suffix``), replacing the old file."""
    old = table_path(d, table)
    suffix = suffix or old.suffix
    old.unlink()
    p = d / f"{table}{suffix}"
    if suffix == ".csv":
        df.to_csv(p, index=False)
    else:
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), p)
    return p


def edit(
    table: str, fn: Callable[[pd.DataFrame], pd.DataFrame | None], sub: str = "", suffix: str | None = None
) -> Damage:
    """Damage: ``fn`` changes ``table`` of ``ctx.data/sub`` (in place or by returning a frame)."""

    def damage(ctx: Ctx) -> None:
        d = ctx.data / sub
        df = read(d, table)
        out = fn(df)
        write(d, table, df if out is None else out, suffix)

    return damage


def set_cells(
    table: str, column: str, value: Any, rows: tuple[int, ...] = (0,), sub: str = "", dtype: str | None = None
) -> Damage:
    """Damage: ``column`` of ``rows`` set to ``value`` (the column first cast to ``dtype``, e.g. object)."""

    def fn(df: pd.DataFrame) -> pd.DataFrame:
        if dtype is not None:
            df[column] = df[column].astype(dtype)
        for r in rows:
            df.loc[df.index[r], column] = value
        return df

    return edit(table, fn, sub)


def file_bytes(table: str, make: Callable[[bytes], bytes], sub: str = "") -> Damage:
    """Damage: the file of ``table`` rewritten as ``make(old bytes)`` (truncate, empty, garbage)."""

    def damage(ctx: Ctx) -> None:
        p = table_path(ctx.data / sub, table)
        p.write_bytes(make(p.read_bytes()))

    return damage


def truncate(table: str, sub: str = "") -> Damage:
    return file_bytes(table, lambda b: b[: len(b) // 2], sub)


def empty(table: str, sub: str = "") -> Damage:
    return file_bytes(table, lambda b: b"", sub)


def garbage(table: str, sub: str = "") -> Damage:
    """Binary garbage (with a marker inside) in place of the table."""
    return file_bytes(table, lambda b: bytes(range(256)) * 7 + MARKER.encode() + b"\x00\xff" * 300, sub)


def folder_instead(table: str, sub: str = "") -> Damage:
    """A folder where the table's file should be (the file removed)."""

    def damage(ctx: Ctx) -> None:
        p = table_path(ctx.data / sub, table)
        p.unlink()
        (p.parent / p.name).mkdir()
        (p.parent / p.name / "part-0.parquet").write_bytes(b"PAR1")

    return damage


def remove(table: str, sub: str = "") -> Damage:
    def damage(ctx: Ctx) -> None:
        table_path(ctx.data / sub, table).unlink()

    return damage


def xlsx_as_csv(table: str, sub: str = "") -> Damage:
    """An Excel workbook saved under the table's ``.csv`` name."""

    def damage(ctx: Ctx) -> None:
        d = ctx.data / sub
        df = read(d, table).head(20)
        old = table_path(d, table)
        old.unlink()
        tmp = d / f"{table}.xlsx"
        df.astype(str).to_excel(tmp, index=False)
        tmp.rename(d / f"{table}.csv")

    return damage


def latin1_csv(table: str, column: str, sub: str = "") -> Damage:
    """The table as CSV in Latin-1 (not UTF-8), with a non-ASCII value in ``column``."""

    def damage(ctx: Ctx) -> None:
        d = ctx.data / sub
        df = read(d, table).astype(str)
        df.loc[df.index[0], column] = "Zoë Ångström " + MARKER
        old = table_path(d, table)
        old.unlink()
        (d / f"{table}.csv").write_bytes(df.to_csv(index=False).encode("latin-1"))

    return damage


def chain(*damages: Damage) -> Damage:
    def damage(ctx: Ctx) -> None:
        for d in damages:
            d(ctx)

    return damage


def write_file(name: str, content: str | bytes) -> Damage:
    """Damage: a file ``ctx.tmp/name`` with ``content``."""

    def damage(ctx: Ctx) -> None:
        p = ctx.tmp / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content)

    return damage


def rewrite(where: Callable[[Ctx], Path], make: Callable[[bytes], bytes]) -> Damage:
    """Damage: the file ``where(ctx)`` rewritten as ``make(old bytes)``."""

    def damage(ctx: Ctx) -> None:
        p = where(ctx)
        p.write_bytes(make(p.read_bytes()))

    return damage
