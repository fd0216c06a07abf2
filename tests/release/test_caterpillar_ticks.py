"""The Bayesian site-effect caterpillar plot labels its log odds-ratio axis with plain decimals (0.5, 1, 2),
never ``6x10^-1`` or ``4x10^0``."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from toolkit.release.bayes_variant import caterpillar_figure


@pytest.mark.parametrize("spread", [0.25, 0.8, 2.5])
def test_caterpillar_axis_has_plain_decimal_ticks(spread):
    import matplotlib.pyplot as plt
    import xarray as xr

    rng = np.random.default_rng(0)
    med = rng.normal(0, spread / 2, 200)
    summ = pd.DataFrame({"q_lo": med - spread / 2, "median": med, "q_hi": med + spread / 2})
    shift = xr.DataArray(np.zeros((1, 4, 1)), dims=("chain", "draw", "measure"), coords={"measure": ["m"]})
    fit = SimpleNamespace(program="DMS", site_summary={"m": summ}, idata={"posterior": {"shift": shift}})
    fig = caterpillar_figure(fit, "m")
    fig.canvas.draw()
    ax = fig.axes[0]
    lo, hi = ax.get_ylim()
    labels = [t.get_text() for t in ax.get_yticklabels() if lo <= t.get_position()[1] <= hi and t.get_text()]
    plt.close(fig)
    assert len(labels) >= 2, labels
    assert all(re.fullmatch(r"\d+(\.\d+)?", s) for s in labels), labels
    assert "1" in labels
