"""A synthetic DES world with known ground truth (``toolkit synth``)."""

from toolkit.synth.params import (
           MEASURES,
           PROGRAM_MEASURES,
           WorldParams,
           load_world_params,
)
from toolkit.synth.world import TABLES, World, generate_world, write_world

__all__ = ["MEASURES", "PROGRAM_MEASURES", "WorldParams", "load_world_params", "TABLES", "World",
           "generate_world", "write_world"]
