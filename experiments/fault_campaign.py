"""Fault campaign: random kills of concurrent releases against one sqlite store, and what they leave.

Releases run, ``--concurrency`` at a time, on one synthetic world generated once (the small world by
default; ``--scale tiny`` where the release's models converge on it, which needs the model specs'
sparse-level rule) and one sqlite store. Each release is planned as

- killed from outside at a random time (SIGTERM or SIGKILL, uniform over most of what a release
  takes with the others running);
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
import statistics
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


@dataclass
class Campaign:
    """The campaign's store, world and tallies."""

    args: argparse.Namespace
    world: Path
    work: Path
    client: MlflowClient
    t0: float
    rng: random.Random = field(init=False)
    names: list[str] = field(default_factory=list)  # the models with a champion
    numbers: dict[str, int] = field(default_factory=dict)  # run id -> release number
    duration: float = 0.0  # of a release alone
    counts: dict[str, int] = field(default_factory=dict)
    checks: list[bool] = field(default_factory=list)  # aliases consistent, after each release that ended
    running: list[Release] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)  # of the releases that finished, with the others

    def __post_init__(self) -> None:
        self.rng = random.Random(self.args.seed)
        self.uri = f"sqlite:///{self.work / 'mlflow.db'}"
        self.out, self.logs = self.work / "releases", self.work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        keys = ("started", "finished", "passed", "failed", "killed", "TERM", "KILL", "in_move", "committed")
        self.counts = dict.fromkeys(keys, 0)

    def start(self, plan: str, sig: str = "KILL", step: str = "none", at: float = 0.0) -> Release:
        n = self.counts["started"]
        self.counts["started"] += 1
        rel = start(n, plan, sig, step, at, self.world, self.uri, self.out, self.logs)
        self.running.append(rel)
        return rel

    def first_release(self) -> bool:
        """One release left to finish: the champions every later check compares with, and its duration."""
        first = self.start("finish")
        code = first.proc.wait()
        self.running.remove(first)
        self.duration = time.perf_counter() - first.started
        if code != 0:
            print(f"the first release failed (exit {code}); see {first.log}", file=sys.stderr)
            return False
        self.counts["finished"] += 1
        self.counts["passed"] += 1
        self.names = sorted(champion_versions_names(self.client))
        self.numbers[run_id_of(first) or ""] = 0
        print(f"release 0 finished in {self.duration:.1f}s; champion on {len(self.names)} models", flush=True)
        return True

    def kills_to_plan(self) -> int:
        """Kills still to plan: ``--kills`` minus the releases killed and those running with a kill planned
        (a kill planned for after a release's end does not count: that release finished)."""
        pending = sum(1 for r in self.running if r.plan != "finish")
        return self.args.kills - self.counts["killed"] - pending

    def kill_window(self) -> float:
        """How late an outside kill may come: most of what a release takes with the others running."""
        typical = statistics.median(self.durations) if self.durations else self.duration * self.args.concurrency
        return max(1.0, 0.9 * typical)

    def launch(self) -> None:
        """Start releases up to the concurrency while kills remain to be planned."""
        a = self.args
        steps = ["after_pending", *[f"alias_{k}" for k in range(1, len(self.names) + 1)]]
        steps += ["before_complete", "after_complete"]
        while self.kills_to_plan() > 0 and len(self.running) < a.concurrency:
            sig = self.rng.choice(["TERM", "KILL"])
            if self.rng.random() < a.finish_share:
                self.start("finish")
            elif self.rng.random() < a.in_move_share:
                self.start("in-move", sig, self.rng.choice(steps))
            else:
                self.start("external", sig, at=self.rng.uniform(0.5, self.kill_window()))

    def ended(self, rel: Release, code: int) -> None:
        """A release ended: sweep as the next release's start does, check the aliases, print one line."""
        self.running.remove(rel)
        abandoned, _ = repair_moves(self.client, self.uri, repair=False)
        swept = sweep_stale_runs(self.client, None, self.uri)
        run_id = run_id_of(rel)
        in_move = committed = False
        if run_id is not None:
            self.numbers[run_id] = rel.number
            run = self.client.get_run(run_id)
            in_move = run.data.tags.get(MOVE_TAG) == "rolled_back"
            committed = run.data.tags.get("toolkit.status") == "passed"
        ok, whose = aliases_consistent(self.client, self.uri, self.names, "des-star-ratings", self.numbers)
        self.checks.append(ok)
        stamp = f"[{time.perf_counter() - self.t0:7.1f}s] release {rel.number} ({rel.describe()})"
        consistent = f"aliases consistent: {'yes' if ok else 'NO'} ({whose})"
        if code in (130, -signal.SIGTERM, -signal.SIGKILL):
            for key, add in (("killed", 1), (rel.sig, 1), ("in_move", in_move), ("committed", committed)):
                self.counts[key] += int(add)
            how = "during the alias move" if in_move else "outside the alias move"
            how += ", after its run had committed as passed" if committed else ""
            print(
                f"{stamp}: killed (exit {code}) {how}; sweep ended {len(swept)} run(s), rolled back "
                f"{len(abandoned)} move(s); {consistent}",
                flush=True,
            )
        else:
            self.durations.append(time.perf_counter() - rel.started)
            self.counts["finished"] += 1
            self.counts["passed" if code == 0 else "failed"] += 1
            print(f"{stamp}: finished (exit {code}); {consistent}", flush=True)
            if code != 0:
                print("    " + "\n    ".join(rel.log.read_text().strip().splitlines()[-3:]), flush=True)

    def run(self) -> None:
        """Start releases and kill them as planned until ``--kills`` releases were killed and all have ended."""
        while self.kills_to_plan() > 0 or self.running:
            self.launch()
            time.sleep(0.05)
            for rel in list(self.running):
                due = rel.plan == "external" and not rel.sent and time.perf_counter() - rel.started >= rel.at
                if due and rel.proc.poll() is None:
                    rel.proc.send_signal(signal.SIGTERM if rel.sig == "TERM" else signal.SIGKILL)
                    rel.sent = True
                code = rel.proc.poll()
                if code is not None:
                    self.ended(rel, code)

    def stop(self) -> None:
        """No release of the campaign outlives it (stopped early: Ctrl-C, an error)."""
        for rel in self.running:
            if rel.proc.poll() is None:
                rel.proc.kill()
                rel.proc.wait()

    def report(self) -> int:
        """The doctor's verdict, folder records against their runs, accounting; the figures. 0 when all hold."""
        final = diagnose(self.client, self.uri)
        folders = sorted(p for p in self.out.iterdir() if p.is_dir())
        disagree: list[str] = []
        accounted = with_accounting = 0
        for folder in folders:
            if not (folder / "release.json").is_file():  # killed between creating the folder and tagging the run
                if any(folder.iterdir()):
                    disagree.append(f"{folder.name}: files but no release.json")
                continue
            record = json.loads((folder / "release.json").read_text())
            run = self.client.get_run(record["run_id"])
            if record["status"] != run.data.tags.get("toolkit.status") or run.info.status == "RUNNING":
                disagree.append(f"{folder.name}: folder says {record['status']}, run {run.info.status}")
            if record["status"] == "passed" and (folder / "accounting.csv").is_file():
                with_accounting += 1
                accounted += accounting_closes(folder / "accounting.csv")
        c = self.counts
        print()
        print(f"releases started: {c['started']}")
        print(f"releases finished: {c['finished']} (passed {c['passed']}, failed {c['failed']})")
        print(
            f"releases killed: {c['killed']} (SIGTERM {c['TERM']}, SIGKILL {c['KILL']}; during the alias move "
            f"{c['in_move']}; after their run had committed as passed {c['committed']})"
        )
        print(f"aliases consistent after every release that ended: {sum(self.checks)} of {len(self.checks)}")
        print(f"doctor at the end: {'consistent' if final.consistent else 'INCONSISTENT'}")
        print(f"folders whose release.json disagrees with their run: {len(disagree)} of {len(folders)}")
        for d in disagree:
            print(f"  - {d}")
        if with_accounting:
            print(f"records accounted: {accounted} of {with_accounting} passed releases' accounting.csv close")
        else:
            print("records accounted: n/a (the releases write no accounting.csv)")
        minutes = (time.perf_counter() - self.t0) / 60
        print(
            f"time: {minutes:.1f} min, {self.args.concurrency} releases at a time (a release alone: "
            f"{self.duration:.1f}s)"
        )
        good = all(self.checks) and final.consistent and not disagree and accounted == with_accounting
        return 0 if good else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=50, help="releases to kill (default 50)")
    ap.add_argument("--concurrency", type=int, default=2, help="releases running at once (default 2)")
    ap.add_argument("--seed", type=int, default=2018, help="seed of the kill plan (default 2018)")
    ap.add_argument(
        "--scale",
        default="small",
        choices=["tiny", "small"],
        help="synthetic world (default small; tiny needs models that converge on it)",
    )
    ap.add_argument("--world-seed", type=int, default=7, help="seed of the synthetic world (default 7)")
    ap.add_argument("--world", type=Path, default=None, help="use this world instead of generating one")
    ap.add_argument("--workdir", type=Path, default=None, help="store, release folders, logs (default: temporary)")
    ap.add_argument("--in-move-share", type=float, default=0.35, help="share of kills during the alias move")
    ap.add_argument("--finish-share", type=float, default=0.2, help="share of releases left to finish")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="fault-campaign-"))
    work.mkdir(parents=True, exist_ok=True)
    world = args.world
    if world is None:
        world = work / "world"
        generate_world(world, args.scale, args.world_seed)
    c = Campaign(args, world, work, connect(f"sqlite:///{work / 'mlflow.db'}"), t0)
    print(f"fault campaign: {args.kills} kills, {args.concurrency} releases at a time, world {world}, store {c.uri}")
    print(f"world ready in {time.perf_counter() - t0:.1f}s; logs in {c.logs}", flush=True)
    try:
        if not c.first_release():
            return 2
        c.run()
    finally:
        c.stop()
    return c.report()


def champion_versions_names(client: MlflowClient) -> list[str]:
    """Registered models that have the champion alias (after the first release: all of them)."""
    return [m.name for m in client.search_registered_models(max_results=1000) if ALIAS in (m.aliases or {})]


if __name__ == "__main__":
    raise SystemExit(main())
