"""Small helpers for logging to the active MLflow run."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

MAX_PARAM = 6000  # MLflow's limit on a param value is 6000 characters


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        elif isinstance(v, (list, tuple)):
            out[key] = json.dumps(list(v), default=str)
        else:
            out[key] = "" if v is None else str(v)
    return out


def log_params(params: dict[str, Any]) -> None:
    import mlflow

    flat = {k: (v if len(v) <= MAX_PARAM else v[: MAX_PARAM - 3] + "...") for k, v in flatten(params).items()}
    items = sorted(flat.items())
    for i in range(0, len(items), 100):
        mlflow.log_params(dict(items[i : i + 100]))


def log_table(df: pd.DataFrame, name: str, artifact_path: str | None = None) -> None:
    """Log a table as CSV (an aggregate table: never participant-level rows)."""
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / name
        df.to_csv(p, index=False)
        mlflow.log_artifact(str(p), artifact_path)


def log_json(obj: Any, name: str, artifact_path: str | None = None) -> None:
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / name
        p.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str))
        mlflow.log_artifact(str(p), artifact_path)
