"""Small inline SVG charts for the provider reports: a measure's share over periods.

Hand-written SVG keeps a report of a hundred charts fast to write (matplotlib takes most of a
second per multi-panel figure) and self-contained in one HTML file.
"""

from __future__ import annotations

from html import escape

import pandas as pd

WIDTH, HEIGHT = 250, 150
LEFT, RIGHT, TOP, BOTTOM = 34, 8, 22, 30


def _y(v: float) -> float:
    return TOP + (1.0 - v) * (HEIGHT - TOP - BOTTOM)


def trend_svg(rows: pd.DataFrame, title: str, target: float) -> str:
    """One measure of one provider over periods.

    ``rows`` has one row per period (in order) with ``period``, ``transition``, ``share``,
    ``posterior_mean``, ``lower``, ``upper``, ``numerator``, ``denominator``. Drawn: the target
    (dashed), transition periods (shaded), the credible interval (bar), the posterior mean
    (dot) and the observed share (cross), with the denominator under each period.
    """
    n = max(len(rows), 1)
    step = (WIDTH - LEFT - RIGHT) / n
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f'<text x="{LEFT}" y="13" font-size="11" font-weight="bold">{escape(title)}</text>',
    ]
    for v in (0.0, 0.5, 1.0):
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_y(v):.1f}" y2="{_y(v):.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 4}" y="{_y(v) + 3:.1f}" font-size="9" text-anchor="end">{int(v * 100)}%</text>'
        )
    for i, r in enumerate(rows.itertuples(index=False)):
        x0 = LEFT + i * step
        cx = x0 + step / 2
        if bool(r.transition):
            parts.append(
                f'<rect x="{x0:.1f}" y="{TOP}" width="{step:.1f}" height="{HEIGHT - TOP - BOTTOM}" fill="#eee"/>'
            )
        label = str(r.period).replace("-", " ")
        parts.append(
            f'<text x="{cx:.1f}" y="{HEIGHT - BOTTOM + 11}" font-size="8" text-anchor="middle">{escape(label)}</text>'
            f'<text x="{cx:.1f}" y="{HEIGHT - BOTTOM + 21}" font-size="8" text-anchor="middle" fill="#555">'
            f"n={int(r.denominator)}</text>"
        )
        if int(r.denominator) == 0 or pd.isna(r.posterior_mean):
            continue
        met = r.lower >= target
        short = r.upper < target
        colour = "#1a7f37" if met else ("#c62828" if short else "#555")
        parts.append(
            f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{_y(r.lower):.1f}" y2="{_y(r.upper):.1f}" '
            f'stroke="{colour}" stroke-width="3" stroke-linecap="round"/>'
            f'<circle cx="{cx:.1f}" cy="{_y(r.posterior_mean):.1f}" r="3.5" fill="white" stroke="{colour}"/>'
        )
        sy = _y(r.share)
        parts.append(f'<path d="M{cx - 3:.1f},{sy - 3:.1f} l6,6 m0,-6 l-6,6" stroke="#000" stroke-width="1"/>')
    ty = _y(target)
    parts.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#1565c0" '
        f'stroke-dasharray="4 3"/>'
        f'<text x="{WIDTH - RIGHT}" y="{ty - 3:.1f}" font-size="8" text-anchor="end" fill="#1565c0">'
        f"{round(target * 100)}%</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


LEGEND = (
    "Cross: observed share. Dot and bar: posterior mean and credible interval (green when the whole "
    "interval is at or above the target, red when it is below). Dashed line: the target or minimum "
    "requirement. Grey: transition period (reported, not assessed). n: the denominator."
)
