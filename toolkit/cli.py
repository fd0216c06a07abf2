"""The ``toolkit`` command line.

Sub-commands are declared here with their arguments only; each handler lives in
the module that does the work and is imported when the command runs, so that
``toolkit --help`` stays fast. A :class:`~toolkit.errors.ToolkitError` becomes
a message on stderr and exit code 2; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
from collections.abc import Callable

Handler = str  # "module:function", imported lazily
TRACKING_URI_HELP = (
    "MLflow store (default: $MLFLOW_TRACKING_URI, else the workspace's toolkit.yaml tracking_uri, "
    "else sqlite:///<workspace>/mlruns/mlflow.db)"
)
SECRET_ENV_HELP = "NAME of the environment variable holding the pseudonymisation secret (never the secret itself)"


def seed(text: str) -> int:
    """A random seed: a whole number from 0 (argparse turns the error into exit code 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("a seed is a whole number from 0")
    return value


def count(minimum: int) -> Callable[[str], int]:
    """A whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}")
        return value

    return parse


def port(text: str) -> int:
    value = count(1)(text)
    if value > 65535:
        raise argparse.ArgumentTypeError("a port is a number from 1 to 65535")
    return value


def non_negative(text: str) -> float:
    """A finite number from 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError("must be a finite number from 0")
    return value


def _add_init(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", metavar="DIR", help="the folder to make a workspace (created; new, empty or a workspace)")
    p.add_argument(
        "--copy-defaults",
        action="store_true",
        help="copy the shipped configs and data contracts into DIR/configs and DIR/data_contracts to edit",
    )


def _add_validate(p: argparse.ArgumentParser) -> None:
    p.add_argument("data_dir", metavar="DIR", help="folder of Parquet/CSV tables named after their contracts")
    p.add_argument(
        "--contracts",
        metavar="DIR",
        default=None,
        help="folder of data contracts (default: the workspace's data_contracts/ over the shipped ones)",
    )
    p.add_argument(
        "--tables",
        nargs="*",
        metavar="TABLE",
        default=None,
        help="validate only these tables (default: every contract whose file is present; required tables must be)",
    )
    p.add_argument("--max-examples", type=count(0), default=5, help="row numbers shown per violation (default 5)")


def _add_synth(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scale", choices=["tiny", "small", "national"], default="small")
    p.add_argument("--seed", type=seed, default=2020)
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created; must be empty or new)")
    p.add_argument(
        "--config",
        default="synth/des_world.yaml",
        metavar="YAML",
        help="generator parameters (default: configs/synth/des_world.yaml)",
    )
    p.add_argument(
        "--site-effect-sd",
        type=non_negative,
        default=None,
        metavar="SD",
        help="override the spread of true site effects on the log-odds scale",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing non-empty output folder")
    p.add_argument("--method", default="des_2018", metavar="CONFIG", help="method for the oracle ratings in truth/")
    p.add_argument("--no-oracle", action="store_true", help="do not score the oracle ratings")
    p.add_argument("--no-events", action="store_true", help="do not generate the raw events (<out>/events/)")


def _add_derive(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--events",
        required=True,
        metavar="DIR",
        help="folder of raw event tables (data_contracts/events/), or a synthetic world holding events/",
    )
    p.add_argument("--release", required=True, metavar="NAME", help="release, e.g. 'March 2020' or 2020-03")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created; must be empty or new)")
    p.add_argument(
        "--config",
        default="derive/des_2018.yaml",
        metavar="YAML",
        help="rule parameters (default: configs/derive/des_2018.yaml)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing non-empty output folder")


def _add_score(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", required=True, metavar="FILE", help="entity-measure table (.csv or .parquet)")
    p.add_argument("--out", required=True, metavar="FILE", help="ratings table (.csv or .parquet)")
    p.add_argument(
        "--method",
        default="methods/des_2018.yaml",
        metavar="CONFIG",
        help="method config (default: configs/methods/des_2018.yaml)",
    )
    p.add_argument("--previous", default=None, metavar="FILE", help="previous release's published ratings table")


def _add_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default="releases/demo.yaml", metavar="YAML", help="release config of the demo")
    p.add_argument(
        "--scale",
        choices=["tiny", "small", "national"],
        default=None,
        help="size of the synthetic world (default: the config's, small)",
    )
    p.add_argument("--seed", type=seed, default=None, help="world seed (default: the config's)")
    p.add_argument("--world", default=None, metavar="DIR", help="where to write the world (default: worlds/...)")
    p.add_argument("--tracking-uri", default=None, metavar="URI", help=TRACKING_URI_HELP)


def _add_release(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data", default=None, metavar="DIR", help="folder of contract tables (default: data.path of the config)"
    )
    p.add_argument(
        "--config",
        default="releases/demo.yaml",
        metavar="YAML",
        help="release config (default: configs/releases/demo.yaml)",
    )
    p.add_argument("--variant", choices=["frequentist", "bayes"], default=None, help="override the config's variant")
    p.add_argument("--tracking-uri", default=None, metavar="URI", help=TRACKING_URI_HELP)
    p.add_argument(
        "--previous", default=None, metavar="FILE", help="previous release's ratings table (publishing rules)"
    )
    p.add_argument("--out", default=None, metavar="DIR", help="root folder for release folders (default: releases/)")
    p.add_argument(
        "--records",
        choices=["auto", "table", "events"],
        default=None,
        help="measure records: the measure_records table, or derived from DIR/events/ "
        "(default auto: the table when present)",
    )


def _add_predict(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        required=True,
        metavar="NAME[@ALIAS|/VERSION]",
        help="registered model, e.g. des-ess-full_26 (alias champion), des-ess-full_26@champion, des-ess-full_26/3",
    )
    p.add_argument(
        "--data", required=True, metavar="DIR", help="folder of measure_records, participants and regions tables"
    )
    p.add_argument(
        "--out", required=True, metavar="FILE", help="one probability per record (.csv or .parquet; owner-only)"
    )
    p.add_argument("--tracking-uri", default=None, metavar="URI", help=TRACKING_URI_HELP)
    p.add_argument(
        "--measure", default=None, metavar="MEASURE", help="only for a model whose run does not say (model.measure)"
    )
    p.add_argument(
        "--program", default=None, metavar="PROGRAM", help="only for a model whose run does not say (model.program)"
    )


def _add_reproduce(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id", metavar="RUN_ID", help="the release's parent run id")
    p.add_argument("--tracking-uri", default=None, metavar="URI", help=TRACKING_URI_HELP)
    p.add_argument("--data", default=None, metavar="DIR", help="input tables (default: the folder the release read)")
    p.add_argument(
        "--allow-code-drift",
        action="store_true",
        help="go on although the git commit, working tree or package versions differ",
    )
    p.add_argument(
        "--allow-data-drift",
        action="store_true",
        help="go on although data files differ from the tracked SHA-256s (the verdict then lists them "
        "and what they moved; it can never be REPRODUCED)",
    )
    p.add_argument("--scratch", default=None, metavar="DIR", help="keep the recomputed outputs here")


def _add_compare(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_a", metavar="RUN_A", help="parent run id of the first release")
    p.add_argument("run_b", metavar="RUN_B", help="parent run id of the second release")
    p.add_argument("--tracking-uri", default=None, metavar="URI", help=TRACKING_URI_HELP)
    p.add_argument(
        "--out", default=None, metavar="DIR", help="root folder for comparison files (default: comparisons/)"
    )


def _add_report(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id", metavar="RUN_ID", help="parent run id of a tracked release")
    p.add_argument("--out", default=None, metavar="DIR", help="folder to write into (default: ./dossier-RUN_ID)")
    p.add_argument("--tracking-uri", default=None, metavar="URI", help=TRACKING_URI_HELP)
    p.add_argument(
        "--screenshots",
        action="store_true",
        help="also screenshot the summary and one entity page in headless chromium and log them to the run",
    )


def _add_whatif(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id", metavar="RUN_ID", help="parent run id of a tracked release")
    p.add_argument("entity", metavar="ENTITY", help="entity id (a site, contract or organisation)")
    p.add_argument("--measure", required=True, metavar="M", help="measure to change, e.g. full_26")
    p.add_argument("--add", required=True, type=int, metavar="K", help="outcomes to add (negative: remove)")
    p.add_argument("--level", default=None, choices=("site", "contract", "organisation"), help="when ambiguous")
    p.add_argument("--program", default=None, metavar="P", help="DMS or ESS, when ambiguous")
    p.add_argument("--tracking-uri", default=None, metavar="URI", help=TRACKING_URI_HELP)


def _add_server(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pgdata", required=True, metavar="DIR", help="PostgreSQL data folder (initialised if new)")
    p.add_argument("--artifacts", required=True, metavar="DIR", help="folder the server stores artifacts in")
    p.add_argument("--port", type=port, default=5000, help="MLflow server port (default 5000)")
    p.add_argument("--pg-port", type=port, default=5433, help="PostgreSQL port on 127.0.0.1 (default 5433)")
    p.add_argument("--host", default="127.0.0.1", help="address the MLflow server listens on (default loopback)")


def _add_doctor(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tracking-uri", default=None, metavar="URI", help=TRACKING_URI_HELP)
    p.add_argument(
        "--repair",
        action="store_true",
        help="end stale runs, roll back unfinished alias moves and rewrite folder records that disagree",
    )


def _add_scheme_reproduce(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    help: str,
    *,
    run: str = "run",
    data_metavar: str = "DIR",
    data_help: str = "input tables (default: the folder the run read)",
    outputs: str = "outputs",
) -> argparse.ArgumentParser:
    """``<scheme> reproduce RUN_ID [--data] [--tracking-uri] [--scratch]`` (toolkit.tracking.reproduce)."""
    x = sub.add_parser("reproduce", help=help)
    x.add_argument("run_id", metavar="RUN_ID", help=f"the {run}'s parent run id")
    x.add_argument("--data", default=None, metavar=data_metavar, help=data_help)
    x.add_argument("--tracking-uri", default=None, metavar="URI", help=TRACKING_URI_HELP)
    x.add_argument("--scratch", default=None, metavar="DIR", help=f"keep the recomputed {outputs} here")
    return x


def _add_dcp(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="dcp_command", metavar="SUBCOMMAND", required=True)
    r = sub.add_parser("report", help="assess quarterly KPI submissions: levels, roll-up, level-3 runs; tracked")
    r.add_argument(
        "--data", required=True, metavar="DIR", help="folder of providers, provider_services, kpi_submissions"
    )
    r.add_argument(
        "--config",
        default="schemes/dcp/report.yaml",
        metavar="YAML",
        help="run config (default: configs/schemes/dcp/report.yaml)",
    )
    r.add_argument("--catalogue", default=None, metavar="YAML", help="KPI catalogue (default: the config's)")
    r.add_argument("--tracking-uri", default=None, metavar="URI", help=TRACKING_URI_HELP)
    r.add_argument("--out", default=None, metavar="DIR", help="root folder for run folders (default: the config's)")
    r.add_argument("--quiet", action="store_true", help="no progress lines")
    s = sub.add_parser("synth", help="write synthetic submissions, with missing and malformed ones and truth/")
    s.add_argument("--out", required=True, metavar="DIR", help="output folder (created; must be empty or new)")
    s.add_argument("--seed", type=seed, default=2024)
    s.add_argument("--config", default="schemes/dcp/synth.yaml", metavar="YAML", help="generator parameters")
    s.add_argument("--overwrite", action="store_true", help="replace an existing non-empty output folder")
    c = sub.add_parser("catalogue", help="validate a KPI catalogue (exit 2 naming every contradictory KPI)")
    c.add_argument(
        "file",
        nargs="?",
        default="schemes/dcp/catalogue.yaml",
        metavar="YAML",
        help="catalogue file (default: configs/schemes/dcp/catalogue.yaml)",
    )
    _add_scheme_reproduce(sub, "re-run a tracked DCP assessment and compare every output file")


def _add_dex(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="dex_command", metavar="ACTION", required=True)
    r = sub.add_parser("report", help="partnership-approach compliance per organisation, activity and period; tracked")
    r.add_argument("--data", required=True, metavar="DIR", help="folder of DEX tables (data_contracts/dex/)")
    r.add_argument(
        "--config",
        default="schemes/dex/partnership.yaml",
        metavar="YAML",
        help="scheme config (default: configs/schemes/dex/partnership.yaml)",
    )
    r.add_argument("--out", default=None, metavar="DIR", help="root folder for report folders (default: the config's)")
    r.add_argument("--tracking-uri", default=None, metavar="URI", help=TRACKING_URI_HELP)
    s = sub.add_parser("synth", help="write a synthetic DEX world (organisations to SCORE assessments)")
    s.add_argument("--out", required=True, metavar="DIR", help="output folder (created; must be empty or new)")
    s.add_argument("--seed", type=seed, default=2021)
    s.add_argument(
        "--params",
        default="schemes/dex/synth.yaml",
        metavar="YAML",
        help="generator parameters (default: configs/schemes/dex/synth.yaml)",
    )
    s.add_argument("--overwrite", action="store_true", help="replace an existing non-empty output folder")
    _add_scheme_reproduce(
        sub,
        "re-run a tracked report and compare its tables byte for byte",
        run="report",
        data_help="DEX tables (default: the folder the run read)",
        outputs="tables",
    )


def _add_evaluate(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--data", metavar="FILE", help="cohort table (.csv or .parquet): participant_id, domain, pre, post"
    )
    src.add_argument(
        "--synthetic", type=count(1), metavar="N", help="simulate a cohort of N participants with known truth"
    )
    p.add_argument(
        "--config",
        default="schemes/cohort/default.yaml",
        metavar="YAML",
        help="evaluation config (default: configs/schemes/cohort/default.yaml)",
    )
    p.add_argument("--seed", type=seed, default=None, help="seed of the synthetic cohort (default: the config's)")
    p.add_argument("--out", default=None, metavar="DIR", help="root folder for run folders (default: the config's)")
    p.add_argument("--tracking-uri", default=None, metavar="URI", help=TRACKING_URI_HELP)


def _add_cohort(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="cohort_command", metavar="ACTION", required=True)
    _add_scheme_reproduce(
        sub,
        "re-run a tracked `toolkit evaluate` run and compare its outputs byte for byte",
        run="evaluation",
        data_metavar="FILE",
        data_help="cohort table (default: the file the run read; a synthetic cohort is simulated again)",
    )


def _add_models(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    e = sub.add_parser(
        "evaluate",
        help="cross-validate candidate expected-outcome models: out-of-fold accuracy and calibration, "
        "subgroup O/E, rating impact; tracked",
    )
    e.add_argument("--data", required=True, metavar="DIR", help="folder of contract tables (a synthetic world too)")
    e.add_argument(
        "--config",
        default="evaluations/des_2018.yaml",
        metavar="NAME_OR_FILE",
        help="evaluation config (default: configs/evaluations/des_2018.yaml)",
    )
    e.add_argument(
        "--out", default=None, metavar="DIR", help="root folder for evaluation folders (default: the config's)"
    )
    e.add_argument("--tracking-uri", default=None, metavar="URI", help=TRACKING_URI_HELP)
    e.add_argument(
        "--scheduler",
        default="serial",
        metavar="SCHEDULER",
        help="where the fits run: serial (default), local or local:N (a Dask cluster of N worker processes on this "
        "machine) or tcp://host:port (an existing Dask scheduler); the tables are identical in every case",
    )
    e.add_argument("--quiet", action="store_true", help="no progress lines")
    _add_scheme_reproduce(
        sub,
        "re-run a tracked model evaluation and compare every output table byte for byte",
        run="evaluation",
        data_help="input tables (default: the folder the evaluation read)",
        outputs="tables",
    )


def _add_published(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="published_command", metavar="ACTION", required=True)
    i = sub.add_parser("import", help="read a release of a published Star Ratings file as a previous-ratings table")
    i.add_argument("file", metavar="FILE", help="the publication (.xlsx as the department publishes it, or .csv)")
    i.add_argument("--release", required=True, metavar="NAME", help='the release\'s columns, e.g. "March 2020"')
    i.add_argument("--out", required=True, metavar="DIR", help="folder for previous_ratings.csv and the note")
    i.add_argument(
        "--format",
        default="des_star_ratings",
        metavar="NAME",
        help="how the publication reads (configs/published/<name>.yaml)",
    )
    i.add_argument("--overwrite", action="store_true", help="replace the files of a non-empty --out folder")


def _add_clients(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="clients_command", metavar="SUBCOMMAND", required=True)
    r = sub.add_parser("report", help="scorecard and risk-adjusted comparison with small-cell suppression; tracked")
    r.add_argument(
        "--data", required=True, metavar="DIR", help="folder of the client-level tables (data_contracts/clientlevel/)"
    )
    r.add_argument("--secret-env", required=True, metavar="VAR", help=SECRET_ENV_HELP)
    r.add_argument(
        "--config",
        default="schemes/clientlevel/report.yaml",
        metavar="YAML",
        help="run config (default: configs/schemes/clientlevel/report.yaml)",
    )
    r.add_argument("--tracking-uri", default=None, metavar="URI", help=TRACKING_URI_HELP)
    r.add_argument("--out", default=None, metavar="DIR", help="root folder for run folders (default: the config's)")
    r.add_argument("--quiet", action="store_true", help="no progress lines")
    s = sub.add_parser("synth", help="write a synthetic client-level world with known service effects and truth/")
    s.add_argument("--out", required=True, metavar="DIR", help="output folder (created; must be empty or new)")
    s.add_argument("--seed", type=seed, default=2024)
    s.add_argument("--config", default="schemes/clientlevel/synth.yaml", metavar="YAML", help="generator parameters")
    s.add_argument("--overwrite", action="store_true", help="replace an existing non-empty output folder")
    x = _add_scheme_reproduce(sub, "re-run a tracked client-level run and compare every published file")
    x.add_argument("--secret-env", required=True, metavar="VAR", help=SECRET_ENV_HELP)


COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Handler]] = {
    "init": (
        "make a folder a workspace: toolkit.yaml, configs/ and data_contracts/ for overrides, mlruns/, releases/",
        _add_init,
        "toolkit.workspace:run_init",
    ),
    "validate": (
        "check a folder of input tables against the data contracts",
        _add_validate,
        "toolkit.contracts.cli:run_validate",
    ),
    "synth": ("generate a synthetic DES world with known ground truth", _add_synth, "toolkit.synth.cli:run_synth"),
    "release": (
        "run a release: validate, fit, predict, aggregate, score, track",
        _add_release,
        "toolkit.release.cli:run_release_cmd",
    ),
    "predict": (
        "score records with a registered model: one probability per record of its measure and program",
        _add_predict,
        "toolkit.release.predict:run_predict",
    ),
    "reproduce": (
        "re-run a tracked release and compare every output with the tracked one",
        _add_reproduce,
        "toolkit.release.cli_reproduce:run_reproduce",
    ),
    "compare": (
        "compare two tracked releases: star transitions, drivers, parameters, coefficients, inputs",
        _add_compare,
        "toolkit.release.cli_reproduce:run_compare",
    ),
    "report": (
        "rebuild a tracked release's dossier (report.html and a page per entity) from the tracking store",
        _add_report,
        "toolkit.release.cli_dossier:run_report",
    ),
    "whatif": (
        "an entity's score, star percentage and stars with K more (or fewer) outcomes on one measure",
        _add_whatif,
        "toolkit.release.cli_dossier:run_whatif",
    ),
    "derive": (
        "derive a release's measure records from raw events (numerator and denominator rules)",
        _add_derive,
        "toolkit.records.derive.cli:run_derive",
    ),
    "server": (
        "run a shared tracking server: PostgreSQL backend store + mlflow server with proxied artifacts",
        _add_server,
        "toolkit.tracking.server:run_server",
    ),
    "doctor": (
        "check a store for what killed jobs left: stale runs, unfinished alias moves, folder records "
        "(exit 0 consistent, 1 found; --repair fixes)",
        _add_doctor,
        "toolkit.tracking.doctor:run_doctor",
    ),
    "dcp": (
        "DCP out-of-home-care KPIs: catalogue check, synthetic submissions, tracked assessment",
        _add_dcp,
        "toolkit.schemes.dcp.cli:run_dcp",
    ),
    "dex": (
        "DEX partnership approach: SCORE minimum requirements and targets per provider; synthetic DEX world",
        _add_dex,
        "toolkit.schemes.dex.cli:run_dex",
    ),
    "evaluate": (
        "evaluate a small cohort's pre/post outcomes: credible intervals, thresholds, detectable effects",
        _add_evaluate,
        "toolkit.schemes.cohort.cli:run_evaluate",
    ),
    "cohort": (
        "small-cohort evaluation runs: reproduce a tracked `toolkit evaluate` run",
        _add_cohort,
        "toolkit.schemes.cohort.cli:run_cohort",
    ),
    "clients": (
        "client-level results: RBA scorecard, risk-adjusted comparison, privacy by construction",
        _add_clients,
        "toolkit.schemes.clientlevel.cli:run_clients",
    ),
    "models": (
        "expected-outcome models: evaluate candidates out of fold (accuracy, subgroup calibration, rating impact); "
        "reproduce an evaluation",
        _add_models,
        "toolkit.evaluation.cli:run_models",
    ),
    "published": (
        "published ratings as history: import a department's Star Ratings publication as the previous release",
        _add_published,
        "toolkit.published.cli:run_published",
    ),
    "demo": ("run the demo on a freshly generated synthetic world", _add_demo, "toolkit.demo:run_demo"),
    "score": (
        "score an entity-measure table into star ratings (the six steps)",
        _add_score,
        "toolkit.scoring.cli:run_score",
    ),
}


def register(name: str, help_text: str, add_args: Callable[[argparse.ArgumentParser], None], handler: Handler) -> None:
    """Add a sub-command (used by modules of later capabilities)."""
    COMMANDS[name] = (help_text, add_args, handler)


def build_parser() -> argparse.ArgumentParser:
    from toolkit import __version__

    parser = argparse.ArgumentParser(
        prog="toolkit",
        description="Risk-adjusted ratings of service providers (DES Star Ratings and neighbouring schemes).",
    )
    parser.add_argument("--version", action="version", version=f"toolkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, add_args, _handler) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_args(p)
    return parser


def _resolve(handler: Handler) -> Callable[[argparse.Namespace], int | None]:
    module, func = handler.split(":")
    return getattr(importlib.import_module(module), func)


#: Arguments naming a file or folder the command reads, and folders it writes into (``--out`` of
#: ``toolkit score`` and ``toolkit predict`` is a file: checked by the command). Config arguments
#: (``--config``, ``--catalogue``, ``--params``) are not listed: a bare name is looked up in ``configs/``.
READ_ARGS = ("data_dir", "data", "events", "input", "previous", "contracts")
WRITE_ARGS = ("out", "world", "scratch")
#: Commands whose ``--out`` is a file, not a folder.
FILE_OUT_COMMANDS = ("score", "predict")


def _paths(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """Make the command line's paths absolute (from the current folder: where the user pointed) and
    check each output folder before anything runs; returns what is read and written, for one line."""
    from pathlib import Path

    from toolkit.errors import ToolkitError
    from toolkit.output import check_output_root

    reads, writes = [], []
    for name in READ_ARGS:
        value = getattr(args, name, None)
        if isinstance(value, str) and value:
            path = Path(value).expanduser().absolute()
            setattr(args, name, str(path))
            reads.append(f"{path} (--{name.replace('_', '-')})" if name != "data_dir" else str(path))
    for name in WRITE_ARGS:
        value = getattr(args, name, None)
        if not isinstance(value, str) or not value:
            continue
        if name == "out" and args.command in FILE_OUT_COMMANDS:  # a file, checked by the command
            path = Path(value).expanduser().absolute()
            setattr(args, name, str(path))
            writes.append(f"{path} (--out)")
            continue
        path = check_output_root(value, f"--{name}")
        if getattr(args, "overwrite", None) is False and path.is_dir() and any(path.iterdir()):
            raise ToolkitError(f"output folder {path} is not empty (use --overwrite to replace it)")
        setattr(args, name, str(path))
        writes.append(f"{path} (--{name})")
    return reads, writes


def _where(args: argparse.Namespace) -> str:
    """Which workspace the command works in and, when it tracks, which store it uses (a password in
    the store's URI is not shown)."""
    import re

    from toolkit.paths import current_workspace, default_tracking_uri

    text = f"workspace {current_workspace().describe()}"
    if hasattr(args, "tracking_uri"):
        uri = re.sub(r"(://[^/:@]*:)[^/@]*@", r"\1***@", args.tracking_uri or default_tracking_uri())
        text += f"; store {uri}"
    return text


def main(argv: list[str] | None = None) -> int:
    from toolkit.errors import ToolkitError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    handler = _resolve(COMMANDS[args.command][2])
    try:
        if args.command != "init":  # (init makes the workspace it would name)
            print(f"[toolkit {args.command}] {_where(args)}", file=sys.stderr)
        reads, writes = _paths(args)
        if reads:
            print(f"[toolkit {args.command}] reads {', '.join(reads)}", file=sys.stderr)
        if writes:
            print(f"[toolkit {args.command}] writes {', '.join(writes)}", file=sys.stderr)
        code = handler(args)
    except ToolkitError as exc:
        print(f"toolkit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"toolkit {args.command}: interrupted", file=sys.stderr)
        _exit_soon(130)
        return 130
    return int(code or 0)


def _exit_soon(code: int, grace: float = 20.0) -> None:
    """Make sure an interrupted process ends: if the interpreter has not exited ``grace`` seconds from now,
    end it with ``code``. An interrupt raised inside a library can leave one of its worker threads
    unregistered, which the interpreter would wait for forever at exit; the job's run is closed by now."""
    import os
    import threading

    def _exit() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

    timer = threading.Timer(grace, _exit)
    timer.daemon = True
    timer.start()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
