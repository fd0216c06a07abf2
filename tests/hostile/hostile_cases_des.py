"""Hostile DES inputs: ``validate``, ``release``, ``derive``, ``score``, ``published import``, ``synth``, ``demo``.

Each case copies a session world into ``ctx.data`` (``world=``), damages it and runs one command; see
:mod:`hostile_harness` for what every case asserts."""

from __future__ import annotations

import numpy as np
import pandas as pd
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
    rewrite,
    set_cells,
    truncate,
    write,
    write_file,
    xlsx_as_csv,
)

LONG_ID = MARKER + "x" * (10_000 - len(MARKER))
#: A number planted where the bad value is a number (it must not be printed either).
NUMBER = -424242.5


def validate(ctx: Ctx) -> list[str]:
    return ["validate", ctx.data]


def release(ctx: Ctx) -> list[str]:
    return ["release", "--data", ctx.data, "--config", "demo", "--out", ctx.out]


def derive(ctx: Ctx) -> list[str]:
    return ["derive", "--events", ctx.data / "events", "--release", "March 2020", "--out", ctx.out]


def to_csv(table: str, sub: str = ""):
    return edit(table, lambda df: df, sub, suffix=".csv")


def integer_dates(table: str, column: str, sub: str = ""):
    def fn(df: pd.DataFrame) -> pd.DataFrame:
        df[column] = pd.to_datetime(df[column]).dt.strftime("%Y%m%d").fillna("20190417").astype("int64")
        df.loc[df.index[0], column] = 20190417
        return df

    return edit(table, fn, sub)


def year_9999(table: str, column: str, sub: str = ""):
    def fn(df: pd.DataFrame) -> pd.DataFrame:
        df[column] = pd.to_datetime(df[column]).astype("datetime64[s]")
        df.loc[df.index[[0, 2]], column] = pd.Timestamp("9999-06-30")
        return df

    return edit(table, fn, sub)


def duplicate_rows(table: str, sub: str = ""):
    return edit(table, lambda df: pd.concat([df, df.iloc[[3, 5]]], ignore_index=True), sub)


def duplicate_key(table: str, column: str, sub: str = ""):
    """Two rows given the same planted id (the marker): a primary key broken, and nothing echoed."""
    return set_cells(table, column, MARKER, rows=(1, 2), sub=sub)


def events_world(ctx: Ctx) -> None:
    """A world whose measure records are derived from its events (the table removed)."""
    (ctx.data / "measure_records.parquet").unlink()


# --------------------------------------------------------------------------- validate

