"""Hostile inputs of the schemes: ``dex report``, ``dcp report`` / ``dcp catalogue``, ``clients report``,
``evaluate``. The DEX world is Parquet; DCP, client-level and cohort tables are CSV."""

from __future__ import annotations

from typing import Any

import pandas as pd
import yaml
from hostile_harness import (
    MARKER,
    Case,
    Ctx,
    chain,
    edit,
    empty,
    folder_instead,
    garbage,
    latin1_csv,
    read,
    remove,
    set_cells,
    truncate,
    write,
    write_file,
    xlsx_as_csv,
)

from toolkit.paths import CONFIGS

LONG_ID = MARKER + "x" * (10_000 - len(MARKER))
SECRET_ENV = "HOSTILE_CI_SECRET"
SECRET = {SECRET_ENV: "hostile-suite-secret-0123456789"}


def config_file(base: str, changes: dict[str, Any], name: str = "config.yaml", drop: tuple[str, ...] = ()):
    """Damage: ``configs/<base>`` with dotted keys changed (``{"periods.first": "2023Q9"}``) and keys dropped,
    written to ``ctx.tmp/name`` (relative paths the config names are kept relative to ``configs/``)."""

    def damage(ctx: Ctx) -> None:
        raw = yaml.safe_load((CONFIGS / base).read_text())
        for key in drop:
            node = raw
            *path, last = key.split(".")
            for k in path:
                node = node[k]
            del node[last]
        for key, value in changes.items():
            node = raw
            *path, last = key.split(".")
            for k in path:
                node = node.setdefault(k, {})
            node[last] = value
        ctx.tmp.mkdir(parents=True, exist_ok=True)
        (ctx.tmp / name).write_text(yaml.safe_dump(raw, sort_keys=False))

    return damage


# --------------------------------------------------------------------------- dex report


def dex(ctx: Ctx, *extra: Any) -> list[str]:
    return ["dex", "report", "--data", ctx.data, "--out", ctx.out, *extra]


def dex_config(changes: dict[str, Any], drop: tuple[str, ...] = ()):
    return config_file("schemes/dex/partnership.yaml", changes, drop=drop)


def dex_with_config(ctx: Ctx) -> list[str]:
    return dex(ctx, "--config", ctx.tmp / "config.yaml")


