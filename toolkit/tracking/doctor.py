"""``toolkit doctor``: what killed jobs left behind in a store, and (``--repair``) putting it right.

It looks, in every experiment, for

- stale runs: RUNNING runs on this host whose process is gone (SIGKILL, a crash, a power cut);
- unfinished alias moves nobody will finish (:mod:`toolkit.tracking.aliases`): pending, or complete on
  a run that did not pass, whose process is gone or whose run has ended;
- folders whose record (``release.json``, ``run.json``) disagrees with the status of their ended run.

With ``--repair`` it does what a job's start-up sweep does (:func:`toolkit.tracking.lifecycle.sweep_stale_runs`):
ends the stale runs (KILLED, unless they had committed), restores the previous complete set of each
unfinished move, and rewrites the disagreeing records. Exit code 0 when the store is consistent, 1
when it found something (and, with ``--repair``, fixed it), 2 on bad input (an unreachable or damaged store).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.tracking.aliases import (
    Move,
    current_versions,
    pending_moves,
    process_gone,
    repair_moves,
    search_all_runs,
)
from toolkit.tracking.lifecycle import STATUS_TAG, end_stale_run
from toolkit.tracking.record import FOLDER_TAG, PAGES_TAG, RECORD_STATE_TAG, RECORD_TAG, close_record

if TYPE_CHECKING:
    import argparse

    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient


@dataclass
class Finding:
    """One thing found, and what was done about it (empty when not repaired)."""

    what: str
    done: str = ""


@dataclass
class Diagnosis:
    uri: str
    stale: list[Finding] = field(default_factory=list)
    moves: list[Finding] = field(default_factory=list)
    in_progress: list[Finding] = field(default_factory=list)
    records: list[Finding] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not (self.stale or self.moves or self.records)

    def render(self, repair: bool) -> str:
        lines = [f"MLflow store: {self.uri}"]
        sections = [
            ("stale runs (RUNNING, process gone)", self.stale),
            ("unfinished alias moves (process gone or run ended)", self.moves),
            ("folder records that disagree with their run", self.records),
            ("alias moves in progress (left alone)", self.in_progress),
        ]
        for title, items in sections:
            lines.append(f"{title}: {len(items)}")
            lines += [f"  - {f.what}" + (f"\n      -> {f.done}" if f.done else "") for f in items]
        if self.consistent:
            lines.append("verdict: consistent")
        elif repair:
            lines.append("verdict: inconsistent, repaired (run `toolkit doctor` again to check)")
        else:
            lines.append("verdict: INCONSISTENT; `toolkit doctor --repair` restores it")
        return "\n".join(lines)


def _describe(run: Run) -> str:
    tags = run.data.tags
    return (
        f"run {run.info.run_id} ({tags.get('toolkit.kind', '?')} {run.info.run_name}, experiment "
        f"{run.info.experiment_id}, pid {tags.get('toolkit.pid', '?')} on {tags.get('toolkit.host', '?')})"
    )


def _describe_move(client: MlflowClient, m: Move) -> str:
    try:
        now = current_versions(client, sorted(m.intended), m.alias)
        moved = sum(1 for n, v in m.intended.items() if now.get(n) == v and m.previous.get(n) != v)
        done = f"{moved} of {len(m.intended)} already moved"
    except Exception as exc:  # a model deleted since: say so rather than fail the diagnosis
        done = f"current aliases unreadable ({type(exc).__name__})"
    why = "process gone" if m.gone else f"run {m.run_status}"
    return f"run {m.run_id}: alias '{m.alias}' on {len(m.intended)} models, {m.state} ({why}); {done}"


def _record_status(run: Run) -> tuple[Path, str | None] | None:
    """The folder record of an ended run and the status it says, when it disagrees with the run's."""
    tags = run.data.tags
    folder, name, verdict = tags.get(FOLDER_TAG), tags.get(RECORD_TAG), tags.get(STATUS_TAG)
    if not folder or not name or not verdict or verdict == "running":
        return None
    path = Path(folder) / name
    if not path.parent.is_dir():
        return None
    try:
        said = json.loads(path.read_text()).get("status") if path.is_file() else None
    except (OSError, ValueError):
        said = "unreadable"
    return None if said == verdict else (path, said)


def diagnose(client: MlflowClient, uri: str, repair: bool = False) -> Diagnosis:
    """What :func:`run_doctor` reports; with ``repair``, fixed as it goes."""
    from mlflow.entities import ViewType

    d = Diagnosis(uri)
    running = search_all_runs(client, "attributes.status = 'RUNNING'", None, ViewType.ACTIVE_ONLY)
    stale = [r for r in running if process_gone(r)]
    abandoned, _ = repair_moves(client, uri, repair=False)
    d.moves = [Finding(_describe_move(client, m)) for m in abandoned]
    if repair and abandoned:  # first the aliases, then the runs that moved them
        _, rolled = repair_moves(client, uri)
        by_run = {r.run_id: r for r in rolled}
        for m, f in zip(abandoned, d.moves, strict=True):
            r = by_run.get(m.run_id)
            if r is not None:
                left = f"; left alone: {r.left}" if r.left else ""
                f.done = f"rolled back: {len(r.restored)} alias(es) restored to the previous set{left}"
            else:
                f.done = "already rolled back by another job"
    for run in stale:
        f = Finding(_describe(run))
        if repair:
            f.done = f"ended as {end_stale_run(client, client.get_run(run.info.run_id), uri)}"
        d.stale.append(f)
    d.in_progress = [Finding(_describe_move(client, m)) for m in pending_moves(client) if not m.abandoned]
    for run in search_all_runs(client, f"tags.`{FOLDER_TAG}` != ''", None, ViewType.ACTIVE_ONLY):
        if run.info.status == "RUNNING":
            continue
        found = _record_status(run)
        if found is None:
            continue
        path, said = found
        verdict = run.data.tags[STATUS_TAG]
        f = Finding(f"{path} says {said or 'nothing (missing)'}; its run {run.info.run_id} ended {verdict}")
        if repair:
            pages = [p for p in run.data.tags.get(PAGES_TAG, "").split(",") if p]
            base = {"run_id": run.info.run_id, "name": run.info.run_name, "tracking_uri": uri}
            if path.is_file():
                with contextlib.suppress(ValueError):
                    base |= json.loads(path.read_text())
            error = run.data.tags.get("toolkit.error")
            close_record(path.parent, path.name, verdict, error=error, pages=pages, base=base, keep_checks=True)
            if run.data.tags.get(RECORD_STATE_TAG) == "open":
                client.set_tag(run.info.run_id, RECORD_STATE_TAG, "closed")
            f.done = f"rewritten: {verdict}"
        d.records.append(f)
    return d


def run_doctor(args: argparse.Namespace) -> int:
    """``toolkit doctor [--tracking-uri URI] [--repair]``."""
    from toolkit.tracking.store import connect, resolve_tracking_uri, store_faults_as_errors

    uri = resolve_tracking_uri(args.tracking_uri)
    with store_faults_as_errors(uri):
        client = connect(uri)
        d = diagnose(client, uri, repair=args.repair)
    print(d.render(args.repair))
    return 0 if d.consistent else 1
