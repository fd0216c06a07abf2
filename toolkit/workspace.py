"""``toolkit init DIR``: make a folder a workspace (``toolkit.paths`` says how workspaces are found).

A workspace holds the marker ``toolkit.yaml``, ``configs/`` and ``data_contracts/`` for the user's own
files (each overrides the shipped file of the same relative name; nothing is copied unless
``--copy-defaults``), ``mlruns/`` for the embedded store, ``releases/`` for release folders and a
``.gitignore`` keeping outputs out of version control.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from toolkit.errors import ToolkitError
from toolkit.output import check_output_root
from toolkit.paths import MARKER, SHIPPED_CONFIGS, SHIPPED_CONTRACTS, read_marker

MARKER_TEXT = """\
# This folder is a toolkit workspace (`toolkit init` wrote this file; README, "Installing elsewhere /
# workspaces"). Every toolkit command run in this folder or below it works here, as git works in a
# repository:
#   - outputs go to releases/, worlds/, out/ and comparisons/ of this folder;
#   - the default MLflow store is mlruns/mlflow.db of this folder (--tracking-uri,
#     $MLFLOW_TRACKING_URI or tracking_uri below point elsewhere);
#   - configs/<name> and data_contracts/<name> of this folder are read before the shipped file of
#     the same name.
# $TOOLKIT_ROOT names a workspace explicitly and wins over where this file is.
workspace: 1          # the layout version
# tracking_uri: http://HOST:5000    # a shared tracking server; a relative sqlite:/// path starts here
"""

CONFIGS_README = """\
# Your configs

A file placed here overrides the shipped config of the same relative name: `releases/demo.yaml`
here is read instead of the toolkit's `configs/releases/demo.yaml`, and `releases/march_2021.yaml`
here is found by `toolkit release --config march_2021`. A model set (`models/<name>/`) is a
folder and overrides the shipped one as a whole. Every other config still comes from the package.

`toolkit init --copy-defaults DIR` copies the shipped configs here to edit. Paths a config names
(`output_root`, `previous`, `data.path`, ...) are relative to the workspace and must stay inside it.
"""

CONTRACTS_README = """\
# Your data contracts

A contract file placed here overrides the shipped contract of the same relative name, file by file:
`participants.yaml` here replaces the shipped `participants.yaml` (say, to add the `aliases:` your
department's codes need), `events/phases.yaml` the shipped event contract; the other contracts of the
folder still come from the package. A new file adds a table. `toolkit validate DIR` reads the
result (`--contracts DIR` reads one folder instead).

`toolkit init --copy-defaults DIR` copies the shipped contracts here to edit; the shipped
`README.md` describes the format.
"""

GITIGNORE = """\
# toolkit outputs: recomputable, and some hold pseudonymous ids (README "Using real data")
mlruns/
releases/
out/
worlds/
comparisons/
"""


def _copy_missing(src: Path, dest: Path) -> int:
    """Copy the files of ``src`` into ``dest`` where ``dest`` has none of that name; returns the count."""
    n = 0
    for p in sorted(src.rglob("*")):
        if not p.is_file() or "__pycache__" in p.parts:
            continue
        target = dest / p.relative_to(src)
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, target)
        n += 1
    return n


def _write_new(path: Path, text: str) -> bool:
    if path.exists():
        return False
    path.write_text(text, encoding="utf-8")
    return True


def init_workspace(directory: str | Path, copy_defaults: bool = False) -> tuple[Path, list[str]]:
    """Make ``directory`` a workspace; returns it and what was created. A folder that holds files and is
    not a workspace yet is refused (a :class:`ToolkitError`); a workspace keeps every file it has."""
    d = check_output_root(directory, "workspace folder")
    if d.is_dir() and not (d / MARKER).is_file() and any(d.iterdir()):
        raise ToolkitError(
            f"{d} is not empty and not a workspace (no {MARKER}); give a new or empty folder "
            "(toolkit init never adds a workspace to a folder of other files)"
        )
    if (d / MARKER).is_file():
        read_marker(d)  # a malformed marker is an error, not something to paper over
    made: list[str] = []
    d.mkdir(parents=True, exist_ok=True)
    for name, text in (
        (MARKER, MARKER_TEXT),
        (".gitignore", GITIGNORE),
        ("configs/README.md", CONFIGS_README),
        ("data_contracts/README.md", CONTRACTS_README),
    ):
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        if _write_new(d / name, text):
            made.append(name)
    for sub in ("mlruns", "releases"):
        if not (d / sub).is_dir():
            (d / sub).mkdir()
            made.append(f"{sub}/")
    if copy_defaults:
        for kind, src in (("configs", SHIPPED_CONFIGS), ("data_contracts", SHIPPED_CONTRACTS)):
            n = _copy_missing(src, d / kind)
            made.append(f"{kind}/: {n} shipped file(s) copied")
    return d, made


def run_init(args: argparse.Namespace) -> int:
    d, made = init_workspace(args.dir, copy_defaults=args.copy_defaults)
    print(f"workspace: {d}")
    print(f"created:   {', '.join(made) if made else 'nothing (already a workspace)'}")
    print(f"next:      cd {d} && toolkit demo")
    return 0
