"""The browser fixture itself: an external request is counted and blocked, errors are recorded."""

from __future__ import annotations


def test_an_external_image_is_counted_and_blocked(open_page, tmp_path):
    page_file = tmp_path / "external.html"
    page_file.write_text(
        '<!DOCTYPE html><html lang="en"><head><title>t</title></head><body><h1>x</h1>'
        '<img id="ext" alt="external" src="https://example.org/tracker.png"></body></html>'
    )
    page, report = open_page(page_file)
    assert report.external_requests == ["https://example.org/tracker.png"]
    assert page.eval_on_selector("#ext", "e => e.naturalWidth") == 0  # never loaded: blocked
    assert not report.clean and not report.failed_requests


def test_a_clean_page_is_clean_and_errors_are_recorded(open_page, tmp_path):
    clean = tmp_path / "clean.html"
    clean.write_text('<!DOCTYPE html><html lang="en"><head><title>t</title></head><body><h1>x</h1></body></html>')
    page, report = open_page(clean)
    assert report.clean and page.inner_text("h1") == "x"
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><body><script>console.error('boom'); alert(1); undefinedFunction();</script>"
        '<img src="missing.png"></body></html>'
    )
    _, report = open_page(bad)
    assert "boom" in report.console_errors and report.dialogs == ["alert: 1"]
    assert any("undefinedFunction" in e for e in report.page_errors)
    assert any("missing.png" in f for f in report.failed_requests) and not report.external_requests
