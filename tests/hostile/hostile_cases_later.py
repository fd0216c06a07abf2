"""Hostile inputs of the commands added after the suite was written: ``predict``, ``whatif``, ``report``,
``init`` and ``models evaluate`` (see :mod:`hostile_harness` for what every case asserts)."""

from __future__ import annotations

from hostile_cases_des import to_csv
from hostile_cases_runs import UNKNOWN
from hostile_harness import MARKER, Case, Ctx, chain, set_cells, truncate, write_file


def predict(ctx: Ctx, model: str = "des-ess-full_26") -> list[str]:
    return ["predict", "--model", model, "--data", ctx.data, "--out", ctx.tmp / "scores.csv"]


def evaluate(ctx: Ctx, *extra: str) -> list[str]:
    return ["models", "evaluate", "--data", ctx.data, "--out", ctx.out, *extra]


CASES = [
    Case(
        "predict:unknown-model",
        lambda c: predict(c, "nosuch"),
        world="des",
        expect=("no registered model",),
        kind="run",
    ),
    Case(
        "predict:unknown-alias",
        lambda c: predict(c, "des-ess-full_26@nosuch"),
        world="des",
        expect=("alias 'nosuch'",),
        kind="run",
    ),
    Case(
        "predict:data-missing",
        lambda c: ["predict", "--model", "des-ess-full_26", "--data", c.tmp / "gone", "--out", c.tmp / "s.csv"],
        expect=("does not exist",),
        kind="path",
    ),
    Case(
        "predict:participants-truncated",
        predict,
        truncate("participants"),
        "des",
        expect=("participants",),
        kind="file",
    ),
    Case(
        "predict:age-not-a-number",
        predict,
        chain(to_csv("participants"), set_cells("participants", "age", MARKER)),
        "des",
        expect=("participants.age", "'type'"),
        marker=MARKER,
        kind="dtype",
    ),
    Case(
        "whatif:unknown-run",
        lambda c: ["whatif", UNKNOWN, "C1", "--measure", "full_13", "--add", "1"],
        expect=("not found",),
        kind="run",
    ),
    Case("report:unknown-run", lambda c: ["report", UNKNOWN, "--out", c.out], expect=("not found",), kind="run"),
    Case("init:on-a-file", lambda c: ["init", c.tmp / "f"], write_file("f", "x"), expect=("is a file",), kind="path"),
    Case(
        "models-evaluate:data-missing",
        lambda c: ["models", "evaluate", "--data", c.tmp / "gone", "--out", c.out],
        expect=("does not exist",),
        kind="path",
    ),
    Case(
        "models-evaluate:bad-scheduler",
        lambda c: evaluate(c, "--scheduler", "ftp://x"),
        world="des",
        expect=("--scheduler",),
        kind="argument",
    ),
    Case(
        "models-evaluate:config-missing",
        lambda c: evaluate(c, "--config", c.tmp / "none.yaml"),
        world="des",
        expect=("none.yaml",),
        kind="config",
    ),
]
