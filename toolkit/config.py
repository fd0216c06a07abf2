"""Reading configuration files: YAML in, validated objects out.

Every number of a method lives in ``configs/``; this module only reads and
checks files. Each loader turns a malformed file into a :class:`ConfigError`
that names the file and the key.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict

from toolkit.errors import ConfigError
from toolkit.paths import CONFIGS

T = TypeVar("T")


class FrozenConfig(BaseModel):
    """Base of every config object: immutable once built, unknown keys refused (a typo is an error,
    never a silently ignored setting)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def resolve_config(path: str | Path, subdir: str | None = None) -> Path:
    """Find a config file: as given, relative to ``configs/``, or by bare name in ``configs/<subdir>``."""
    p = Path(path)
    candidates = [p, CONFIGS / p]
    if subdir is not None:
        candidates += [CONFIGS / subdir / p, CONFIGS / subdir / f"{p}.yaml"]
    for c in candidates:
        if c.is_file():
            return c
    where = ", ".join(str(c) for c in candidates)
    raise ConfigError(f"config file {path!s} not found (looked in: {where})")


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, raising :class:`ConfigError` with the file name on any problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config {p}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config {p} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config {p} must be a mapping at top level, got {type(data).__name__}")
    return data


def validate_model(cls: type[T], data: dict[str, Any], source: str | Path) -> T:
    """Build a pydantic model from ``data``; a validation failure becomes a ConfigError listing every key."""
    from pydantic import ValidationError

    try:
        return cls.model_validate(data)  # type: ignore[attr-defined]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err["loc"]) or "<top>"
            lines.append(f"  {loc}: {err['msg']}")
        raise ConfigError(f"config {source} is invalid ({len(lines)} problem(s)):\n" + "\n".join(lines)) from None


def canonical_json(obj: Any) -> str:
    """A stable JSON text of ``obj``: sorted keys, no whitespace; the basis of config hashes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def config_hash(obj: Any) -> str:
    """SHA-256 of the canonical JSON of a config mapping (or pydantic model)."""
    if hasattr(obj, "model_dump"):
        obj = obj.model_dump(mode="json")
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes (the whole file, not a sample)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()
