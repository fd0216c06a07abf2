"""Fault campaign: random kills of concurrent releases against one sqlite store, and what they leave.

Releases run, ``--concurrency`` at a time, on one synthetic world generated once (the small world: in
the tiny one the release's models do not converge) and one sqlite store. Each release is planned as

- killed from outside at a random time (SIGTERM or SIGKILL, uniform over a release's duration);
- killed during the champion alias move, at a random step of it (the pending record written, after
  the k-th alias, before or after the complete mark), with SIGTERM or SIGKILL, through
  ``tests/tracking/kill_harness.py`` (which wraps ``MlflowClient`` only: the release is the real one);
- or left to finish.

After every release that ends, the campaign does what the next release's start does (the stale-run
sweep, :func:`toolkit.tracking.lifecycle.sweep_stale_runs`) and checks that the aliases are
consistent: every ``champion`` alias points at the versions of one complete, passed release
(:func:`toolkit.tracking.aliases.champion_versions` reads them as one set). At the end it runs
``toolkit doctor``'s diagnosis, checks that every release folder's record says what its run says, and
that each finished release's ``accounting.csv`` closes (when the release writes one). It prints
releases started, finished and killed, the consistency after each kill, and the records accounted.

    python experiments/fault_campaign.py --kills 50
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's toolkit

import pandas as pd  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

from toolkit.errors import TrackingError  # noqa: E402
from toolkit.tracking.aliases import MOVE_TAG, champion_versions, repair_moves  # noqa: E402
from toolkit.tracking.doctor import diagnose  # noqa: E402
from toolkit.tracking.lifecycle import sweep_stale_runs  # noqa: E402
from toolkit.tracking.store import connect  # noqa: E402

HARNESS = ROOT / "tests" / "tracking" / "kill_harness.py"
ALIAS = "champion"


@dataclass
class Release:
    number: int
    plan: str  # "finish", "external" or "in-move"
    sig: str  # "TERM" or "KILL"
    step: str  # the harness step ("none" for external kills and finishing releases)
    at: float  # seconds after the start, for external kills
    proc: subprocess.Popen
    log: Path
    started: float = field(default_factory=time.perf_counter)
    sent: bool = False

    def describe(self) -> str:
        if self.plan == "finish":
            return "left to finish"
        if self.plan == "in-move":
            return f"SIG{self.sig} in the alias move ({self.step})"
        return f"SIG{self.sig} at {self.at:.1f}s"


def generate_world(out: Path, scale: str, seed: int) -> None:
    from toolkit.synth import generate_world as gen
    from toolkit.synth import write_world

    write_world(gen(scale, seed=seed, events=False), out, overwrite=True)


def start(n: int, plan: str, sig: str, step: str, at: float, world: Path, uri: str, out: Path, logs: Path) -> Release:
    log = logs / f"release{n:03d}.txt"
    cmd = [sys.executable, str(HARNESS), step, sig, "--", "release", "--data", str(world)]
    cmd += ["--tracking-uri", uri, "--out", str(out)]
    with open(log, "w") as fh:  # the child writes to its own copy of the descriptor
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT)
    return Release(n, plan, sig, step, at, proc, log)


def run_id_of(rel: Release) -> str | None:
    for line in rel.log.read_text().splitlines():
        if ": MLflow run " in line:
            return line.split(": MLflow run ", 1)[1].split()[0]
    return None


def passed_sets(client: MlflowClient, experiment: str) -> dict[str, dict[str, str]]:
    """The alias set of every passed release whose move completed: run id -> {model: version}."""
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return {}
    runs = client.search_runs(
        [exp.experiment_id],
        f"tags.`toolkit.kind` = 'release' and tags.`toolkit.status` = 'passed' and tags.`{MOVE_TAG}` = 'complete'",
        max_results=5000,
    )
    return {r.info.run_id: json.loads(r.data.tags["toolkit.alias_move.intended"]) for r in runs}


def aliases_consistent(
    client: MlflowClient, uri: str, names: list[str], experiment: str, numbers: dict[str, int]
) -> tuple[bool, str]:
    """Whether every champion alias points at the set of one complete, passed release (and whose)."""
    sets = passed_sets(client, experiment)
    if not names:
        return (not sets, "no champion yet")
    try:
        now = champion_versions(names, ALIAS, uri)
    except TrackingError as exc:
        return False, f"unreadable: {exc}"
    for run_id, versions in sets.items():
        if versions == now:
            return True, f"on release {numbers.get(run_id, '?')}'s set"
    return False, f"split: {now}"


def accounting_closes(path: Path) -> bool:
    """``in = used + excluded`` and, per level, ``used = counted + collapsed + no_row`` (program ``all``)."""
    t = pd.read_csv(path)
    g = t[t["program"] == "all"].fillna({"level": ""}).groupby(["stage", "level"])["records"].sum()

    def get(stage: str, level: str = "") -> int:
        return int(g.get((stage, level), 0))

    ok = get("in") == get("used") + get("excluded")
    for level in ("site", "contract", "organisation"):
        ok &= get("used") == get("counted", level) + get("collapsed", level) + get("no_row", level)
    return bool(ok)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=50, help="releases to kill (default 50)")
    ap.add_argument("--concurrency", type=int, default=2, help="releases running at once (default 2)")
    ap.add_argument("--seed", type=int, default=2018, help="seed of the kill plan (default 2018)")
    ap.add_argument("--scale", default="small", choices=["tiny", "small"], help="synthetic world (default small)")
    ap.add_argument("--world-seed", type=int, default=7, help="seed of the synthetic world (default 7)")
    ap.add_argument("--world", type=Path, default=None, help="use this world instead of generating one")
    ap.add_argument("--workdir", type=Path, default=None, help="store, release folders, logs (default: temporary)")
    ap.add_argument("--in-move-share", type=float, default=0.35, help="share of kills during the alias move")
    ap.add_argument("--finish-share", type=float, default=0.2, help="share of releases left to finish")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    rng = random.Random(args.seed)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="fault-campaign-"))
    work.mkdir(parents=True, exist_ok=True)
    logs, out = work / "logs", work / "releases"
    logs.mkdir(exist_ok=True)
    uri = f"sqlite:///{work / 'mlflow.db'}"
    world = args.world
    if world is None:
        world = work / "world"
        generate_world(world, args.scale, args.world_seed)
    print(f"fault campaign: {args.kills} kills, {args.concurrency} releases at a time, world {world}, store {uri}")
    print(f"world ready in {time.perf_counter() - t0:.1f}s; logs in {logs}", flush=True)
    client = connect(uri)

    # one release left to finish first: the champions every later check compares with, and its duration
    first = start(0, "finish", "KILL", "none", 0.0, world, uri, out, logs)
    code = first.proc.wait()
    duration = time.perf_counter() - first.started
    if code != 0:
        print(f"the first release failed (exit {code}); see {first.log}", file=sys.stderr)
        return 2
    experiment = "des-star-ratings"
    names = sorted(champion_versions_names(client))
    print(f"release 0 finished in {duration:.1f}s; champion on {len(names)} models", flush=True)
    numbers = {run_id_of(first) or "": 0}  # run id -> release number

    steps = ["after_pending", *[f"alias_{k}" for k in range(1, len(names) + 1)], "before_complete", "after_complete"]
    counts = {
        "started": 1,
        "finished": 1,
        "passed": 1,
        "failed": 0,
        "killed": 0,
        "TERM": 0,
        "KILL": 0,
        "in_move": 0,
        "committed": 0,
    }
    checks: list[bool] = []
    planned, number = 0, 0
    running: list[Release] = []
    while planned < args.kills or running:
        while planned < args.kills and len(running) < args.concurrency:
            number += 1
            sig = rng.choice(["TERM", "KILL"])
            if rng.random() < args.finish_share:
                rel = start(number, "finish", sig, "none", 0.0, world, uri, out, logs)
            elif rng.random() < args.in_move_share:
                planned += 1
                rel = start(number, "in-move", sig, rng.choice(steps), 0.0, world, uri, out, logs)
            else:
                planned += 1
                at = rng.uniform(0.5, duration * args.concurrency * 0.9)
                rel = start(number, "external", sig, "none", at, world, uri, out, logs)
            counts["started"] += 1
            running.append(rel)
        time.sleep(0.05)
        for rel in list(running):
            elapsed = time.perf_counter() - rel.started
            if rel.plan == "external" and not rel.sent and elapsed >= rel.at and rel.proc.poll() is None:
                rel.proc.send_signal(signal.SIGTERM if rel.sig == "TERM" else signal.SIGKILL)
                rel.sent = True
            polled = rel.proc.poll()
            if polled is None:
                continue
            code = polled
            running.remove(rel)
            killed = code in (130, -signal.SIGTERM, -signal.SIGKILL)
            abandoned, _ = repair_moves(client, uri, repair=False)
            swept = sweep_stale_runs(client, None, uri)  # what the next release's start does
            run_id = run_id_of(rel)
            if run_id is not None:
                numbers[run_id] = rel.number
            in_move = committed = False
            if run_id is not None:
                run = client.get_run(run_id)
                in_move = run.data.tags.get(MOVE_TAG) == "rolled_back"
                committed = run.data.tags.get("toolkit.status") == "passed"
            if killed:
                counts["killed"] += 1
                counts[rel.sig] += 1
                counts["in_move"] += in_move
                counts["committed"] += committed
                ok, whose = aliases_consistent(client, uri, names, experiment, numbers)
                checks.append(ok)
                how = "during the alias move" if in_move else "outside the alias move"
                how += ", after its run had committed as passed" if committed else ""
                print(
                    f"[{time.perf_counter() - t0:7.1f}s] release {rel.number} ({rel.describe()}): killed "
                    f"(exit {code}) {how}; sweep ended {len(swept)} run(s), rolled back {len(abandoned)} "
                    f"move(s); aliases consistent: {'yes' if ok else 'NO'} ({whose})",
                    flush=True,
                )
            else:
                counts["finished"] += 1
                counts["passed" if code == 0 else "failed"] += 1
                ok, whose = aliases_consistent(client, uri, names, experiment, numbers)
                checks.append(ok)
                print(
                    f"[{time.perf_counter() - t0:7.1f}s] release {rel.number} ({rel.describe()}): finished "
                    f"(exit {code}); aliases consistent: {'yes' if ok else 'NO'} ({whose})",
                    flush=True,
                )
                if code not in (0,):
                    print("    " + "\n    ".join(rel.log.read_text().strip().splitlines()[-3:]), flush=True)

    final = diagnose(client, uri)
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    disagree, accounted, with_accounting, finished_folders = [], 0, 0, 0
    for folder in folders:
        if not (folder / "release.json").is_file():  # killed between creating the folder and tagging the run
            if any(folder.iterdir()):
                disagree.append(f"{folder.name}: files but no release.json")
            continue
        record = json.loads((folder / "release.json").read_text())
        run = client.get_run(record["run_id"])
        if record["status"] != run.data.tags.get("toolkit.status") or run.info.status == "RUNNING":
            disagree.append(f"{folder.name}: folder says {record['status']}, run {run.info.status}")
        if record["status"] == "passed":
            finished_folders += 1
            if (folder / "accounting.csv").is_file():
                with_accounting += 1
                accounted += accounting_closes(folder / "accounting.csv")

    minutes = (time.perf_counter() - t0) / 60
    print()
    print(f"releases started: {counts['started']}")
    print(f"releases finished: {counts['finished']} (passed {counts['passed']}, failed {counts['failed']})")
    print(
        f"releases killed: {counts['killed']} (SIGTERM {counts['TERM']}, SIGKILL {counts['KILL']}; "
        f"during the alias move {counts['in_move']}; after their run had committed as passed {counts['committed']})"
    )
    kills_ok = sum(checks)
    print(f"aliases consistent after every release that ended: {kills_ok} of {len(checks)}")
    print(f"doctor at the end: {'consistent' if final.consistent else 'INCONSISTENT'}")
    print(f"folders whose release.json disagrees with their run: {len(disagree)} of {len(folders)}")
    for d in disagree:
        print(f"  - {d}")
    if with_accounting:
        print(f"records accounted: {accounted} of {with_accounting} passed releases' accounting.csv close")
    else:
        print("records accounted: n/a (the releases write no accounting.csv)")
    print(f"time: {minutes:.1f} min on {args.concurrency} concurrent releases (a release alone: {duration:.1f}s)")
    good = kills_ok == len(checks) and final.consistent and not disagree and accounted == with_accounting
    return 0 if good else 1


def champion_versions_names(client: MlflowClient) -> list[str]:
    """Registered models that have the champion alias (after the first release: all of them)."""
    return [m.name for m in client.search_registered_models(max_results=1000) if ALIAS in (m.aliases or {})]


if __name__ == "__main__":
    raise SystemExit(main())