DEX = [
    Case("dex:truncated-parquet", dex, truncate("sessions"), "dex", expect=("sessions", "cannot be read"), kind="file"),
    Case("dex:zero-byte-parquet", dex, empty("clients"), "dex", expect=("clients", "cannot be read"), kind="file"),
    Case(
        "dex:folder-instead-of-file",
        dex,
        folder_instead("cases"),
        "dex",
        expect=("cases", "missing_table"),
        kind="file",
    ),
    Case("dex:missing-table", dex, remove("outlets"), "dex", expect=("outlets", "missing_table"), kind="file"),
    Case(
        "dex:binary-garbage",
        dex,
        garbage("score_assessments"),
        "dex",
        expect=("score_assessments", "cannot be read"),
        marker=MARKER,
        kind="file",
    ),
    Case(
        "dex:duplicate-key",
        dex,
        set_cells("clients", "client_id", MARKER, rows=(3, 4)),
        "dex",
        expect=("clients.client_id", "unique", "2 rows"),
        marker=MARKER,
        kind="key",
    ),
    Case(
        "dex:dangling-key",
        dex,
        set_cells("sessions", "case_id", MARKER, rows=(0, 1)),
        "dex",
        expect=("sessions.case_id", "foreign_key->cases", "2 rows"),
        marker=MARKER,
        kind="key",
    ),
    Case(
        "dex:unknown-sex-code",
        dex,
        set_cells("clients", "sex", MARKER),
        "dex",
        expect=("clients.sex", "enum"),
        marker=MARKER,
        kind="code",
    ),
    Case(
        "dex:unknown-domain",
        dex,
        set_cells("score_assessments", "domain", MARKER),
        "dex",
        expect=("score_assessments.domain",),
        marker=MARKER,
        kind="code",
    ),
    Case(
        "dex:score-out-of-range",
        dex,
        set_cells("score_assessments", "score", 424242),
        "dex",
        expect=("score_assessments.score", "maximum"),
        marker="424242",
        kind="value",
    ),
    Case(
        "dex:negative-count",
        dex,
        set_cells("sessions", "unidentified_clients", -424242),
        "dex",
        expect=("sessions.unidentified_clients", "minimum"),
        marker="424242",
        kind="value",
    ),
    Case(
        "dex:year-9999",
        dex,
        edit(
            "sessions",
            lambda df: df.assign(
                session_date=df["session_date"].astype("datetime64[s]").where(df.index != 0, pd.Timestamp("9999-01-01"))
            ),
        ),
        "dex",
        expect=("sessions.session_date", "date_range"),
        marker="9999",
        kind="date",
    ),
    Case(
        "dex:integer-dates",
        dex,
        edit("cases", lambda df: df.assign(created_date=df["created_date"].dt.strftime("%Y%m%d").astype("int64"))),
        "dex",
        expect=("cases.created_date", "type"),
        kind="date",
    ),
    Case(
        "dex:10000-character-id",
        dex,
        set_cells("clients", "client_id", LONG_ID),
        "dex",
        expect=("clients.client_id", "pattern"),
        marker=MARKER,
        kind="id",
    ),
    Case(
        "dex:name-with-marker-and-bad-birth-date",
        dex,
        chain(
            set_cells("clients", "given_name", MARKER),
            edit("clients", lambda df: df.assign(birth_date=df["birth_date"].astype(str).where(df.index != 0, MARKER))),
        ),
        "dex",
        expect=("clients.birth_date", "type"),
        marker=MARKER,
        kind="dtype",
    ),
    Case(
        "dex:data-folder-missing",
        lambda c: ["dex", "report", "--data", c.tmp / "nowhere", "--out", c.out],
        expect=("nowhere",),
        kind="path",
    ),
    Case(
        "dex:data-is-a-file",
        lambda c: ["dex", "report", "--data", c.data / "clients.parquet", "--out", c.out],
        world="dex",
        expect=("clients.parquet",),
        kind="path",
    ),
    Case(
        "dex:config-missing",
        lambda c: dex(c, "--config", c.tmp / "none.yaml"),
        world="dex",
        expect=("none.yaml", "not found"),
        kind="config",
    ),
    Case(
        "dex:config-invalid-yaml",
        dex_with_config,
        write_file("config.yaml", "name: x\nmeasures: {a: [\n"),
        "dex",
        expect=("not valid YAML",),
        kind="config",
    ),
    Case(
        "dex:config-unknown-key",
        dex_with_config,
        dex_config({"surprise_key": 1}),
        "dex",
        expect=("surprise_key",),
        kind="config",
    ),
    Case(
        "dex:config-bad-date",
        dex_with_config,
        dex_config({"reporting.first_period_start": "2021-02-30"}),
        "dex",
        expect=("first_period_start",),
        kind="config",
    ),
    Case(
        "dex:config-integer-date",
        dex_with_config,
        dex_config({"reporting.first_period_start": 20210701}),
        "dex",
        expect=("first_period_start", "not a number"),
        kind="config",
    ),
    Case(
        "dex:config-year-9999",
        dex_with_config,
        dex_config({"reporting.transition.end": "9999-06-30"}),
        "dex",
        expect=("reporting.transition.end", "1900-01-01"),
        kind="config",
    ),
    Case(
        "dex:config-share-above-one",
        dex_with_config,
        dex_config({"measures.assessed_goals.share": 1.5}),
        "dex",
        expect=("share",),
        kind="config",
    ),
    Case(
        "dex:config-contracts-outside-repository",
        dex_with_config,
        dex_config({"contracts": "/etc"}),
        "dex",
        expect=("contracts", "outside the workspace"),
        kind="config",
    ),
    Case(
        "dex:config-domains-outside-repository",
        dex_with_config,
        dex_config({"domains": "../../../../../../etc/passwd"}),
        "dex",
        expect=("domains", "outside the workspace"),
        kind="config",
    ),
    Case(
        "dex:config-empty-experiment",
        dex_with_config,
        dex_config({"tracking.experiment": ""}),
        "dex",
        expect=("tracking.experiment",),
        kind="config",
    ),
    Case(
        "dex:config-output-root-outside-repository",
        lambda c: ["dex", "report", "--data", c.data, "--config", c.tmp / "config.yaml"],
        dex_config({"output_root": "/tmp/hostile-dex-out"}),
        "dex",
        expect=("output_root", "outside the workspace"),
        kind="config",
    ),
]