VALIDATE = [
    # files
    Case(
        "validate:truncated-parquet",
        validate,
        truncate("participants"),
        "des",
        expect=("participants", "unreadable", "truncated"),
        kind="file",
    ),
    Case("validate:zero-byte-parquet", validate, empty("sites"), "des", expect=("sites", "unreadable"), kind="file"),
    Case(
        "validate:zero-byte-csv",
        validate,
        chain(to_csv("regions"), empty("regions")),
        "des",
        expect=("regions", "unreadable"),
        kind="file",
    ),
    Case(
        "validate:folder-instead-of-file",
        validate,
        folder_instead("contracts"),
        "des",
        expect=("contracts", "missing_table"),
        kind="file",
    ),
    Case(
        "validate:xlsx-renamed-csv",
        validate,
        xlsx_as_csv("organisations"),
        "des",
        expect=("organisations", "unreadable"),
        kind="file",
    ),
    Case(
        "validate:non-utf8-csv",
        validate,
        latin1_csv("organisations", "organisation_name"),
        "des",
        expect=("organisations", "unreadable"),
        marker=MARKER,
        kind="file",
    ),
    Case(
        "validate:binary-garbage-parquet",
        validate,
        garbage("participants"),
        "des",
        expect=("participants", "unreadable"),
        marker=MARKER,
        kind="file",
    ),
    Case(
        "validate:binary-garbage-csv",
        validate,
        chain(to_csv("regions"), garbage("regions")),
        "des",
        expect=("regions",),
        marker=MARKER,
        kind="file",
    ),
    Case(
        "validate:missing-table", validate, remove("regions"), "des", expect=("regions", "missing_table"), kind="file"
    ),
    Case(
        "validate:data-folder-missing",
        lambda c: ["validate", c.tmp / "no such folder"],
        expect=("does not exist",),
        kind="path",
    ),
    Case(
        "validate:data-folder-is-a-file",
        lambda c: ["validate", c.data / "sites.parquet"],
        world="des",
        expect=("does not exist",),
        kind="path",
    ),
    Case("validate:empty-folder", lambda c: ["validate", c.tmp], expect=("missing_table",), kind="file"),
    Case(
        "validate:header-only-csv",
        validate,
        chain(to_csv("participants"), edit("participants", lambda df: df.head(0))),
        "des",
        expect=("measure_records", "foreign_key->participants"),
        kind="file",
    ),
    Case(
        "validate:unknown-table-asked",
        lambda c: ["validate", c.data, "--tables", "nonsense"],
        world="des",
        expect=("no data contract for table(s) nonsense",),
        kind="argument",
    ),
    Case(
        "validate:contracts-folder-empty",
        lambda c: ["validate", c.data, "--contracts", c.tmp / "none"],
        world="des",
        damage=lambda c: (c.tmp / "none").mkdir(),
        expect=("contract",),
        kind="config",
    ),
    # dtypes
    Case(
        "validate:text-in-integer",
        validate,
        chain(to_csv("participants"), set_cells("participants", "age", MARKER)),
        "des",
        expect=("participants.age", "'type'", "1 row"),
        marker=MARKER,
        kind="dtype",
    ),
    Case(
        "validate:fraction-in-integer",
        validate,
        set_cells("participants", "age", 41.5, dtype="float64"),
        "des",
        expect=("participants.age", "'type'", "1 row"),
        marker="41.5",
        kind="dtype",
    ),
    Case(
        "validate:text-in-boolean",
        validate,
        chain(to_csv("participants"), set_cells("participants", "homeless", MARKER)),
        "des",
        expect=("participants.homeless", "'type'"),
        marker=MARKER,
        kind="dtype",
    ),
    Case(
        "validate:text-in-date",
        validate,
        chain(to_csv("sites"), set_cells("sites", "open_date", MARKER)),
        "des",
        expect=("sites.open_date", "'type'"),
        marker=MARKER,
        kind="dtype",
    ),
    Case(
        "validate:list-in-text",
        validate,
        edit("sites", lambda df: df.assign(location_id=[[1, 2]] * len(df))),
        "des",
        expect=("sites.location_id", "'type'", "not text"),
        kind="dtype",
    ),
    Case(
        "validate:numbers-in-text-column",
        validate,
        edit("regions", lambda df: df.assign(esa_name=np.arange(len(df)) + 424242)),
        "des",
        expect=("regions.esa_name", "'type'", "4 rows"),
        marker="424242",
        kind="dtype",
    ),
    # values
    Case(
        "validate:nan-in-required",
        validate,
        set_cells("participants", "age", np.nan, rows=(0, 1, 2), dtype="float64"),
        "des",
        expect=("participants.age", "'required'", "3 rows"),
        kind="value",
    ),
    Case(
        "validate:inf-in-number",
        validate,
        set_cells("regions", "unemployment_rate", np.inf),
        "des",
        expect=("regions.unemployment_rate", "'type'"),
        kind="value",
    ),
    Case(
        "validate:minus-inf-in-integer",
        validate,
        set_cells("participants", "age", -np.inf, dtype="float64"),
        "des",
        expect=("participants.age", "'type'"),
        kind="value",
    ),
    Case(
        "validate:negative-age",
        validate,
        set_cells("participants", "age", -424242),
        "des",
        expect=("participants.age", "'minimum'", "1 row"),
        marker="424242",
        kind="value",
    ),
    Case(
        "validate:negative-time-in-assistance",
        validate,
        set_cells("measure_records", "time_in_assistance", NUMBER),
        "des",
        expect=("measure_records.time_in_assistance", "minimum"),
        marker="424242",
        kind="value",
    ),
    Case(
        "validate:huge-integer",
        validate,
        set_cells("participants", "jsci_score", 1e30, dtype="float64"),
        "des",
        expect=("participants.jsci_score", "'type'"),
        kind="value",
    ),
    # keys
    Case(
        "validate:duplicate-primary-key",
        validate,
        duplicate_key("participants", "participant_id"),
        "des",
        expect=("participants.participant_id", "'unique'", "2 rows"),
        marker=MARKER,
        kind="key",
    ),
    Case(
        "validate:duplicate-composite-key",
        validate,
        duplicate_rows("measure_records"),
        "des",
        expect=("measure_records", "'primary_key'", "4 rows"),
        kind="key",
    ),
    Case(
        "validate:null-in-key",
        validate,
        set_cells("measure_records", "site_id", None),
        "des",
        expect=("measure_records", "primary_key_null"),
        kind="key",
    ),
    Case(
        "validate:dangling-site",
        validate,
        set_cells("measure_records", "site_id", MARKER, rows=(0, 1, 2)),
        "des",
        expect=("measure_records.site_id", "foreign_key->sites", "3 rows"),
        marker=MARKER,
        kind="key",
    ),
    Case(
        "validate:dangling-region",
        validate,
        set_cells("participants", "esa_id", "ZZ99"),
        "des",
        expect=("participants.esa_id", "foreign_key->regions"),
        marker="ZZ99",
        kind="key",
    ),
    Case(
        "validate:dangling-organisation",
        validate,
        set_cells("contracts", "organisation_id", "ZQXMARKER41"),
        "des",
        expect=("contracts.organisation_id", "foreign_key->organisations"),
        marker="ZQXMARKER41",
        kind="key",
    ),
    # dates
    Case(
        "validate:year-9999",
        validate,
        year_9999("sites", "close_date"),
        "des",
        expect=("sites.close_date", "'date_range'", "2 rows"),
        marker="9999",
        kind="date",
    ),
    Case(
        "validate:integer-dates",
        validate,
        integer_dates("contracts", "start_date"),
        "des",
        expect=("contracts.start_date", "'type'"),
        marker="20190417",
        kind="date",
    ),
    Case(
        "validate:integer-dates-as-csv-text",
        validate,
        chain(to_csv("sites"), integer_dates("sites", "open_date")),
        "des",
        expect=("sites.open_date", "'type'"),
        marker="20190417",
        kind="date",
    ),
    Case(
        "validate:impossible-date",
        validate,
        chain(to_csv("sites"), set_cells("sites", "open_date", "2019-02-30")),
        "des",
        expect=("sites.open_date", "'type'", "1 row"),
        marker="2019-02-30",
        kind="date",
    ),
    Case(
        "validate:year-1066",
        validate,
        chain(
            to_csv("participants"),
            to_csv("measure_records"),
            set_cells("measure_records", "referral_date", "1066-10-14"),
        ),
        "des",
        expect=("measure_records.referral_date", "date_range"),
        marker="1066",
        kind="date",
    ),
    # codes
    Case(
        "validate:unknown-gender",
        validate,
        set_cells("participants", "gender", MARKER),
        "des",
        expect=("participants.gender", "'enum'", "1 row"),
        marker=MARKER,
        kind="code",
    ),
    Case(
        "validate:unknown-program",
        validate,
        set_cells("contracts", "program", MARKER, rows=(0, 1)),
        "des",
        expect=("contracts.program", "'enum'", "2 rows"),
        marker=MARKER,
        kind="code",
    ),
    Case(
        "validate:unknown-measure",
        validate,
        set_cells("measure_records", "measure", MARKER),
        "des",
        expect=("measure_records.measure", "'enum'"),
        marker=MARKER,
        kind="code",
    ),
    # ids
    Case(
        "validate:10000-character-id",
        validate,
        set_cells("participants", "participant_id", LONG_ID),
        "des",
        expect=("participants.participant_id", "'pattern'"),
        marker=MARKER,
        kind="id",
    ),
    Case(
        "validate:id-with-quotes-and-newline",
        validate,
        set_cells("sites", "site_id", MARKER + "\n'; DROP TABLE sites; --"),
        "des",
        expect=("sites.site_id", "'pattern'"),
        marker=MARKER,
        kind="id",
    ),
    Case(
        "validate:id-with-nul-and-emoji",
        validate,
        set_cells("organisations", "organisation_id", "ZQX\x00MARKER\u202e41🙂"),
        "des",
        expect=("organisations.organisation_id", "'pattern'"),
        marker="MARKER",
        kind="id",
    ),
]

