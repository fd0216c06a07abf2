"""The release dossier in a real browser (headless chromium through Playwright): no console error, no
request leaving the folder, plots that render, a working search and sort, entity pages that agree with
ratings.csv, headings and text alternatives."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from toolkit.release.dossier import entity_href


@pytest.fixture()
def page(browser):
    """A page that records console errors and every request, and blocks all but file:// (counted)."""
    ctx = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = ctx.new_page()
    log = {"errors": [], "blocked": [], "failed": [], "requests": 0}
    pg.on("console", lambda m: log["errors"].append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: log["errors"].append(str(e)))
    pg.on("requestfailed", lambda r: log["failed"].append(r.url) if r.url.startswith("file://") else None)

    def route(r):
        log["requests"] += 1
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            log["blocked"].append(r.request.url)
            r.abort()

    pg.route("**/*", route)
    pg.log = log
    yield pg
    ctx.close()


def test_summary_page(dossier_release, page):
    folder = dossier_release["result"].folder
    t0 = time.perf_counter()
    page.goto((folder / "report.html").as_uri())
    first_render_ms = 1000 * (time.perf_counter() - t0)
    assert first_render_ms < 5000
    assert page.log["errors"] == [] and page.log["blocked"] == [] and page.log["failed"] == []
    assert page.log["requests"] >= 1  # the page itself went through the router
    # headings and sections
    h2 = page.locator("h2").all_inner_texts()
    for want in ("Provenance", "Ratings", "Accounting", "Models", "Entities"):
        assert want in h2
    assert page.locator("h1").inner_text().startswith("Release demo")
    # every plot renders with a size and carries a text alternative
    svgs = page.locator("figure svg")
    assert svgs.count() >= 4
    for i in range(svgs.count()):
        s = svgs.nth(i)
        box = s.bounding_box()
        assert box and box["width"] > 50 and box["height"] > 50
        assert s.get_attribute("aria-label") and s.locator("title").count() == 1
    for img in page.locator("img").all():
        assert img.get_attribute("alt")
        assert img.evaluate("e => e.naturalWidth") > 0
    # provenance
    text = page.locator("#provenance").inner_text()
    assert dossier_release["result"].run_id in text and "git commit" in text and "toolkit reproduce" in text


def test_search_and_sort(dossier_release, page):
    folder = dossier_release["result"].folder
    ratings = pd.read_csv(folder / "ratings.csv", dtype={"entity_id": str})
    page.goto((folder / "report.html").as_uri())
    rows = page.locator("#entity-table tbody tr")
    total = rows.count()
    assert total == len(ratings)
    contract = ratings.loc[ratings["level"] == "contract", "entity_id"].iloc[0]
    page.fill("#entity-search", contract)
    visible = page.locator("#entity-table tbody tr:not([hidden])")
    assert 1 <= visible.count() < total
    assert all(contract in t for t in visible.all_inner_texts())
    page.fill("#entity-search", "")
    assert page.locator("#entity-table tbody tr:not([hidden])").count() == total
    # sort by star percentage (column 7), ascending then descending
    head = page.locator("#entity-table thead th").nth(6)

    def column():
        vals = page.locator("#entity-table tbody tr td:nth-child(7)").all_inner_texts()
        return [float(v) for v in vals if v.strip()]

    before = page.locator("#entity-table tbody tr td:nth-child(3)").all_inner_texts()
    head.click()
    up = column()
    assert up == sorted(up) and head.get_attribute("aria-sort") == "ascending"
    head.click()
    down = column()
    assert down == sorted(down, reverse=True)
    assert page.locator("#entity-table tbody tr td:nth-child(3)").all_inner_texts() != before


def test_every_entity_page_shows_the_stars_of_ratings_csv(dossier_release, page):
    folder = dossier_release["result"].folder
    ratings = pd.read_csv(folder / "ratings.csv", dtype={"entity_id": str}, keep_default_na=False, na_values=[""])
    page.goto((folder / "report.html").as_uri())
    hrefs = page.locator("#entity-table tbody a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert len(hrefs) == len(ratings)
    t0 = time.perf_counter()
    for (level, eid), rows in ratings.groupby(["level", "entity_id"]):
        href = entity_href(level, eid)
        assert href in hrefs
        page.goto((folder / href).as_uri())
        assert page.locator("h1").inner_text().endswith(eid)
        shown = dict(
            zip(
                page.locator("section h2").evaluate_all("hs => hs.map(h => h.id.slice(2))"),
                page.locator("section h2 .stars").evaluate_all("s => s.map(x => x.dataset.stars)"),
                strict=True,
            )
        )
        for r in rows.itertuples():
            want = "" if pd.isna(r.stars) else str(int(r.stars))
            assert shown[r.program] == want, (level, eid, r.program)
        assert page.locator("h3").count() >= 3
        assert page.locator("text=Back to the release dossier").count() == 1
    assert page.log["errors"] == [] and page.log["blocked"] == [] and page.log["failed"] == []
    assert time.perf_counter() - t0 < 60


def test_entity_pages_hold_no_participant_identifier(dossier_release):
    import re

    folder = dossier_release["result"].folder
    pid = re.compile(r"(?<![A-Za-z0-9])P\d{7}(?![0-9])")
    pages = [folder / "report.html", *(folder / "entities").rglob("*.html")]
    assert len(pages) > 50
    for p in pages:
        text = p.read_text()
        assert not pid.search(text), p
        assert "participant_id" not in text, p
        urls = set(re.findall(r"https?://[^\"' ]*", text))
        assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, (p, urls)


def test_screenshots_are_logged_to_the_release_run(dossier_release, browser, tmp_path):
    """``toolkit report --screenshots`` does this from the store; here the same functions on the folder."""
    from toolkit.release.screenshots import screenshots
    from toolkit.tracking.reproduce import RunReader

    res = dossier_release["result"]
    shots = screenshots(res.folder, browser)
    assert (shots / "summary.png").stat().st_size > 10_000 and (shots / "entity.png").stat().st_size > 5_000
    run = RunReader(res.run_id, dossier_release["uri"])
    run.log_artifacts(shots, "release/screenshots")
    got = run.download("release/screenshots/summary.png", tmp_path)
    assert got is not None and got.stat().st_size == (shots / "summary.png").stat().st_size