# --------------------------------------------------------------------------- dcp report and catalogue


def dcp(ctx: Ctx, *extra: Any) -> list[str]:
    return ["dcp", "report", "--data", ctx.data, "--out", ctx.out, "--quiet", *extra]


def dcp_config(changes: dict[str, Any], drop: tuple[str, ...] = ()):
    catalogue = str(CONFIGS / "schemes" / "dcp" / "catalogue.yaml")
    return config_file("schemes/dcp/report.yaml", {"catalogue": catalogue, **changes}, drop=drop)


def dcp_with_config(ctx: Ctx) -> list[str]:
    return dcp(ctx, "--config", ctx.tmp / "config.yaml")


def truncated_submissions(ctx: Ctx) -> None:
    """The submissions file cut half-way through a row (no newline at the end): a CSV cannot tell a cut file
    from a short one, but the cut row must not pass."""
    p = ctx.data / "kpi_submissions.csv"
    lines = p.read_text().splitlines()
    keep = len(lines) // 2
    p.write_text("\n".join(lines[:keep]) + "\n" + ",".join(lines[keep].split(",")[:4]))


DCP = [
    Case(
        "dcp:non-utf8-csv",
        dcp,
        latin1_csv("providers", "provider_name"),
        "dcp",
        expect=("providers", "cannot be read"),
        marker=MARKER,
        kind="file",
    ),
    Case(
        "dcp:xlsx-renamed-csv",
        dcp,
        xlsx_as_csv("kpi_submissions"),
        "dcp",
        expect=("kpi_submissions", "cannot be read"),
        kind="file",
    ),
    Case(
        "dcp:zero-byte-csv",
        dcp,
        empty("provider_services"),
        "dcp",
        expect=("provider_services", "cannot be read"),
        kind="file",
    ),
    Case(
        "dcp:binary-garbage",
        dcp,
        garbage("kpi_submissions"),
        "dcp",
        expect=("kpi_submissions", "cannot be read"),
        marker=MARKER,
        kind="file",
    ),
    Case(
        "dcp:truncated-csv",
        dcp,
        truncated_submissions,
        "dcp",
        expect=("kpi_submissions.numerator,answer", "value_given", "1 row"),
        kind="file",
    ),
    Case("dcp:missing-table", dcp, remove("providers"), "dcp", expect=("providers", "missing_table"), kind="file"),
    Case(
        "dcp:duplicate-key",
        dcp,
        set_cells("providers", "provider_id", "P001", rows=(1,)),
        "dcp",
        expect=("providers.provider_id", "unique"),
        kind="key",
    ),
    Case(
        "dcp:dangling-key",
        dcp,
        set_cells("kpi_submissions", "provider_id", "ZQX-MARKER-41"),
        "dcp",
        expect=("kpi_submissions.provider_id", "foreign_key->"),
        marker="ZQX-MARKER-41",
        kind="key",
    ),
    Case(
        "dcp:unknown-kpi-code",
        dcp,
        set_cells("kpi_submissions", "kpi_id", MARKER),
        "dcp",
        expect=("kpi_submissions.kpi_id", "pattern"),
        marker=MARKER,
        kind="code",
    ),
    Case(
        "dcp:bad-quarter",
        dcp,
        set_cells("kpi_submissions", "quarter", "2023Q5"),
        "dcp",
        expect=("kpi_submissions.quarter", "pattern"),
        marker="2023Q5",
        kind="code",
    ),
    Case(
        "dcp:text-in-numerator",
        dcp,
        set_cells("kpi_submissions", "numerator", MARKER),
        "dcp",
        expect=("kpi_submissions.numerator", "type"),
        marker=MARKER,
        kind="dtype",
    ),
    Case(
        "dcp:year-9999",
        dcp,
        set_cells("kpi_submissions", "submitted_on", "9999-10-20"),
        "dcp",
        expect=("kpi_submissions.submitted_on", "date_range"),
        marker="9999",
        kind="date",
    ),
    Case(
        "dcp:integer-date",
        dcp,
        set_cells("kpi_submissions", "submitted_on", "20231020"),
        "dcp",
        expect=("kpi_submissions.submitted_on", "type"),
        marker="20231020",
        kind="date",
    ),
    Case(
        "dcp:10000-character-provider",
        dcp,
        set_cells("providers", "provider_id", LONG_ID),
        "dcp",
        expect=("providers.provider_id", "pattern"),
        marker=MARKER,
        kind="id",
    ),
    Case(
        "dcp:config-missing",
        lambda c: dcp(c, "--config", c.tmp / "none.yaml"),
        world="dcp",
        expect=("none.yaml",),
        kind="config",
    ),
    Case(
        "dcp:config-unknown-key",
        dcp_with_config,
        dcp_config({"escalation.surprise_key": 3}),
        "dcp",
        expect=("surprise_key",),
        kind="config",
    ),
    Case(
        "dcp:config-bad-quarter",
        dcp_with_config,
        dcp_config({"periods.first": "2023Q9"}),
        "dcp",
        expect=("periods.first",),
        kind="config",
    ),
    Case(
        "dcp:config-periods-reversed",
        dcp_with_config,
        dcp_config({"periods.first": "2025Q2", "periods.last": "2023Q3"}),
        "dcp",
        expect=("periods",),
        kind="config",
    ),
    Case(
        "dcp:config-unknown-policy",
        dcp_with_config,
        dcp_config({"escalation.not_submitted": "ignore"}),
        "dcp",
        expect=("escalation.not_submitted",),
        kind="config",
    ),
    Case(
        "dcp:config-empty-experiment",
        dcp_with_config,
        dcp_config({"tracking.experiment": "  "}),
        "dcp",
        expect=("tracking.experiment",),
        kind="config",
    ),
    Case(
        "dcp:config-catalogue-outside-repository",
        dcp_with_config,
        dcp_config({"catalogue": "/etc/hostname"}),
        "dcp",
        expect=("catalogue", "outside the workspace"),
        kind="config",
    ),
    Case(
        "dcp:contradictory-catalogue",
        lambda c: dcp(c, "--catalogue", CONFIGS / "schemes" / "dcp" / "catalogue_raw.yaml"),
        world="dcp",
        expect=("KPI",),
        kind="config",
    ),
    Case(
        "dcp-catalogue:missing",
        lambda c: ["dcp", "catalogue", c.tmp / "none.yaml"],
        expect=("none.yaml",),
        kind="config",
    ),
    Case(
        "dcp-catalogue:invalid-yaml",
        lambda c: ["dcp", "catalogue", c.tmp / "cat.yaml"],
        write_file("cat.yaml", "kpis:\n  - id: 1\n    bands: [}"),
        expect=("not valid YAML",),
        kind="config",
    ),
    Case(
        "dcp-catalogue:a-folder",
        lambda c: ["dcp", "catalogue", c.tmp],
        write_file("x", "x"),
        expect=("config",),
        kind="config",
    ),
    Case(
        "dcp-catalogue:contradictory-seed",
        lambda c: ["dcp", "catalogue", "schemes/dcp/catalogue_raw.yaml"],
        expect=("KPI",),
        kind="config",
    ),
    Case(
        "dcp-catalogue:binary-garbage",
        lambda c: ["dcp", "catalogue", c.tmp / "cat.yaml"],
        write_file("cat.yaml", bytes(range(256)) * 3),
        expect=("cat.yaml",),
        kind="config",
    ),
]

