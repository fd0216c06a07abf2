"""Reading configuration files: YAML in, validated objects out.

Every number of a method lives in ``configs/``; this module only reads and
checks files. Each loader turns a malformed file into a :class:`ConfigError`
that names the file and the key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from toolkit.errors import ConfigError
from toolkit.paths import allowed_roots, config_candidates, workspace

T = TypeVar("T")


class FrozenConfig(BaseModel):
    """Base of every config object: immutable once built, unknown keys refused (a typo is an error,
    never a silently ignored setting)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


#: The calendar range a config date must fall in (the data contracts' default ``dateRange``).
DATE_RANGE = (dt.date(1900, 1, 1), dt.date(2100, 12, 31))


def _date_in_range(value: dt.date) -> dt.date:
    low, high = DATE_RANGE
    if not low <= value <= high:
        raise ValueError(f"{value.isoformat()} is outside {low.isoformat()} to {high.isoformat()}")
    return value


def _iso_date(value: str) -> str:
    """A real calendar date written ``YYYY-MM-DD`` (kept as the text given)."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(f"must be a date written YYYY-MM-DD, got {value!r}")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date of the calendar") from None
    _date_in_range(day)
    return value


def _config_date(value: Any) -> Any:
    """A date of a config: ``YYYY-MM-DD`` text or a YAML date; a number is refused (``20180701`` is not
    read as a date, nor as days since an epoch)."""
    if isinstance(value, bool | int | float):
        raise ValueError("a date is written YYYY-MM-DD, not a number")
    if isinstance(value, dt.datetime):
        raise ValueError("a date is written YYYY-MM-DD, without a time")
    if isinstance(value, str):
        return dt.date.fromisoformat(_iso_date(value))
    return value


def _experiment_name(value: str) -> str:
    """MLflow's rules for an experiment name (non-empty, at most 500 characters), and no control characters."""
    if not value.strip():
        raise ValueError("an MLflow experiment name cannot be empty")
    if len(value) > 500:
        raise ValueError("an MLflow experiment name has at most 500 characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("an MLflow experiment name cannot hold control characters")
    return value


def _alias_name(value: str) -> str:
    """MLflow's rules for a registered model alias: letters, digits, ``_`` and ``-``, at most 255
    characters, neither ``latest`` nor a version alias such as ``v3``."""
    if not re.fullmatch(r"[\w\-]+", value):
        raise ValueError(
            f"alias {value!r}: an MLflow alias may only contain letters, digits, underscores (_) and dashes (-)"
        )
    if len(value) > 255:
        raise ValueError("an MLflow alias has at most 255 characters")
    if value.lower() == "latest" or re.fullmatch(r"[vV]\d+", value):
        raise ValueError(f"alias {value!r} is reserved by MLflow ('latest' and version aliases such as v1)")
    return value


#: A date ``YYYY-MM-DD`` of the calendar, kept as text.
IsoDate = Annotated[str, AfterValidator(_iso_date)]
#: A date of the calendar between 1900-01-01 and 2100-12-31 (``YYYY-MM-DD`` text or a YAML date; never a number).
ConfigDate = Annotated[dt.date, BeforeValidator(_config_date), AfterValidator(_date_in_range)]
#: An MLflow experiment name.
ExperimentName = Annotated[str, AfterValidator(_experiment_name)]
#: An MLflow registered-model alias.
AliasName = Annotated[str, AfterValidator(_alias_name)]


def inside_root(path: str | Path, key: str, source: str | Path, base: Path | None = None) -> Path:
    """The absolute path a config key names (relative to ``base``, default the workspace), refused
    outside the workspace and the configs and contracts shipped with the package.

    A config is data that travels; only the person at the command line chooses paths elsewhere
    (``--data``, ``--out``, ``--previous``, ``--config`` are allowed anywhere).
    """
    p = Path(path)
    full = (p if p.is_absolute() else (base if base is not None else workspace()) / p).resolve()
    roots = allowed_roots()
    if not any(full.is_relative_to(r) for r in roots):
        raise ConfigError(
            f"config {source}: {key} names {full}, outside the workspace {roots[0]} (the repository root "
            f"in a checkout) and the shipped package data; a config may only name paths inside them "
            "(pass a path elsewhere on the command line instead)"
        )
    return full


def config_reference(
    value: str | Path, key: str, source: str | Path, subdir: str | None = None, relative_to: Path | None = None
) -> Path:
    """The file another config's key names, refused outside the workspace and the shipped configs:
    relative to ``relative_to`` (the naming config's folder) when it is there, else found like
    :func:`resolve_config`."""
    p = Path(value)
    if relative_to is not None and not p.is_absolute() and (relative_to / p).exists():
        found = relative_to / p
    else:
        found = resolve_config(p, subdir)
    return inside_root(found.absolute(), key, source)


def resolve_config(path: str | Path, subdir: str | None = None) -> Path:
    """Find a config file: as given (from the current folder), else by its name under ``configs/``, else
    by bare name in ``configs/<subdir>``; each name under ``configs/`` is looked for in the workspace's
    ``configs/`` first, then in the shipped ones."""
    p = Path(path)
    candidates = [p, *config_candidates(p)]
    if subdir is not None:
        candidates += [*config_candidates(Path(subdir) / p), *config_candidates(Path(subdir) / f"{p}.yaml")]
    for c in candidates:
        if c.is_file():
            return c
        if c.exists() and c == p:
            raise ConfigError(f"config {path!s} is not a file")
    where = ", ".join(str(c) for c in dict.fromkeys(candidates))
    raise ConfigError(f"config file {path!s} not found (looked in: {where})")


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, raising :class:`ConfigError` with the file name on any problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config {p}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config {p} is not UTF-8 text") from None
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
