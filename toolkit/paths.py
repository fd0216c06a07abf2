"""Where the repository's folders are, wherever the toolkit runs from."""

from __future__ import annotations

import os
from pathlib import Path

#: The repository root: the folder holding ``configs/`` and ``data_contracts/``.
ROOT = Path(os.environ.get("TOOLKIT_ROOT", Path(__file__).resolve().parent.parent))
CONFIGS = ROOT / "configs"
DATA_CONTRACTS = ROOT / "data_contracts"
MLRUNS = ROOT / "mlruns"


def default_tracking_uri() -> str:
    """The embedded default store, ``sqlite:///<repo>/mlruns/mlflow.db``, unless
    ``MLFLOW_TRACKING_URI`` says otherwise."""
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return f"sqlite:///{MLRUNS / 'mlflow.db'}"