# --------------------------------------------------------------------------- release

RELEASE = [
    Case(
        "release:truncated-parquet",
        release,
        truncate("measure_records"),
        "des",
        expect=("measure_records", "cannot be read"),
        kind="file",
    ),
    Case(
        "release:zero-byte-parquet",
        release,
        empty("participants"),
        "des",
        expect=("participants", "cannot be read"),
        kind="file",
    ),
    Case(
        "release:xlsx-renamed-csv",
        release,
        xlsx_as_csv("sites"),
        "des",
        expect=("sites", "cannot be read"),
        kind="file",
    ),
    Case(
        "release:folder-instead-of-file",
        release,
        folder_instead("regions"),
        "des",
        expect=("regions", "missing"),
        kind="file",
    ),
    Case(
        "release:duplicate-key",
        release,
        duplicate_key("participants", "participant_id"),
        "des",
        expect=("participants.participant_id", "unique"),
        marker=MARKER,
        kind="key",
    ),
    Case(
        "release:dangling-key",
        release,
        set_cells("measure_records", "contract_id", MARKER),
        "des",
        expect=("measure_records.contract_id", "foreign_key->contracts"),
        marker=MARKER,
        kind="key",
    ),
    Case(
        "release:year-9999",
        release,
        year_9999("contracts", "end_date"),
        "des",
        expect=("contracts.end_date", "date_range"),
        marker="9999",
        kind="date",
    ),
    Case(
        "release:unknown-code",
        release,
        set_cells("participants", "education", MARKER),
        "des",
        expect=("participants.education", "enum"),
        marker=MARKER,
        kind="code",
    ),
    Case(
        "release:10000-character-id",
        release,
        set_cells("participants", "participant_id", LONG_ID),
        "des",
        expect=("participants.participant_id", "pattern"),
        marker=MARKER,
        kind="id",
    ),
    Case(
        "release:text-outcome",
        release,
        chain(to_csv("measure_records"), set_cells("measure_records", "numerator", MARKER)),
        "des",
        expect=("measure_records.numerator", "type"),
        marker=MARKER,
        kind="dtype",
    ),
    Case(
        "release:data-folder-missing",
        lambda c: ["release", "--data", c.tmp / "nowhere", "--out", c.out],
        expect=("does not exist",),
        kind="path",
    ),
    Case(
        "release:events-table-truncated",
        release,
        chain(events_world, truncate("placements", "events")),
        "des",
        expect=("placements", "cannot be read"),
        kind="file",
    ),
    Case(
        "release:events-unknown-code",
        release,
        chain(events_world, set_cells("phases", "phase", MARKER, sub="events")),
        "des",
        expect=("phases.phase", "enum"),
        marker=MARKER,
        kind="code",
    ),
    Case(
        "release:previous-is-garbage",
        lambda c: [*release(c), "--previous", c.tmp / "prev.parquet"],
        write_file("prev.parquet", b"PAR1" + MARKER.encode() + b"\x00" * 99),
        "des",
        expect=("prev.parquet", "cannot be read"),
        marker=MARKER,
        kind="file",
    ),
    Case(
        "release:previous-is-a-folder",
        lambda c: [*release(c), "--previous", c.tmp],
        world="des",
        expect=("is not a file",),
        kind="path",
    ),
]

