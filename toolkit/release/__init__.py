"""One release end to end: data -> frame -> expected -> entity-measure table -> scoring -> outputs, tracked."""

from toolkit.release.config import ReleaseConfig, load_release_config

__all__ = ["ReleaseConfig", "load_release_config"]
