"""What if: an entity's score with a different number of outcomes on one measure, and the distance to the
next star band, holding the national parameters fixed.

The national parameters (each group's ``mu`` and ``sd`` and the program's national average, the
``standardisation`` table of a release) are those of the release; everything else is Steps 3 to 6 of
:mod:`toolkit.scoring` on the same arrays :func:`toolkit.scoring.table.program_arrays` builds for the
release, with one cell of ``actual`` changed. Rows are scored independently once the parameters are
fixed, so changing one entity's row of the program's full array gives that entity's score exactly as a
full re-scoring would (and, for a site or an organisation, which are not in the standardisation
population, exactly what a full re-scoring gives: the parameters do not move).

The stars here are *calculated* stars (Table 6 of the star percentage); the publishing rules (new sites,
carry-forward, minimum data) act on top of them and do not depend on the outcomes.

Stars cannot fall when an entity has more outcomes on a measure (ratios, clipped scores, the weighted
score and the star percentage are non-decreasing in each actual), so the fewest outcomes that change the
stars is found by bisection, for every entity of a program at once.

    >>> from toolkit.scoring import load_method
    >>> import pandas as pd
    >>> m = load_method("des_2018")
    >>> rows = [("DMS", "contract", f"C{i}", "", x, 40, a, 12.0)
    ...         for i, a in enumerate([10, 12, 14]) for x in ("full_13", "full_26", "pathway_26",
    ...                                                       "bonus_26", "full_52", "pathway_52")]
    >>> em = pd.DataFrame(rows, columns=["program", "level", "entity_id", "parent_id", "measure",
    ...                                  "n", "actual", "expected"])
    >>> from toolkit.scoring import score_entities_with_parameters
    >>> ratings, params = score_entities_with_parameters(em, m)
    >>> states = program_states(em, m, params)
    >>> r = whatif(states["DMS"], "contract", "C1", "full_13", 10)
    >>> r.stars_before, r.stars, r.star_percentage
    (3, 4, 25.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.errors import InputError
from toolkit.scoring.config import MethodConfig, ProgramMethod
from toolkit.scoring.ratios import group_ratios
from toolkit.scoring.standardise import standardise
from toolkit.scoring.stars import performance_score, star_percentage, stars_from_percentage
from toolkit.scoring.table import program_arrays, program_entities
from toolkit.scoring.validate import validate_entity_measures
from toolkit.scoring.weights import AdjustedWeights, adjust_weights


@dataclass(frozen=True, eq=False)
class ProgramState:
    """One program's scoring arrays (as the release scored them) and its fixed national parameters."""

    program: ProgramMethod
    entities: pd.DataFrame  # program, level, entity_id, parent_id, months_operating, novation; row order of arrays
    n: np.ndarray
    actual: np.ndarray
    expected: np.ndarray
    weights: AdjustedWeights
    mu: np.ndarray
    sd: np.ndarray
    national_average: float

    def row(self, level: str, entity_id: str) -> int:
        """The row of an entity; :class:`InputError` when the program has no such entity."""
        hit = np.flatnonzero(
            (self.entities["level"].to_numpy() == level) & (self.entities["entity_id"].to_numpy() == entity_id)
        )
        if len(hit) == 0:
            raise InputError(f"program {self.program.program} has no {level} {entity_id!r}")
        return int(hit[0])

    def measure(self, measure: str) -> int:
        if measure not in self.program.measures:
            raise InputError(
                f"program {self.program.program} does not score measure {measure!r} "
                f"(it scores {', '.join(self.program.measures)})"
            )
        return self.program.measures.index(measure)

    def score(self, actual: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Steps 3-6 of every entity with the fixed parameters: performance score, star percentage, stars
        (0: no score)."""
        a = self.actual if actual is None else actual
        pm = self.program
        r = group_ratios(a, self.expected, self.weights.weights, pm)
        sc = standardise(r, self.mu, self.sd, pm)
        s = performance_score(sc, self.weights.group_weights, self.weights.scorable)
        p = star_percentage(s, np.asarray(self.national_average, dtype=float), pm)
        return s, p, stars_from_percentage(p, pm.bands)


def program_states(
    entity_measures: pd.DataFrame,
    method: MethodConfig,
    standardisation: pd.DataFrame,
    *,
    fractional_actual: bool = False,
) -> dict[str, ProgramState]:
    """Each program's :class:`ProgramState` from a release's entity-measure table and its standardisation
    parameters (``program``, ``group``, ``mu``, ``sd``, ``national_average``). A program none of whose
    contracts could set the scale (no parameters) is left out."""
    em = validate_entity_measures(entity_measures, method, fractional_actual=fractional_actual)
    ents = program_entities(em)
    out: dict[str, ProgramState] = {}
    for p in sorted(ents["program"].unique()):
        part = ents[ents["program"] == p].reset_index(drop=True)
        pm, n, A, E, _ = program_arrays(em[em["program"] == p], part, method)
        par = standardisation[standardisation["program"] == p].set_index("group")
        if par.empty or par["national_average"].isna().all():
            continue
        missing = [g for g in pm.groups if g not in par.index]
        if missing:
            raise InputError(f"standardisation parameters of program {p} lack group(s) {', '.join(missing)}")
        out[p] = ProgramState(
            program=pm,
            entities=part,
            n=n,
            actual=A,
            expected=E,
            weights=adjust_weights(n, pm),
            mu=par.loc[list(pm.groups), "mu"].to_numpy(dtype=float),
            sd=par.loc[list(pm.groups), "sd"].to_numpy(dtype=float),
            national_average=float(par["national_average"].iloc[0]),
        )
    return out


@dataclass(frozen=True)
class WhatIf:
    """An entity's calculated score before and after ``add`` more outcomes on ``measure``."""

    program: str
    level: str
    entity_id: str
    measure: str
    add: int
    actual_before: float
    actual: float
    n: float
    performance_score_before: float
    performance_score: float
    star_percentage_before: float
    star_percentage: float
    stars_before: int
    stars: int


def whatif(state: ProgramState, level: str, entity_id: str, measure: str, add: float) -> WhatIf:
    """The entity's score, star percentage and stars with ``add`` more outcomes on ``measure`` (negative:
    fewer), the national parameters fixed. Refuses an ``actual`` below 0 or above ``n``."""
    i, j = state.row(level, entity_id), state.measure(measure)
    a0, n = float(state.actual[i, j]), float(state.n[i, j])
    if a0 + add < 0 or a0 + add > n:
        raise InputError(
            f"{level} {entity_id!r} has {a0:g} outcomes of {n:g} on {measure}: {add:+g} would give "
            f"{a0 + add:g}, outside 0 to {n:g}"
        )
    s0, p0, st0 = state.score()
    a = state.actual.copy()
    a[i, j] = a0 + add
    s1, p1, st1 = state.score(a)
    return WhatIf(
        state.program.program,
        level,
        entity_id,
        measure,
        int(add) if float(add).is_integer() else add,  # type: ignore[arg-type]
        a0,
        a0 + add,
        n,
        float(s0[i]),
        float(s1[i]),
        float(p0[i]),
        float(p1[i]),
        int(st0[i]),
        int(st1[i]),
    )


def _fewest(state: ProgramState, j: int, direction: int, stars0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per entity, the fewest outcomes more (``direction`` 1) or fewer (-1) on measure ``j`` that change its
    stars, and the stars then; NaN and 0 where no number within 0..n does (or the entity has no stars)."""
    room = np.floor(state.n[:, j] - state.actual[:, j]) if direction > 0 else np.floor(state.actual[:, j])
    room = np.where((stars0 > 0) & (state.weights.weights[:, j] > 0), np.maximum(room, 0), 0)

    def stars_at(k: np.ndarray) -> np.ndarray:
        a = state.actual.copy()
        a[:, j] = state.actual[:, j] + direction * k
        return state.score(a)[2]

    at_max = stars_at(room)
    changes = (room > 0) & (at_max != stars0)
    lo, hi = np.zeros_like(room), room.copy()  # stars unchanged at lo, changed at hi (where ``changes``)
    while True:
        open_ = changes & (hi - lo > 1)
        if not open_.any():
            break
        mid = np.where(open_, np.floor((lo + hi) / 2), hi)
        moved = stars_at(mid) != stars0
        hi = np.where(open_ & moved, mid, hi)
        lo = np.where(open_ & ~moved, mid, lo)
    k = np.where(changes, hi, np.nan)
    return k, np.where(changes, stars_at(np.where(changes, hi, 0)), 0)


def distances(state: ProgramState) -> pd.DataFrame:
    """For every entity with stars and every measure it is scored on: the fewest more outcomes that raise its
    stars (``direction`` up) and the fewest fewer that lower them (down), with the stars then. One row per
    entity, measure and direction; ``outcomes`` NaN where no number of outcomes within 0..n changes them."""
    _, p0, stars0 = state.score()
    parts = []
    for j, m in enumerate(state.program.measures):
        for direction, name in ((1, "up"), (-1, "down")):
            k, st = _fewest(state, j, direction, stars0)
            parts.append(
                pd.DataFrame(
                    {
                        "program": state.program.program,
                        "level": state.entities["level"].to_numpy(),
                        "entity_id": state.entities["entity_id"].to_numpy(),
                        "measure": m,
                        "direction": name,
                        "stars": stars0.astype(int),
                        "star_percentage": p0,
                        "outcomes": k,
                        "stars_then": st.astype(int),
                    }
                )
            )
    out = pd.concat(parts, ignore_index=True)
    return out[out["stars"] > 0].reset_index(drop=True)


def nearest(dist: pd.DataFrame) -> pd.DataFrame:
    """Of :func:`distances`, per entity and direction the one measure needing the fewest outcomes (ties: the
    program's measure order)."""
    d = dist.dropna(subset=["outcomes"])
    d = d.assign(_o=np.arange(len(d))).sort_values(["program", "level", "entity_id", "direction", "outcomes", "_o"])
    return d.drop_duplicates(["program", "level", "entity_id", "direction"]).drop(columns="_o").reset_index(drop=True)