# --------------------------------------------------------------------------- derive

DERIVE = [
    Case(
        "derive:events-folder-missing",
        lambda c: ["derive", "--events", c.tmp / "nope", "--release", "March 2020", "--out", c.out],
        expect=("nope",),
        kind="path",
    ),
    Case(
        "derive:truncated-events",
        derive,
        truncate("site_commencements", "events"),
        "des",
        expect=("site_commencements", "cannot be read"),
        kind="file",
    ),
    Case("derive:zero-byte-events", derive, empty("claims", "events"), "des", expect=("claims",), kind="file"),
    Case(
        "derive:unknown-claim-type",
        derive,
        set_cells("claims", "claim_type", MARKER, sub="events"),
        "des",
        expect=("claims.claim_type", "enum"),
        marker=MARKER,
        kind="code",
    ),
    Case(
        "derive:duplicate-claim-id",
        derive,
        duplicate_key("claims", "claim_id", sub="events"),
        "des",
        expect=("claims", "claim_id"),
        marker=MARKER,
        kind="key",
    ),
    Case(
        "derive:negative-amount",
        derive,
        set_cells("claims", "amount", NUMBER, sub="events"),
        "des",
        expect=("claims.amount", "minimum"),
        marker="424242",
        kind="value",
    ),
    Case(
        "derive:year-9999",
        derive,
        year_9999("placements", "start_date", sub="events"),
        "des",
        expect=("placements.start_date", "date_range"),
        marker="9999",
        kind="date",
    ),
    Case(
        "derive:unknown-release",
        lambda c: ["derive", "--events", c.data / "events", "--release", MARKER, "--out", c.out],
        world="des",
        expect=("release",),
        kind="argument",
    ),
    Case(
        "derive:release-10000-characters",
        lambda c: ["derive", "--events", c.data / "events", "--release", LONG_ID, "--out", c.out],
        world="des",
        expect=("release",),
        kind="argument",
    ),
    Case(
        "derive:out-is-a-file",
        lambda c: ["derive", "--events", c.data / "events", "--release", "March 2020", "--out", c.data / "world.json"],
        world="des",
        expect=("is a file",),
        kind="path",
    ),
]

