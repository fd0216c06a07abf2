"""One templating layer: no module of the toolkit outside ``toolkit/html`` writes HTML markup in a
string (every page comes from a Jinja2 template under ``toolkit/html/templates``, escaped by the
engine), and a hostile name shown in a scheme's report arrives escaped."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.fixtures.scheme_reports import BUILDERS, HOSTILE

TOOLKIT = Path(__file__).resolve().parents[2] / "toolkit"

# An HTML or SVG tag (opening or closing) or a doctype in a string literal, f-string parts included.
TAG = re.compile(
    r"<(?:!doctype\b|/?(?:html|head|body|title|style|script|meta|link|table|thead|tbody|tr|td|th|caption|"
    r"svg|g|text|line|rect|circle|path|polyline|polygon|div|span|section|header|footer|main|nav|p|h[1-6]|"
    r"ul|ol|li|a|img|figure|figcaption|br|hr|b|i|em|strong|code|pre|details|summary|input|button|form)"
    r"(?=[\s>/]|$))",
    re.IGNORECASE,
)


def _docstrings(tree: ast.AST) -> set[int]:
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, kinds)
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
    }


def markup_in_strings(source: str) -> list[str]:
    """Every place where ``source`` builds HTML by hand: a string literal (or f-string part) holding a
    tag, or the standard library's HTML escaping (the template engine escapes)."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    found = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs and TAG.search(n.value):
            found.append(f"line {n.lineno}: string with a tag {n.value[:60]!r}")
        elif isinstance(n, ast.ImportFrom) and n.module == "html":
            found.append(f"line {n.lineno}: from html import ...")
        elif isinstance(n, ast.Import) and any(a.name == "html" for a in n.names):
            found.append(f"line {n.lineno}: import html")
    return found


def test_no_module_outside_toolkit_html_builds_html_by_hand():
    modules = [p for p in TOOLKIT.rglob("*.py") if "html" not in p.relative_to(TOOLKIT).parts[:1]]
    assert len(modules) > 100
    bad = {str(p.relative_to(TOOLKIT)): f for p in modules if (f := markup_in_strings(p.read_text(encoding="utf-8")))}
    assert not bad, f"HTML built by string concatenation (write a template in toolkit/html/templates): {bad}"


@pytest.mark.parametrize(
    "source",
    [
        'page = "<table>" + rows + "</table>"',
        'cell = f"<td{cls}>{v}</td>"',
        "x = '<!DOCTYPE html><html>'",
        "row = '<tr>' + ''.join(cells)",
        "svg = f'<svg width=\"{w}\">'",
        "from html import escape",
        "import html",
    ],
)
def test_the_scan_finds_hand_built_html(source):
    assert markup_in_strings(source), source


@pytest.mark.parametrize(
    "source",
    [
        '"""Write each table as ``<table>.parquet``."""',
        'key = "<program>.<level>"',
        'loc = "<top>"',
        'msg = f"x < {y}"',
        'html = render("dex_report.html.j2", title=t)',
    ],
)
def test_the_scan_leaves_other_strings_alone(source):
    assert not markup_in_strings(source), source


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def hostile_pages(request, tmp_path_factory) -> tuple[str, list[Path]]:
    scheme = request.param
    return scheme, BUILDERS[scheme](tmp_path_factory.mktemp(f"hostile_{scheme}"), name=HOSTILE)


def test_a_hostile_name_is_escaped_in_every_page(hostile_pages):
    scheme, pages = hostile_pages
    assert pages, scheme
    for p in pages:
        html = p.read_text(encoding="utf-8")
        assert HOSTILE not in html and "<script" not in html.lower(), f"{scheme}: {p.name}"
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, f"{scheme}: {p.name} does not show the name"
