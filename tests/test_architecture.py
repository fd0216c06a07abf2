"""The layers of ARCHITECTURE.md, checked by import-linter (contracts in pyproject.toml).

grimp, under import-linter, reads every import statement of every module, those inside
functions and under ``TYPE_CHECKING`` included, so a lower layer cannot reach a higher one
by hiding the import in a function. The second test shows the check fails when one does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the package under ``root`` with the contracts of ``root/pyproject.toml``."""
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run(
        [sys.executable, "-c", code, "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )


def test_every_layer_contract_is_kept():
    res = _lint(REPO)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "2 kept, 0 broken" in res.stdout


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("arch")
    shutil.copytree(REPO / "toolkit", root / "toolkit", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


@pytest.mark.parametrize(
    ("module", "statement", "contract"),
    [
        # a lower layer importing a higher one inside a function: scoring -> release
        ("toolkit/scoring/stars.py", "from toolkit.release.pipeline import run_release", "Layers point one way"),
        # records -> synth (nothing below synth may import it)
        ("toolkit/records/frame.py", "from toolkit.synth import generate_world", "Layers point one way"),
        # MLflow outside toolkit.tracking
        ("toolkit/bayes/ratings.py", "import mlflow", "MLflow is imported only by toolkit.tracking"),
    ],
)
def test_a_forbidden_import_inside_a_function_breaks_a_contract(package_copy, module, statement, contract):
    path = package_copy / module
    original = path.read_text()
    try:
        path.write_text(original + f"\n\ndef _forbidden():\n    {statement}\n")
        res = _lint(package_copy)
    finally:
        path.write_text(original)
    assert res.returncode != 0, res.stdout
    broken = res.stdout[res.stdout.index(contract) :]
    assert "BROKEN" in broken.splitlines()[0] + broken.splitlines()[1]
    assert module.replace("/", ".").removesuffix(".py") in res.stdout