# --------------------------------------------------------------------------- score


def score_input(ctx: Ctx, name: str = "em.csv") -> str:
    return str(ctx.tmp / name)


def em(ctx: Ctx) -> pd.DataFrame:
    return pd.read_csv(ctx.runs["release_folder"] / "entity_measures.csv", dtype=str, keep_default_na=False)


def em_file(fn=None, name: str = "em.csv"):
    """Damage: the session release's entity-measure table, changed by ``fn``, as ``ctx.tmp/name``."""

    def damage(ctx: Ctx) -> None:
        df = em(ctx)
        if fn is not None:
            df = fn(df)
        p = ctx.tmp / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".parquet"):
            df.to_parquet(p, index=False)
        else:
            df.to_csv(p, index=False)

    return damage


def em_cells(column: str, value, rows=(0,)):
    def fn(df: pd.DataFrame) -> pd.DataFrame:
        for r in rows:
            df.loc[df.index[r], column] = value
        return df

    return em_file(fn)


def score(ctx: Ctx, name: str = "em.csv") -> list[str]:
    return ["score", "--input", ctx.tmp / name, "--out", ctx.out / "ratings.csv"]


SCORE = [
    Case("score:input-missing", score, expect=("no such file",), kind="path"),
    Case(
        "score:input-wrong-extension",
        lambda c: score(c, "em.txt"),
        em_file(name="em.txt"),
        expect=("unknown extension",),
        kind="file",
    ),
    Case(
        "score:input-truncated-parquet",
        lambda c: score(c, "em.parquet"),
        chain(em_file(name="em.parquet"), rewrite(lambda c: c.tmp / "em.parquet", lambda b: b[:200])),
        expect=("em.parquet", "cannot be read"),
        kind="file",
    ),
    Case("score:input-zero-byte-csv", score, write_file("em.csv", ""), expect=("em.csv",), kind="file"),
    Case(
        "score:input-is-a-folder",
        lambda c: ["score", "--input", c.tmp / "dir.csv", "--out", c.out / "r.csv"],
        write_file("dir.csv/x", "x"),
        expect=("no such file",),
        kind="file",
    ),
    Case("score:text-in-count", score, em_cells("n", MARKER), expect=("n",), marker=MARKER, kind="dtype"),
    Case("score:negative-count", score, em_cells("n", "-424242"), expect=("n",), marker="424242", kind="value"),
    Case("score:nan-expected", score, em_cells("expected", "nan", rows=(0, 1)), expect=("expected",), kind="value"),
    Case("score:inf-expected", score, em_cells("expected", "inf"), expect=("expected",), kind="value"),
    Case(
        "score:duplicate-entity-rows",
        score,
        em_file(lambda df: pd.concat([df, df.iloc[[0]]], ignore_index=True)),
        expect=("duplicate",),
        kind="key",
    ),
    Case("score:unknown-measure", score, em_cells("measure", MARKER), expect=("measure",), marker=MARKER, kind="code"),
    Case(
        "score:missing-column",
        score,
        em_file(lambda df: df.drop(columns=["expected"])),
        expect=("expected",),
        kind="dtype",
    ),
    Case(
        "score:previous-garbage",
        lambda c: [*score(c), "--previous", c.tmp / "prev.csv"],
        chain(em_file(), write_file("prev.csv", bytes(range(256)) * 4)),
        expect=("prev.csv",),
        kind="file",
    ),
    Case(
        "score:out-is-a-folder",
        lambda c: ["score", "--input", c.tmp / "em.csv", "--out", c.tmp / "r.csv"],
        chain(em_file(), write_file("r.csv/x", "x")),
        expect=("is a folder",),
        kind="path",
    ),
    Case(
        "score:works-in-odd-path",
        lambda c: [
            "score",
            "--input",
            c.tmp / "wörld ✓ with spaces" / "em.csv",
            "--out",
            c.tmp / "wörld ✓ with spaces" / "r.csv",
        ],
        em_file(name="wörld ✓ with spaces/em.csv"),
        exit=0,
        expect=("scored",),
        kind="success",
    ),
]

