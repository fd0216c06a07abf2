"""Shared steps of ``toolkit <scheme> reproduce RUN_ID`` (DCP, DEX, cohort evaluation, client-level results);
``toolkit reproduce`` of a DES release uses its table comparison (:func:`table_differences`).

A scheme's reproduction reads what its tracked run carries (the exact config, the SHA-256 of
every input, the seed), recomputes in a scratch folder and compares the output files with
the tracked artifacts byte for byte. The steps every scheme shares live here: find the run
and check it is of the scheme (:func:`fetch_run`), read the tracked config
(:func:`tracked_config`), refuse changed inputs (:func:`check_inputs`), compare the files and
say what differs (:func:`compare_outputs`), and print the verdict (:func:`print_reproduction`).
Bad input — an unknown run, a run of another scheme, a changed or missing input file — raises
a :class:`~toolkit.errors.ToolkitError`, which the CLI turns into a message and exit code 2.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from toolkit.errors import InputError, TrackingError

if TYPE_CHECKING:
    import pandas as pd

T = TypeVar("T")


@dataclass
class Reproduction:
    """Which output files were recomputed identically, which differ (with details), which are missing."""

    run_id: str
    identical: list[str]
    different: list[str]
    missing: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # printed before the verdict (e.g. code drift)
    count_missing: bool = False  # say "0 missing" too (a scheme with optional outputs)

    @property
    def ok(self) -> bool:
        return not self.different and not self.missing

    @property
    def verdict(self) -> str:
        counts = f"{len(self.identical)} identical, {len(self.different)} different"
        if self.missing or self.count_missing:
            counts += f", {len(self.missing)} missing"
        return f"run {self.run_id}: {'reproduced' if self.ok else 'NOT reproduced'} ({counts})"


@dataclass
class FetchedRun:
    run: Any  # mlflow.entities.Run
    params: dict[str, str]
    artifacts: Path  # the downloaded artifacts (``artifact_path`` of the run)
    tmp: Path  # a scratch folder removed on exit


@contextlib.contextmanager
def fetch_run(
    run_id: str, *, scheme: str, what: str, tracking_uri: str | None = None, artifact_path: str = ""
) -> Iterator[FetchedRun]:
    """The run ``run_id`` (its param ``scheme`` must be ``scheme``) and its artifacts in a temporary folder."""
    from mlflow.tracking import MlflowClient

    from toolkit.tracking.store import connect, resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    connect(uri)
    client = MlflowClient(tracking_uri=uri)
    try:
        run = client.get_run(run_id)
    except Exception:
        raise TrackingError(f"no run {run_id} in {uri}") from None
    params = dict(run.data.params)
    if params.get("scheme") != scheme:
        raise TrackingError(f"run {run_id} is not {what} (scheme {params.get('scheme') or 'not recorded'})")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            arts = Path(client.download_artifacts(run_id, artifact_path, tmp))
        except Exception as exc:
            raise TrackingError(f"run {run_id}: its artifacts cannot be read ({type(exc).__name__})") from None
        yield FetchedRun(run=run, params=params, artifacts=arts, tmp=Path(tmp))


class RunReader:
    """Read access to one tracked run and its child runs: params, tags, status, artifacts.

    What reproduction and comparison need from the store, so that they never handle an MLflow
    client: :meth:`download` returns None for an artifact the run does not have.
    """

    def __init__(self, run_id: str, tracking_uri: str | None = None):
        from toolkit.tracking.store import connect, resolve_tracking_uri

        self.tracking_uri = resolve_tracking_uri(tracking_uri)
        self._client = connect(self.tracking_uri)
        try:
            run = self._client.get_run(run_id)
        except Exception:
            raise TrackingError(f"run {run_id} not found in {self.tracking_uri}") from None
        self.run_id = run_id
        self.params: dict[str, str] = dict(run.data.params)
        self.tags: dict[str, str] = dict(run.data.tags)
        self.status: str = run.info.status
        self.experiment_id: str = run.info.experiment_id

    def download(self, path: str, dst: Path, run_id: str | None = None) -> Path | None:
        """The artifact ``path`` of this run (or of the child ``run_id``) downloaded under ``dst``."""
        try:
            return Path(self._client.download_artifacts(run_id or self.run_id, path, str(dst)))
        except Exception:
            return None

    def log_artifacts(self, folder: Path, artifact_path: str) -> None:
        """Log a local folder's files to this run under ``artifact_path`` (e.g. screenshots of its dossier)."""
        self._client.log_artifacts(self.run_id, str(folder), artifact_path)

    def children(self) -> dict[str, str]:
        """The child runs by run name -> run id."""
        found = self._client.search_runs(
            [self.experiment_id], f"tags.mlflow.parentRunId = '{self.run_id}'", max_results=500
        )
        return {c.data.tags.get("mlflow.runName", ""): c.info.run_id for c in found}


def read_tracked_json(fetched: FetchedRun, name: str) -> Any:
    p = fetched.artifacts / name
    if not p.is_file():
        raise TrackingError(f"run {fetched.run.info.run_id} has no artifact {name}: it cannot be reproduced")
    return json.loads(p.read_text())


def tracked_config(
    cls: type[T], fetched: FetchedRun, name: str = "config.json", key_order: Mapping[str, Sequence[str]] | None = None
) -> T:
    """The run's exact config, validated by the present code (a ConfigError if it no longer is valid).

    The tracked ``config.json`` is written with sorted keys (as the config hash is computed);
    where the order of a mapping matters, ``key_order`` gives it by dotted path
    (``{"domains": ["wellbeing", "distress"]}``); keys it does not list keep their place after them.
    """
    from toolkit.config import validate_model

    data = read_tracked_json(fetched, name)
    for path, keys in (key_order or {}).items():
        *parents, last = path.split(".")
        d = data
        for k in parents:
            d = d.get(k) if isinstance(d, dict) else None
        if isinstance(d, dict) and isinstance(d.get(last), dict):
            m = d[last]
            d[last] = {k: m[k] for k in [*(k for k in keys if k in m), *(k for k in m if k not in keys)]}
    return validate_model(cls, data, f"{name} of run {fetched.run.info.run_id}")


