"""One release end to end: data -> frame -> expected -> entity-measure table -> scoring -> outputs, tracked."""

from toolkit.release.aggregate import entity_measure_table
from toolkit.release.config import ReleaseConfig, load_release_config
from toolkit.release.frame import build_frame

__all__ = ["ReleaseConfig", "load_release_config", "build_frame", "entity_measure_table"]
