"""The dossier tests' fixtures: a tracked tiny-world release and one headless chromium (the system's,
/usr/bin/chromium; Playwright's own browser download is not used)."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser():
    """A headless chromium for the session; the tests skip, saying why, when it is absent."""
    if not CHROMIUM.is_file():
        pytest.skip(f"BROWSER TESTS SKIPPED: no chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


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
