"""Weight adjustment for zero and small denominators (Tables 7 and 8, Attachment C).

Per entity, before Step 3, on the Table 1 measure weights ``w``:

1. ``0 < n < saturation``: the weight becomes ``w * n / saturation``; ``n == 0``: 0.
2. What a measure lost goes to the measures of its group that were not reduced,
   in proportion to their weights (the group's total stays).
3. A group whose every measure was reduced passes what it lost to the groups
   that kept an unreduced measure, in proportion to their Table 1 group
   weights, and inside each of those to its unreduced measures by weight.
4. With at least one unreduced measure the weights sum to the program total;
   with none the entity has no score (``scorable`` is False).

Everything is vectorised over any leading axes of ``n``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from toolkit.scoring.config import ProgramMethod

if TYPE_CHECKING:
    import numpy.typing as npt


@dataclass(frozen=True, eq=False)
class AdjustedWeights:
    """The result of :func:`adjust_weights` (arrays over the leading axes of ``n``).

    Attributes
    ----------
    weights : ndarray (..., M)
        Adjusted measure weights ``w'``.
    group_weights : ndarray (..., K)
        ``W'_g``, the sum of ``w'`` over each group's measures.
    reduced : ndarray of bool (..., M)
        ``n < saturation`` (includes ``n == 0``).
    small : ndarray (..., M)
        Weights after step 1 only (``w * min(n / saturation, 1)``).
    orphaned : ndarray of bool (..., K)
        Groups with no unreduced measure (their loss went to other groups).
    scorable : ndarray of bool (...)
        At least one measure is unreduced.
    """

    weights: np.ndarray
    group_weights: np.ndarray
    reduced: np.ndarray
    small: np.ndarray
    orphaned: np.ndarray
    scorable: np.ndarray


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros(np.broadcast_shapes(num.shape, den.shape))
    np.divide(num, den, out=out, where=den > 0)
    return out


def adjust_weights(n: npt.ArrayLike, program: ProgramMethod) -> AdjustedWeights:
    """Adjust Table 1 weights for zero and small denominators.

    Parameters
    ----------
    n : array_like (..., M)
        Denominator counts in the program's measure order (``program.measures``).
    program : ProgramMethod
        From ``method.program_method("DMS")``.

    Returns
    -------
    AdjustedWeights

    Examples
    --------
    Site Y of Attachment C (DMS, no bonus records):

    >>> from toolkit.scoring import load_method
    >>> dms = load_method("des_2018").program_method("DMS")
    >>> dms.measures
    ('full_13', 'full_26', 'pathway_26', 'bonus_26', 'full_52', 'pathway_52')
    >>> aw = adjust_weights([30, 40, 15, 0, 35, 20], dms)
    >>> [round(float(x), 5) for x in aw.weights]
    [0.25, 0.39375, 0.05625, 0.0, 0.25, 0.05]
    """
    n = np.asarray(n, dtype=float)
    if n.shape[-1:] != program.weights.shape:
        raise ValueError(f"n must end with the {len(program.measures)} measures of {program.program}, got {n.shape}")
    w, member = program.weights, program.membership
    factor = np.clip(n / program.saturation, 0.0, 1.0)
    small = w * factor
    reduced = n < program.saturation
    unreduced_w = np.where(reduced, 0.0, w)  # (..., M)
    unreduced_gw = unreduced_w @ member  # (..., K) weight of unreduced measures per group
    has_unreduced = unreduced_gw > 0  # (..., K)
    lost = (w - small) @ member  # (..., K)
    orphan_loss = np.where(has_unreduced, 0.0, lost).sum(axis=-1, keepdims=True)
    receiving = np.where(has_unreduced, program.group_weights, 0.0)
    share = _safe_div(receiving, receiving.sum(axis=-1, keepdims=True))
    extra = np.where(has_unreduced, lost, 0.0) + orphan_loss * share  # what each group hands its unreduced measures
    per_unit = _safe_div(extra, unreduced_gw)  # per unit of unreduced weight, per group
    weights = small + unreduced_w * (per_unit @ member.T)
    scorable = has_unreduced.any(axis=-1)
    return AdjustedWeights(
        weights=weights,
        group_weights=weights @ member,
        reduced=reduced,
        small=small,
        orphaned=~has_unreduced,
        scorable=scorable,
    )