# --------------------------------------------------------------------------- clients report


def clients(ctx: Ctx, *extra: Any) -> list[str]:
    return ["clients", "report", "--data", ctx.data, "--secret-env", SECRET_ENV, "--out", ctx.out, "--quiet", *extra]


def rename_id(column: str, tables: tuple[str, ...]):
    """Damage: one id (of the first table's first row) replaced by a 10,000-character one in every table that
    holds it, so that the references still match and only the id itself is hostile."""

    def damage(ctx: Ctx) -> None:
        first = read(ctx.data, tables[0])
        old = first.loc[first.index[0], column]
        for t in tables:
            df = read(ctx.data, t)
            df.loc[df[column] == old, column] = LONG_ID
            write(ctx.data, t, df)

    return damage


def clients_config(changes: dict[str, Any]):
    return config_file("schemes/clientlevel/report.yaml", changes)


def clients_with_config(ctx: Ctx) -> list[str]:
    return clients(ctx, "--config", ctx.tmp / "config.yaml")


CLIENTS = [
    Case(
        "clients:secret-env-unset",
        lambda c: ["clients", "report", "--data", c.data, "--secret-env", "HOSTILE_UNSET_VAR", "--out", c.out],
        world="clients",
        expect=("--secret-env", "not set"),
        kind="config",
    ),
    Case(
        "clients:secret-too-short",
        clients,
        world="clients",
        env={SECRET_ENV: "ZQXs3cr3t"},
        expect=(SECRET_ENV, "16"),
        marker="ZQXs3cr3t",
        kind="config",
    ),
    Case(
        "clients:non-utf8-csv",
        clients,
        latin1_csv("clients", "full_name"),
        "clients",
        env=SECRET,
        expect=("clients", "cannot be read"),
        marker=MARKER,
        kind="file",
    ),
    Case(
        "clients:xlsx-renamed-csv",
        clients,
        xlsx_as_csv("enrolments"),
        "clients",
        env=SECRET,
        expect=("enrolments", "cannot be read"),
        kind="file",
    ),
    Case(
        "clients:zero-byte-csv",
        clients,
        empty("sessions"),
        "clients",
        env=SECRET,
        expect=("sessions", "cannot be read"),
        kind="file",
    ),
    Case(
        "clients:missing-table",
        clients,
        remove("services"),
        "clients",
        env=SECRET,
        expect=("services", "missing_table"),
        kind="file",
    ),
    Case(
        "clients:duplicate-key",
        clients,
        set_cells("enrolments", "enrolment_id", MARKER, rows=(0, 1)),
        "clients",
        env=SECRET,
        expect=("enrolments.enrolment_id",),
        marker=MARKER,
        kind="key",
    ),
    Case(
        "clients:dangling-key",
        clients,
        set_cells("enrolments", "service_id", MARKER),
        "clients",
        env=SECRET,
        expect=("enrolments.service_id", "foreign_key->services"),
        marker=MARKER,
        kind="key",
    ),
    Case(
        "clients:unknown-gender",
        clients,
        set_cells("clients", "gender", MARKER),
        "clients",
        env=SECRET,
        expect=("clients.gender", "enum"),
        marker=MARKER,
        kind="code",
    ),
    Case(
        "clients:score-out-of-range",
        clients,
        set_cells("assessments", "pre_score", "424242"),
        "clients",
        env=SECRET,
        expect=("assessments.pre_score", "maximum"),
        marker="424242",
        kind="value",
    ),
    Case(
        "clients:nan-score",
        clients,
        set_cells("assessments", "post_score", "nan"),
        "clients",
        env=SECRET,
        expect=("assessments.post_score",),
        kind="value",
    ),
    Case(
        "clients:birth-year-9999",
        clients,
        set_cells("clients", "date_of_birth", "9999-06-22"),
        "clients",
        env=SECRET,
        expect=("clients.date_of_birth", "date_range"),
        marker="9999",
        kind="date",
    ),
    Case(
        "clients:integer-date",
        clients,
        set_cells("enrolments", "start_date", "20221106"),
        "clients",
        env=SECRET,
        expect=("enrolments.start_date", "type"),
        marker="20221106",
        kind="date",
    ),
    Case(
        "clients:10000-character-client-ref",
        clients,
        rename_id("client_ref", ("clients", "enrolments", "dependants")),
        "clients",
        env=SECRET,
        expect=("clients.client_ref", "pattern"),
        marker=MARKER,
        kind="id",
    ),
    Case(
        "clients:10000-character-enrolment-id",
        clients,
        rename_id("enrolment_id", ("enrolments", "sessions", "assessments")),
        "clients",
        env=SECRET,
        expect=("enrolments.enrolment_id", "pattern"),
        marker=MARKER,
        kind="id",
    ),
    Case(
        "clients:config-formula-names-provider",
        clients_with_config,
        clients_config({"model.formula": "improved ~ C(provider_id) + pre_mean"}),
        "clients",
        env=SECRET,
        expect=("provider",),
        kind="config",
    ),
    Case(
        "clients:config-window-reversed",
        clients_with_config,
        clients_config({"window": {"start": "2024-06-30", "end": "2022-07-01"}}),
        "clients",
        env=SECRET,
        expect=("window",),
        kind="config",
    ),
    Case(
        "clients:config-integer-date",
        clients_with_config,
        clients_config({"window": {"start": 20220701, "end": "2024-06-30"}}),
        "clients",
        env=SECRET,
        expect=("window.start", "not a number"),
        kind="config",
    ),
    Case(
        "clients:config-year-9999",
        clients_with_config,
        clients_config({"window": {"start": "2022-07-01", "end": "9999-06-30"}}),
        "clients",
        env=SECRET,
        expect=("window.end", "1900-01-01"),
        kind="config",
    ),
    Case(
        "clients:config-alias-with-slash",
        clients_with_config,
        clients_config({"tracking.alias": "champ/ion"}),
        "clients",
        env=SECRET,
        expect=("tracking.alias",),
        kind="config",
    ),
    Case(
        "clients:config-output-root-outside-repository",
        lambda c: [
            "clients",
            "report",
            "--data",
            c.data,
            "--secret-env",
            SECRET_ENV,
            "--config",
            c.tmp / "config.yaml",
        ],
        clients_config({"output_root": "/tmp/hostile-clients-out"}),
        "clients",
        env=SECRET,
        expect=("output_root", "outside the workspace"),
        kind="config",
    ),
]

