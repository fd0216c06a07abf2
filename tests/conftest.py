"""Shared fixtures: synthetic worlds are generated once per test session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# one headless chromium for every browser test (tests/browser, tests/dossier): Playwright's sync API can
# run only one instance per process
from tests.fixtures.browser import browser, open_page  # noqa: F401

REPO = Path(__file__).resolve().parent.parent
TOOLKIT = [sys.executable, "-m", "toolkit"]


@pytest.fixture(scope="session")
def tiny_world_dir(tmp_path_factory) -> Path:
    from toolkit.synth import generate_world, write_world

    out = tmp_path_factory.mktemp("tiny_world")
    write_world(generate_world("tiny", seed=11), out, overwrite=True)
    return out


@pytest.fixture(scope="session")
def small_world_dir(tmp_path_factory) -> Path:
    from toolkit.synth import generate_world, write_world

    out = tmp_path_factory.mktemp("small_world")
    write_world(generate_world("small", seed=7), out, overwrite=True)
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> dict:
    """A real sqlite MLflow store of the test module: ``uri``, its folder ``dir``, ``out`` for run folders."""
    d = tmp_path_factory.mktemp("mlflow")
    return {"uri": f"sqlite:///{d / 'mlflow.db'}", "dir": d, "out": d / "runs"}


@pytest.fixture()
def run_cli():
    """Run ``python -m toolkit ...`` in a subprocess; return the CompletedProcess."""
    import subprocess

    def _run(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600):
        e = dict(os.environ)
        e.update(env or {})
        return subprocess.run(
            [*TOOLKIT, *map(str, args)], cwd=cwd or REPO, env=e, capture_output=True, text=True, timeout=timeout
        )

    return _run
