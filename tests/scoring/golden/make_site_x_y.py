"""Build ``site_x_y.csv``: a small national table holding the seed's Site X and Site Y.

Run from the repository root: ``.venv/bin/python tests/scoring/golden/make_site_x_y.py``.
The output is committed; this script documents how it was made and uses plain
arithmetic only (nothing from toolkit.scoring), so the golden tests cannot be
circular.

Site X (ESS) and Site Y (DMS) carry the actual and expected outcomes of the
seed's Attachments B and C (and ratios 3.87, 0.92 for 13-week and Ongoing
Support, 3.67 and 2.27 for Site Y). Site X is the only site of contract CX, so
CX has the same records (a single-site contract: same rating at both levels,
seed "Distribution of DES Star Ratings").

The seed prints Site X's standardised scores (4.00, 3.00, 2.16, 1.97) but not
the scale behind them. The ESS contracts CE2..CE8 are built so that, under the
default reading (clip(2 + z, 0, 4), mean and sample sd over rated contracts),
CX's z-values are 2.16 (clipped to 4.00), 1.00, 0.16 and -0.03: each group's
other contract ratios are mu + sd * t with t chosen so that the eight t-values
(CX's included) have mean 0 and sample sd 1. With no other score clipped, the
national average is 2 - 0.20 * 0.16 / 8 = 1.996 (2.00 to two decimals) and Site
X's star percentage is trunc(100 * (2.8355 - 1.996) / 1.996) = 42: 5 stars.

The DMS side (Site Y's scores in the seed exceed 4, so they cannot come from a
0-4 clip) shows the other rules: CY's bonus_26 n = 3 (a Table 7 reduction at
contract level), SY2 below minimum data (substituted by CY), SY3 a new site of
6 months, CD7 a new contract of 10 months (calculated, not published), CE9
below minimum data. Organisation rows are the sums of their contracts' rows.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

MEASURES = ("full_13", "full_26", "pathway_26", "bonus_26", "full_52", "pathway_52", "ongoing_support")
GROUP = {
    "full_13": "g13",
    "full_26": "g26",
    "pathway_26": "g26",
    "bonus_26": "g26",
    "full_52": "g52",
    "pathway_52": "g52",
    "ongoing_support": "gos",
}

# Site X (ESS): (actual, expected, n) per measure, Attachment B and the Step 3/4 example.
SITE_X = {
    "full_13": (31, 8.01, 40),
    "full_26": (26, 10, 40),
    "pathway_26": (13, 2, 20),
    "bonus_26": (6, 1, 10),
    "full_52": (22, 10, 30),
    "pathway_52": (13, 10, 20),
    "ongoing_support": (23, 25, 30),
}
# Site Y (DMS): Attachment C; no bonus_26 records (no row: n = 0).
SITE_Y = {
    "full_13": (22, 6, 30),
    "full_26": (25, 21, 40),
    "pathway_26": (8, 6, 15),
    "full_52": (25, 11, 35),
    "pathway_52": (5, 2.2, 12),
}
ESS_W = {
    "full_13": 0.20,
    "full_26": 0.30,
    "pathway_26": 0.05,
    "bonus_26": 0.05,
    "full_52": 0.20,
    "pathway_52": 0.05,
    "ongoing_support": 0.15,
}

# Target z of CX per group (printed scores 4.00 [clipped], 3.00, 2.16, 1.97) and the chosen sd.
Z_X = {"g13": 2.16, "g26": 1.00, "g52": 0.16, "gos": -0.03}
SD = {"g13": 1.0, "g26": 0.8, "g52": 0.8, "gos": 0.25}
PATTERN = {
    "g13": [-3, -2, -1, 0, 1, 2, 3],
    "g26": [3, 2, 1, 0, -1, -2, -3],
    "g52": [0, 3, -3, 1, -1, 2, -2],
    "gos": [2, -2, 3, -3, 0, 1, -1],
}
ACTUAL_OTHER = {
    "full_13": 18,
    "full_26": 15,
    "pathway_26": 6,
    "bonus_26": 4,
    "full_52": 10,
    "pathway_52": 5,
    "ongoing_support": 30,
}
N_OTHER = 80


def group_ratio(records: dict, group: str) -> float:
    ms = [m for m in records if GROUP[m] == group]
    return sum(ESS_W[m] * records[m][0] for m in ms) / sum(ESS_W[m] * records[m][1] for m in ms)


def t_values(z: float, pattern: list[int]) -> list[float]:
    """Seven values that, with z, have mean 0 and sample sd 1."""
    k = len(pattern) + 1
    a = -z / (k - 1)
    c = math.sqrt((k - 1 - z * z - (k - 1) * a * a) / sum(b * b for b in pattern))
    return [a + c * b for b in pattern]


def fmt(x: float) -> str:
    return f"{x:.6f}".rstrip("0").rstrip(".")


def build() -> list[dict]:
    rows: list[dict] = []

    def add(program, level, eid, parent, records, months):
        for m in MEASURES:
            if m in records:
                a, e, n = records[m]
                rows.append(
                    {
                        "program": program,
                        "level": level,
                        "entity_id": eid,
                        "parent_id": parent,
                        "measure": m,
                        "n": n,
                        "actual": a,
                        "expected": fmt(e),
                        "months_operating": months,
                    }
                )

    def total(*recs):
        out = {}
        for r in recs:
            for m, (a, e, n) in r.items():
                a0, e0, n0 = out.get(m, (0, 0.0, 0))
                out[m] = (a0 + a, round(e0 + e, 6), n0 + n)
        return out

    # ESS: CX = Site X; CE2..CE8 set the scale; CE9 below minimum data.
    ess = {"CX": dict(SITE_X)}
    ratios = {g: [] for g in Z_X}
    for g in Z_X:
        rx = group_ratio(SITE_X, g)
        mu = rx - Z_X[g] * SD[g]
        ratios[g] = [mu + SD[g] * t for t in t_values(Z_X[g], PATTERN[g])]
        assert all(abs(t) < 2 for t in t_values(Z_X[g], PATTERN[g])), "only CX's 13-week score may be clipped"
    for i in range(7):
        ess[f"CE{i + 2}"] = {m: (ACTUAL_OTHER[m], ACTUAL_OTHER[m] / ratios[GROUP[m]][i], N_OTHER) for m in MEASURES}
    ess["CE9"] = {"full_13": (1, 1.2, 4), "full_26": (2, 1.5, 6), "ongoing_support": (9, 8.5, 14)}
    add("ESS", "organisation", "OE1", "", total(*(ess[c] for c in ("CX", "CE2", "CE3", "CE4"))), "")
    add("ESS", "organisation", "OE2", "", total(*(ess[c] for c in ("CE5", "CE6", "CE7", "CE8", "CE9"))), "")
    for c, recs in ess.items():
        add("ESS", "contract", c, "OE1" if c in ("CX", "CE2", "CE3", "CE4") else "OE2", recs, 36)
    add("ESS", "site", "SX", "CX", SITE_X, 36)

    # DMS: CY holds Site Y, SY2 (below minimum data) and SY3 (new, 6 months).
    sy2 = {
        "full_13": (3, 2.9, 12),
        "full_26": (2, 2.4, 10),
        "pathway_26": (1, 0.8, 4),
        "bonus_26": (1, 0.6, 3),
        "full_52": (1, 1.1, 8),
        "pathway_52": (0, 0.3, 3),
    }
    sy3 = {"full_13": (2, 1.6, 8), "full_26": (1, 1.2, 5)}
    dms = {"CY": total(SITE_Y, sy2, sy3)}
    for i, r in enumerate([0.70, 0.85, 1.00, 1.15, 1.40]):
        dms[f"CD{i + 2}"] = {
            m: (ACTUAL_OTHER[m], ACTUAL_OTHER[m] / (r * (1.1 if j % 2 else 0.95)), N_OTHER)
            for j, m in enumerate(MEASURES[:6])
        }
    dms["CD7"] = {m: (ACTUAL_OTHER[m], ACTUAL_OTHER[m] / 1.05, 30) for m in MEASURES[:6]}
    add("DMS", "organisation", "OD1", "", total(*(dms[c] for c in ("CY", "CD2", "CD3"))), "")
    add("DMS", "organisation", "OD2", "", total(*(dms[c] for c in ("CD4", "CD5", "CD6", "CD7"))), "")
    for c, recs in dms.items():
        add("DMS", "contract", c, "OD1" if c in ("CY", "CD2", "CD3") else "OD2", recs, 10 if c == "CD7" else 36)
    add("DMS", "site", "SY", "CY", SITE_Y, 36)
    add("DMS", "site", "SY2", "CY", sy2, 36)
    add("DMS", "site", "SY3", "CY", sy3, 6)
    return rows


def main() -> None:
    out = Path(__file__).with_name("site_x_y.csv")
    rows = build()
    with out.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {len(rows)} rows to {out}")


if __name__ == "__main__":
    main()