# --------------------------------------------------------------------------- evaluate


def evaluate(ctx: Ctx, name: str = "cohort.csv", *extra: Any) -> list[str]:
    return ["evaluate", "--data", ctx.data / name, "--out", ctx.out, *extra]


def cohort_cells(column: str, value: Any, rows=(0,)):
    return set_cells("cohort", column, value, rows=rows)


def cohort_config(changes: dict[str, Any]):
    return config_file("schemes/cohort/default.yaml", changes)


def evaluate_with_config(ctx: Ctx) -> list[str]:
    return evaluate(ctx, "cohort.csv", "--config", ctx.tmp / "config.yaml")


EVALUATE = [
    Case(
        "evaluate:file-missing", lambda c: evaluate(c, "none.csv"), world="cohort", expect=("not found",), kind="path"
    ),
    Case(
        "evaluate:wrong-extension",
        lambda c: evaluate(c, "cohort.txt"),
        lambda c: (c.data / "cohort.csv").rename(c.data / "cohort.txt"),
        "cohort",
        expect=("expected .csv or .parquet",),
        kind="file",
    ),
    Case(
        "evaluate:zero-byte", evaluate, empty("cohort"), "cohort", expect=("cohort.csv", "cannot be read"), kind="file"
    ),
    Case(
        "evaluate:binary-garbage",
        evaluate,
        garbage("cohort"),
        "cohort",
        expect=("cannot be read",),
        marker=MARKER,
        kind="file",
    ),
    Case(
        "evaluate:xlsx-renamed-csv", evaluate, xlsx_as_csv("cohort"), "cohort", expect=("cannot be read",), kind="file"
    ),
    Case(
        "evaluate:truncated-parquet",
        lambda c: evaluate(c, "cohort.parquet"),
        chain(edit("cohort", lambda df: df, suffix=".parquet"), truncate("cohort")),
        "cohort",
        expect=("cohort.parquet", "cannot be read"),
        kind="file",
    ),
    Case(
        "evaluate:a-folder",
        lambda c: ["evaluate", "--data", c.data, "--out", c.out],
        world="cohort",
        expect=("not found",),
        kind="path",
    ),
    Case(
        "evaluate:unknown-domain",
        evaluate,
        cohort_cells("domain", MARKER),
        "cohort",
        expect=("cohort_outcomes.domain", "known_domain"),
        marker=MARKER,
        kind="code",
    ),
    Case(
        "evaluate:outside-scale",
        evaluate,
        cohort_cells("pre", "424242"),
        "cohort",
        expect=("cohort_outcomes.pre", "domain_scale"),
        marker="424242",
        kind="value",
    ),
    Case(
        "evaluate:text-in-number",
        evaluate,
        cohort_cells("post", MARKER),
        "cohort",
        expect=("cohort_outcomes.post", "type"),
        marker=MARKER,
        kind="dtype",
    ),
    Case(
        "evaluate:inf-in-number",
        evaluate,
        cohort_cells("pre", "-inf"),
        "cohort",
        expect=("cohort_outcomes.pre", "type"),
        kind="value",
    ),
    Case(
        "evaluate:missing-pre",
        evaluate,
        cohort_cells("pre", "", rows=(0, 1)),
        "cohort",
        expect=("cohort_outcomes.pre", "required", "2 rows"),
        kind="value",
    ),
    Case(
        "evaluate:duplicate-key",
        evaluate,
        edit("cohort", lambda df: pd.concat([df, df.iloc[[0]]], ignore_index=True)),
        "cohort",
        expect=("primary_key",),
        kind="key",
    ),
    Case(
        "evaluate:10000-character-id",
        evaluate,
        cohort_cells("participant_id", LONG_ID),
        "cohort",
        expect=("cohort_outcomes.participant_id", "pattern"),
        marker=MARKER,
        kind="id",
    ),
    Case(
        "evaluate:missing-column",
        evaluate,
        edit("cohort", lambda df: df.drop(columns=["pre"])),
        "cohort",
        expect=("pre", "missing_column"),
        kind="dtype",
    ),
    Case(
        "evaluate:synthetic-zero",
        lambda c: ["evaluate", "--synthetic", "0", "--out", c.out],
        expect=("must be at least 1",),
        kind="argument",
    ),
    Case(
        "evaluate:data-and-synthetic",
        lambda c: ["evaluate", "--synthetic", "20", "--data", c.data / "cohort.csv", "--out", c.out],
        world="cohort",
        expect=("not allowed with",),
        kind="argument",
    ),
    Case(
        "evaluate:config-invalid-yaml",
        evaluate_with_config,
        write_file("config.yaml", "domains:\n\t- bad"),
        "cohort",
        expect=("not valid YAML",),
        kind="config",
    ),
    Case(
        "evaluate:config-unknown-key",
        evaluate_with_config,
        cohort_config({"surprise_key": True}),
        "cohort",
        expect=("surprise_key",),
        kind="config",
    ),
    Case(
        "evaluate:config-level-above-one",
        evaluate_with_config,
        cohort_config({"levels": [0.9, 1.5]}),
        "cohort",
        expect=("levels",),
        kind="config",
    ),
    Case(
        "evaluate:config-contract-outside-repository",
        evaluate_with_config,
        cohort_config({"contract": "/etc/passwd"}),
        "cohort",
        expect=("contract", "outside the workspace"),
        kind="config",
    ),
    Case(
        "evaluate:config-scale-reversed",
        evaluate_with_config,
        cohort_config({"domains.housing.scale": [5, 1]}),
        "cohort",
        expect=("scale",),
        kind="config",
    ),
    Case(
        "evaluate:works-in-odd-path",
        lambda c: [
            "evaluate",
            "--data",
            c.tmp / "wörld ✓ with spaces" / "cohort.csv",
            "--out",
            c.tmp / "wörld ✓ with spaces" / "out",
        ],
        lambda c: c.data.rename(c.tmp / "wörld ✓ with spaces"),
        "cohort",
        exit=0,
        expect=("evaluation folder",),
        kind="success",
    ),
]

CASES = DEX + DCP + CLIENTS + EVALUATE