# --------------------------------------------------------------------------- published import


def pub(ctx: Ctx, name: str = "publication.csv", release: str = "March 2020") -> list[str]:
    return ["published", "import", ctx.data / name, "--release", release, "--out", ctx.out]


def pub_rows(fn):
    def damage(ctx: Ctx) -> None:
        p = ctx.data / "publication.csv"
        grid = pd.read_csv(p, header=None, dtype=str, keep_default_na=False)
        fn(grid)
        grid.to_csv(p, header=False, index=False)

    return damage


def _pub_cell(row: int, col: int, value: str):
    def fn(grid: pd.DataFrame) -> None:
        grid.iloc[row, col] = value

    return pub_rows(fn)


PUBLISHED = [
    Case(
        "published:file-missing", lambda c: pub(c, "nope.csv"), world="publication", expect=("not found",), kind="path"
    ),
    Case(
        "published:wrong-extension",
        lambda c: pub(c, "pub.txt"),
        lambda c: (c.data / "pub.txt").write_text("Program,Level\n"),
        "publication",
        expect=("a publication is an .xlsx or .csv file",),
        kind="file",
    ),
    Case(
        "published:truncated-xlsx",
        lambda c: pub(c, "publication.xlsx"),
        rewrite(lambda c: c.data / "publication.xlsx", lambda b: b[:50000]),
        "publication",
        expect=("publication.xlsx", "cannot be read"),
        kind="file",
    ),
    Case(
        "published:garbage-xlsx",
        lambda c: pub(c, "publication.xlsx"),
        rewrite(lambda c: c.data / "publication.xlsx", lambda b: bytes(range(256)) * 9),
        "publication",
        expect=("cannot be read",),
        kind="file",
    ),
    Case(
        "published:zero-byte-csv",
        pub,
        rewrite(lambda c: c.data / "publication.csv", lambda b: b""),
        "publication",
        expect=("publication.csv",),
        kind="file",
    ),
    Case(
        "published:xlsx-renamed-csv",
        pub,
        lambda c: (c.data / "publication.xlsx").rename(c.data / "publication.csv"),
        "publication",
        expect=("publication.csv",),
        kind="file",
    ),
    Case(
        "published:no-header-row",
        pub,
        pub_rows(lambda g: g.drop(index=2, inplace=True)),
        "publication",
        expect=("no header row",),
        kind="file",
    ),
    Case(
        "published:unknown-release",
        lambda c: pub(c, release="Smarch 2020"),
        world="publication",
        expect=("no release 'Smarch 2020'",),
        kind="argument",
    ),
    Case(
        "published:unknown-status-word", pub, _pub_cell(5, 16, "Sometimes"), "publication", expect=("row",), kind="code"
    ),
    Case("published:stars-out-of-range", pub, _pub_cell(5, 16, "9"), "publication", expect=("row",), kind="value"),
    Case(
        "published:works-in-odd-path",
        lambda c: [
            "published",
            "import",
            c.data / "publication.csv",
            "--release",
            "March 2020",
            "--out",
            c.tmp / "wörld ✓ with spaces",
        ],
        world="publication",
        exit=0,
        expect=("ratings rows",),
        kind="success",
    ),
]

