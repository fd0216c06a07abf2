"""The national dossier stays small (issue 19: at most 50 MB for ~10,000 entity pages): an entity page
inlines only the small entity stylesheet and compact markup, and a funnel plot of thousands of sites
embeds its points as one image rather than one SVG element per site."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from toolkit.html import minify_css, sort_key, stylesheet


def test_entity_pages_are_small_and_self_contained(dossier_release):
    folder = dossier_release["result"].folder
    sites = list((folder / "entities" / "site").glob("*.html"))
    assert len(sites) > 20
    for p in sites:
        text = p.read_text()
        assert text.count("<style>") == 1 and "<link" not in text and "src=" not in text, p
    mean = sum(p.stat().st_size for p in sites) / len(sites)
    assert mean < 5_500, mean  # was ~8,500 bytes with the full stylesheet and data-value attributes
    assert len(stylesheet("entity.css")) < 1_400


def test_minify_css_keeps_the_meaning():
    css = "/* note */\na :hover { color: red ; }\n.x > .y,\n.z { margin: 0 auto; }\n"
    assert minify_css(css) == "a :hover{color:red}.x>.y,.z{margin:0 auto}"
    assert "/*" not in stylesheet() and "\n" not in stylesheet()


def test_sort_key_is_short():
    assert sort_key(3) == "3" and sort_key(1.9147611049198243) == "1.914761" and sort_key(-0.5) == "-0.5"


def test_a_funnel_of_many_sites_embeds_its_points_as_an_image():
    from toolkit.release.dossier_plots import RASTER_ABOVE, funnel_svg

    rng = np.random.default_rng(1)
    n = 4 * RASTER_ABOVE
    e = rng.gamma(2.0, 5.0, n) + 0.5
    sites = pd.DataFrame({"measure": "m", "expected": e, "actual": rng.poisson(e)})
    out = str(funnel_svg("DMS", sites, ["m"]))
    assert "data:image/png;base64," in out and len(re.findall(r"<use ", out)) < 50
    assert len(out) < 150_000
    few = str(funnel_svg("DMS", sites.head(RASTER_ABOVE // 2), ["m"]))
    assert "data:image/png" not in few  # a small world's funnel stays vector
