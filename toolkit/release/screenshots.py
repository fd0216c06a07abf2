"""Screenshots of a dossier in headless chromium (``toolkit report --screenshots``): the summary page and
one contract's page. The release itself never needs a browser; this is for a reviewer's record."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from toolkit.errors import ToolkitError

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def chromium() -> str:
    """The system chromium ($TOOLKIT_CHROMIUM first)."""
    for c in (os.environ.get("TOOLKIT_CHROMIUM", ""), *CHROMIUM):
        if c and Path(c).is_file():
            return c
    found = shutil.which("chromium")
    if found:
        return found
    raise ToolkitError("no chromium found (set TOOLKIT_CHROMIUM): screenshots need a headless browser")


def screenshots(dossier: Path, browser: Any = None) -> Path:
    """``<dossier>/screenshots/summary.png`` and ``entity.png`` (the first contract's page); the folder.
    Every request but ``file://`` is blocked. ``browser``: a Playwright browser to use (default: launch the
    system chromium)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise ToolkitError("screenshots need playwright (pip install playwright)") from None
    out = dossier / "screenshots"
    out.mkdir(exist_ok=True)
    pages = [("summary.png", dossier / "report.html")]
    contracts = sorted((dossier / "entities" / "contract").glob("*.html"))
    if contracts:
        pages.append(("entity.png", contracts[0]))

    def shoot(b: Any) -> None:
        page = b.new_page(viewport={"width": 1200, "height": 900})
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort())
        for name, path in pages:
            page.goto(path.resolve().as_uri())
            page.screenshot(path=str(out / name), full_page=name != "summary.png")
        page.close()

    if browser is not None:
        shoot(browser)
        return out
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            shoot(b)
        finally:
            b.close()
    return out
