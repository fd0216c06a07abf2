"""Each scheme's HTML report in a real browser (chromium), on its synthetic world
(``tests/fixtures/scheme_reports.py``): no console error, no request that is not a local file, no
failed request, every figure drawn with a size and a text alternative, headings and tables shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.scheme_reports import BUILDERS, HOSTILE


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def scheme_pages(request, tmp_path_factory) -> tuple[str, list[Path]]:
    scheme = request.param
    pages = BUILDERS[scheme](tmp_path_factory.mktemp(f"browser_{scheme}"))
    return scheme, pages[:3]  # the index and the first provider pages: the same templates for the rest


def test_pages_load_clean_with_figures_headings_and_tables(scheme_pages, open_page):
    scheme, pages = scheme_pages
    assert pages
    for path in pages:
        where = f"{scheme}: {path.name}"
        page, report = open_page(path)
        assert report.clean, f"{where}: {report}"
        assert page.title() and page.locator("h1").count() == 1, where
        assert page.locator("h1").inner_text().strip(), where
        for fig in page.locator("svg, img").all():
            box = fig.bounding_box()
            assert box and box["width"] > 0 and box["height"] > 0, f"{where}: a figure of no size"
        for svg in page.locator("main svg").all():
            alt = svg.get_attribute("aria-label") or svg.evaluate("e => e.querySelector('title')?.textContent || ''")
            assert alt.strip(), f"{where}: an SVG without a text alternative"
        for img in page.locator("img").all():
            assert (img.get_attribute("alt") or "").strip(), f"{where}: an image without alt text"
            assert img.evaluate("e => e.complete && e.naturalWidth > 0"), f"{where}: an image that did not load"
        tables = page.locator("main table").all()
        assert tables, f"{where}: no table"
        for t in tables:
            box = t.bounding_box()
            assert box and box["height"] > 0, f"{where}: a table not shown"
            assert t.locator("thead th").count() > 0 and t.locator("tbody tr").count() > 0, where


@pytest.mark.parametrize("scheme_pages", ["dex"], indirect=True)
def test_dex_index_links_to_each_provider_page(scheme_pages, open_page):
    _, pages = scheme_pages
    page, report = open_page(pages[0])
    assert report.clean, report
    hrefs = page.eval_on_selector_all("main a", "es => es.map(e => e.getAttribute('href'))")
    assert hrefs and all((pages[0].parent / h).is_file() for h in hrefs)
    assert page.locator("main h2").count() >= 5 and page.locator("main svg").count() == 0
    provider, _ = open_page(pages[1])
    assert provider.locator("main svg").count() >= 8
    assert provider.locator("h3", has_text="Trend over periods").count() >= 1


@pytest.mark.parametrize("scheme", sorted(BUILDERS))
def test_a_hostile_name_is_shown_as_text_not_run(scheme, open_page, tmp_path):
    pages = BUILDERS[scheme](tmp_path, name=HOSTILE)
    page, report = open_page(pages[-1])
    assert report.clean, report  # no alert dialog: the script never ran
    assert HOSTILE in page.locator("body").inner_text()
    assert page.locator("main script, header script").count() == 0
