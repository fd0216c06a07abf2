"""What a tracked run records about where it came from: code, inputs, environment."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

from toolkit.config import file_sha256
from toolkit.paths import ROOT

#: Packages whose versions every run records.
TRACKED_PACKAGES = ("toolkit", "numpy", "scipy", "pandas", "pyarrow", "statsmodels", "patsy", "mlflow", "pymc",
                    "arviz", "nutpie", "pytensor", "matplotlib", "pydantic", "pyyaml")


def git_state(root: Path = ROOT) -> dict[str, str]:
    """``git_commit`` and ``git_dirty`` ("true"/"false"; "unknown" outside a git checkout)."""
    def _git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = _git("rev-parse", "HEAD")
    if commit is None:
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
