"""Reading scheme configs: ``extends`` for a config that changes a few keys of another.

Scheme configs are :class:`toolkit.config.FrozenConfig` models like every other config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from toolkit.config import config_reference, load_yaml, resolve_config
from toolkit.errors import ConfigError
from toolkit.output import check_output_root
from toolkit.paths import workspace


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``override``'s keys replaced; mappings merge key by key, anything else is replaced."""
    out = dict(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def load_scheme_yaml(path: str | Path, subdir: str, _seen: tuple[Path, ...] = ()) -> tuple[dict[str, Any], Path]:
    """Read a scheme config, following ``extends: other.yaml`` (relative to the file's folder).

    Returns the merged mapping and the resolved path of the file asked for.
    """
    try:
        p = resolve_config(path, subdir).resolve()
    except ConfigError:
        if Path(path).suffix:
            raise
        p = resolve_config(f"{path}.yaml", subdir).resolve()
    if p in _seen:
        raise ConfigError(f"config {p} extends itself (through {', '.join(map(str, _seen))})")
    data = load_yaml(p)
    parent = data.pop("extends", None)
    if parent is None:
        return data, p
    if not isinstance(parent, str):
        raise ConfigError(f"config {p}: 'extends' must name a config file")
    parent_path = config_reference(parent, "extends", p, relative_to=p.parent)
    base, _ = load_scheme_yaml(parent_path, subdir, _seen + (p,))
    return deep_merge(base, data), p


def output_root(configured: str, given: str | Path | None) -> Path:
    """The absolute root a scheme run writes its folder under, checked before anything is created:
    ``given`` (the caller's ``--out``, anywhere), else the config's ``output_root`` (relative to the
    workspace; each scheme's loader refuses a config file whose ``output_root`` lies outside it)."""
    return check_output_root(given or workspace() / configured, "output root")
