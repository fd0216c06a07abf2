"""``toolkit compare`` writes ``comparison.html``: in a real browser it makes no request and logs no error,
shows one heat map per program and level whose cells are transitions.csv, and lists exactly the entities
of changed_entities.csv."""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def comparison(dossier_release, tiny_world_dir, tmp_path_factory):
    """The tiny-world release against the same data under the interim weights (which drop g52)."""
    from toolkit.release.compare import run_comparison
    from toolkit.release.config import load_release_config
    from toolkit.release.pipeline import run_release

    a = dossier_release["result"]
    config, path = load_release_config("releases/demo.yaml")
    b = run_release(
        config.model_copy(update={"method": "des_2018_interim"}),
        tiny_world_dir,
        config_path=path,
        tracking_uri=dossier_release["uri"],
        out_root=dossier_release["dir"] / "releases",
        progress=False,
    )
    root = tmp_path_factory.mktemp("cmp")
    return run_comparison(a.run_id, b.run_id, tracking_uri=dossier_release["uri"], out_root=root)


def test_comparison_page_in_a_browser(comparison, open_page):
    page, report = open_page(comparison / "comparison.html")
    assert report.clean, report
    assert page.locator("h1").inner_text().startswith("Comparison of releases")
    h2 = page.locator("h2").all_inner_texts()
    for want in ("Transitions", "Entities that moved", "Coefficients", "Inputs and settings that differ"):
        assert want in h2
    # one heat map per program and level; its cells are transitions.csv
    trans = pd.read_csv(comparison / "transitions.csv", dtype={"stars_a": str, "stars_b": str})
    heats = page.locator("table.heat")
    assert heats.count() == trans.groupby(["program", "level"]).ngroups > 0
    for i in range(heats.count()):
        h = heats.nth(i)
        prog, level = h.get_attribute("data-program"), h.get_attribute("data-level")
        t = trans[(trans["program"] == prog) & (trans["level"] == level)]
        cells = h.locator("tbody td[data-value]").evaluate_all("cs => cs.map(c => +c.dataset.value)")
        assert sum(cells) == t["entities"].sum()
        coloured = h.locator("td[style*='background']").count()
        assert coloured == int((t["entities"] > 0).sum())  # every non-empty cell, and only those, is shaded
        assert h.locator("td.same").count() >= 1
    # the entities that moved are the rows of changed_entities.csv, in order
    changed = pd.read_csv(comparison / "changed_entities.csv", dtype={"entity_id": str})
    assert len(changed) > 0
    rows = page.locator("#moved-table tbody tr")
    assert rows.count() == len(changed)
    ids = page.locator("#moved-table tbody tr td:nth-child(3)").all_inner_texts()
    assert ids == changed["entity_id"].tolist()
    drivers = page.locator("#moved-table tbody tr td:nth-child(10)").all_inner_texts()
    assert drivers == changed["drivers"].fillna("").tolist() and any("g52" in d for d in drivers)
    # the method differs, and says so
    assert "config.method" in page.locator("#input-table").inner_text()


def test_comparison_page_is_light(comparison):
    html = (comparison / "comparison.html").read_text()
    assert len(html.encode()) < 500_000
    assert "https://" not in html and "http://" not in html
