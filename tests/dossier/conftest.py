"""The dossier tests' fixtures: a tracked tiny-world release (the browser is the session's one, from
tests/fixtures/browser.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def dossier_release(tiny_world_dir, tmp_path_factory):
    """A tiny-world release tracked in its own sqlite store: ``result``, ``uri``, ``dir``."""
    from toolkit.release.config import load_release_config
    from toolkit.release.pipeline import run_release

    d = tmp_path_factory.mktemp("dossier")
    uri = f"sqlite:///{d / 'mlflow.db'}"
    config, path = load_release_config("releases/demo.yaml")
    res = run_release(
        config, tiny_world_dir, config_path=path, tracking_uri=uri, out_root=d / "releases", progress=False
    )
    return {"result": res, "uri": uri, "dir": d}
