"""Configs of the wrong shape are a ConfigError naming the file, never a TypeError, IndexError or
AssertionError from inside a loader (found by mutating every key of the shipped configs)."""

from __future__ import annotations

import pytest
import yaml

from toolkit.errors import ConfigError
from toolkit.paths import CONFIGS


def _load(name: str):
    from toolkit.records.derive.calendar import load_calendar
    from toolkit.schemes.dcp.catalogue import load_catalogue
    from toolkit.schemes.dex.config import load_dex_config
    from toolkit.synth.params import load_world_params

    return {
        "calendar/des_releases.yaml": load_calendar,
        "schemes/dcp/catalogue_raw.yaml": load_catalogue,
        "schemes/dex/partnership.yaml": load_dex_config,
        "synth/des_world.yaml": load_world_params,
    }[name]


@pytest.mark.parametrize(
    "name, path, value",
    [
        ("calendar/des_releases.yaml", ("window_years",), None),
        ("calendar/des_releases.yaml", ("window_years",), "x"),
        ("calendar/des_releases.yaml", ("holidays",), None),
        ("calendar/des_releases.yaml", ("overrides",), -1),
        ("schemes/dcp/catalogue_raw.yaml", ("value_types", "percentage", "range"), None),
        ("schemes/dex/partnership.yaml", ("score", "order_by"), []),
        ("synth/des_world.yaml", ("structure", "state_shares"), None),
        ("synth/des_world.yaml", ("structure", "state_shares", "NSW"), None),
    ],
)
def test_wrong_shape_is_a_config_error(name, path, value, tmp_path):
    raw = yaml.safe_load((CONFIGS / name).read_text())
    node = raw
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    p = tmp_path / "config.yaml"
    p.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError):
        _load(name)(p)
