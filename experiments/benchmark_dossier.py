"""Benchmark the release dossier: pages, total MB, generation seconds, first render in headless chromium.

    python experiments/benchmark_dossier.py RELEASE_FOLDER [RELEASE_FOLDER ...]

Rebuilds each release folder's dossier into a scratch folder (the same code the release runs,
``toolkit.release.dossier.write_dossier``, from the folder's tables; provenance left blank) and loads
``report.html`` and one contract's page in the system chromium (/usr/bin/chromium), every request but
file:// blocked. First render: from navigation to the ``load`` event. Run it with the checkout first on
the path (``PYTHONPATH=. python experiments/benchmark_dossier.py ...``), or it measures the installed
toolkit.

Results (2 shared cores, loaded; synthetic worlds seed 1, demo release config):

    world     entities  pages  MB before -> after  generation s  summary first render ms  entity page ms
    small          468    453     5.0 -> 3.3        39 -> 13         371 -> 552               208 -> 73
    national     8,548  8,445    82.3 -> 46.0      238 -> 110       3452 -> 1223             2611 -> 1024

Before: every entity page inlined the whole stylesheet and every number's full-precision data-value
(~8.8 KB a page) and the national summary's funnel plots were one SVG element per site (5.7 of its
8.2 MB). After: entity pages ~5.1 KB (the minified entity.css, 1.2 KB, inline: still no request; a
shared linked stylesheet would save another ~10 MB nationally), summary 3.2 MB (points of funnels
with more than 200 sites rasterized into the SVG).
A second run, less loaded: national 46.0 MB in 62 s, summary 1163 ms. The entity-page figure includes
leaving the large summary page in the same tab: in a fresh tab an entity page loads in ~50 ms and the
national summary in ~1.0 s (was ~1.7 s).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from toolkit.release.dossier import read_dossier_inputs, write_dossier
from toolkit.scoring import load_method


def first_render_ms(pages: list[Path]) -> list[float]:
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = b.new_page()
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort())
        for path in pages:
            t0 = time.perf_counter()
            page.goto(path.as_uri(), wait_until="load")
            out.append(1000 * (time.perf_counter() - t0))
        b.close()
    return out


def main(folders: list[str]) -> None:
    print("release, entities, pages, MB, generation s, summary first render ms, entity page ms")
    for f in folders:
        folder = Path(f).absolute()
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            d = read_dossier_inputs(folder, method=load_method("des_2018"), params={}, run_id="-", tracking_uri="")
            t0 = time.perf_counter()
            stats = write_dossier(out, d)
            secs = time.perf_counter() - t0
            size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
            contract = next(iter(sorted((out / "entities" / "contract").glob("*.html"))))
            ms = first_render_ms([out / "report.html", contract])
            print(
                f"{folder.name}, {len(d.ratings):,}, {stats.pages:,}, {size / 1e6:.1f}, {secs:.1f}, "
                f"{ms[0]:.0f}, {ms[1]:.0f}"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
