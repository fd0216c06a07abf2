"""A real browser for the HTML reports: Debian's chromium driven by Playwright.

``browser`` (session) launches the system chromium (``/usr/bin/chromium``, or ``$TOOLKIT_CHROMIUM``)
with ``--no-sandbox``; Playwright's own browser download is not used. When chromium or Playwright is
absent every browser test is skipped with the reason (``.ci/run`` installs Debian's ``chromium``).

``open_page(path) -> (page, report)`` opens a local file in a fresh context that blocks every
request that is not ``file://`` (the reports must make none) and records it, with console errors,
uncaught page errors, failed requests and dialogs (an ``alert`` means injected script ran).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

#: Where the system chromium is looked for, in order.
CANDIDATES = [os.environ.get("TOOLKIT_CHROMIUM", ""), "/usr/bin/chromium", shutil.which("chromium") or ""]


def chromium_path() -> str | None:
    return next((c for c in CANDIDATES if c and os.access(c, os.X_OK)), None)


@dataclass
class PageReport:
    """What a page did while it loaded."""

    external_requests: list[str] = field(default_factory=list)  # blocked: not file://
    failed_requests: list[str] = field(default_factory=list)  # file:// requests that failed
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (
            self.external_requests or self.failed_requests or self.console_errors or self.page_errors or self.dialogs
        )


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    exe = chromium_path()
    if exe is None:
        pytest.skip(
            "BROWSER TESTS SKIPPED: no chromium at /usr/bin/chromium or $TOOLKIT_CHROMIUM "
            "(install Debian's chromium package; .ci/run does)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as e:  # pragma: no cover - playwright is a test dependency
        pytest.skip(f"BROWSER TESTS SKIPPED: playwright is not installed ({e}); pip install -e '.[test]'")
    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=exe, args=["--no-sandbox"])
    except Exception as e:
        pw.stop()
        pytest.skip(f"BROWSER TESTS SKIPPED: chromium at {exe} does not start: {e}")
    yield b
    b.close()
    pw.stop()


@pytest.fixture()
def open_page(browser) -> Iterator[Callable[[Path], tuple[Any, PageReport]]]:
    contexts = []

    def _open(path: Path) -> tuple[Any, PageReport]:
        report = PageReport()
        ctx = browser.new_context()
        contexts.append(ctx)

        def route(r: Any) -> None:
            if r.request.url.startswith("file://"):
                r.continue_()
            else:
                report.external_requests.append(r.request.url)
                r.abort("blockedbyclient")

        ctx.route("**/*", route)
        page = ctx.new_page()
        page.on("console", lambda m: report.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: report.page_errors.append(str(e)))

        def failed(req: Any) -> None:
            if req.url not in report.external_requests:
                report.failed_requests.append(f"{req.url}: {req.failure}")

        page.on("requestfailed", failed)

        def dialog(d: Any) -> None:
            report.dialogs.append(f"{d.type}: {d.message}")
            d.dismiss()

        page.on("dialog", dialog)
        page.goto(Path(path).resolve().as_uri(), wait_until="load")
        return page, report

    yield _open
    for ctx in contexts:
        ctx.close()