def check_inputs(want: Mapping[str, str], folder: str | Path, what: str = "input files") -> None:
    """Raise :class:`InputError` naming every file of ``want`` missing from ``folder`` or with another SHA-256."""
    from toolkit.tracking.provenance import input_drift

    d = Path(folder)
    if not d.is_dir():
        raise InputError(f"input folder {d} not found")
    bad = [f"{name} ({state})" for name, state, _ in input_drift(want, d)]
    if bad:
        raise InputError(f"{what} in {d} differ from the run's (SHA-256): {', '.join(bad)}")


def scratch_folder(scratch: str | Path | None, fetched: FetchedRun) -> Path:
    out = Path(scratch) if scratch else fetched.tmp / "recomputed"
    out.mkdir(parents=True, exist_ok=True)
    return out


def compare_outputs(
    run_id: str, tracked: Path, recomputed: Path, files: Sequence[str] | Mapping[str, Sequence[str]]
) -> Reproduction:
    """Compare each named file byte for byte; a mapping gives each CSV table's key columns for the details."""
    keys = files if isinstance(files, Mapping) else dict.fromkeys(files, ())
    same, diff, missing, details = [], [], [], []
    for name, key in keys.items():
        a, b = tracked / name, recomputed / name
        if not a.is_file() or not b.is_file():
            missing.append(name)
            details.append(f"{name}: {'not among the tracked artifacts' if not a.is_file() else 'not recomputed'}")
        elif a.read_bytes() == b.read_bytes():
            same.append(name)
        else:
            diff.append(name)
            details += table_differences(name, a, b, key) if name.endswith(".csv") else text_differences(name, a, b)
    return Reproduction(run_id=run_id, identical=same, different=diff, missing=missing, details=details)


def text_differences(name: str, tracked: Path, now: Path) -> list[str]:
    a, b = tracked.read_text(errors="replace").splitlines(), now.read_text(errors="replace").splitlines()
    # strict=False: the files may have different numbers of lines; the shorter one's end is the default
    first = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return [f"{name}: differs from line {first + 1} ({len(a)} lines tracked, {len(b)} now)"]


def table_differences(name: str, tracked: Path, now: Path, key: Sequence[str] = (), limit: int = 6) -> list[str]:
    """What differs between two CSV tables, column by column, matching rows by ``key`` (else by position)."""
    import pandas as pd

    try:
        a = pd.read_csv(tracked, dtype=str, keep_default_na=False)
        b = pd.read_csv(now, dtype=str, keep_default_na=False)
    except Exception:
        return [f"{name}: differs (not readable as a table)"]
    if list(a.columns) != list(b.columns):
        only_a = [c for c in a.columns if c not in b.columns]
        only_b = [c for c in b.columns if c not in a.columns]
        return [f"{name}: columns differ (only tracked: {only_a or '-'}; only now: {only_b or '-'}; else order)"]
    out = [] if len(a) == len(b) else [f"{name}: {len(a)} rows tracked, {len(b)} now"]
    k = [c for c in key if c in a.columns]
    if k and not a.duplicated(k).any() and not b.duplicated(k).any():
        m = a.merge(b, on=k, how="outer", suffixes=("@tracked", "@now"), indicator=True)
        for side, label in (("left_only", "only in the tracked table"), ("right_only", "only in the new table")):
            rows = m[m["_merge"] == side]
            if len(rows):
                out.append(f"{name}: {len(rows)} row(s) {label}, e.g. {_row_label(rows.iloc[0], k)}")
        both = m[m["_merge"] == "both"].reset_index(drop=True)
        pairs = {c: (both[f"{c}@tracked"], both[f"{c}@now"]) for c in a.columns if c not in k}
        where = lambda i: _row_label(both.iloc[i], k)  # noqa: E731
    else:
        n = min(len(a), len(b))
        pairs = {c: (a[c].iloc[:n].reset_index(drop=True), b[c].iloc[:n].reset_index(drop=True)) for c in a.columns}
        where = lambda i: f"row {i + 1}"  # noqa: E731
    for col, (x, y) in pairs.items():
        bad = (x != y).to_numpy()
        if not bad.any():
            continue
        if len(out) >= limit:
            out.append(f"{name}: ... (more columns differ)")
            break
        i = int(bad.argmax())
        out.append(
            f"{name}: column {col} differs in {int(bad.sum())} row(s), e.g. {where(i)}: "
            f"{x.iloc[i]!r} tracked, {y.iloc[i]!r} now"
        )
    return out or [f"{name}: bytes differ (same values as text: formatting or line endings)"]


def _row_label(row: pd.Series, key: Sequence[str]) -> str:
    return ", ".join(f"{c}={row[c]}" for c in key)


def print_reproduction(r: Reproduction) -> int:
    """Print the differences (if any) and the one-line verdict; the exit code is 0 when reproduced, else 1."""
    for name in r.different:
        print(f"  DIFFERENT  {name}")
    for name in r.missing:
        print(f"  MISSING    {name}")
    for line in r.details:
        print(f"    {line}")
    for line in r.notes:
        print(f"note: {line}")
    print(r.verdict)
    return 0 if r.ok else 1
