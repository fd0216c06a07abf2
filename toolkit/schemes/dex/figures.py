"""Small inline SVG charts for the provider reports: a measure's share over periods.

The geometry is computed here (numbers only); the SVG itself is drawn by the ``trend_chart`` macro
of ``toolkit/html/templates/charts.html.j2``, so labels are escaped by the template engine. A
template chart keeps a report of a hundred charts fast to write (matplotlib takes most of a second
per multi-panel figure) and self-contained in one HTML file.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

WIDTH, HEIGHT = 250, 150
LEFT, RIGHT, TOP, BOTTOM = 34, 8, 22, 30


def _y(v: float) -> float:
    return TOP + (1.0 - v) * (HEIGHT - TOP - BOTTOM)


def _f(v: float) -> str:
    return f"{v:.1f}"


def trend_chart(rows: pd.DataFrame, title: str, target: float) -> dict[str, Any]:
    """The drawing of one measure of one provider over periods, for the ``trend_chart`` macro.

    ``rows`` has one row per period (in order) with ``period``, ``transition``, ``share``,
    ``posterior_mean``, ``lower``, ``upper``, ``numerator``, ``denominator``. Drawn: the target
    (dashed), transition periods (shaded), the credible interval (bar), the posterior mean
    (dot) and the observed share (cross), with the denominator under each period.
    """
    n = max(len(rows), 1)
    step = (WIDTH - LEFT - RIGHT) / n
    periods = []
    for i, r in enumerate(rows.itertuples(index=False)):
        x0 = LEFT + i * step
        cx = x0 + step / 2
        p: dict[str, Any] = {
            "x0": _f(x0),
            "cx": _f(cx),
            "transition": bool(r.transition),
            "label": str(r.period).replace("-", " "),
            "n": int(r.denominator),
            "estimate": None,
        }
        if int(r.denominator) > 0 and not pd.isna(r.posterior_mean):
            met = r.lower >= target
            short = r.upper < target
            sy = _y(r.share)
            p["estimate"] = {
                "y1": _f(_y(r.lower)),
                "y2": _f(_y(r.upper)),
                "cy": _f(_y(r.posterior_mean)),
                "colour": "#1a7f37" if met else ("#c62828" if short else "#555"),
                "cross": f"M{cx - 3:.1f},{sy - 3:.1f} l6,6 m0,-6 l-6,6",
            }
        periods.append(p)
    return {
        "title": title,
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "top": TOP,
        "plot_height": HEIGHT - TOP - BOTTOM,
        "step": _f(step),
        "label_y": HEIGHT - BOTTOM + 11,
        "n_y": HEIGHT - BOTTOM + 21,
        "grid": [{"y": _f(_y(v)), "text_y": _f(_y(v) + 3), "label": f"{int(v * 100)}%"} for v in (0.0, 0.5, 1.0)],
        "periods": periods,
        "target": {"y": _f(_y(target)), "text_y": _f(_y(target) - 3), "label": f"{round(target * 100)}%"},
    }


LEGEND = (
    "Cross: observed share. Dot and bar: posterior mean and credible interval (green when the whole "
    "interval is at or above the target, red when it is below). Dashed line: the target or minimum "
    "requirement. Grey: transition period (reported, not assessed). n: the denominator."
)