# --------------------------------------------------------------------------- synth and demo

SYNTH = [
    Case(
        "synth:config-missing",
        lambda c: ["synth", "--scale", "tiny", "--out", c.out, "--config", c.tmp / "none.yaml"],
        expect=("none.yaml",),
        kind="config",
    ),
    Case(
        "synth:config-invalid-yaml",
        lambda c: ["synth", "--scale", "tiny", "--out", c.out, "--config", c.tmp / "bad.yaml"],
        write_file("bad.yaml", "a: [1, 2\nb: {"),
        expect=("bad.yaml",),
        kind="config",
    ),
    Case(
        "synth:config-unknown-key",
        lambda c: ["synth", "--scale", "tiny", "--out", c.out, "--config", c.tmp / "p.yaml"],
        lambda c: _synth_params(c, surprise_key=1),
        expect=("surprise_key",),
        kind="config",
    ),
    Case(
        "synth:unknown-method",
        lambda c: ["synth", "--scale", "tiny", "--out", c.out, "--method", "no_such_method"],
        expect=("no_such_method",),
        kind="config",
    ),
    Case(
        "synth:out-is-a-file",
        lambda c: ["synth", "--scale", "tiny", "--out", c.tmp / "f"],
        write_file("f", "x"),
        expect=("is a file",),
        kind="path",
    ),
]

DEMO = [
    Case(
        "demo:config-missing",
        lambda c: ["demo", "--config", c.tmp / "none.yaml", "--world", c.out / "w"],
        expect=("none.yaml",),
        kind="config",
    ),
    Case(
        "demo:config-invalid-yaml",
        lambda c: ["demo", "--config", c.tmp / "bad.yaml", "--world", c.out / "w"],
        write_file("bad.yaml", "name: demo\nwindow: [unclosed"),
        expect=("bad.yaml",),
        kind="config",
    ),
    Case(
        "demo:world-is-a-file",
        lambda c: ["demo", "--scale", "tiny", "--world", c.tmp / "f"],
        write_file("f", "x"),
        expect=("is a file",),
        kind="path",
    ),
]


def _synth_params(ctx: Ctx, **extra) -> None:
    import yaml

    from toolkit.paths import CONFIGS

    raw = yaml.safe_load((CONFIGS / "synth" / "des_world.yaml").read_text())
    raw.update(extra)
    ctx.tmp.mkdir(parents=True, exist_ok=True)
    (ctx.tmp / "p.yaml").write_text(yaml.safe_dump(raw))


CASES = VALIDATE + RELEASE + DERIVE + SCORE + PUBLISHED + SYNTH + DEMO
__all__ = ["CASES", "read", "write"]
