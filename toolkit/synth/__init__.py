"""A synthetic DES world with known ground truth (``toolkit synth``)."""

from typing import Any

from toolkit.synth.params import MethodRules, WorldParams, load_method_rules, load_world_params
from toolkit.synth.world import TABLES, World, generate_world, write_world

__all__ = [
    "MEASURES",
    "PROGRAM_MEASURES",
    "TABLES",
    "MethodRules",
    "World",
    "WorldParams",
    "generate_world",
    "load_method_rules",
    "load_world_params",
    "write_world",
]


def __getattr__(name: str) -> Any:
    """``MEASURES`` and ``PROGRAM_MEASURES``: the default method's, read from its config when first asked for."""
    if name in ("MEASURES", "PROGRAM_MEASURES"):
        from toolkit.synth import params

        return getattr(params, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
