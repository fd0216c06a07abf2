"""One templating layer for every HTML page the toolkit writes (release dossier, entity pages,
comparisons, the DEX, DCP, client-level and cohort reports).

Templates are Jinja2 files under ``toolkit/html/templates`` (package data), every page extends
``base.html.j2``, which inlines the one stylesheet (``static/style.css``): a page makes no network
request. Values are escaped by the template engine (``autoescape``); an undefined name in a template is
an error, not an empty string (``StrictUndefined``). Plots are inlined as SVG with :func:`svg`.

    from toolkit.html import render, svg
    html = render("release.html.j2", title="Release demo", tables=..., plot=svg(fig))
"""

from __future__ import annotations

import io
import re
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup


@cache
def environment() -> Environment:
    """The Jinja2 environment of the package's templates (autoescaped, strict about undefined names)."""
    env = Environment(
        loader=PackageLoader("toolkit.html", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["stylesheet"] = Markup(stylesheet())
    env.globals["entity_stylesheet"] = Markup(stylesheet("entity.css"))
    env.filters["num"] = number
    env.filters["key"] = sort_key
    return env


def stylesheet(name: str = "style.css") -> str:
    """A stylesheet of ``static/``, minified (:func:`minify_css`): ``style.css`` is the one every page
    inlines but the entity pages of the release dossier, which inline the smaller ``entity.css``."""
    return minify_css(resources.files("toolkit.html").joinpath("static", name).read_text(encoding="utf-8"))


def minify_css(css: str) -> str:
    """``css`` without comments and without the whitespace around ``{ } ; ,`` and after ``:`` (never
    before it: ``a :hover`` is not ``a:hover``); the last ``;`` of a block dropped."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = re.sub(r"\s+", " ", css)
    css = re.sub(r"\s*([{};,>])\s*", r"\1", css)
    css = re.sub(r":\s+", ":", css)
    return css.replace(";}", "}").strip()


def sort_key(value: Any) -> str:
    """A number as the ``data-value`` a sortable table sorts by: integers as they are, other numbers to
    seven significant digits (enough to order, far shorter than ``repr``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return str(value) if isinstance(value, int) else format(value, ".7g")


def render(template: str, **context: Any) -> str:
    """Render a template of ``toolkit/html/templates`` with ``context``."""
    return environment().get_template(template).render(**context)


def number(value: Any, digits: int = 2) -> str:
    """A number for a table cell: thousands separated, ``digits`` decimals for non-integers; blank for
    missing values."""
    try:
        import math

        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
    except TypeError:
        return str(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) >= 1000):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def svg(fig: Any, *, title: str | None = None, dpi: float | None = None) -> Markup:
    """A matplotlib figure as inline SVG markup (closed after rendering; deterministic ids and no date,
    so the same figure gives the same bytes). ``title`` becomes the SVG's ``<title>`` (its text
    alternative). ``dpi``: the resolution of the artists drawn with ``rasterized=True`` (embedded as a
    ``data:`` PNG, no request), for plots of thousands of points whose vector markup would weigh
    megabytes."""
    import matplotlib

    matplotlib.rcParams["svg.hashsalt"] = "toolkit"
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    extra = {} if dpi is None else {"dpi": dpi}
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None}, **extra)
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg") :]  # drop the XML prolog and doctype: the page is HTML
    if title:
        from markupsafe import escape

        text = text.replace(">", f' role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>', 1)
    return Markup(text)
