"""The star-band plot draws the edges of the method it is given, not a copy of des_2018's bands."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.release.bayes_variant import star_probability_plot
from toolkit.scoring import load_method
from toolkit.scoring.config import Band


def _ratings(n: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    med = np.sort(rng.uniform(-60, 60, n))
    p = rng.dirichlet(np.ones(5), n)
    return pd.DataFrame(
        {
            "program": "DMS",
            "level": "contract",
            "calculated": True,
            "bayes_star_percentage": med,
            "bayes_star_percentage_q5": med - 10,
            "bayes_star_percentage_q95": med + 10,
            "calculated_star_percentage": med.round(),
            **{f"p_star_{k}": p[:, k - 1] for k in range(1, 6)},
        }
    )


def _band_lines(monkeypatch, method, tmp_path) -> list[float]:
    from matplotlib.axes import Axes

    drawn: list[float] = []
    original = Axes.axhline

    def record(self, y=0, *args, **kwargs):
        if kwargs.get("ls") == "--":
            drawn.append(float(y))
        return original(self, y, *args, **kwargs)

    monkeypatch.setattr(Axes, "axhline", record)
    star_probability_plot(_ratings(), "DMS", tmp_path / "bands.png", method)
    assert (tmp_path / "bands.png").exists()
    return drawn


def test_des_2018_bands_give_the_published_edges(monkeypatch, tmp_path):
    assert _band_lines(monkeypatch, load_method("des_2018"), tmp_path) == [-50, -20, 20, 40]


@pytest.mark.parametrize("program_method", [False, True])
def test_other_bands_draw_other_lines(monkeypatch, tmp_path, program_method):
    bands = (
        Band(stars=1, min=None, max=-31),
        Band(stars=2, min=-30, max=-1),
        Band(stars=3, min=0, max=9),
        Band(stars=4, min=10, max=None),
    )
    method = load_method("des_2018").model_copy(update={"bands": bands})
    given = method.program_method("DMS") if program_method else method
    assert _band_lines(monkeypatch, given, tmp_path) == [-31, -1, 10]
