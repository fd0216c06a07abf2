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
    env.filters["num"] = number
    return env


def stylesheet() -> str:
    """The one stylesheet every page inlines."""
    return resources.files("toolkit.html").joinpath("static/style.css").read_text(encoding="utf-8")


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


def svg(fig: Any, *, title: str | None = None) -> Markup:
    """A matplotlib figure as inline SVG markup (closed after rendering; deterministic ids and no date,
    so the same figure gives the same bytes). ``title`` becomes the SVG's ``<title>`` (its text
    alternative)."""
    import matplotlib

    matplotlib.rcParams["svg.hashsalt"] = "toolkit"
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg") :]  # drop the XML prolog and doctype: the page is HTML
    if title:
        from markupsafe import escape

        text = text.replace(">", f' role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>', 1)
    return Markup(text)
