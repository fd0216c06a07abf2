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


def test_model_set_terms_of_the_wrong_shape(tmp_path):
    """A term block that is not text was an AttributeError; spline arguments such as df=-1 or
    df=1000000 were accepted and failed (or exhausted memory) only when fitted, after the run existed."""
    import shutil

    from toolkit.errors import SpecError
    from toolkit.expected.formula import parse_formula
    from toolkit.expected.spec import load_model_set

    d = tmp_path / "set"
    shutil.copytree(CONFIGS / "models" / "des_2018", d)
    terms = yaml.safe_load((d / "_terms.yaml").read_text())
    terms["blocks"][next(iter(terms["blocks"]))] = None
    (d / "_terms.yaml").write_text(yaml.safe_dump(terms))
    with pytest.raises(ConfigError, match="blocks"):
        load_model_set(d)
    for bad in ("bs(age, df=-1)", "bs(age, df='a')", "cr(age, df=0)", "bs(age, df=1000000)", "bs(age, knots='x')"):
        with pytest.raises(SpecError):
            parse_formula(f"y ~ {bad}")
    parse_formula("y ~ bs(age, knots=[30, 50], lower_bound=10, upper_bound=75) + bs(x, df=3, degree=1)")
