"""Hostile configs of ``release``, and hostile run ids and stores: ``reproduce``, ``compare``, the schemes'
``reproduce`` and any tracked command pointed at a damaged store. Run ids come from the module's tracked
runs (``ctx.runs``: a passed release, one of its model child runs, a cohort evaluation)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import yaml
from hostile_cases_des import LONG_ID, release
from hostile_cases_schemes import SECRET, SECRET_ENV
from hostile_harness import MARKER, Case, Ctx, chain, set_cells, write_file

from toolkit.paths import CONFIGS

DEMO = yaml.safe_load((CONFIGS / "releases" / "demo.yaml").read_text())
#: The store faults are handled in toolkit/tracking/store.py, which another branch rewrites (store faults:
#: a damaged, empty or non-sqlite store file are clear errors there); these cases flip when it is merged.


def release_config(changes: dict[str, Any], drop: tuple[str, ...] = (), name: str = "release.yaml"):
    """Damage: the demo release config with dotted keys changed, written to ``ctx.tmp/name``."""

    def damage(ctx: Ctx) -> None:
        raw = yaml.safe_load(yaml.safe_dump(DEMO))
        for key in drop:
            raw.pop(key)
        for key, value in changes.items():
            node = raw
            *path, last = key.split(".")
            for k in path:
                node = node.setdefault(k, {})
            node[last] = value
        ctx.tmp.mkdir(parents=True, exist_ok=True)
        (ctx.tmp / name).write_text(yaml.safe_dump(raw, sort_keys=False))

    return damage


def with_config(ctx: Ctx, out: bool = True) -> list[str]:
    argv = ["release", "--data", ctx.data, "--config", ctx.tmp / "release.yaml"]
    return [*argv, "--out", ctx.out] if out else argv


ALIAS_BOMB = (
    "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))
    + "name: demo\ndescription: *i\nwindow: {start: '2018-07-01', end: '2020-03-31'}\n"
)

CONFIGS_CASES = [
    Case(
        "release:config-missing",
        lambda c: ["release", "--data", c.data, "--config", c.tmp / "none.yaml", "--out", c.out],
        world="des",
        expect=("none.yaml", "not found"),
        kind="config",
    ),
    Case(
        "release:config-is-a-folder",
        lambda c: ["release", "--data", c.data, "--config", c.data, "--out", c.out],
        world="des",
        expect=("is not a file",),
        kind="config",
    ),
    Case(
        "release:config-empty-file",
        with_config,
        write_file("release.yaml", ""),
        "des",
        expect=("must be a mapping",),
        kind="config",
    ),
    Case(
        "release:config-invalid-yaml",
        with_config,
        write_file("release.yaml", "name: demo\nwindow: {start: 2018-07-01\n"),
        "des",
        expect=("not valid YAML",),
        kind="config",
    ),
    Case(
        "release:config-a-list",
        with_config,
        write_file("release.yaml", "- name\n- demo\n"),
        "des",
        expect=("must be a mapping",),
        kind="config",
    ),
    Case(
        "release:config-binary-garbage",
        with_config,
        write_file("release.yaml", bytes(range(256)) * 4),
        "des",
        expect=("release.yaml",),
        kind="config",
    ),
    Case(
        "release:config-python-tag",
        with_config,
        write_file("release.yaml", "name: !!python/object/apply:os.system ['echo ZQX_MARKER_41']\n"),
        "des",
        expect=("not valid YAML",),
        marker=MARKER,
        kind="config",
    ),
    Case(
        "release:config-yaml-alias-bomb",
        with_config,
        write_file("release.yaml", ALIAS_BOMB),
        "des",
        expect=("release.yaml",),
        kind="config",
    ),
    Case(
        "release:config-unknown-key",
        with_config,
        release_config({"surprise_key": 1}),
        "des",
        expect=("surprise_key", "Extra inputs"),
        kind="config",
    ),
    Case(
        "release:config-unknown-nested-key",
        with_config,
        release_config({"tracking.surprise": 1}),
        "des",
        expect=("tracking.surprise",),
        kind="config",
    ),
    Case(
        "release:config-missing-window",
        with_config,
        release_config({}, drop=("window",)),
        "des",
        expect=("window",),
        kind="config",
    ),
    Case(
        "release:config-bad-date",
        with_config,
        release_config({"window.end": "2020-02-30"}),
        "des",
        expect=("window.end",),
        kind="config",
    ),
    Case(
        "release:config-integer-date",
        with_config,
        release_config({"window.start": 20180701}),
        "des",
        expect=("window.start",),
        kind="config",
    ),
    Case(
        "release:config-year-9999",
        with_config,
        release_config({"window.end": "9999-03-31"}),
        "des",
        expect=("window.end", "1900-01-01"),
        kind="config",
    ),
    Case(
        "release:config-window-reversed",
        with_config,
        release_config({"window.start": "2021-01-01"}),
        "des",
        expect=("before window.start",),
        kind="config",
    ),
    Case(
        "release:config-alias-with-slash",
        with_config,
        release_config({"tracking.alias": "champ/ion"}),
        "des",
        expect=("tracking.alias",),
        kind="config",
    ),
    Case(
        "release:config-alias-reserved",
        with_config,
        release_config({"tracking.alias": "v3"}),
        "des",
        expect=("reserved",),
        kind="config",
    ),
    Case(
        "release:config-empty-experiment",
        with_config,
        release_config({"tracking.experiment": ""}),
        "des",
        expect=("tracking.experiment",),
        kind="config",
    ),
    Case(
        "release:config-experiment-control-characters",
        with_config,
        release_config({"tracking.experiment": "a\x07b"}),
        "des",
        expect=("tracking.experiment",),
        kind="config",
    ),
    Case(
        "release:config-name-with-slash",
        with_config,
        release_config({"name": "../../escape"}),
        "des",
        expect=("name",),
        kind="config",
    ),
    Case(
        "release:config-negative-seed",
        with_config,
        release_config({"seed": -1}),
        "des",
        expect=("seed",),
        kind="config",
    ),
    Case(
        "release:config-auc-above-one",
        with_config,
        release_config({"checks.min_auc": 1.5}),
        "des",
        expect=("checks.min_auc",),
        kind="config",
    ),
    Case(
        "release:config-unknown-method",
        with_config,
        release_config({"method": "no_such_method"}),
        "des",
        expect=("no_such_method",),
        kind="config",
    ),
    Case(
        "release:config-unknown-model-set",
        with_config,
        release_config({"models": "no_such_models"}),
        "des",
        expect=("no_such_models",),
        kind="config",
    ),
    Case(
        "release:config-method-outside-repository",
        with_config,
        release_config({"method": "/etc/hostname"}),
        "des",
        expect=("method names", "outside the workspace"),
        kind="config",
    ),
    Case(
        "release:config-models-outside-repository",
        with_config,
        release_config({"models": "/tmp"}),
        "des",
        expect=("models names", "outside the workspace"),
        kind="config",
    ),
    Case(
        "release:config-previous-outside-repository",
        with_config,
        release_config({"previous": "../../../../../../../etc/passwd"}),
        "des",
        expect=("previous names", "outside the workspace"),
        kind="config",
    ),
    Case(
        "release:config-output-root-outside-repository",
        lambda c: with_config(c, out=False),
        release_config({"output_root": "/tmp/hostile-releases"}),
        "des",
        expect=("output_root names", "outside the workspace"),
        kind="config",
    ),
    Case(
        "release:config-data-path-outside-repository",
        lambda c: ["release", "--config", c.tmp / "release.yaml", "--out", c.out],
        release_config({"data": {"path": "/etc"}}),
        expect=("data.path names", "outside the workspace"),
        kind="config",
    ),
    Case(
        "release:no-data-at-all",
        lambda c: ["release", "--config", c.tmp / "release.yaml", "--out", c.out],
        release_config({"data": {}}),
        expect=("no data",),
        kind="config",
    ),
]

# --------------------------------------------------------------------------- run ids


def reproduce(run_id: str, *extra: Any):
    return lambda c: ["reproduce", run_id, "--allow-code-drift", *extra]


def reproduce_run(key: str, *extra: Any):
    return lambda c: ["reproduce", c.runs[key], "--allow-code-drift", *extra]


def compare(a: str | None = None, b: str | None = None):
    return lambda c: [
        "compare",
        c.runs["release"] if a is None else a,
        c.runs["release"] if b is None else b,
        "--out",
        c.out,
    ]


def changed_release_data(ctx: Ctx) -> None:
    """The release's data copied (to ``ctx.data``) with one participant's age changed."""
    import shutil

    shutil.copytree(ctx.runs["release_data"], ctx.data)
    set_cells("participants", "age", 99)(ctx)


UNKNOWN = "0" * 32
RUN_IDS = [
    Case("reproduce:unknown-run", reproduce(UNKNOWN), expect=(UNKNOWN, "not found"), kind="run"),
    Case("reproduce:empty-run-id", reproduce(""), expect=("not found",), kind="run"),
    Case("reproduce:path-as-run-id", reproduce("../../../../etc/passwd"), expect=("not found",), kind="run"),
    Case("reproduce:quote-in-run-id", reproduce("x' OR '1'='1"), expect=("not found",), kind="run"),
    Case("reproduce:10000-character-run-id", reproduce(LONG_ID), expect=("not found",), kind="run"),
    Case("reproduce:control-characters-in-run-id", reproduce("abc\x1b[31mred\x00"), expect=("not found",), kind="run"),
    Case("reproduce:run-of-another-kind", reproduce_run("evaluation"), expect=("not a release",), kind="run"),
    Case("reproduce:model-child-run", reproduce_run("child"), expect=("not a release",), kind="run"),
    Case(
        "reproduce:data-folder-missing",
        lambda c: ["reproduce", c.runs["release"], "--allow-code-drift", "--data", c.tmp / "gone"],
        expect=("gone", "does not exist"),
        kind="path",
    ),
    Case(
        "reproduce:data-is-a-file",
        lambda c: ["reproduce", c.runs["release"], "--allow-code-drift", "--data", c.tmp / "f"],
        write_file("f", "x"),
        expect=("is not a folder",),
        kind="path",
    ),
    Case(
        "cohort-reproduce:data-file-missing",
        lambda c: ["cohort", "reproduce", c.runs["evaluation"], "--data", c.tmp / "gone.csv"],
        expect=("gone.csv",),
        kind="path",
    ),
    Case(
        "reproduce:data-changed",
        lambda c: ["reproduce", c.runs["release"], "--allow-code-drift", "--data", c.data],
        changed_release_data,
        exit=1,
        expect=("participants.parquet differs", "NOT REPRODUCIBLE"),
        kind="run",
    ),
    Case(
        "reproduce:scratch-is-a-file",
        lambda c: ["reproduce", c.runs["release"], "--allow-code-drift", "--scratch", c.tmp / "f"],
        write_file("f", "x"),
        expect=("is a file",),
        kind="path",
    ),
    Case("compare:unknown-run", compare(UNKNOWN), expect=(UNKNOWN, "not found"), kind="run"),
    Case("compare:empty-run-id", compare(b=""), expect=("not found",), kind="run"),
    Case("compare:10000-character-run-id", compare(b=LONG_ID), expect=("not found",), kind="run"),
    Case(
        "compare:run-of-another-kind",
        lambda c: ["compare", c.runs["release"], c.runs["evaluation"], "--out", c.out],
        expect=("not a release",),
        kind="run",
    ),
    Case(
        "compare:model-child-run",
        lambda c: ["compare", c.runs["child"], c.runs["release"], "--out", c.out],
        expect=("not a release",),
        kind="run",
    ),
    Case(
        "compare:out-is-a-file",
        lambda c: ["compare", c.runs["release"], c.runs["release"], "--out", c.tmp / "f"],
        write_file("f", "x"),
        expect=("is a file",),
        kind="path",
    ),
    Case(
        "dex-reproduce:run-of-another-kind",
        lambda c: ["dex", "reproduce", c.runs["release"]],
        expect=("not",),
        kind="run",
    ),
    Case("dex-reproduce:unknown-run", lambda c: ["dex", "reproduce", UNKNOWN], expect=(UNKNOWN,), kind="run"),
    Case(
        "dcp-reproduce:run-of-another-kind",
        lambda c: ["dcp", "reproduce", c.runs["evaluation"]],
        expect=("not",),
        kind="run",
    ),
    Case(
        "dcp-reproduce:10000-character-run-id", lambda c: ["dcp", "reproduce", LONG_ID], expect=("no run",), kind="run"
    ),
    Case(
        "cohort-reproduce:run-of-another-kind",
        lambda c: ["cohort", "reproduce", c.runs["release"]],
        expect=("not",),
        kind="run",
    ),
    Case(
        "cohort-reproduce:malformed-run-id",
        lambda c: ["cohort", "reproduce", "../" + MARKER],
        expect=("no run",),
        kind="run",
    ),
    Case(
        "clients-reproduce:run-of-another-kind",
        lambda c: ["clients", "reproduce", c.runs["evaluation"], "--secret-env", SECRET_ENV],
        env=SECRET,
        expect=("not",),
        kind="run",
    ),
    Case(
        "clients-reproduce:secret-env-unset",
        lambda c: ["clients", "reproduce", c.runs["evaluation"], "--secret-env", "HOSTILE_UNSET_VAR"],
        expect=("--secret-env",),
        kind="config",
    ),
]

# --------------------------------------------------------------------------- stores


def store_file(content: bytes | None = None, real_half: bool = False):
    """Damage: ``ctx.tmp/store/mlflow.db`` holding ``content`` (or the first half of a real store)."""

    def damage(ctx: Ctx) -> None:
        d = ctx.tmp / "store"
        d.mkdir(parents=True, exist_ok=True)
        if real_half:
            src = Path(ctx.store.removeprefix("sqlite:///"))
            with sqlite3.connect(src) as con:  # a consistent copy (the store uses write-ahead logging)
                con.execute(f"VACUUM INTO '{d / 'full.db'}'")
            b = (d / "full.db").read_bytes()
            (d / "mlflow.db").write_bytes(b[: len(b) // 2])
            (d / "full.db").unlink()
        else:
            (d / "mlflow.db").write_bytes(content or b"")

    return damage


def uri(ctx: Ctx) -> str:
    return f"sqlite:///{ctx.tmp / 'store' / 'mlflow.db'}"


def evaluate_on(ctx: Ctx) -> list[str]:
    return ["evaluate", "--synthetic", "20", "--out", ctx.out, "--tracking-uri", uri(ctx)]


NOT_SQLITE = b"this is not a database " + MARKER.encode() + b"\n" * 200
STORES = [
    Case(
        "evaluate:store-not-sqlite", evaluate_on, store_file(NOT_SQLITE), expect=("store",), marker=MARKER, kind="store"
    ),
    Case("evaluate:store-zero-bytes", evaluate_on, store_file(b""), expect=("store", "empty"), kind="store"),
    Case("evaluate:store-truncated", evaluate_on, store_file(real_half=True), expect=("store",), kind="store"),
    Case(
        "evaluate:store-is-a-folder",
        lambda c: ["evaluate", "--synthetic", "20", "--out", c.out, "--tracking-uri", f"sqlite:///{c.tmp}"],
        write_file("x", "x"),
        expect=("store",),
        kind="store",
    ),
    Case(
        "evaluate:store-folder-is-a-file",
        lambda c: [
            "evaluate",
            "--synthetic",
            "20",
            "--out",
            c.out,
            "--tracking-uri",
            f"sqlite:///{c.tmp / 'f' / 'mlflow.db'}",
        ],
        write_file("f", "x"),
        expect=("f",),
        kind="store",
    ),
    Case(
        "evaluate:store-unsupported-uri",
        lambda c: ["evaluate", "--synthetic", "20", "--out", c.out, "--tracking-uri", "ftp://example.invalid/store"],
        expect=("unsupported tracking URI",),
        kind="store",
    ),
    Case(
        "release:store-not-sqlite",
        lambda c: [*release(c), "--tracking-uri", uri(c)],
        chain(store_file(NOT_SQLITE)),
        "des",
        expect=("store",),
        marker=MARKER,
        kind="store",
    ),
    Case(
        "reproduce:store-zero-bytes",
        lambda c: ["reproduce", UNKNOWN, "--tracking-uri", uri(c)],
        store_file(b""),
        expect=("store", "empty"),
        kind="store",
    ),
    Case(
        "reproduce:store-not-sqlite",
        lambda c: ["reproduce", UNKNOWN, "--tracking-uri", uri(c)],
        store_file(NOT_SQLITE),
        expect=("store",),
        marker=MARKER,
        kind="store",
    ),
    Case(
        "compare:store-truncated",
        lambda c: ["compare", UNKNOWN, UNKNOWN, "--out", c.out, "--tracking-uri", uri(c)],
        store_file(real_half=True),
        expect=("store",),
        kind="store",
    ),
    Case(
        "dcp:store-not-sqlite",
        lambda c: ["dcp", "report", "--data", c.data, "--out", c.out, "--quiet", "--tracking-uri", uri(c)],
        store_file(NOT_SQLITE),
        "dcp",
        expect=("store",),
        marker=MARKER,
        kind="store",
    ),
    Case(
        "cohort-reproduce:store-zero-bytes",
        lambda c: ["cohort", "reproduce", UNKNOWN, "--tracking-uri", uri(c)],
        store_file(b""),
        expect=("store", "empty"),
        kind="store",
    ),
]

CASES = CONFIGS_CASES + RUN_IDS + STORES
