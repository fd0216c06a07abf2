"""What a tracked run records about where it came from: code, inputs, environment."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from toolkit.config import config_hash, file_sha256
from toolkit.paths import ROOT

#: Packages whose versions every run records.
TRACKED_PACKAGES = (
    "toolkit",
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "statsmodels",
    "patsy",
    "mlflow",
    "pymc",
    "arviz",
    "nutpie",
    "pytensor",
    "matplotlib",
    "pydantic",
    "pyyaml",
)


def git_state(root: Path = ROOT) -> dict[str, str]:
    """``git_commit`` and ``git_dirty`` of the code: the git checkout the package was imported from
    ("true"/"false"; "unknown" when it is not one, e.g. installed from a wheel, even inside some other
    repository)."""

    def _git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = _git("rev-parse", "HEAD")
    if commit is None or _git("ls-files", "--error-unmatch", "toolkit/__init__.py") is None:
        return {"git_commit": "unknown", "git_dirty": "unknown"}
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "git_dirty": "unknown" if status is None else str(bool(status)).lower()}


def package_versions(packages: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str]:
    out = {}
    for p in packages:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


def input_hashes(directory: str | Path, pattern: str = "*", subdirs: tuple[str, ...] = ()) -> dict[str, str]:
    """SHA-256 of every file directly in ``directory`` and in its ``subdirs`` (keys are relative paths,
    sorted; the whole file, not MLflow's sampled digest)."""
    d = Path(directory)
    out = {p.name: file_sha256(p) for p in sorted(d.glob(pattern)) if p.is_file()}
    for sub in subdirs:
        out |= {f"{sub}/{p.name}": file_sha256(p) for p in sorted((d / sub).glob(pattern)) if p.is_file()}
    return out


def git_label(params: Mapping[str, Any]) -> str:
    """The commit a run recorded, short, with ``(dirty)`` when the tree had uncommitted changes."""
    return f"{str(params['git_commit'])[:10]}{' (dirty)' if params['git_dirty'] == 'true' else ''}"


def run_params(
    config: Mapping[str, Any], inputs: Mapping[str, str], seed: Any, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The params every tracked run records besides its outputs: the config and its hash, the SHA-256
    of every input file, the seed, the git commit and dirty flag, package versions (and ``extra``)."""
    cfg = dict(config)
    return {
        "config": cfg,
        "config_hash": config_hash(cfg),
        "input_sha256": dict(inputs),
        "seed": seed,
        **git_state(),
        "versions": package_versions(),
        **(extra or {}),
    }


def input_drift(want: Mapping[str, str], folder: str | Path) -> list[tuple[str, str, str]]:
    """Every file of ``want`` (relative name -> SHA-256) missing from ``folder`` or with another SHA-256,
    as ``(name, "missing" | "changed", SHA-256 now)``; the folder itself must exist."""
    d = Path(folder)
    out = []
    for name, sha in sorted(want.items()):
        p = d / name
        if not p.is_file():
            out.append((name, "missing", ""))
        elif (now := file_sha256(p)) != sha:
            out.append((name, "changed", now))
    return out


def code_drift(params: Mapping[str, str]) -> list[str]:
    """Every difference between the code and environment a run recorded (flattened params) and the present."""
    now = git_state()
    out = []
    if params.get("git_commit") != now["git_commit"]:
        out.append(
            f"git commit differs: {now['git_commit'][:12]} now, {params.get('git_commit', '?')[:12]} when tracked"
        )
    if params.get("git_dirty") == "true":
        out.append("the tracked run was made from a dirty working tree: its exact code is not recoverable")
    if now["git_dirty"] == "true":
        out.append("the working tree is dirty now (uncommitted changes)")
    for pkg, version in sorted(package_versions().items()):
        was = params.get(f"versions.{pkg}")
        if was is not None and was != version:
            out.append(f"package {pkg} {version} now, {was} when tracked")
    return out
