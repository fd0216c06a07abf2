"""``toolkit report`` rebuilds the dossier from the tracking store alone; ``toolkit whatif`` agrees with the
distance to the next band shown on the entity page."""

from __future__ import annotations

import re

import pandas as pd

from toolkit.release.dossier import entity_href


def test_report_rebuilds_the_dossier_from_the_store(dossier_release, run_cli, tmp_path):
    res = dossier_release["result"]
    out = tmp_path / "rebuilt"
    p = run_cli("report", res.run_id, "--tracking-uri", dossier_release["uri"], "--out", out)
    assert p.returncode == 0, p.stderr
    assert "dossier:" in p.stdout and (out / "report.html").is_file()
    rebuilt = sorted(q.relative_to(out) for q in (out / "entities").rglob("*.html"))
    original = sorted(q.relative_to(res.folder) for q in (res.folder / "entities").rglob("*.html"))
    assert rebuilt == original
    # the entity pages (aggregates and what-if) are the same bytes; the summary differs only in provenance
    for rel in original[:20]:
        assert (out / rel).read_text() == (res.folder / rel).read_text(), rel
    html = (out / "report.html").read_text()
    assert res.run_id in html and "git commit" in html and "passed" in html


def test_whatif_agrees_with_the_entity_page(dossier_release, run_cli):
    res = dossier_release["result"]
    ratings = pd.read_csv(res.folder / "ratings.csv", dtype={"entity_id": str})
    eid = ratings.loc[(ratings["level"] == "contract") & ratings["calculated"], "entity_id"].iloc[0]
    page = (res.folder / entity_href("contract", eid)).read_text()
    m = re.search(r"Up: (\d+) more outcomes? on (\w+) would give (\d) stars", page)
    assert m, "no distance on the page"
    k, measure, stars = int(m[1]), m[2], int(m[3])
    args = ("whatif", res.run_id, eid, "--measure", measure, "--tracking-uri", dossier_release["uri"])
    p = run_cli(*args, "--add", str(k))
    assert p.returncode == 0, p.stderr
    assert re.search(rf"stars \(calculated\): \d stars -> {stars} stars", p.stdout), p.stdout
    if k > 1:
        q = run_cli(*args, "--add", str(k - 1))
        before = re.search(r"stars \(calculated\): (\d) stars -> (\d) stars", q.stdout)
        assert before and before[1] == before[2], q.stdout
    bad = run_cli(
        "whatif", res.run_id, "NOPE", "--measure", measure, "--add", "1", "--tracking-uri", dossier_release["uri"]
    )
    assert bad.returncode == 2 and "no entity 'NOPE'" in bad.stderr and "Traceback" not in bad.stderr
