"""Where things are: the workspace a command works in, and the configs and data contracts shipped
with the package.

A **workspace** is a folder holding a marker file ``toolkit.yaml`` (``toolkit init DIR`` makes one;
the repository root is one). It is found from the current folder upwards, the way git finds a
repository; the environment variable ``TOOLKIT_ROOT`` names one instead. Outputs (``releases/``,
``worlds/``, ``out/``, ``comparisons/``) and the default MLflow store (``mlruns/mlflow.db``) live in
the workspace. When no workspace is found, the current folder plays its part (the CLI says so on
stderr). Nothing is ever written into the installed package.

Configs and contracts are looked up by their relative name: the workspace's ``configs/<rel>``
(``data_contracts/<rel>``) first, then the shipped one under ``toolkit/shipped/``. Everything is
decided at call time, from the current folder and environment of that moment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from toolkit.errors import ConfigError

#: The marker file of a workspace.
MARKER = "toolkit.yaml"
#: The package data: configs and data contracts as shipped (real files wherever setuptools installs them).
SHIPPED = Path(str(files("toolkit").joinpath("shipped")))
SHIPPED_CONFIGS = SHIPPED / "configs"
SHIPPED_CONTRACTS = SHIPPED / "data_contracts"

# Backward compatibility: module constants some callers (tests, experiments) read. They name the
# *shipped* files; runtime code uses the functions below, which honour a workspace's own files.
#: The folder the package sits in (the repository, in a source checkout). Not the workspace: see ``workspace()``.
ROOT = Path(__file__).resolve().parent.parent
CONFIGS = SHIPPED_CONFIGS
DATA_CONTRACTS = SHIPPED_CONTRACTS


@dataclass(frozen=True)
class Workspace:
    """The folder a command works in, how it was found, and what its ``toolkit.yaml`` says."""

    root: Path
    found_by: str  # "toolkit.yaml", "TOOLKIT_ROOT" or "none" (the current folder, no marker found)
    tracking_uri: str | None = None

    def describe(self) -> str:
        """One phrase for the CLI's stderr line: the folder and how it was chosen."""
        how = {
            "toolkit.yaml": f"({MARKER})",
            "TOOLKIT_ROOT": "($TOOLKIT_ROOT)",
            "none": f"(no {MARKER} here or above: the current folder)",
        }[self.found_by]
        return f"{self.root} {how}"


def find_workspace(start: str | Path | None = None) -> Path | None:
    """The nearest folder at or above ``start`` (default: the current folder) holding ``toolkit.yaml``."""
    d = Path(start if start is not None else Path.cwd()).absolute()
    for p in (d, *d.parents):
        if (p / MARKER).is_file():
            return p
    return None


def read_marker(root: Path) -> dict[str, object]:
    """The settings of ``root/toolkit.yaml`` (``workspace: 1``, optional ``tracking_uri``); an empty
    file is a workspace with defaults. A malformed file is a :class:`ConfigError`."""
    import yaml

    p = root / MARKER
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"workspace marker {p} cannot be read ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"workspace marker {p} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"workspace marker {p} must be a mapping (workspace: 1)")
    unknown = sorted(set(map(str, data)) - {"workspace", "tracking_uri"})
    if unknown:
        raise ConfigError(f"workspace marker {p}: unknown key(s) {', '.join(unknown)} (known: workspace, tracking_uri)")
    if data.get("workspace", 1) != 1:
        raise ConfigError(f"workspace marker {p}: 'workspace' must be 1 (the layout version this toolkit knows)")
    uri = data.get("tracking_uri")
    if uri is not None and (not isinstance(uri, str) or not uri.strip()):
        raise ConfigError(f"workspace marker {p}: 'tracking_uri' must be a store URI (text)")
    return data


def current_workspace() -> Workspace:
    """The workspace of this moment: ``$TOOLKIT_ROOT``, else the nearest ``toolkit.yaml`` at or above
    the current folder, else the current folder itself."""
    env = os.environ.get("TOOLKIT_ROOT")
    if env:
        root = Path(env).expanduser().absolute()
        if not root.is_dir():
            raise ConfigError(f"TOOLKIT_ROOT names {root}, which is not a folder")
        found_by = "TOOLKIT_ROOT"
    else:
        found = find_workspace()
        root, found_by = (found, "toolkit.yaml") if found is not None else (Path.cwd().absolute(), "none")
    uri = read_marker(root).get("tracking_uri")
    return Workspace(root, found_by, str(uri) if uri else None)


def workspace() -> Path:
    """The workspace folder (see :func:`current_workspace`): where outputs and the default store go,
    and where relative paths of a config start."""
    return current_workspace().root


def _lookup(kind: str, shipped: Path, rel: str | Path) -> Path:
    p = Path(rel)
    if p.is_absolute():
        return p
    own = workspace() / kind / p
    if own.exists():
        return own
    return shipped / p


def config_file(rel: str | Path) -> Path:
    """``configs/<rel>`` of the workspace when it exists there, else the shipped one (which may not exist:
    the caller says what was looked for). A folder (a model set) is looked up the same way, as a whole."""
    return _lookup("configs", SHIPPED_CONFIGS, rel)


def config_candidates(rel: str | Path) -> list[Path]:
    """Where ``configs/<rel>`` is looked for, in order: the workspace's, then the shipped one."""
    p = Path(rel)
    if p.is_absolute():
        return [p]
    return [workspace() / "configs" / p, SHIPPED_CONFIGS / p]


def contract_file(rel: str | Path) -> Path:
    """``data_contracts/<rel>`` of the workspace when it exists there, else the shipped one."""
    return _lookup("data_contracts", SHIPPED_CONTRACTS, rel)


def contract_files(sub: str | Path = "") -> list[Path]:
    """The contract files (``*.yaml``) of ``data_contracts/<sub>``: the shipped ones, each replaced by the
    workspace's file of the same name, plus the workspace's own, sorted by name."""
    chosen: dict[str, Path] = {}
    for d in (SHIPPED_CONTRACTS / sub, workspace() / "data_contracts" / sub):
        if d.is_dir():
            for p in sorted(d.glob("*.yaml")):
                if p.is_file():
                    chosen[p.name] = p
    return [chosen[k] for k in sorted(chosen)]


def contracts_dirs(sub: str | Path = "") -> list[Path]:
    """The folders :func:`contract_files` reads (the shipped one, then the workspace's when it exists)."""
    own = workspace() / "data_contracts" / sub
    shipped = SHIPPED_CONTRACTS / sub
    return [shipped] + ([own] if own.is_dir() and own.resolve() != shipped.resolve() else [])


def allowed_roots() -> list[Path]:
    """Where a config may point (``toolkit.config.inside_root``): the workspace and the shipped package data."""
    return [workspace().resolve(), SHIPPED.resolve()]


def default_tracking_uri() -> str:
    """The store when no ``--tracking-uri`` is given: ``$MLFLOW_TRACKING_URI``, else the workspace's
    ``toolkit.yaml`` ``tracking_uri``, else the embedded ``sqlite:///<workspace>/mlruns/mlflow.db``."""
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    ws = current_workspace()
    if ws.tracking_uri:
        rest = ws.tracking_uri.split("sqlite:///", 1)[1] if ws.tracking_uri.startswith("sqlite:///") else None
        if rest is not None and not rest.startswith("/"):  # a relative sqlite path: from the workspace
            return f"sqlite:///{ws.root / rest}"
        return ws.tracking_uri
    return f"sqlite:///{ws.root / 'mlruns' / 'mlflow.db'}"
