"""Audit text: which rules fired for each entity, readable beside its rating.

Each entity gets a list of short sentences; the ratings table joins them with
``"; "`` in its ``audit`` column. Numbers are printed with 6 significant
digits (the table holds the exact values).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from toolkit.scoring.config import ProgramMethod
from toolkit.scoring.weights import AdjustedWeights

if TYPE_CHECKING:
    from collections.abc import Sequence

    from toolkit.scoring.config import ThresholdRule

SEP = "; "
_EPS = 1e-12


def _g(x: float) -> str:
    return f"{x:.6g}"


def weight_notes(n: np.ndarray, aw: AdjustedWeights, program: ProgramMethod) -> list[list[str]]:
    """Weight reductions and redistributions of each entity (rows of ``n``, shape (E, M)).

    Examples
    --------
    >>> from toolkit.scoring import load_method, adjust_weights
    >>> p = load_method("des_2018").program_method("DMS")
    >>> n = np.array([[30, 40, 15, 0, 35, 20]])
    >>> weight_notes(n, adjust_weights(n, p), p)
    [['weights: bonus_26 n=0<5 0.05->0; to full_26 +0.04375, pathway_26 +0.00625']]
    """
    n = np.asarray(n, dtype=float)
    out: list[list[str]] = [[] for _ in range(n.shape[0])]
    gains = aw.weights - aw.small
    lost_g = (program.weights - aw.small) @ program.membership
    for i in np.flatnonzero(aw.reduced.any(axis=-1)):
        cuts = [
            f"{m} n={n[i, j]:g}<{program.saturation[j]:g} {_g(program.weights[j])}->{_g(aw.small[i, j])}"
            for j, m in enumerate(program.measures)
            if aw.reduced[i, j]
        ]
        text = "weights: " + ", ".join(cuts)
        orphans = [(g, lost_g[i, k]) for k, g in enumerate(program.groups) if aw.orphaned[i, k] and lost_g[i, k] > _EPS]
        if not aw.scorable[i]:
            out[i].append(text + "; no measure at full weight (every n below saturation): no score")
            continue
        if orphans:
            receivers = [g for k, g in enumerate(program.groups) if not aw.orphaned[i, k]]
            text += "; " + ", ".join(
                f"group {g} has no unreduced measure, its {_g(v)} goes to groups {'/'.join(receivers)} by group weight"
                for g, v in orphans
            )
        to = [f"{m} +{_g(gains[i, j])}" for j, m in enumerate(program.measures) if gains[i, j] > _EPS]
        if to:
            text += "; to " + ", ".join(to)
        out[i].append(text)
    return out


def threshold_notes(n: np.ndarray, program: ProgramMethod, method_rules: Sequence[ThresholdRule]) -> list[list[str]]:
    """The failed minimum data rules of each entity (``method_rules``: the program's ``minimum_data``).

    Examples
    --------
    >>> from toolkit.scoring import load_method
    >>> m = load_method("des_2018")
    >>> p = m.program_method("ESS")
    >>> threshold_notes(np.array([[4, 9, 9, 9, 9, 9, 12]]), p, m.programs["ESS"].minimum_data)
    [['minimum data not met: n(full_13)=4 < 5, n(full_13)+n(ongoing_support)=16 < 20']]
    """
    n = np.asarray(n, dtype=float)
    sums = n @ program.threshold_matrix.T
    fail = sums < program.threshold_min
    out: list[list[str]] = [[] for _ in range(n.shape[0])]
    for i in np.flatnonzero(fail.any(axis=-1)):
        parts = [
            f"{'+'.join(f'n({m})' for m in rule.measures)}={sums[i, r]:g} < {rule.min_n}"
            for r, rule in enumerate(method_rules)
            if fail[i, r]
        ]
        out[i].append("minimum data not met: " + ", ".join(parts))
    return out


def join(*note_lists: list[list[str]]) -> list[str]:
    """Join per-entity note lists into one audit string per entity."""
    return [SEP.join(x for notes in per_entity for x in notes) for per_entity in zip(*note_lists, strict=True)]
